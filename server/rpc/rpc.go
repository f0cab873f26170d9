package rpc

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"

	"github.com/meshplane/meshplane/api/gen/meshplane/v1/meshplanev1connect"
	"github.com/meshplane/meshplane/server/audit"
	"github.com/meshplane/meshplane/server/authn"
	"github.com/meshplane/meshplane/server/catalog"
	"github.com/meshplane/meshplane/server/events"
	"github.com/meshplane/meshplane/server/grant"
	"github.com/meshplane/meshplane/server/identity"
	"github.com/meshplane/meshplane/server/policy"
	"github.com/meshplane/meshplane/server/provision"
	"github.com/meshplane/meshplane/server/telemetry"
)

// MaxRequestBytes bounds a request message; larger ones are refused with
// ResourceExhausted, over the Connect protocol with HTTP status 413.
const MaxRequestBytes = 4 << 20

// Config wires the Connect door to the service layer.
type Config struct {
	Catalog   *catalog.Service
	Identity  *identity.Service
	Audit     *audit.Service
	Provision *provision.Service
	Policy    *policy.Service
	Access    *grant.Service
	Events    *events.Service
	Metrics   *telemetry.Metrics
	Logger    *slog.Logger
}

// Validate checks that every dependency is present.
func (c Config) Validate() error {
	if c.Catalog == nil || c.Identity == nil || c.Audit == nil || c.Provision == nil || c.Policy == nil || c.Access == nil || c.Events == nil || c.Metrics == nil || c.Logger == nil {
		return fmt.Errorf("rpc config needs Catalog, Identity, Audit, Provision, Policy, Access, Events, Metrics and Logger")
	}
	return nil
}

// Services lists the fully-qualified names of the API services.
var Services = []string{
	meshplanev1connect.CatalogServiceName,
	meshplanev1connect.IdentityServiceName,
	meshplanev1connect.AuditServiceName,
	meshplanev1connect.ProvisioningServiceName,
	meshplanev1connect.PolicyServiceName,
	meshplanev1connect.AccessServiceName,
	meshplanev1connect.EventsServiceName,
}

// Mount registers every service, gRPC reflection and gRPC health on mux.
func Mount(mux *http.ServeMux, c Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	opts := []connect.HandlerOption{
		connect.WithInterceptors(markDecoded(), &interceptor{log: c.Logger, metrics: c.Metrics}),
		connect.WithReadMaxBytes(MaxRequestBytes),
		connect.WithCompressMinBytes(1024),
	}
	mux.Handle(limitBody(meshplanev1connect.NewCatalogServiceHandler(&CatalogHandler{svc: c.Catalog, schemas: c.Policy}, opts...)))
	mux.Handle(limitBody(meshplanev1connect.NewIdentityServiceHandler(&IdentityHandler{svc: c.Identity}, opts...)))
	mux.Handle(limitBody(meshplanev1connect.NewAuditServiceHandler(&AuditHandler{svc: c.Audit}, opts...)))
	mux.Handle(limitBody(meshplanev1connect.NewProvisioningServiceHandler(&ProvisioningHandler{svc: c.Provision}, opts...)))
	mux.Handle(limitBody(meshplanev1connect.NewPolicyServiceHandler(&PolicyHandler{svc: c.Policy}, opts...)))
	mux.Handle(limitBody(meshplanev1connect.NewAccessServiceHandler(&AccessHandler{svc: c.Access}, opts...)))
	mux.Handle(limitBody(meshplanev1connect.NewEventsServiceHandler(&EventsHandler{svc: c.Events}, opts...)))

	reflector := grpcreflect.NewStaticReflector(Services...)
	mux.Handle(grpcreflect.NewHandlerV1(reflector))
	mux.Handle(grpcreflect.NewHandlerV1Alpha(reflector))
	mux.Handle(grpchealth.NewHandler(grpchealth.NewStaticChecker(Services...)))
	return nil
}

// interceptor refuses unauthenticated calls, maps domain errors to Connect
// errors (the only place that happens) and records metrics per procedure.
type interceptor struct {
	log     *slog.Logger
	metrics *telemetry.Metrics
}

func (i *interceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		start := time.Now()
		done := i.metrics.Begin()
		defer done()
		procedure := req.Spec().Procedure
		var (
			resp connect.AnyResponse
			err  = authn.Check(ctx)
		)
		if err == nil {
			resp, err = next(ctx, req)
		}
		code := "ok"
		if err != nil {
			err = toConnect(ctx, i.log, procedure, err)
			code = connect.CodeOf(err).String()
		}
		i.metrics.Observe("connect", procedure, code, time.Since(start))
		return resp, err
	}
}

func (i *interceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (i *interceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		start := time.Now()
		done := i.metrics.Begin()
		defer done()
		procedure := conn.Spec().Procedure
		err := authn.Check(ctx)
		if err == nil {
			err = next(ctx, conn)
		}
		code := "ok"
		if err != nil {
			err = toConnect(ctx, i.log, procedure, err)
			code = connect.CodeOf(err).String()
		}
		i.metrics.Observe("connect", procedure, code, time.Since(start))
		return err
	}
}
