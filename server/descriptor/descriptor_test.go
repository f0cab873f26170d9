package descriptor

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/meshplane/meshplane/server/spec"
)

func yamlToJSON(b []byte, v any) error {
	j, err := yaml.YAMLToJSON(b)
	if err != nil {
		return err
	}
	return json.Unmarshal(j, v)
}

var update = flag.Bool("update", false, "rewrite the golden files")

// TestRoundTrip: descriptor → spec → descriptor gives the same text, and
// the spec holds every value written.
func TestRoundTrip(t *testing.T) {
	docs, err := Load("testdata/orders.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 2 || docs[0].Key() != "sales/orders" || docs[1].Key() != "sales/refunds" || docs[1].Line != 69 {
		t.Fatalf("documents: %d, line of the second %d", len(docs), docs[len(docs)-1].Line)
	}
	o := docs[0].Spec
	email := o.Ports[1].Fields[1]
	if o.Lifecycle != spec.LifecycleActive || o.Labels["tier"] != "gold" || o.Source.Kind != spec.SourcePostgres || len(o.Source.Tables) != 2 ||
		email.Classification != spec.ClassPII || !email.Nullable || email.Tags[0] != "contact" || o.Ports[0].CleanupPolicy != spec.CleanupDelete ||
		o.Sinks[0].BigQuery == nil || o.Sinks[0].BigQuery.Project != "acme-analytics" || !strings.HasSuffix(o.Description, "One record per order change.\n") {
		t.Fatalf("decoded: %+v", o)
	}
	var out []*Document
	for _, d := range docs {
		out = append(out, Of(d.Metadata.Domain, d.Metadata.Name, d.Spec.Lifecycle, d.Spec.Product))
	}
	b, err := Marshal(out...)
	if err != nil {
		t.Fatal(err)
	}
	golden := "testdata/orders.golden.yaml"
	if *update {
		if err := os.WriteFile(golden, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("marshalled:\n%s\nwant (%s):\n%s", b, golden, want)
	}
	again, err := Parse("again.yaml", b)
	if err != nil {
		t.Fatalf("the written descriptor does not read back: %v", err)
	}
	for i := range again {
		x, _ := Marshal(Of(again[i].Metadata.Domain, again[i].Metadata.Name, again[i].Spec.Lifecycle, again[i].Spec.Product))
		y, _ := Marshal(out[i])
		if !bytes.Equal(x, y) {
			t.Errorf("document %d changes on a second round:\n%s\nvs\n%s", i, x, y)
		}
	}
}

// TestMalformed: every malformed descriptor is refused with where and why.
func TestMalformed(t *testing.T) {
	head := "apiVersion: meshplane.dev/v1\nkind: DataProduct\nmetadata:\n  domain: sales\n  name: orders\n"
	bomb := "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
	for _, tc := range []struct {
		name, text string
		want       string // in the error, after file:line:col
	}{
		{"duplicate key", head + "spec:\n  owner: a@example.com\n  owner: b@example.com\n", "bad.yaml:8:3: "},
		{"anchor bomb", bomb, "bad.yaml:1:4: anchors (&name) are not allowed"},
		{"alias", head + "spec:\n  owner: &o a@example.com\n  description: *o\n", "bad.yaml:7:10: anchors"},
		{"merge key", head + "spec:\n  <<: {owner: a}\n", "bad.yaml:7:3: merge keys"},
		{"unknown field", head + "spec:\n  owner: a@example.com\n  ownr: b\n", "bad.yaml:8:3: "},
		{"unknown nested field", head + "spec:\n  ports:\n    - name: p\n      fieldz: []\n", "bad.yaml:9:7: "},
		{"wrong type", head + "spec:\n  ports:\n    - name: p\n      partitions: many\n", "bad.yaml:9:19: "},
		{"wrong version", strings.Replace(head, "meshplane.dev/v1", "meshplane.dev/v0", 1) + "spec: {}\n", `bad.yaml:1:13: apiVersion: must be meshplane.dev/v1, got "meshplane.dev/v0"`},
		{"wrong kind", strings.Replace(head, "DataProduct", "Topic", 1) + "spec: {}\n", "bad.yaml:2:7: kind: must be DataProduct"},
		{"no name", "apiVersion: meshplane.dev/v1\nkind: DataProduct\nmetadata:\n  domain: sales\nspec: {}\n", "bad.yaml:4:9: metadata.name: is required"},
		{"derived topic", head + "spec:\n  ports:\n    - name: p\n      topic: x\n", "bad.yaml:9:14: spec.ports[0].topic: is derived"},
		{"not yaml", "a: [\n", "bad.yaml:"},
		{"empty", "", "bad.yaml: holds no document"},
		{"binary", "a: \xff\xfe\n", "bad.yaml: is not UTF-8 text"},
		{"catalog check", head + "spec:\n  owner: a@example.com\n  lifecycle: live\n  ports:\n    - name: p\n      fields:\n        - name: id\n          type: int65\n",
			`bad.yaml:13:17: spec.ports[0].fields[0].type: unknown type "int65"`},
		{"too large", head + "spec:\n  description: " + strings.Repeat("x", MaxFileBytes) + "\n", "bad.yaml: is 4194"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			docs, err := Parse("bad.yaml", []byte(tc.text))
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("accepted (%d documents): %v", len(docs), err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q lacks %q", err.Error(), tc.want)
			}
		})
	}
}

// TestLoadDirectory: a directory is read in name order, hidden folders
// skipped, and a product described twice is refused where it repeats.
func TestLoadDirectory(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	doc := func(name string) string {
		return "apiVersion: meshplane.dev/v1\nkind: DataProduct\nmetadata:\n  domain: sales\n  name: " + name + "\nspec:\n  owner: a@example.com\n" +
			"  source: {kind: postgres, host: db.internal, port: 5432, database: shop, tables: [public.t], username: cdc, secretRef: env:SALES__DB_PASSWORD}\n" +
			"  ports:\n    - name: pp\n      fields:\n        - {name: id, type: int64, classification: none}\n"
	}
	write("b.yaml", doc("beta"))
	write("a/z.yml", doc("alpha"))
	write(".git/x.yaml", "not: [valid")
	write("notes.txt", "ignored")
	docs, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 2 || docs[0].Metadata.Name != "alpha" || docs[1].Metadata.Name != "beta" {
		t.Fatalf("loaded %v", docs)
	}
	write("c.yaml", doc("beta"))
	_, err = Load(dir)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "c.yaml")+":5:9: metadata.name: product sales/beta is described again: first at "+filepath.Join(dir, "b.yaml")+":1") {
		t.Fatalf("a product described twice: %v", err)
	}
}

// TestDiff: what differs is named by path, list items by name; defaults the
// catalog fills and derived topics are no change; an omitted lifecycle
// keeps the product's.
func TestDiff(t *testing.T) {
	docs, err := Load("testdata/orders.yaml")
	if err != nil {
		t.Fatal(err)
	}
	desired := docs[0]
	stored := *desired
	stored.Spec.Product.Ports = nil
	b, _ := Marshal(desired)
	again, _ := Parse("x.yaml", b)
	stored = *again[0]
	stored.Spec.Product.Normalize("sales", "orders") // as the catalog holds it: topics set
	if d := Diff(&stored, desired); len(d) != 0 {
		t.Fatalf("no change expected, got %v", d)
	}
	edited := *again[0]
	edited.Spec.Lifecycle = ""
	edited.Spec.Ports = append([]spec.OutputPort(nil), edited.Spec.Ports...)
	edited.Spec.Ports[1].Fields = append([]spec.Field(nil), edited.Spec.Ports[1].Fields...)
	edited.Spec.Ports[1].Fields[1].Classification = spec.ClassSensitive
	edited.Spec.Ports[0].RetentionMs = 0 // the default: 7 days, as stored
	edited.Spec.Labels = nil
	got := Diff(&stored, &edited)
	want := []Change{
		{Path: "spec.labels.tier", Before: `"gold"`},
		{Path: "spec.ports[customers].fields[email].classification", Before: `"pii"`, After: `"sensitive"`},
	}
	if len(got) != len(want) {
		t.Fatalf("diff %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("change %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	created := Diff(nil, desired)
	if len(created) < 20 || created[0].Before != "" {
		t.Errorf("a new product's diff: %v", created)
	}
}

// TestSchema: the published JSON Schema is the one the types give, and it
// accepts every descriptor meshplane writes and refuses what Parse refuses.
func TestSchema(t *testing.T) {
	const published = "../../api/descriptor/v1.schema.json"
	got := Schema()
	if *update {
		if err := os.WriteFile(published, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(published)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is out of date: run go test ./server/descriptor -update", published)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(want))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(SchemaID, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(SchemaID)
	if err != nil {
		t.Fatal(err)
	}
	asJSON := func(text string) any {
		var v any
		if err := yamlToJSON([]byte(text), &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	golden, _ := os.ReadFile("testdata/orders.golden.yaml")
	for i, d := range strings.Split(string(golden), "---\n") {
		if err := sch.Validate(asJSON(d)); err != nil {
			t.Errorf("golden document %d: %v", i, err)
		}
	}
	head := "apiVersion: meshplane.dev/v1\nkind: DataProduct\nmetadata:\n  domain: sales\n  name: orders\n"
	for _, bad := range []string{
		head + "spec:\n  ownr: x\n",
		head + "spec:\n  ports:\n    - name: p\n      topic: sales.orders.p.v1\n",
		head + "spec:\n  ports:\n    - name: p\n      fields:\n        - {name: a, type: int65}\n",
		head + "spec:\n  sinks:\n    - name: s\n",
		strings.Replace(head, "v1", "v2", 1) + "spec: {}\n",
	} {
		if err := sch.Validate(asJSON(bad)); err == nil {
			t.Errorf("the schema accepts:\n%s", bad)
		}
	}
}
