package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/server/app/apptest"
	"github.com/meshplane/meshplane/server/authn"
)

// portalCall sends one request as a browser on the portal would.
type portalCall struct {
	method, path, body string
	cookie, csrf       string
	origin             string
	contentType        string
}

func (c portalCall) do(t *testing.T, env *apptest.Env) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(c.method, env.HTTP.URL+c.path, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	if c.contentType != "" {
		req.Header.Set("Content-Type", c.contentType)
	} else if c.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.cookie != "" {
		req.AddCookie(&http.Cookie{Name: authn.SessionCookie, Value: c.cookie})
	}
	if c.csrf != "" {
		req.Header.Set(authn.CSRFHeader, c.csrf)
	}
	if c.origin != "" {
		req.Header.Set("Origin", c.origin)
	}
	resp, err := env.HTTP.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

type sessionAnswer struct {
	Principal  struct{ Name, Kind, Domain string }
	CSRFToken  string `json:"csrfToken"`
	ExpireTime time.Time
	Code       string
	Message    string
}

// signIn exchanges token for a session and returns the cookie and CSRF token.
func signIn(t *testing.T, env *apptest.Env, token string) (*http.Cookie, sessionAnswer) {
	t.Helper()
	resp, body := portalCall{method: "POST", path: authn.SessionPath, body: `{"token":"` + token + `"}`}.do(t, env)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sign-in: %d %s", resp.StatusCode, body)
	}
	var out sessionAnswer
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatal(err)
	}
	for _, c := range resp.Cookies() {
		if c.Name == authn.SessionCookie {
			return c, out
		}
	}
	t.Fatalf("sign-in set no session cookie: %v", resp.Header["Set-Cookie"])
	return nil, out
}

func TestPortalSessionLifecycle(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	cookie, sess := signIn(t, env, env.AdminToken)
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/" || !cookie.Secure {
		t.Fatalf("session cookie must be HttpOnly, SameSite=Strict, Path=/ and Secure over TLS: %+v", cookie)
	}
	if cookie.Value == env.AdminToken || strings.Contains(sess.CSRFToken, env.AdminToken) {
		t.Fatal("the pasted token must not become the session")
	}
	if sess.Principal.Name != "admin" || sess.CSRFToken == "" {
		t.Fatalf("sign-in answer: %+v", sess)
	}
	if d := time.Until(sess.ExpireTime); d <= 11*time.Hour || d > 12*time.Hour+time.Minute {
		t.Fatalf("a session lasts 12 hours, expires in %v", d)
	}

	// The current session is readable with the cookie alone, CSRF token included.
	resp, body := portalCall{method: "GET", path: authn.SessionPath, cookie: cookie.Value}.do(t, env)
	if resp.StatusCode != 200 || !strings.Contains(body, sess.CSRFToken) || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("GET session: %d %s %v", resp.StatusCode, body, resp.Header)
	}

	// State-changing calls with the cookie need the CSRF header; reads over GET do not.
	create := `{"name":"sales","description":"Sales"}`
	for name, c := range map[string]portalCall{
		"no csrf":      {cookie: cookie.Value},
		"wrong csrf":   {cookie: cookie.Value, csrf: "x" + sess.CSRFToken},
		"cross origin": {cookie: cookie.Value, csrf: sess.CSRFToken, origin: "https://evil.example"},
	} {
		c.method, c.path, c.body = "POST", "/meshplane.v1.CatalogService/CreateDomain", create
		resp, body := c.do(t, env)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "unauthenticated") {
			t.Fatalf("%s: want 401 unauthenticated, got %d %s", name, resp.StatusCode, body)
		}
		gql := c
		gql.path, gql.body = "/graphql", `{"query":"{ viewer { principal { name } } }"}`
		if resp, body := gql.do(t, env); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("graphql %s: want 401, got %d %s", name, resp.StatusCode, body)
		}
	}
	if _, err := env.Clients(apptest.ProtocolConnect, env.AdminToken).Catalog.GetDomain(context.Background(),
		connect.NewRequest(&v1.GetDomainRequest{Name: "sales"})); connect.CodeOf(err) != connect.CodeNotFound {
		t.Fatalf("a refused call must change nothing: %v", err)
	}
	resp, body = portalCall{method: "POST", path: "/meshplane.v1.CatalogService/CreateDomain", body: create,
		cookie: cookie.Value, csrf: sess.CSRFToken, origin: env.HTTP.URL}.do(t, env)
	if resp.StatusCode != 200 {
		t.Fatalf("create with session and CSRF token: %d %s", resp.StatusCode, body)
	}
	resp, body = portalCall{method: "GET", path: "/meshplane.v1.CatalogService/GetDomain?encoding=json&message=" +
		`%7B%22name%22%3A%22sales%22%7D`, cookie: cookie.Value}.do(t, env)
	if resp.StatusCode != 200 || !strings.Contains(body, `"name":"sales"`) {
		t.Fatalf("a GET read needs no CSRF token: %d %s", resp.StatusCode, body)
	}
	if resp, body := (portalCall{method: "POST", path: "/graphql", body: `{"query":"{ viewer { principal { name } } }"}`,
		cookie: cookie.Value, csrf: sess.CSRFToken}).do(t, env); resp.StatusCode != 200 || !strings.Contains(body, `"admin"`) {
		t.Fatalf("graphql with a session: %d %s", resp.StatusCode, body)
	}

	// Sign-out needs the CSRF token too, revokes the session and clears the cookie.
	if resp, _ := (portalCall{method: "DELETE", path: authn.SessionPath, cookie: cookie.Value}).do(t, env); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("sign-out without CSRF token: %d", resp.StatusCode)
	}
	resp, _ = portalCall{method: "DELETE", path: authn.SessionPath, cookie: cookie.Value, csrf: sess.CSRFToken}.do(t, env)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("sign-out: %d", resp.StatusCode)
	}
	cleared := false
	for _, c := range resp.Cookies() {
		cleared = cleared || (c.Name == authn.SessionCookie && c.Value == "" && c.MaxAge < 0)
	}
	if !cleared {
		t.Fatalf("sign-out must clear the cookie: %v", resp.Header["Set-Cookie"])
	}
	for _, c := range []portalCall{
		{method: "GET", path: authn.SessionPath, cookie: cookie.Value},
		{method: "POST", path: "/meshplane.v1.IdentityService/WhoAmI", body: "{}", cookie: cookie.Value, csrf: sess.CSRFToken},
	} {
		if resp, body := c.do(t, env); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s %s after sign-out: %d %s", c.method, c.path, resp.StatusCode, body)
		}
	}

	// Both ends of the session are audited, under the admin.
	ev, err := env.Clients(apptest.ProtocolConnect, env.AdminToken).Audit.ListAuditEvents(context.Background(),
		connect.NewRequest(&v1.ListAuditEventsRequest{ResourceType: "token", Actor: "admin"}))
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range ev.Msg.GetEvents() {
		actions = append(actions, e.GetAction())
	}
	if !strings.Contains(strings.Join(actions, ","), "identity.StartSession") || !strings.Contains(strings.Join(actions, ","), "identity.EndSession") {
		t.Fatalf("session start and end must be audited, got %v", actions)
	}
}

func TestPortalSignInRefusals(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	valid := `{"token":"` + env.AdminToken + `"}`
	for name, c := range map[string]portalCall{
		"bad token":     {body: `{"token":"mp_nope"}`},
		"empty body":    {body: `{}`},
		"not json":      {body: valid, contentType: "application/x-www-form-urlencoded"},
		"cross origin":  {body: valid, origin: "https://evil.example"},
		"garbage":       {body: `{"token":`},
		"oversized":     {body: `{"token":"` + strings.Repeat("a", 8<<10) + `"}`},
		"unknown token": {body: `{"token":"mp_` + strings.Repeat("A", 43) + `"}`},
	} {
		c.method, c.path = "POST", authn.SessionPath
		resp, body := c.do(t, env)
		if resp.StatusCode < 400 || resp.StatusCode >= 500 || len(resp.Cookies()) > 0 {
			t.Fatalf("%s: want a 4xx and no cookie, got %d %s %v", name, resp.StatusCode, body, resp.Cookies())
		}
		var e sessionAnswer
		if err := json.Unmarshal([]byte(body), &e); err != nil || e.Code == "" || e.Message == "" {
			t.Fatalf("%s: want a JSON error with code and message, got %s", name, body)
		}
	}
	if resp, _ := (portalCall{method: "PUT", path: authn.SessionPath, body: valid}).do(t, env); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("PUT session: %d", resp.StatusCode)
	}
	// With a bearer token, sign-out has no session to end.
	req, _ := http.NewRequest("DELETE", env.HTTP.URL+authn.SessionPath, nil)
	req.Header.Set("Authorization", "Bearer "+env.AdminToken)
	resp, err := env.HTTP.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("DELETE session with a bearer token: %d", resp.StatusCode)
	}
}

// A session is its principal: the same authorization, and never longer-lived
// than the token it came from.
func TestPortalSessionIsItsPrincipal(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.Domain("sales")
	viewer := env.User("vera", "viewer", "sales")
	cookie, sess := signIn(t, env, viewer)
	if sess.Principal.Name != "vera" {
		t.Fatalf("session of %q", sess.Principal.Name)
	}
	resp, body := portalCall{method: "POST", path: "/meshplane.v1.CatalogService/CreateDomain", body: `{"name":"hr"}`,
		cookie: cookie.Value, csrf: sess.CSRFToken}.do(t, env)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "permission_denied") {
		t.Fatalf("a viewer's session must be refused like the viewer's token: %d %s", resp.StatusCode, body)
	}

	c := env.Clients(apptest.ProtocolConnect, env.AdminToken)
	short, err := c.Identity.CreateToken(context.Background(), connect.NewRequest(&v1.CreateTokenRequest{Principal: "vera", TtlSeconds: 120}))
	if err != nil {
		t.Fatal(err)
	}
	_, sess = signIn(t, env, short.Msg.GetSecret())
	if d := time.Until(sess.ExpireTime); d > 2*time.Minute {
		t.Fatalf("a session from a two-minute token expires in %v", d)
	}
}

func TestPortalServing(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	for _, path := range []string{"/", "/products/sales/orders", "/governance/policies/masking"} {
		resp, body := portalCall{method: "GET", path: path}.do(t, env)
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, "meshplane") {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Fatalf("GET %s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Fatalf("CSP must not allow inline script or eval: %q", csp)
		}
		if resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("the app page must never be cached: %q", resp.Header.Get("Cache-Control"))
		}
	}
	for _, c := range []portalCall{
		{method: "GET", path: "/assets/missing-abc123.js"},
		{method: "GET", path: "/meshplane.v1.CatalogService/Nope"},
		{method: "GET", path: "/api/nope"},
	} {
		if resp, body := c.do(t, env); resp.StatusCode != http.StatusNotFound || strings.Contains(body, "<html") {
			t.Fatalf("GET %s: want a plain 404, got %d %s", c.path, resp.StatusCode, body)
		}
	}
	if resp, _ := (portalCall{method: "POST", path: "/products"}).do(t, env); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST to an app route: %d", resp.StatusCode)
	}
}

// TestDataDirIsPrivate: the data dir holds the admin token, the masking key
// and the catalog, so only its owner may enter it or read them.
func TestDataDirIsPrivate(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	st, err := os.Stat(env.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o700 {
		t.Fatalf("data dir mode %v, want 0700", st.Mode().Perm())
	}
	for _, name := range []string{"admin.token", "masking.key"} {
		st, err := os.Stat(filepath.Join(env.DataDir, name))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v, want 0600", name, st.Mode(), err)
		}
	}
	if env.Dialect == "sqlite" {
		if st, err := os.Stat(filepath.Join(env.DataDir, "catalog.db")); err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("catalog.db: %v %v, want 0600", st.Mode(), err)
		}
	}
}
