package engine

import (
	"context"
	"testing"

	"github.com/meshplane/meshplane/server/spec"
)

// The decision cache is keyed by the input digest, so the digest must cover
// exactly the document the policy sees: productJSON is written straight
// from the spec and must equal the canonical JSON of productTerm.
func TestDigestCoversThePolicyInput(t *testing.T) {
	p := Product{Domain: "crm", Name: "customers", Lifecycle: "active", Spec: spec.Product{
		Description: "Customers", Owner: "crm@example.com", Labels: map[string]string{"b": "2", "a": "1 \"q\"\n"},
		Source: spec.Source{Kind: spec.SourcePostgres, Host: "db", Port: 5432, Database: "crm", Tables: []string{"public.customers", "public.x"},
			Username: "dbz", SecretRef: "env:CRM__X"},
		Ports: []spec.OutputPort{{Name: "customers", Description: "ü → ok", Topic: "crm.customers.customers.v1", MajorVersion: 1, Partitions: 3,
			RetentionMs: -1, CleanupPolicy: spec.CleanupCompactDelete, Table: "public.customers", Fields: []spec.Field{
				{Name: "id", Type: spec.TypeInt64, Classification: spec.ClassNone},
				{Name: "email", Type: spec.TypeString, Nullable: true, Description: "<e>", Classification: spec.ClassPII, Tags: []string{"contact", "mask"}, Key: true},
			}}},
		Sinks: []spec.Sink{{Name: "search", Elasticsearch: &spec.ElasticsearchSink{URL: "https://es", Username: "u", SecretRef: "vault:secret/data/crm/es:pw"}},
			{Name: "lake", Ports: []string{"customers"}, S3: &spec.S3Sink{Bucket: "b", CredentialsRef: "file:/etc/meshplane/secrets/crm/\"s3\":key"}}},
	}}
	got := string(productJSON(nil, p))
	want := string(CanonicalJSON(productTerm(p).Value))
	if got != want {
		t.Fatalf("productJSON differs from the policy input:\n got %s\nwant %s", got, want)
	}
}

// A cached decision is the same decision, and an input that differs in any
// way is evaluated afresh.
func TestDecisionCache(t *testing.T) {
	s, err := Compile(context.Background(), "v", Defaults(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p := Product{Domain: "crm", Name: "customers", Spec: spec.Product{Owner: "o", Ports: []spec.OutputPort{{Name: "people", Description: "d",
		RetentionMs: 1000, Fields: []spec.Field{{Name: "email", Type: spec.TypeString, Classification: spec.ClassPII}}}}}}
	m1 := s.Mask(ctx, p)
	m2 := s.Mask(ctx, p)
	if m1.Cached || !m2.Cached || len(m2.Decisions) != len(m1.Decisions) || m2.Decisions[0] != m1.Decisions[0] {
		t.Fatalf("masking: first cached=%v, second cached=%v, %v vs %v", m1.Cached, m2.Cached, m1.Decisions, m2.Decisions)
	}
	a1 := s.Admit(ctx, p, m1.Decisions)
	a2 := s.Admit(ctx, p, m1.Decisions)
	if a1.Cached || !a2.Cached || a1.Allowed != a2.Allowed || len(a1.Violations) != len(a2.Violations) {
		t.Fatalf("admission: %+v then %+v", a1, a2)
	}
	p.Spec.Ports[0].Fields[0].Classification = ""
	if a3 := s.Admit(ctx, p, m1.Decisions); a3.Cached || a3.Allowed {
		t.Fatalf("a changed product was answered from the cache: %+v", a3)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	p.Spec.Ports[0].Fields[0].Classification = spec.ClassPII
	if a4 := s.Admit(cancelled, p, m1.Decisions); a4.Allowed || a4.Cached {
		t.Fatalf("a cancelled caller was admitted from the cache: %+v", a4)
	}
}

func TestMaskingDigestMatchesTheInput(t *testing.T) {
	for _, ds := range [][]Decision{
		nil,
		{{Port: "b", Field: "z", Action: ActionHash}, {Port: "a", Field: "y", Action: ActionAllow}},
		{{Port: "p", Field: "f", Action: ActionAllow}, {Port: "p", Field: "f", Sink: "s2", Action: ActionDrop},
			{Port: "p", Field: "f", Sink: "s1", Action: ActionMask}, {Port: "p", Field: "f", Sink: "s1", Action: ActionDrop}},
		{{Port: "p", Field: "g", Sink: "only-sink", Action: ActionHash}, {Port: "p", Field: "f", Action: ActionDrop}, {Port: "p", Field: "f", Action: ActionHash}},
	} {
		got := string(maskingJSON(nil, ds))
		want := string(CanonicalJSON(maskingTerm(ds).Value))
		if got != want {
			t.Errorf("maskingJSON(%v):\n got %s\nwant %s", ds, got, want)
		}
	}
}
