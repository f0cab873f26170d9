package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/server/app"
	"github.com/meshplane/meshplane/server/app/apptest"
	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/ent/provisioningrun"
	"github.com/meshplane/meshplane/server/store"
)

func TestAdminTokenFileAndLogs(t *testing.T) {
	var logs bytes.Buffer
	env := apptest.New(t, apptest.Options{Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	fi, err := os.Stat(env.Server.AdminTokenPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin.token mode = %v, want 0600", fi.Mode().Perm())
	}
	if !strings.HasPrefix(env.AdminToken, "mpt_") {
		t.Fatalf("admin token %q lacks the mpt_ prefix", env.AdminToken)
	}
	c := env.Clients(apptest.ProtocolConnect, env.AdminToken)
	who, err := c.Identity.WhoAmI(context.Background(), connect.NewRequest(&v1.WhoAmIRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	if who.Msg.GetPrincipal().GetName() != "admin" || len(who.Msg.GetRoleBindings()) != 1 || who.Msg.GetRoleBindings()[0].GetRole() != "platform-admin" {
		t.Fatalf("whoami = %v", who.Msg)
	}
	// A token is never stored, listed or logged in clear.
	toks, err := c.Identity.ListTokens(context.Background(), connect.NewRequest(&v1.ListTokensRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(toks.Msg.String(), env.AdminToken) {
		t.Fatal("ListTokens returned a secret")
	}
	if strings.Contains(logs.String(), env.AdminToken) {
		t.Fatal("the admin token reached the logs")
	}
	rows, err := env.Server.Store.DB.Query("SELECT hash FROM tokens")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var h string
		_ = rows.Scan(&h)
		if h == env.AdminToken || len(h) != 64 || strings.Trim(h, "0123456789abcdef") != "" {
			t.Fatalf("stored token %q is not a SHA-256 hex digest", h)
		}
	}
	rows.Close()
	events, err := c.Audit.ListAuditEvents(context.Background(), connect.NewRequest(&v1.ListAuditEventsRequest{ResourceType: "token"}))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events.Msg.GetEvents() {
		if strings.Contains(e.GetAfter(), "hash") {
			t.Fatalf("audit event exposes the token hash: %s", e.GetAfter())
		}
	}
}

// TestSystemActorNamesAreReserved: no principal may be named as meshplane
// itself, through either door, or its approvals and audit events would pass
// for meshplane's.
func TestSystemActorNamesAreReserved(t *testing.T) {
	env := apptest.New(t)
	admin := env.Clients(apptest.ProtocolConnect, env.AdminToken)
	for _, name := range []string{"meshplane", "system"} {
		_, err := admin.Identity.CreatePrincipal(context.Background(), connect.NewRequest(&v1.CreatePrincipalRequest{Name: name, Kind: v1.PrincipalKind_PRINCIPAL_KIND_USER}))
		if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(violationsOf(err), `name: "`+name+`" names meshplane itself`) {
			t.Errorf("a principal named %s over Connect: %v", name, err)
		}
		g := env.GraphQL(env.AdminToken, `mutation($n: String!) { createPrincipal(input: {name: $n, kind: USER}) { principal { name } } }`, map[string]any{"n": name})
		if len(g.Errors) == 0 || !strings.Contains(fmt.Sprint(g.Errors), "names meshplane itself") {
			t.Errorf("a principal named %s over GraphQL: %s %+v", name, g.Data, g.Errors)
		}
	}
}

func TestAuthentication(t *testing.T) {
	env := apptest.New(t)
	env.Domain("sales")
	tok := env.User("ann", "viewer", "sales")
	for _, p := range apptest.Protocols {
		ctx := context.Background()
		good := env.Clients(p, tok)
		if _, err := good.Catalog.GetDomain(ctx, connect.NewRequest(&v1.GetDomainRequest{Name: "sales"})); err != nil {
			t.Fatalf("%s: valid token: %v", p, err)
		}
		for name, bad := range map[string]string{"none": "", "garbage": "nope", "unknown": "mpt_" + strings.Repeat("A", 43)} {
			_, err := env.Clients(p, bad).Catalog.GetDomain(ctx, connect.NewRequest(&v1.GetDomainRequest{Name: "sales"}))
			if connect.CodeOf(err) != connect.CodeUnauthenticated {
				t.Fatalf("%s: %s token: got %v, want Unauthenticated", p, name, err)
			}
		}
	}
	gql := env.GraphQL("", `{ viewer { principal { name } } }`, nil)
	if gql.Status != http.StatusUnauthorized || len(gql.Errors) != 1 || gql.Errors[0].Extensions.Code != "UNAUTHENTICATED" {
		t.Fatalf("graphql without token: %+v", gql)
	}

	// Revocation takes effect at once.
	admin := env.Clients(apptest.ProtocolConnect, env.AdminToken)
	ctx := context.Background()
	created, err := admin.Identity.CreateToken(ctx, connect.NewRequest(&v1.CreateTokenRequest{Principal: "ann", Description: "ci", TtlSeconds: 3600}))
	if err != nil {
		t.Fatal(err)
	}
	annCI := env.Clients(apptest.ProtocolConnect, created.Msg.GetSecret())
	if _, err := annCI.Identity.WhoAmI(ctx, connect.NewRequest(&v1.WhoAmIRequest{})); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Identity.RevokeToken(ctx, connect.NewRequest(&v1.RevokeTokenRequest{Id: created.Msg.GetToken().GetId()})); err != nil {
		t.Fatal(err)
	}
	if _, err := annCI.Identity.WhoAmI(ctx, connect.NewRequest(&v1.WhoAmIRequest{})); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Fatalf("revoked token: %v", err)
	}

	// Expired tokens are refused.
	exp, err := admin.Identity.CreateToken(ctx, connect.NewRequest(&v1.CreateTokenRequest{Principal: "ann", TtlSeconds: 60}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Server.Store.DB.Exec(rebind(env, "UPDATE tokens SET expire_time = ? WHERE id = ?"), time.Now().Add(-time.Second).UTC(), exp.Msg.GetToken().GetId()); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Clients(apptest.ProtocolConnect, exp.Msg.GetSecret()).Identity.WhoAmI(ctx, connect.NewRequest(&v1.WhoAmIRequest{})); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Fatalf("expired token: %v", err)
	}

	// Disabled principals cannot authenticate; the last admin cannot be disabled.
	if _, err := admin.Identity.DisablePrincipal(ctx, connect.NewRequest(&v1.DisablePrincipalRequest{Name: "ann"})); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Clients(apptest.ProtocolConnect, tok).Identity.WhoAmI(ctx, connect.NewRequest(&v1.WhoAmIRequest{})); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Fatalf("disabled principal: %v", err)
	}
	if _, err := admin.Identity.DisablePrincipal(ctx, connect.NewRequest(&v1.DisablePrincipalRequest{Name: "admin"})); connect.CodeOf(err) != connect.CodeFailedPrecondition {
		t.Fatalf("disabling the last admin: %v", err)
	}
	bs, err := admin.Identity.ListRoleBindings(ctx, connect.NewRequest(&v1.ListRoleBindingsRequest{Principal: "admin"}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Identity.DeleteRoleBinding(ctx, connect.NewRequest(&v1.DeleteRoleBindingRequest{Id: bs.Msg.GetRoleBindings()[0].GetId()})); connect.CodeOf(err) != connect.CodeFailedPrecondition {
		t.Fatalf("removing the last admin binding: %v", err)
	}

	// Global roles bind only in every domain; bad TTLs are field errors.
	_, err = admin.Identity.CreateRoleBinding(ctx, connect.NewRequest(&v1.CreateRoleBindingRequest{Principal: "admin", Role: "platform-admin", Domain: "sales"}))
	if o := connectOutcome(err); o.Code != "INVALID_ARGUMENT" || o.Fields[0] != "domain" {
		t.Fatalf("global role in a domain: %+v", o)
	}
	_, err = admin.Identity.CreateToken(ctx, connect.NewRequest(&v1.CreateTokenRequest{Principal: "admin", TtlSeconds: 1 << 62}))
	if o := connectOutcome(err); o.Code != "INVALID_ARGUMENT" || o.Fields[0] != "ttlSeconds" {
		t.Fatalf("huge ttl: %+v", o)
	}
}

func TestAuditChain(t *testing.T) {
	env := apptest.New(t)
	ctx := context.Background()
	env.Domain("sales")
	owner := env.User("olivia", "domain-owner", "sales")
	c := env.Clients(apptest.ProtocolConnect, owner)
	created, err := c.Catalog.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{Domain: "sales", Name: "orders", Spec: apptest.ProductSpec()}))
	if err != nil {
		t.Fatal(err)
	}
	s := apptest.ProductSpec()
	s.Description = "changed"
	if _, err := c.Catalog.UpdateDataProduct(ctx, connect.NewRequest(&v1.UpdateDataProductRequest{Domain: "sales", Name: "orders", Spec: s, Version: created.Msg.GetDataProduct().GetVersion()})); err != nil {
		t.Fatal(err)
	}
	// A refused write leaves no event.
	_, _ = c.Catalog.UpdateDataProduct(ctx, connect.NewRequest(&v1.UpdateDataProductRequest{Domain: "sales", Name: "orders", Spec: s, Version: 1}))

	evs, err := c.Audit.ListAuditEvents(ctx, connect.NewRequest(&v1.ListAuditEventsRequest{Resource: "sales/orders"}))
	if err != nil {
		t.Fatal(err)
	}
	got := evs.Msg.GetEvents()
	if len(got) != 2 || got[0].GetAction() != "catalog.UpdateDataProduct" || got[1].GetAction() != "catalog.CreateDataProduct" {
		t.Fatalf("events = %v", got)
	}
	upd := got[0]
	if upd.GetActor() != "olivia" || upd.GetRequestId() == "" || !strings.Contains(upd.GetBefore(), "Orders placed") || !strings.Contains(upd.GetAfter(), "changed") {
		t.Fatalf("update event = %v", upd)
	}
	// Before and after are the same document shape, without the derived
	// search text, so a diff of the two shows only what the writer changed.
	if b, a := jsonKeys(t, upd.GetBefore()), jsonKeys(t, upd.GetAfter()); !slices.Equal(b, a) || slices.Contains(a, "search_text") {
		t.Fatalf("update event's before keys %v, after keys %v", b, a)
	}
	admin := env.Clients(apptest.ProtocolConnect, env.AdminToken)
	v, err := admin.Audit.VerifyAuditLog(ctx, connect.NewRequest(&v1.VerifyAuditLogRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	if !v.Msg.GetOk() || v.Msg.GetEventsChecked() < 5 {
		t.Fatalf("verify = %v", v.Msg)
	}
	// Tampering with a stored event breaks the chain at that event.
	seq := upd.GetSequence()
	if _, err := env.Server.Store.DB.Exec(rebind(env, "UPDATE audit_events SET actor = ? WHERE id = ?"), "mallory", seq); err != nil {
		t.Fatal(err)
	}
	v, err = admin.Audit.VerifyAuditLog(ctx, connect.NewRequest(&v1.VerifyAuditLogRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	if v.Msg.GetOk() || v.Msg.GetFirstBrokenSequence() != seq {
		t.Fatalf("after tampering: %v", v.Msg)
	}
}

// jsonKeys returns the sorted top-level keys of a JSON object.
func jsonKeys(t *testing.T, doc string) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatalf("%v: %s", err, doc)
	}
	return slices.Sorted(maps.Keys(m))
}

func rebind(env *apptest.Env, q string) string {
	if env.Dialect != "postgres" {
		return q
	}
	n := 0
	var b strings.Builder
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + string(rune('0'+n)))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// TestConcurrentWriters races writers holding the same version: exactly one
// wins, the rest get a conflict, and the audit chain stays intact.
func TestConcurrentWriters(t *testing.T) {
	env := apptest.New(t)
	ctx := context.Background()
	env.Domain("sales")
	c := env.Clients(apptest.ProtocolConnect, env.AdminToken)
	if _, err := c.Catalog.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{Domain: "sales", Name: "orders", Spec: apptest.ProductSpec()})); err != nil {
		t.Fatal(err)
	}
	const writers = 16
	var wg sync.WaitGroup
	codes := make([]connect.Code, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := apptest.ProductSpec()
			s.Description = "writer " + string(rune('a'+i))
			_, err := c.Catalog.UpdateDataProduct(ctx, connect.NewRequest(&v1.UpdateDataProductRequest{Domain: "sales", Name: "orders", Spec: s, Version: 1}))
			codes[i] = connect.CodeOf(err)
			if err == nil {
				codes[i] = 0
			}
		}()
	}
	wg.Wait()
	wins := 0
	for _, code := range codes {
		switch code {
		case 0:
			wins++
		case connect.CodeAborted:
		default:
			t.Fatalf("unexpected code %v", code)
		}
	}
	if wins != 1 {
		t.Fatalf("%d writers won, want exactly 1", wins)
	}
	p, err := c.Catalog.GetDataProduct(ctx, connect.NewRequest(&v1.GetDataProductRequest{Domain: "sales", Name: "orders"}))
	if err != nil {
		t.Fatal(err)
	}
	if p.Msg.GetDataProduct().GetVersion() != 2 {
		t.Fatalf("version = %d, want 2", p.Msg.GetDataProduct().GetVersion())
	}
	v, err := c.Audit.VerifyAuditLog(ctx, connect.NewRequest(&v1.VerifyAuditLogRequest{}))
	if err != nil || !v.Msg.GetOk() {
		t.Fatalf("verify after race: %v %v", v, err)
	}
}

func TestRequestLimits(t *testing.T) {
	env := apptest.New(t)
	ctx := context.Background()
	c := env.Clients(apptest.ProtocolConnect, env.AdminToken)
	_, err := c.Catalog.CreateDomain(ctx, connect.NewRequest(&v1.CreateDomainRequest{Name: "big", Description: strings.Repeat("x", 5<<20)}))
	if connect.CodeOf(err) != connect.CodeResourceExhausted {
		t.Fatalf("oversized connect request: %v", err)
	}
	_, err = c.Catalog.CreateDomain(ctx, connect.NewRequest(&v1.CreateDomainRequest{Name: "big", Description: strings.Repeat("x", 5000)}))
	if o := connectOutcome(err); o.Code != "INVALID_ARGUMENT" || o.Fields[0] != "description" {
		t.Fatalf("long description: %+v", o)
	}
	body := `{"query":"mutation { createDomain(input: {name: \"big\", description: \"` + strings.Repeat("x", 5<<20) + `\"}) { domain { name } } }"}`
	req, _ := http.NewRequest(http.MethodPost, env.HTTP.URL+"/graphql", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+env.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := env.HTTP.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode < 400 || resp.StatusCode >= 500 {
		t.Fatalf("oversized graphql request: status %d", resp.StatusCode)
	}
	if _, err := c.Catalog.GetDomain(ctx, connect.NewRequest(&v1.GetDomainRequest{Name: "big"})); connect.CodeOf(err) != connect.CodeNotFound {
		t.Fatalf("oversized requests wrote something: %v", err)
	}
}

func TestMetricsAndHealth(t *testing.T) {
	env := apptest.New(t)
	c := env.Clients(apptest.ProtocolGRPC, env.AdminToken)
	_, _ = c.Catalog.GetDomain(context.Background(), connect.NewRequest(&v1.GetDomainRequest{Name: "missing"}))
	for path, want := range map[string]string{
		"/healthz": "ok",
		"/readyz":  "ok",
		"/metrics": `meshplane_requests_total{code="not_found",door="connect",procedure="/meshplane.v1.CatalogService/GetDomain"} 1`,
	} {
		resp, err := env.HTTP.Client().Get(env.HTTP.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Fatalf("GET %s: %d, missing %q", path, resp.StatusCode, want)
		}
	}
}

// TestMigrationsMatchSchema applies the embedded migrations to an empty
// database and requires that the ent schema needs nothing more.
func TestMigrationsMatchSchema(t *testing.T) {
	env := apptest.New(t)
	var buf bytes.Buffer
	if err := env.Server.Store.Client.Schema.WriteTo(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(buf.String(), "\n") {
		l := strings.TrimSpace(line)
		if l == "" || l == "BEGIN;" || l == "COMMIT;" {
			continue
		}
		t.Fatalf("schema/ and migrations/%s disagree; run go run ./migrations/gen -dialect %s -name <change>:\n%s", env.Dialect, env.Dialect, buf.String())
	}
}

func TestRefusesNewerDatabase(t *testing.T) {
	env := apptest.New(t)
	if _, err := env.Server.Store.DB.Exec(rebind(env, "INSERT INTO meshplane_schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"), "99991231000000", "future", "x"); err != nil {
		t.Fatal(err)
	}
	env.Server.Close()
	_, err := app.New(context.Background(), app.Config{DataDir: env.DataDir, DatabaseURL: env.DatabaseURL, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), AutoMigrate: true})
	if !errors.Is(err, store.ErrDatabaseTooNew) {
		t.Fatalf("starting on a newer database: %v", err)
	}
}

// TestOneActiveRunPerProduct checks that the catalog itself refuses a second
// queued, planning or applying run of a product, whatever a replica's code
// believes: the partial unique index the migrations create.
func TestOneActiveRunPerProduct(t *testing.T) {
	env := apptest.New(t)
	ctx := context.Background()
	runs := env.Server.Store.Client.ProvisioningRun
	create := func(st provisioningrun.State) error {
		return runs.Create().SetDomain("sales").SetProduct("orders").SetProductID("p1").SetProductVersion(1).
			SetKind(provisioningrun.KindApply).SetState(st).Exec(ctx)
	}
	if err := create(provisioningrun.StateQueued); err != nil {
		t.Fatal(err)
	}
	for _, st := range []provisioningrun.State{provisioningrun.StateQueued, provisioningrun.StatePlanning, provisioningrun.StateApplying} {
		if err := create(st); !ent.IsConstraintError(err) {
			t.Errorf("a second active run (%s) of one product: %v", st, err)
		}
	}
	for _, st := range []provisioningrun.State{provisioningrun.StatePlanned, provisioningrun.StateApplied, provisioningrun.StateFailed} {
		if err := create(st); err != nil {
			t.Errorf("a %s run beside an active one: %v", st, err)
		}
	}
}
