package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/meshplane/meshplane/server/actor"
	"github.com/meshplane/meshplane/server/audit"
	"github.com/meshplane/meshplane/server/catalog"
	"github.com/meshplane/meshplane/server/errs"
	"github.com/meshplane/meshplane/server/events"
	"github.com/meshplane/meshplane/server/grant"
	"github.com/meshplane/meshplane/server/graph/generated"
	"github.com/meshplane/meshplane/server/identity"
	"github.com/meshplane/meshplane/server/policy"
	"github.com/meshplane/meshplane/server/provision"
)

// Limits on one request.
const (
	// MaxComplexity bounds a query's cost: scalars are free, every object
	// costs one, and a connection multiplies what it selects by its page size
	// (first, 50 when omitted, at most 500). Roughly, no response carries more
	// than this many objects, and nested connections (domains → products)
	// cannot fan out into hundreds of listings.
	MaxComplexity = 10_000
	// MaxBodyBytes bounds a request body, variables included. The query
	// itself is held to MaxQueryBytes, so this is room for inputs: a policy
	// file at its limit of 256 KiB once JSON-escaped, or a port at its
	// limit of 1,000 fields with short descriptions (about 200 KB). Larger
	// inputs, up to the 4 MiB a message may hold, go through the Connect
	// door. Decoding this much JSON takes a few milliseconds.
	MaxBodyBytes = 512 << 10
	// MaxResponseBytes bounds a query's response; a larger one is refused
	// with RESPONSE_TOO_LARGE. Pages of 500 products with their schemas fit.
	MaxResponseBytes = 4 << 20
)

// Config configures the GraphQL door.
type Config struct {
	Catalog   *catalog.Service
	Identity  *identity.Service
	Audit     *audit.Service
	Provision *provision.Service
	Policy    *policy.Service
	Access    *grant.Service
	Events    *events.Service
	Logger    *slog.Logger
}

// Validate checks that every required dependency is present.
func (c Config) Validate() error {
	var missing []string
	if c.Catalog == nil {
		missing = append(missing, "Catalog")
	}
	if c.Provision == nil {
		missing = append(missing, "Provision")
	}
	if c.Policy == nil {
		missing = append(missing, "Policy")
	}
	if c.Access == nil {
		missing = append(missing, "Access")
	}
	if c.Identity == nil {
		missing = append(missing, "Identity")
	}
	if c.Audit == nil {
		missing = append(missing, "Audit")
	}
	if c.Events == nil {
		missing = append(missing, "Events")
	}
	if c.Logger == nil {
		missing = append(missing, "Logger")
	}
	if len(missing) > 0 {
		return fmt.Errorf("graph config is missing %v", missing)
	}
	return nil
}

// New returns the handler of the GraphQL endpoint: JSON over POST, mounted
// by the server at /graphql behind authentication, so the caller is already
// in the request's context. Before gqlgen reads a request, guard bounds its
// body, its text and the shape of its query; after gqlgen validates it,
// costLimit prices the operation against MaxComplexity.
func New(c Config) (http.Handler, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	r := &Resolver{catalog: c.Catalog, identity: c.Identity, audit: c.Audit, provision: c.Provision, policy: c.Policy, access: c.Access, events: c.Events}
	cfg := generated.Config{Resolvers: r}
	setComplexity(&cfg.Complexity)
	priceExpensiveFields(&cfg.Complexity)

	srv := handler.New(generated.NewExecutableSchema(cfg))
	srv.AddTransport(transport.POST{})
	srv.AddTransport(transport.Websocket{
		// coder/websocket's Accept refuses an Origin other than the host's;
		// the authentication in front of this handler already refused a
		// cross-origin session cookie.
		InitFunc:              markWebsocket,
		InitTimeout:           10 * time.Second,
		KeepAlivePingInterval: 15 * time.Second, // graphql-ws
		PingPongInterval:      30 * time.Second, // graphql-transport-ws: a client that stops answering is dropped
		PayloadReadLimit:      ptr(int64(MaxBodyBytes)),
	})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.Use(extension.Introspection{})
	srv.Use(websocketScan{})
	srv.Use(&costLimit{})
	srv.AroundFields(domainErrors)
	srv.SetRecoverFunc(recoverPanic)
	srv.SetErrorPresenter(presentError(c.Logger))

	guarded := guard(srv)
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodGet && strings.EqualFold(req.Header.Get("Upgrade"), "websocket") {
			// Subscriptions: each operation is scanned as guard scans a POST
			// (websocketScan), messages are bounded by PayloadReadLimit.
			srv.ServeHTTP(w, req)
			return
		}
		if req.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "GraphQL requests are POSTed as JSON", http.StatusMethodNotAllowed)
			return
		}
		guarded.ServeHTTP(w, req)
	}), nil
}

func ptr[T any](v T) *T { return &v }

// Bounds of a WebSocket connection.
const (
	// MaxWebsocketLifetime ends a connection, whose caller was authenticated
	// once at the upgrade, so a revoked token or an ended session stops
	// streaming within it; clients reconnect.
	MaxWebsocketLifetime = 10 * time.Minute
	// MaxSubscriptions bounds the subscriptions one connection runs at once.
	MaxSubscriptions = 16
)

// websocketKey marks the context of a WebSocket connection; its value
// counts the connection's running subscriptions.
type websocketKey struct{}

// markWebsocket marks a WebSocket connection's context, so websocketScan
// knows its operations did not pass guard, and bounds its lifetime.
func markWebsocket(ctx context.Context, p transport.InitPayload) (context.Context, *transport.InitPayload, error) {
	ctx, cancel := context.WithTimeout(ctx, MaxWebsocketLifetime)
	context.AfterFunc(ctx, cancel) // the connection's end releases the timer
	return context.WithValue(ctx, websocketKey{}, new(atomic.Int32)), &p, nil
}

// startSubscription counts a subscription against its connection's bound;
// done uncounts it. Outside a WebSocket it bounds nothing.
func startSubscription(ctx context.Context) (done func(), err error) {
	n, _ := ctx.Value(websocketKey{}).(*atomic.Int32)
	if n == nil {
		return func() {}, nil
	}
	if n.Add(1) > MaxSubscriptions {
		n.Add(-1)
		return nil, errs.New(errs.KindResourceExhausted, "a connection runs at most %d subscriptions at once: complete one first, or open another connection", MaxSubscriptions)
	}
	return func() { n.Add(-1) }, nil
}

// subscribe runs watch in the background, passing on what it sends until
// the subscriber leaves; a failure after the start ends the stream with an
// error. Refusals before the start belong to the resolver.
func subscribe[T any](ctx context.Context, watch func(send func(*T) error) error) (<-chan *T, error) {
	done, err := startSubscription(ctx)
	if err != nil {
		return nil, err
	}
	out := make(chan *T, 64)
	go func() {
		defer done()
		defer close(out)
		err := watch(func(v *T) error {
			select {
			case out <- v:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		if err != nil && ctx.Err() == nil {
			transport.AddSubscriptionError(ctx, subscriptionError(err))
		}
	}()
	return out, nil
}

// subscriptionError is how a subscription that failed after it started
// says why: a domain error's message and code, and only "internal error"
// for anything else.
func subscriptionError(err error) *gqlerror.Error {
	e := errs.As(err)
	if e.Kind == errs.KindInternal {
		out := gqlerror.Errorf("internal error")
		out.Extensions = map[string]any{"code": e.Kind.String()}
		return out
	}
	out := gqlerror.Errorf("%s", e.Message)
	out.Extensions = map[string]any{"code": e.Kind.String(), "reason": e.Reason}
	return out
}

// websocketScan refuses an operation sent over a WebSocket for the reasons
// guard refuses a POSTed one: its size, tokens and shape, checked before
// gqlgen parses it.
type websocketScan struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
	graphql.OperationContextMutator
} = websocketScan{}

func (websocketScan) ExtensionName() string                   { return "WebsocketScan" }
func (websocketScan) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext refuses queries and mutations over a WebSocket:
// they are POSTed, where the body, the response and a session's CSRF token
// are checked.
func (websocketScan) MutateOperationContext(ctx context.Context, op *graphql.OperationContext) *gqlerror.Error {
	if ctx.Value(websocketKey{}) == nil || op.Operation == nil || op.Operation.Operation == ast.Subscription {
		return nil
	}
	e := gqlerror.Errorf("only subscriptions run over a WebSocket: POST queries and mutations to /graphql")
	e.Extensions = map[string]any{"code": CodeSubscriptionsOnly}
	return e
}

func (websocketScan) MutateOperationParameters(ctx context.Context, p *graphql.RawParams) *gqlerror.Error {
	if ctx.Value(websocketKey{}) == nil {
		return nil
	}
	if _, ref := scanQuery(p.Query, p.OperationName); ref != nil {
		e := gqlerror.Errorf("%s", ref.message)
		e.Extensions = map[string]any{"code": ref.code}
		if ref.limit != "" {
			e.Extensions["limit"], e.Extensions["max"], e.Extensions["found"] = ref.limit, ref.max, ref.found
		}
		return e
	}
	return nil
}

// domainErrors makes every error a resolver returns an *errs.Error, so the
// presenter can tell the service's verdicts from GraphQL's own errors
// (syntax, validation, argument coercion), which carry no domain error.
func domainErrors(ctx context.Context, next graphql.Resolver) (any, error) {
	res, err := next(ctx)
	if err != nil {
		return res, errs.As(err)
	}
	return res, nil
}

// recoverPanic turns a panic in a resolver into an internal error; the
// presenter logs the panic and its stack and shows the caller only "internal error".
func recoverPanic(_ context.Context, p any) error {
	return errs.Internal(fmt.Errorf("panic: %v\n%s", p, debug.Stack()))
}

// presentError is the one place domain errors become GraphQL errors: the
// message, plus extensions {code, reason, fields: [{path, message}]}. Internal
// errors are logged and shown as "internal error" only.
func presentError(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		var e *errs.Error
		if !errors.As(err, &e) {
			// GraphQL's own errors (parse, validation, complexity, argument
			// coercion) describe the request and carry their own codes.
			return graphql.DefaultErrorPresenter(ctx, err)
		}
		out := &gqlerror.Error{Message: e.Message, Path: graphql.GetPath(ctx)}
		var gqlErr *gqlerror.Error
		if errors.As(err, &gqlErr) {
			out.Path, out.Locations = gqlErr.Path, gqlErr.Locations
		}
		reason, fields := e.Reason, append([]errs.FieldViolation{}, e.Fields...)
		if e.Kind == errs.KindInternal {
			cause := errors.Unwrap(e)
			if cause == nil {
				cause = e
			}
			log.ErrorContext(ctx, "graphql request failed",
				"path", out.Path.String(), "request_id", actor.RequestID(ctx), "error", cause)
			out.Message, reason, fields = "internal error", "INTERNAL", []errs.FieldViolation{}
		}
		out.Extensions = map[string]any{"code": e.Kind.String(), "reason": reason, "fields": fields}
		return out
	}
}
