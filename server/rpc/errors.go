// Package rpc is the Connect door: handlers decode a request, call one
// service method and encode the result. They serve the Connect, gRPC and
// gRPC-Web protocols on one port.
package rpc

import (
	"context"
	"errors"
	"log/slog"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	"github.com/meshplane/meshplane/server/actor"
	"github.com/meshplane/meshplane/server/errs"
)

// ErrorDomain names meshplane in google.rpc.ErrorInfo details.
const ErrorDomain = "meshplane.dev"

var codes = map[errs.Kind]connect.Code{
	errs.KindInternal:           connect.CodeInternal,
	errs.KindInvalidArgument:    connect.CodeInvalidArgument,
	errs.KindNotFound:           connect.CodeNotFound,
	errs.KindAlreadyExists:      connect.CodeAlreadyExists,
	errs.KindConflict:           connect.CodeAborted,
	errs.KindFailedPrecondition: connect.CodeFailedPrecondition,
	errs.KindPermissionDenied:   connect.CodePermissionDenied,
	errs.KindUnauthenticated:    connect.CodeUnauthenticated,
	errs.KindResourceExhausted:  connect.CodeResourceExhausted,
	errs.KindUnavailable:        connect.CodeUnavailable,
}

// toConnect is the one place domain errors become Connect errors: a code, the
// message, google.rpc.ErrorInfo with the reason and google.rpc.BadRequest
// with the field paths. Internal causes are logged, never returned.
func toConnect(ctx context.Context, log *slog.Logger, procedure string, err error) error {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce
	}
	if errors.Is(err, context.Canceled) {
		return connect.NewError(connect.CodeCanceled, errors.New("request canceled"))
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return connect.NewError(connect.CodeDeadlineExceeded, errors.New("deadline exceeded"))
	}
	e := errs.As(err)
	if e.Kind == errs.KindInternal {
		log.ErrorContext(ctx, "request failed", "procedure", procedure, "request_id", actor.RequestID(ctx), "error", err)
	}
	out := connect.NewError(codes[e.Kind], errors.New(e.Message))
	if d, derr := connect.NewErrorDetail(&errdetails.ErrorInfo{Reason: e.Reason, Domain: ErrorDomain}); derr == nil {
		out.AddDetail(d)
	}
	if len(e.Fields) > 0 {
		br := &errdetails.BadRequest{}
		for _, f := range e.Fields {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: f.Path, Description: f.Message})
		}
		if d, derr := connect.NewErrorDetail(br); derr == nil {
			out.AddDetail(d)
		}
	}
	return out
}
