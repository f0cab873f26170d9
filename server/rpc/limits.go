package rpc

import (
	"context"
	"mime"
	"net/http"
	"strings"
	"sync/atomic"

	"connectrpc.com/connect"
)

// limitBody bounds the request body of each call to the Connect handler h
// serves under path, and gives a unary call over the Connect protocol whose
// message is too large the HTTP status 413 Content Too Large. connect-go
// refuses such a message with resource_exhausted, which the Connect protocol
// maps to 429 Too Many Requests: clients and proxies would retry a request
// that can never succeed. The error body and its code stay as connect-go
// writes them. gRPC and gRPC-Web always answer HTTP 200 with the code in the
// grpc-status trailer, and Connect streams carry errors inside the stream, so
// those are left alone.
func limitBody(path string, h http.Handler) (string, http.Handler) {
	return path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !connectUnary(r.Header.Get("Content-Type")) {
			h.ServeHTTP(w, r)
			return
		}
		// Stop reading at the limit: connect-go would otherwise read an
		// oversized body to its end, to reuse the connection.
		r.Body = http.MaxBytesReader(w, r.Body, MaxRequestBytes)
		call := &unaryCall{}
		r = r.WithContext(context.WithValue(r.Context(), unaryCallKey{}, call))
		h.ServeHTTP(&tooLargeWriter{ResponseWriter: w, call: call}, r)
	})
}

// connectUnary reports whether contentType is a unary Connect request's:
// application/json, application/proto or another codec, but neither gRPC,
// gRPC-Web nor a Connect stream (application/connect+…).
func connectUnary(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	codec, ok := strings.CutPrefix(mt, "application/")
	return ok && codec != "" && !strings.HasPrefix(codec, "grpc") && !strings.HasPrefix(codec, "connect+")
}

type unaryCallKey struct{}

// unaryCall records whether connect-go decoded a call's request message.
type unaryCall struct{ decoded atomic.Bool }

// markDecoded records, for limitBody, that a unary call's request message
// was read and decoded: connect-go runs unary interceptors only then. A
// resource_exhausted answered before is connect-go refusing the message as
// larger than MaxRequestBytes; one answered after is the service's own, for
// which 429 stays right.
func markDecoded() connect.Interceptor {
	return connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			if call, ok := ctx.Value(unaryCallKey{}).(*unaryCall); ok {
				call.decoded.Store(true)
			}
			return next(ctx, req)
		}
	})
}

// tooLargeWriter turns the 429 of a call whose message was never decoded
// into 413.
type tooLargeWriter struct {
	http.ResponseWriter
	call *unaryCall
}

func (w *tooLargeWriter) WriteHeader(code int) {
	if code == http.StatusTooManyRequests && !w.call.decoded.Load() {
		code = http.StatusRequestEntityTooLarge
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *tooLargeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
