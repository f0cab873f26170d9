package policy

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/meshplane/meshplane/policies"
	"github.com/meshplane/meshplane/server/access"
	"github.com/meshplane/meshplane/server/errs"
	"github.com/meshplane/meshplane/server/policy/engine"
	"github.com/meshplane/meshplane/server/provision/render"
	"github.com/meshplane/meshplane/server/spec"
	"github.com/meshplane/meshplane/server/store"
)

func testSalts(t testing.TB) Salts {
	s, err := NewSalts([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// typical is a product with a PII string, a PII number, a sensitive field
// and plain ones, delivered to a search index.
func typical() spec.Product {
	p := spec.Product{
		Description: "Customers", Owner: "crm@example.com",
		Source: spec.Source{Kind: spec.SourcePostgres, Host: "db", Port: 5432, Database: "crm", Tables: []string{"public.customers"},
			Username: "dbz", SecretRef: "env:CRM__DB_PASSWORD"},
		Ports: []spec.OutputPort{{Name: "customers", Description: "Customer master data", RetentionMs: 7 * 24 * 3600 * 1000,
			CleanupPolicy: spec.CleanupDelete, Table: "public.customers", Fields: []spec.Field{
				{Name: "id", Type: spec.TypeInt64, Classification: spec.ClassNone, Key: true},
				{Name: "email", Type: spec.TypeString, Classification: spec.ClassPII},
				{Name: "birth_year", Type: spec.TypeInt32, Classification: spec.ClassPII},
				{Name: "iban", Type: spec.TypeString, Classification: spec.ClassSensitive},
				{Name: "city", Type: spec.TypeString, Classification: spec.ClassInternal, Tags: []string{"location"}},
			}}},
		Sinks: []spec.Sink{{Name: "search", Elasticsearch: &spec.ElasticsearchSink{URL: "https://es.internal:9200"}}},
	}
	p.Normalize("crm", "customers")
	return p
}

func TestCompileConnectors(t *testing.T) {
	salts := testSalts(t)
	p := typical()
	ds := []engine.Decision{
		{Port: "customers", Field: "id", Action: engine.ActionAllow},
		{Port: "customers", Field: "email", Action: engine.ActionHash, Algorithm: "SHA-256", Salt: "default"},
		{Port: "customers", Field: "birth_year", Action: engine.ActionHash, Algorithm: "SHA-256", Salt: "default"},
		{Port: "customers", Field: "iban", Action: engine.ActionDrop},
		{Port: "customers", Field: "city", Action: engine.ActionTruncate, Length: 3},
		// Per sink: stricter than the topic → a transform; not stricter → nothing.
		{Port: "customers", Field: "email", Sink: "search", Action: engine.ActionDrop},
		{Port: "customers", Field: "city", Sink: "search", Action: engine.ActionHash, Algorithm: "SHA-256", Salt: "default"},
		{Port: "customers", Field: "id", Sink: "search", Action: engine.ActionAllow},
	}
	c := Compile("crm", "customers", p, ds, salts)
	src := c.Config[render.SourceConnectorName("crm", "customers")]
	want := map[string]string{
		"column.mask.hash.v2.SHA-256.with.salt." + salts.Value("crm", "default"): `public\.customers\.email`,
		// Debezium masks character columns only: a PII number is dropped,
		// so it is left out of the columns captured, like the IBAN.
		"column.include.list":        `public\.customers\.city,public\.customers\.email,public\.customers\.id`,
		"column.truncate.to.3.chars": `public\.customers\.city`,
		// The record key is the declared key, never the primary key as is.
		"message.key.columns": `public\.customers:id`,
	}
	if len(src) != len(want) {
		t.Errorf("source settings = %v, want %v", src, want)
	}
	for k, v := range want {
		if src[k] != v {
			t.Errorf("source %s = %q, want %q", k, src[k], v)
		}
	}
	if c.Masked != 4 {
		t.Errorf("masked = %d, want 4", c.Masked)
	}
	for _, d := range c.Decisions {
		if d.Field == "birth_year" && (d.Action != engine.ActionDrop || !d.Fallback || !strings.Contains(d.Reason, "character columns")) {
			t.Errorf("birth_year decision = %+v", d)
		}
	}
	fm := c.SinkMasks["search"]
	if strings.Join(fm.Drop, ",") != "email" || strings.Join(fm.Mask, ",") != "city" {
		t.Errorf("search sink masks = %+v", fm)
	}
	// The setting carries the derived value, never the salt's bare name.
	for k := range src {
		if strings.HasSuffix(k, ".with.salt.default") {
			t.Errorf("setting %q names the salt instead of its derived value", k)
		}
	}
	// Settings as shown in diffs name the salt, never its value.
	for k := range c.settings("crm", "customers") {
		if strings.Contains(k, salts.Value("crm", "default")) {
			t.Errorf("a derived salt shows in %q", k)
		}
	}
}

func TestSaltsAndPseudonyms(t *testing.T) {
	if _, err := NewSalts(make([]byte, 16)); err == nil {
		t.Error("a 16-byte key was accepted")
	}
	a, b := testSalts(t), Salts{key: []byte(strings.Repeat("x", 32))}
	if a.Value("d", "default") == b.Value("d", "default") || a.Value("d", "default") == a.Value("d", "other") || a.Value("d", "default") == a.Value("e", "default") {
		t.Error("salts must differ by key, by domain and by name")
	}
	if a.Pseudonym("alice@example.com") != a.Pseudonym("alice@example.com") || a.Pseudonym("a") == a.Pseudonym("b") {
		t.Error("pseudonyms must be stable and distinct")
	}
}

// newService opens a throwaway SQLite catalog with the default policies.
func newService(tb testing.TB) *Service {
	tb.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite://"+tb.TempDir()+"/catalog.db")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	authz, err := access.New(policies.RBACModel, policies.RBACPolicy)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := New(Config{Store: st, Authz: authz, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Salts: testSalts(tb)})
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	return s
}

// BenchmarkImpact1000 measures an impact dry-run of a stricter masking
// policy over 1,000 products: every product is evaluated by both policies
// and its connector settings compared.
func BenchmarkImpact1000(b *testing.B) {
	s := newService(b)
	ctx := context.Background()
	p := typical()
	for i := range 1000 {
		dom := fmt.Sprintf("d%02d", i%20)
		if i < 20 {
			if _, err := s.store.Client.Domain.Create().SetName(dom).Save(ctx); err != nil {
				b.Fatal(err)
			}
		}
		_, err := s.store.Client.DataProduct.Create().SetDomain(dom).SetName(fmt.Sprintf("p%04d", i)).
			SetDescription(p.Description).SetOwner(p.Owner).SetSource(p.Source).SetPorts(p.Ports).SetSinks(p.Sinks).Save(ctx)
		if err != nil {
			b.Fatal(err)
		}
	}
	files := engine.Defaults()
	stricter := engine.Files{}
	for k, v := range files {
		if strings.HasPrefix(k, "masking") {
			stricter[k] = v
		}
	}
	stricter["masking.rego"] = strings.Replace(stricter["masking.rego"], `topic(port, field) := {"action": "drop"`,
		`topic(port, field) := {"action": "mask", "params": {"chars": 4}} if {
	field.classification == "internal"
} else := {"action": "drop"`, 1)
	var im *Impact
	b.ResetTimer()
	for range b.N {
		// Fresh policy sets each time, so no decision comes from the cache
		// of an earlier iteration: this is a dry-run of a new draft.
		b.StopTimer()
		published, err := s.compile(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		candidate, err := s.compile(ctx, draft("masking", stricter))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if im, err = s.evaluateImpact(ctx, "masking", published, candidate); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if im.ProductsEvaluated != 1000 || len(im.Masking) != 1000 || len(im.Connectors) != 1000 {
		b.Fatalf("impact evaluated %d products with %d masking and %d connector changes, want 1000 each",
			im.ProductsEvaluated, len(im.Masking), len(im.Connectors))
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/dry-run")
	// Over 1,000 products, milliseconds per dry-run are also microseconds per product.
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "µs/product")
}

// Module names cannot contain "_", the separator of file-name suffixes, so
// no module's files can shadow another's: "admission_extra.rego" belongs to
// module admission only.
func TestModuleNamesCannotShadowFiles(t *testing.T) {
	s := newService(t)
	_, err := s.CreateModule(context.Background(), "admission_extra", "", map[string]string{"admission_extra.rego": "package x\n"})
	e := errs.As(err)
	if e.Kind != errs.KindInvalidArgument || len(e.Fields) == 0 || e.Fields[0].Path != "name" {
		t.Fatalf("CreateModule(admission_extra) = %v", err)
	}
	var v errs.Violations
	checkFiles(&v, "admission", map[string]string{"admission_extra.rego": "", "masking.rego": ""})
	if v.Len() != 1 || v.List()[0].Path != `files["masking.rego"]` {
		t.Errorf("checkFiles = %+v", v.List())
	}
}
