package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/server/app"
	"github.com/meshplane/meshplane/server/app/apptest"
	"github.com/meshplane/meshplane/server/descriptor"
	"github.com/meshplane/meshplane/server/rpc"
)

// cliResult is one run of the meshplane binary.
type cliResult struct {
	stdout, stderr string
	code           int
}

// cli runs meshplane with args in a process of its own, with env added.
func cli(t testing.TB, env []string, args ...string) cliResult {
	t.Helper()
	argv, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), childArgs+"="+string(argv)), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return cliResult{stdout: out.String(), stderr: errOut.String(), code: code}
}

// cliServer starts a server with domain sales, reachable over plain HTTP,
// and returns it with the environment that points the client at it as its admin.
func cliServer(t testing.TB, opts ...apptest.Options) (*apptest.Env, []string) {
	env := apptest.New(t, opts...)
	env.Domain("sales")
	srv := httptest.NewServer(env.Server.Handler)
	t.Cleanup(srv.Close)
	return env, []string{"MESHPLANE_URL=" + srv.URL, "MESHPLANE_TOKEN=" + env.AdminToken, "MESHPLANE_CONFIG=" + filepath.Join(t.TempDir(), "none.json")}
}

// writeProducts writes n products of domain sales as descriptors, several
// to a file, and returns the directory.
func writeProducts(t testing.TB, n int) string {
	t.Helper()
	dir := t.TempDir()
	var docs []*descriptor.Document
	for i := range n {
		ps := rpc.ProductSpec(apptest.ProductSpecIn("sales"))
		docs = append(docs, descriptor.Of("sales", fmt.Sprintf("p%02d", i), "", ps))
	}
	for start := 0; start < n; start += 5 {
		b, err := descriptor.Marshal(docs[start:min(start+5, n)]...)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("products-%02d.yaml", start/5)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// edit replaces old with new in the document of product name in dir's files, once.
func edit(t *testing.T, dir, name, old, new string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		docs := strings.Split(string(b), "---\n")
		for i, d := range docs {
			if strings.Contains(d, "name: "+name+"\n") {
				if !strings.Contains(d, old) {
					t.Fatalf("%s has no %q", name, old)
				}
				docs[i] = strings.Replace(d, old, new, 1)
				if err := os.WriteFile(f, []byte(strings.Join(docs, "---\n")), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
		}
	}
	t.Fatalf("no descriptor of %s", name)
}

// TestCLIApplyAndDiff runs the real binary against a server: a directory
// of 20 products is applied, diff then shows nothing, an edit shows as
// exactly that change, a dry run writes nothing, bad descriptors and
// refused products are reported at their line with the documented exit
// codes, and what get exports applies back unchanged.
func TestCLIApplyAndDiff(t *testing.T) {
	env, conn := cliServer(t)
	dir := writeProducts(t, 20)

	r := cli(t, conn, "diff", "-f", dir)
	if r.code != exitChanges || !strings.Contains(r.stdout, "20 to create, 0 to update, 0 unchanged") {
		t.Fatalf("diff before apply: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = cli(t, conn, "apply", "-f", dir)
	if r.code != 0 || !strings.Contains(r.stdout, "20 created") {
		t.Fatalf("apply: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = cli(t, conn, "diff", "-f", dir)
	if r.code != 0 || strings.TrimSpace(r.stdout) != "0 to create, 0 to update, 20 unchanged" {
		t.Fatalf("diff after apply: %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// One edit, two values: the diff names exactly those.
	edit(t, dir, "p07", "retentionMs: 604800000", "retentionMs: 86400000")
	edit(t, dir, "p07", "classification: internal", "classification: none")
	r = cli(t, conn, "diff", "-f", dir)
	want := "~ sales/p07\n" +
		"    ~ spec.ports[orders].fields[customer_id].classification: \"internal\" → \"none\"\n" +
		"    ~ spec.ports[orders].retentionMs: 604800000 → 86400000\n" +
		"0 to create, 1 to update, 19 unchanged\n"
	if r.code != exitChanges || r.stdout != want {
		t.Fatalf("diff after an edit: %d\n%s\nwant\n%s%s", r.code, r.stdout, want, r.stderr)
	}
	r = cli(t, conn, "diff", "-f", dir, "-o", "json")
	var reports []report
	if err := json.Unmarshal([]byte(r.stdout), &reports); err != nil || r.code != exitChanges || len(reports) != 20 || reports[7].Action != "update" || len(reports[7].Changes) != 2 {
		t.Fatalf("diff -o json: %d %v\n%s", r.code, err, r.stdout)
	}
	r = cli(t, conn, "apply", "-f", dir, "--dry-run")
	if r.code != 0 || !strings.Contains(r.stdout, "✓ sales/p07 would be updated (admitted by policy)") || !strings.Contains(r.stdout, "1 would be updated, 19 unchanged") {
		t.Fatalf("dry run: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r = cli(t, conn, "diff", "-f", dir); r.code != exitChanges {
		t.Fatalf("a dry run wrote: diff exits %d", r.code)
	}
	if r = cli(t, conn, "apply", "-f", dir); r.code != 0 || !strings.Contains(r.stdout, "1 updated, 19 unchanged") {
		t.Fatalf("apply of the edit: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r = cli(t, conn, "diff", "-f", dir); r.code != 0 {
		t.Fatalf("diff after applying the edit: %d\n%s", r.code, r.stdout)
	}

	// A malformed descriptor stops everything, at its place.
	bad := filepath.Join(dir, "zz-bad.yaml")
	if err := os.WriteFile(bad, []byte("apiVersion: meshplane.dev/v1\nkind: DataProduct\nmetadata:\n  domain: sales\n  name: broken\nspec:\n  ownr: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	edit(t, dir, "p03", "retentionMs: 604800000", "retentionMs: 3600000")
	r = cli(t, conn, "apply", "-f", dir)
	if r.code != exitFailed || !strings.Contains(r.stderr, bad+`:7:3: unknown field "ownr"`) || !strings.Contains(r.stderr, "nothing was written") {
		t.Fatalf("apply with a malformed descriptor: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	os.Remove(bad)
	if r = cli(t, conn, "diff", "-f", dir); !strings.Contains(r.stdout, "~ sales/p03") {
		t.Fatalf("the malformed apply wrote p03: %s", r.stdout)
	}
	edit(t, dir, "p03", "retentionMs: 3600000", "retentionMs: 604800000")

	// The admission policy refuses a product (a secret of another domain):
	// the violation points at its line.
	edit(t, dir, "p11", "secretRef: env:SALES__ORDERS_DB_PASSWORD", "secretRef: env:HR__ORDERS_DB_PASSWORD")
	r = cli(t, conn, "apply", "-f", dir)
	if r.code != exitFailed || !strings.Contains(r.stdout, "✗ sales/p11 refused") || !strings.Contains(r.stderr, "1 of 20 products were refused or failed to plan") {
		t.Fatalf("a refused product: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "products-02.yaml:") || !strings.Contains(r.stdout, ": spec.source.secretRef: ") {
		t.Errorf("the refusal does not point into the descriptor:\n%s", r.stdout)
	}
	edit(t, dir, "p11", "secretRef: env:HR__ORDERS_DB_PASSWORD", "secretRef: env:SALES__ORDERS_DB_PASSWORD")

	// On an active product, a breaking change shows as one, is refused, and
	// is accepted as the port's next major.
	edit(t, dir, "p05", "owner: orders-team@example.com", "lifecycle: active\n  owner: orders-team@example.com")
	if r = cli(t, conn, "apply", "-f", dir); r.code != 0 || !strings.Contains(r.stdout, "✓ sales/p05 updated") {
		t.Fatalf("activating p05: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	edit(t, dir, "p05", "classification: none", "classification: internal")
	r = cli(t, conn, "diff", "-f", dir)
	if r.code != exitChanges || !strings.Contains(r.stdout, `! breaking, spec.ports[0].fields[0].classification: field "order_id" is classified internal instead of none`) {
		t.Fatalf("diff of a breaking change: %d\n%s", r.code, r.stdout)
	}
	if r = cli(t, conn, "apply", "-f", dir); r.code != exitFailed || !strings.Contains(r.stdout, "✗ sales/p05 refused: the change breaks consumers") ||
		!strings.Contains(r.stdout, ": spec.ports[0].fields[0].classification: field \"order_id\"") {
		t.Fatalf("apply of a breaking change: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	edit(t, dir, "p05", "- name: orders\n", "- name: orders\n      majorVersion: 2\n")
	if r = cli(t, conn, "apply", "-f", dir); r.code != 0 || !strings.Contains(r.stdout, "~ spec.ports[orders].majorVersion: 1 → 2") {
		t.Fatalf("apply as a new major: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r = cli(t, conn, "diff", "-f", dir); r.code != 0 {
		t.Fatalf("diff after the new major: %d\n%s", r.code, r.stdout)
	}

	// What get exports applies back unchanged; a new product shows as one.
	r = cli(t, conn, "get", "product", "sales/p07")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "apiVersion: meshplane.dev/v1\nkind: DataProduct\n") {
		t.Fatalf("get product: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	export := filepath.Join(t.TempDir(), "p07.yaml")
	os.WriteFile(export, []byte(r.stdout), 0o644)
	if r = cli(t, conn, "diff", "-f", export); r.code != 0 {
		t.Fatalf("the export differs from the catalog: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = cli(t, conn, "get", "schema", "sales/p07/customers", "--format", "avro")
	if r.code != 0 || !strings.Contains(r.stdout, `"name": "CustomersV1"`) || !strings.Contains(r.stdout, "pii: hash by the masking policy") {
		t.Fatalf("get schema: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = cli(t, conn, "get", "products", "--domain", "sales")
	if r.code != 0 || strings.Count(r.stdout, "\nsales ") != 20 || !strings.HasPrefix(r.stdout, "DOMAIN") {
		t.Fatalf("get products: %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Prune retires what no descriptor names; drafts are deleted.
	os.WriteFile(filepath.Join(dir, "products-00.yaml"), []byte(strings.SplitN(mustRead(t, filepath.Join(dir, "products-00.yaml")), "---\n", 2)[0]), 0o644)
	r = cli(t, conn, "apply", "-f", dir, "--prune", "--dry-run")
	if r.code != 0 || !strings.Contains(r.stdout, "4 would be deleted") {
		t.Fatalf("prune, dry: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r = cli(t, conn, "apply", "-f", dir, "--prune"); r.code != 0 || !strings.Contains(r.stdout, "4 deleted") {
		t.Fatalf("prune: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if _, err := env.Clients(apptest.ProtocolConnect, env.AdminToken).Catalog.GetDataProduct(context.Background(),
		connect.NewRequest(&v1.GetDataProductRequest{Domain: "sales", Name: "p01"})); connect.CodeOf(err) != connect.CodeNotFound {
		t.Fatalf("a pruned draft is still there: %v", err)
	}
	// An active product is retired by way of deprecated.
	docs := strings.Split(mustRead(t, filepath.Join(dir, "products-01.yaml")), "---\n")
	os.WriteFile(filepath.Join(dir, "products-01.yaml"), []byte(strings.Join(docs[1:], "---\n")), 0o644)
	if r = cli(t, conn, "apply", "-f", dir, "--prune"); r.code != 0 || !strings.Contains(r.stdout, "1 retired") {
		t.Fatalf("prune of an active product: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestCLILogin: login checks the token and saves it 0600; later commands
// use it; a wrong token is refused and saves nothing.
func TestCLILogin(t *testing.T) {
	env := apptest.New(t)
	srv := httptest.NewServer(env.Server.Handler)
	defer srv.Close()
	cfg := filepath.Join(t.TempDir(), "meshplane", "config.json")
	base := []string{"MESHPLANE_CONFIG=" + cfg, "MESHPLANE_URL=", "MESHPLANE_TOKEN="}
	r := cli(t, base, "login", "--server", srv.URL, "--token", "mpt_wrong")
	if r.code != exitFailed || !strings.Contains(r.stderr, "refused the token") {
		t.Fatalf("a wrong token: %d %s", r.code, r.stderr)
	}
	if _, err := os.Stat(cfg); err == nil {
		t.Fatal("a refused login saved a file")
	}
	if r = cli(t, base, "login", "--server", srv.URL, "--token", env.AdminToken); r.code != 0 || !strings.Contains(r.stdout, "as admin") {
		t.Fatalf("login: %d %s%s", r.code, r.stdout, r.stderr)
	}
	st, err := os.Stat(cfg)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("the login file: %v %v", st, err)
	}
	if r = cli(t, base, "get", "products"); r.code != 0 || !strings.HasPrefix(r.stdout, "DOMAIN") {
		t.Fatalf("get with the saved login: %d %s%s", r.code, r.stdout, r.stderr)
	}
	if r = cli(t, []string{"MESHPLANE_CONFIG=" + filepath.Join(t.TempDir(), "x.json"), "MESHPLANE_URL=", "MESHPLANE_TOKEN="}, "get", "products"); r.code != exitFailed || !strings.Contains(r.stderr, "no server") {
		t.Fatalf("without a login: %d %s", r.code, r.stderr)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// BenchmarkCLIApply times `meshplane apply -f` of 1,000 products against a
// local server, the real binary in a process of its own: once creating
// them all (reported as create-s), then with nothing to change (the
// benchmark's time per op), beside `diff` of the same (diff-s).
func BenchmarkCLIApply(b *testing.B) {
	_, conn := cliServer(b)
	dir := writeProducts(b, 1000)
	start := time.Now()
	if r := cli(b, conn, "apply", "-f", dir); r.code != 0 {
		b.Fatalf("creating: %d %s", r.code, r.stderr)
	}
	created := time.Since(start)
	start = time.Now()
	if r := cli(b, conn, "diff", "-f", dir); r.code != 0 {
		b.Fatalf("diff: %d %s", r.code, r.stdout)
	}
	diffed := time.Since(start)
	b.ResetTimer()
	for b.Loop() {
		if r := cli(b, conn, "apply", "-f", dir); r.code != 0 || !strings.Contains(r.stdout, "1000 unchanged") {
			b.Fatalf("apply: %d %s", r.code, r.stderr)
		}
	}
	b.ReportMetric(created.Seconds(), "create-s")
	b.ReportMetric(diffed.Seconds(), "diff-s")
}

// TestCLIExportImport: a product exported as ODPS and ODCS and imported
// back is the product the catalog holds: diff finds nothing to change.
func TestCLIExportImport(t *testing.T) {
	_, conn := cliServer(t)
	dir := writeProducts(t, 1)
	if r := cli(t, conn, "apply", "-f", dir); r.code != 0 {
		t.Fatalf("apply: %d %s%s", r.code, r.stdout, r.stderr)
	}
	out := t.TempDir()
	r := cli(t, conn, "export", "sales/p00", "--dir", out, "--kafka-bootstrap", "kafka:9092")
	if r.code != 0 {
		t.Fatalf("export: %d %s%s", r.code, r.stdout, r.stderr)
	}
	for _, f := range []string{"sales.p00.odps.yaml", "sales.p00.orders.v1.odcs.yaml", "sales.p00.customers.v1.odcs.yaml"} {
		if !strings.Contains(r.stderr, filepath.Join(out, f)) {
			t.Errorf("export wrote no %s: %s", f, r.stderr)
		}
	}
	if c := mustRead(t, filepath.Join(out, "sales.p00.customers.v1.odcs.yaml")); !strings.Contains(c, "classification: pii") || !strings.Contains(c, "host: kafka:9092") {
		t.Errorf("the customers contract:\n%s", c)
	}
	r = cli(t, conn, "import", "--odps", filepath.Join(out, "sales.p00.odps.yaml"),
		"--odcs", filepath.Join(out, "sales.p00.orders.v1.odcs.yaml"), "--odcs", filepath.Join(out, "sales.p00.customers.v1.odcs.yaml"))
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("import: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	back := filepath.Join(t.TempDir(), "p00.yaml")
	os.WriteFile(back, []byte(r.stdout), 0o644)
	if r = cli(t, conn, "diff", "-f", back); r.code != 0 {
		t.Fatalf("the imported product differs from the catalog's: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestCLIRuns: plan shows a run ready for review, approve applies it while
// streaming its log, watch follows a settled run, request-access files a
// request; a run that cannot be approved exits 2.
func TestCLIRuns(t *testing.T) {
	apptest.RequireTools(t)
	env, conn := cliServer(t)
	dir := writeProducts(t, 1)
	edit(t, dir, "p00", "owner: orders-team@example.com", "lifecycle: active\n  owner: orders-team@example.com")
	if r := cli(t, conn, "apply", "-f", dir, "--wait"); r.code != 0 || !strings.Contains(r.stdout, "planning sales/p00\n") || !strings.Contains(r.stdout, "planned: 24 to add") {
		t.Fatalf("apply --wait: %d %s%s", r.code, r.stdout, r.stderr)
	}
	r := cli(t, conn, "plan", "sales/p00")
	id, _, _ := strings.Cut(strings.TrimPrefix(r.stdout, "run "), " ")
	if r.code != 0 || !strings.Contains(r.stdout, "planned: ") || !strings.Contains(r.stdout, "create module.topic__orders.kafka_topic.this") ||
		!strings.Contains(r.stdout, "review it, then: meshplane approve "+id+"\n") {
		t.Fatalf("plan: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = cli(t, conn, "approve", id)
	if r.code != 0 || !strings.Contains(r.stdout, "applying") || !strings.Contains(r.stdout, "Apply complete!") || !strings.HasSuffix(r.stdout, "applied\n") {
		t.Fatalf("approve: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r = cli(t, conn, "watch", id); r.code != 0 || !strings.HasSuffix(r.stdout, "applied\n") {
		t.Fatalf("watch: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r = cli(t, conn, "approve", id); r.code != exitFailed || !strings.Contains(r.stderr, "meshplane: ") {
		t.Fatalf("approving an applied run: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	admin := env.Clients(apptest.ProtocolConnect, env.AdminToken)
	if _, err := admin.Identity.CreatePrincipal(context.Background(), connect.NewRequest(&v1.CreatePrincipalRequest{
		Name: "reporter", Kind: v1.PrincipalKind_PRINCIPAL_KIND_SERVICE_ACCOUNT, Domain: "sales"})); err != nil {
		t.Fatal(err)
	}
	r = cli(t, conn, "request-access", "--consumer", "reporter", "--port", "sales/p00/orders", "--purpose", "weekly report", "--duration", "24h")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "access request ") {
		t.Fatalf("request-access: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = cli(t, conn, "request-access", "--consumer", "reporter", "--port", "sales/p00/nowhere", "--purpose", "x")
	if r.code != exitFailed {
		t.Fatalf("a request for an unknown port: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestCLIPromote: plan and apply in dev, promote to prod, where the owner
// and a governance officer must both approve.
func TestCLIPromote(t *testing.T) {
	apptest.RequireTools(t)
	env, conn := cliServer(t, apptest.Options{Environments: []app.EnvironmentConfig{{Name: "dev"},
		{Name: "prod", PromoteFrom: []string{"dev"}, Parameters: map[string]any{"protected": true}}}})
	dir := writeProducts(t, 1)
	edit(t, dir, "p00", "owner: orders-team@example.com", "lifecycle: active\n  owner: orders-team@example.com")
	if r := cli(t, conn, "apply", "-f", dir); r.code != 0 {
		t.Fatalf("apply: %d %s%s", r.code, r.stdout, r.stderr)
	}
	if r := cli(t, conn, "promote", "sales/p00", "--from", "dev", "--to", "prod"); r.code != exitFailed || !strings.Contains(r.stderr, "not provisioned in dev") {
		t.Fatalf("promoting what dev does not run: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r := cli(t, conn, "plan", "sales/p00", "--env", "dev")
	id, _, _ := strings.Cut(strings.TrimPrefix(r.stdout, "run "), " ")
	if r.code != 0 || !strings.Contains(r.stdout, " queued in dev\n") {
		t.Fatalf("plan --env dev: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r = cli(t, conn, "approve", id); r.code != 0 || !strings.HasSuffix(r.stdout, "applied\n") {
		t.Fatalf("approve in dev: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = cli(t, conn, "promote", "sales/p00", "--from", "dev", "--to", "prod")
	id, _, _ = strings.Cut(strings.TrimPrefix(r.stdout, "run "), " ")
	if r.code != 0 || !strings.Contains(r.stdout, " queued in prod\n") ||
		!strings.Contains(r.stdout, "environment prod needs the approval of a domain-owner (environment prod is protected) and a governance-officer (port \"customers\" carries pii data)") {
		t.Fatalf("promote: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r = cli(t, conn, "approve", id); r.code != 0 || !strings.Contains(r.stdout, "approval recorded; it still waits for a governance-officer") {
		t.Fatalf("the admin's approval: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	officer := slices.Clone(conn)
	officer[1] = "MESHPLANE_TOKEN=" + env.User("gary", "governance-officer", "*")
	if r = cli(t, officer, "approve", id); r.code != 0 || !strings.HasSuffix(r.stdout, "applied\n") {
		t.Fatalf("the officer's approval: %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Access is asked for in an environment: the domain's own plain port is
	// granted at once in dev, and reviewed by its owner in protected prod.
	admin := env.Clients(apptest.ProtocolConnect, env.AdminToken)
	if _, err := admin.Identity.CreatePrincipal(context.Background(), connect.NewRequest(&v1.CreatePrincipalRequest{
		Name: "loader", Kind: v1.PrincipalKind_PRINCIPAL_KIND_SERVICE_ACCOUNT, Domain: "sales"})); err != nil {
		t.Fatal(err)
	}
	for envName, want := range map[string]string{"dev": " in dev: approved\n", "prod": " in prod: pending, awaiting domain-owner:sales\n"} {
		r = cli(t, conn, "request-access", "--consumer", "loader", "--port", "sales/p00/orders", "--purpose", "nightly load", "--env", envName)
		if r.code != 0 || !strings.HasSuffix(r.stdout, want) {
			t.Errorf("request-access --env %s: %d\n%s%s", envName, r.code, r.stdout, r.stderr)
		}
	}
	if r = cli(t, conn, "request-access", "--consumer", "loader", "--port", "sales/p00/orders", "--purpose", "x", "--env", "qa"); r.code != exitFailed ||
		!strings.Contains(r.stderr, `environment: no environment "qa"`) {
		t.Errorf("request-access --env qa: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
