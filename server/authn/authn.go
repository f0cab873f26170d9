// Package authn authenticates every HTTP request once, before either door
// sees it, and assigns each request an id.
package authn

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"regexp"
	"strings"

	"github.com/meshplane/meshplane/server/actor"
	"github.com/meshplane/meshplane/server/errs"
)

// Authenticator resolves a bearer token to an actor.
type Authenticator interface {
	Authenticate(ctx context.Context, secret string) (actor.Actor, error)
}

type resultKey struct{}

// RequestIDHeader carries the request id in both directions.
const RequestIDHeader = "X-Request-Id"

var requestIDRe = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// Middleware authenticates the bearer token or, without one, the portal's
// session cookie (see cookieAuth), and records the outcome
// in the request context; the doors refuse unauthenticated calls with their
// own error shapes. A caller-supplied request id is kept when well-formed.
func Middleware(a Authenticator) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := r.Header.Get(RequestIDHeader)
			if !requestIDRe.MatchString(id) {
				id = newRequestID()
			}
			w.Header().Set(RequestIDHeader, id)
			ctx := actor.WithRequestID(r.Context(), id)
			var err error
			h := r.Header.Get("Authorization")
			scheme, secret, ok := strings.Cut(h, " ")
			cookie, cookieErr := r.Cookie(SessionCookie)
			switch {
			case h == "" && cookieErr == nil && cookie.Value != "":
				var who actor.Actor
				who, err = cookieAuth(r.WithContext(ctx), a, cookie)
				if err == nil {
					ctx = actor.With(ctx, who)
				}
			case h == "":
				err = errs.New(errs.KindUnauthenticated, "missing bearer token: send Authorization: Bearer <token>")
			case !ok || !strings.EqualFold(scheme, "Bearer"):
				err = errs.New(errs.KindUnauthenticated, "unsupported authorization scheme: send Authorization: Bearer <token>")
			default:
				var who actor.Actor
				who, err = a.Authenticate(ctx, strings.TrimSpace(secret))
				if err == nil {
					ctx = actor.With(ctx, who)
				}
			}
			if err != nil {
				ctx = context.WithValue(ctx, resultKey{}, err)
			}
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// Check returns why the request in ctx is not authenticated, or nil.
func Check(ctx context.Context) error {
	if _, ok := actor.From(ctx); ok {
		return nil
	}
	if err, ok := ctx.Value(resultKey{}).(error); ok {
		return err
	}
	return errs.New(errs.KindUnauthenticated, "not authenticated")
}

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
