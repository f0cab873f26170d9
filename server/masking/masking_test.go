package masking

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/meshplane/meshplane/server/policy/engine"
	"github.com/meshplane/meshplane/server/provision/render"
	"github.com/meshplane/meshplane/server/spec"
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
	for k := range c.Settings("crm", "customers") {
		if strings.Contains(k, salts.Value("crm", "default")) {
			t.Errorf("a derived salt shows in %q", k)
		}
	}
}

// TestCompileJDBCSink: a JDBC sink's stricter decision becomes a transform
// of its own connector, like any other sink's; the topic, and so every other
// consumer, keeps the topic's decision.
func TestCompileJDBCSink(t *testing.T) {
	salts := testSalts(t)
	p := typical()
	p.Sinks = append(p.Sinks, spec.Sink{Name: "reporting", JDBC: &spec.JDBCSink{
		URL: "jdbc:postgresql://dwh.internal:5432/dwh", Username: "loader", SecretRef: "env:CRM__DWH_PASSWORD",
		InsertMode: "upsert", DeleteEnabled: true,
	}})
	p.Normalize("crm", "customers")
	topic := []engine.Decision{
		{Port: "customers", Field: "id", Action: engine.ActionAllow},
		{Port: "customers", Field: "email", Action: engine.ActionHash, Algorithm: "SHA-256", Salt: "default"},
		{Port: "customers", Field: "birth_year", Action: engine.ActionAllow},
		{Port: "customers", Field: "iban", Action: engine.ActionDrop},
		{Port: "customers", Field: "city", Action: engine.ActionAllow},
	}
	perSink := []engine.Decision{
		{Port: "customers", Field: "email", Sink: "reporting", Action: engine.ActionDrop},
		{Port: "customers", Field: "city", Sink: "reporting", Action: engine.ActionTruncate, Length: 3},
		{Port: "customers", Field: "birth_year", Sink: "reporting", Action: engine.ActionMask, Chars: 4},
		// Not stricter than the topic: nothing.
		{Port: "customers", Field: "iban", Sink: "reporting", Action: engine.ActionDrop},
	}
	alone := Compile("crm", "customers", p, topic, salts)
	c := Compile("crm", "customers", p, append(slices.Clone(topic), perSink...), salts)

	src := render.SourceConnectorName("crm", "customers")
	if !maps.Equal(c.Config[src], alone.Config[src]) {
		t.Errorf("source settings %v, want them as without per-sink decisions: %v", c.Config[src], alone.Config[src])
	}
	if c.Masked != alone.Masked {
		t.Errorf("masked = %d, want %d: per-sink decisions change no value at the source", c.Masked, alone.Masked)
	}
	if got := c.SinkMasks["reporting"]; !slices.Equal(got.Drop, []string{"email"}) || !slices.Equal(got.Mask, []string{"birth_year", "city"}) {
		t.Errorf("reporting sink masks = %+v, want drop [email], mask [birth_year city]", got)
	}
	if _, ok := c.SinkMasks["search"]; ok {
		t.Errorf("search sink masks = %+v, want none", c.SinkMasks["search"])
	}
	for _, d := range c.Decisions {
		switch {
		case d.Sink == "" && d.Fallback:
			t.Errorf("topic decision %+v was changed", d)
		case d.Sink == "reporting" && d.Field == "city" && (d.Action != engine.ActionMask || !d.Fallback):
			t.Errorf("reporting city decision = %+v, want a mask as fallback", d)
		case d.Sink == "reporting" && d.Field == "iban":
			t.Errorf("reporting iban decision %+v enforced, want nothing: the topic drops it already", d)
		}
	}
	// The diff names the sink connector's transforms.
	changed := Changed("crm", "customers", alone, c)
	if _, ok := changed[src]; ok {
		t.Errorf("source connector changed: %v", changed[src])
	}
	if got := changed[render.SinkConnectorName("crm", "customers", "reporting")]; !slices.Equal(got, []string{"transforms.dropfields.exclude", "transforms.maskfields.fields"}) {
		t.Errorf("reporting connector changes = %v", got)
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
