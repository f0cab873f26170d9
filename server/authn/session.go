package authn

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/meshplane/meshplane/server/actor"
	"github.com/meshplane/meshplane/server/errs"
)

// Portal sessions: a bearer token pasted once is exchanged for a session
// token held in an HttpOnly, SameSite=Strict cookie. State-changing calls
// made with the cookie must also carry the session's CSRF token in a header,
// which only the portal's own pages can read (from the sign-in answer or
// GET /auth/session); a cross-site page can neither read it nor set it.
const (
	SessionCookie = "meshplane_session"
	CSRFHeader    = "X-CSRF-Token"
	// SessionPath serves sign-in (POST), the current session (GET) and
	// sign-out (DELETE).
	SessionPath = "/auth/session"
)

// Session is what the session store returns for a new session.
type Session struct {
	Actor      actor.Actor
	Secret     string
	ExpireTime time.Time
}

// Sessions starts and ends portal sessions.
type Sessions interface {
	StartSession(ctx context.Context, secret string) (Session, error)
	EndSession(ctx context.Context) error
}

type cookieKey struct{}

// CSRFToken derives a session's CSRF token from its secret, so nothing more
// is stored and every replica agrees.
func CSRFToken(secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("meshplane csrf v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// safeMethod reports whether a request method cannot change state.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// cookieAuth authenticates a session cookie. Unsafe methods also need the
// CSRF header, and a cross-origin Origin is refused outright.
func cookieAuth(r *http.Request, a Authenticator, c *http.Cookie) (actor.Actor, error) {
	if crossOrigin(r) {
		return actor.Actor{}, errs.New(errs.KindUnauthenticated, "cross-origin request with a session cookie refused")
	}
	if !safeMethod(r.Method) {
		got := r.Header.Get(CSRFHeader)
		if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(CSRFToken(c.Value))) != 1 {
			return actor.Actor{}, errs.New(errs.KindUnauthenticated, "missing or wrong CSRF token: send the session's token in "+CSRFHeader)
		}
	}
	return a.Authenticate(r.Context(), c.Value)
}

// crossOrigin reports whether the browser says r comes from another origin.
func crossOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return false
	}
	u, err := url.Parse(o)
	return err != nil || u.Host != r.Host
}

// SessionHandler serves SessionPath for the portal.
func SessionHandler(s Sessions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		switch r.Method {
		case http.MethodPost:
			signIn(w, r, s)
		case http.MethodGet:
			who, ok := actor.From(r.Context())
			c, err := r.Cookie(SessionCookie)
			if !ok || err != nil || r.Header.Get("Authorization") != "" {
				writeSessionError(w, errs.New(errs.KindUnauthenticated, "not signed in"))
				return
			}
			writeSession(w, who, CSRFToken(c.Value), time.Time{})
		case http.MethodDelete:
			if err := Check(r.Context()); err != nil {
				writeSessionError(w, err)
				return
			}
			if _, err := r.Cookie(SessionCookie); err != nil {
				writeSessionError(w, errs.New(errs.KindFailedPrecondition, "sign-out ends a portal session; revoke API tokens with IdentityService/RevokeToken"))
				return
			}
			if err := s.EndSession(r.Context()); err != nil {
				writeSessionError(w, err)
				return
			}
			http.SetCookie(w, sessionCookie(r, "", time.Unix(0, 0)))
			w.WriteHeader(http.StatusNoContent)
		default:
			w.Header().Set("Allow", "GET, POST, DELETE")
			writeSessionError(w, errs.New(errs.KindInvalidArgument, "method %s not allowed", r.Method))
		}
	})
}

func signIn(w http.ResponseWriter, r *http.Request, s Sessions) {
	if crossOrigin(r) {
		writeSessionError(w, errs.New(errs.KindPermissionDenied, "cross-origin sign-in refused"))
		return
	}
	// A JSON content type cannot be sent cross-site without a preflight.
	if ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";"); strings.TrimSpace(ct) != "application/json" {
		writeSessionError(w, errs.New(errs.KindInvalidArgument, "send the token as JSON: {\"token\": \"…\"}"))
		return
	}
	var in struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 4<<10)).Decode(&in); err != nil || in.Token == "" {
		writeSessionError(w, errs.New(errs.KindInvalidArgument, "send a JSON body {\"token\": \"…\"} with an API token"))
		return
	}
	sess, err := s.StartSession(r.Context(), strings.TrimSpace(in.Token))
	if err != nil {
		writeSessionError(w, err)
		return
	}
	http.SetCookie(w, sessionCookie(r, sess.Secret, sess.ExpireTime))
	writeSession(w, sess.Actor, CSRFToken(sess.Secret), sess.ExpireTime)
}

func sessionCookie(r *http.Request, value string, expires time.Time) *http.Cookie {
	return &http.Cookie{Name: SessionCookie, Value: value, Path: "/", Expires: expires, MaxAge: maxAge(expires),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil}
}

func maxAge(expires time.Time) int {
	if d := time.Until(expires); d > 0 {
		return int(d / time.Second)
	}
	return -1
}

func writeSession(w http.ResponseWriter, who actor.Actor, csrf string, expires time.Time) {
	out := map[string]any{
		"principal": map[string]string{"name": who.Name, "kind": string(who.Kind), "domain": who.Domain},
		"csrfToken": csrf,
	}
	if !expires.IsZero() {
		out["expireTime"] = expires.UTC().Format(time.RFC3339)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func writeSessionError(w http.ResponseWriter, err error) {
	e := errs.As(err)
	status := http.StatusInternalServerError
	switch e.Kind {
	case errs.KindUnauthenticated:
		status = http.StatusUnauthorized
	case errs.KindPermissionDenied:
		status = http.StatusForbidden
	case errs.KindInvalidArgument, errs.KindFailedPrecondition:
		status = http.StatusBadRequest
	}
	msg := e.Message
	if status == http.StatusInternalServerError {
		msg = "internal error"
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"code": e.Kind.String(), "message": msg})
}
