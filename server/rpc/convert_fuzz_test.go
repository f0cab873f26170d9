package rpc

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/errs"
	"github.com/meshplane/meshplane/server/spec"
)

// validSpecPB returns a wire spec that decodes to a valid product.
func validSpecPB() *v1.DataProductSpec {
	return &v1.DataProductSpec{
		Description: "Orders placed in the web shop.",
		Owner:       "team-orders@example.com",
		Labels:      map[string]string{"team": "orders", "tier": "gold"},
		Source: &v1.Source{
			Kind: v1.SourceKind_SOURCE_KIND_POSTGRES, Host: "orders-db.internal", Port: 5432, Database: "shop",
			Tables: []string{"public.orders", "public.customers"}, Username: "cdc_reader", SecretRef: "vault:secret/data/orders-db:password",
		},
		Ports: []*v1.OutputPort{
			{Name: "orders", Table: "public.orders", CleanupPolicy: v1.CleanupPolicy_CLEANUP_POLICY_COMPACT, Fields: []*v1.Field{
				{Name: "order_id", Type: v1.FieldType_FIELD_TYPE_INT64, Classification: v1.Classification_CLASSIFICATION_NONE},
				{Name: "total", Type: v1.FieldType_FIELD_TYPE_DECIMAL, Tags: []string{"money"}},
			}},
			{Name: "customers", Table: "public.customers", MajorVersion: 2, Partitions: 6, RetentionMs: -1, Fields: []*v1.Field{
				{Name: "customer_id", Type: v1.FieldType_FIELD_TYPE_INT64, Classification: v1.Classification_CLASSIFICATION_INTERNAL},
				{Name: "email", Type: v1.FieldType_FIELD_TYPE_STRING, Nullable: true, Classification: v1.Classification_CLASSIFICATION_PII, Description: "Contact address."},
			}},
		},
		Sinks: []*v1.Sink{
			{Name: "warehouse", Kind: &v1.Sink_Bigquery{Bigquery: &v1.BigQuerySink{Project: "acme-analytics", Dataset: "orders", CredentialsRef: "env:GCP_KEY"}}},
			{Name: "archive", Ports: []string{"orders"}, Kind: &v1.Sink_S3{S3: &v1.S3Sink{Bucket: "acme-archive", Region: "eu-west-1", Prefix: "orders/"}}},
			{Name: "crm", Ports: []string{"customers"}, Kind: &v1.Sink_Jdbc{Jdbc: &v1.JdbcSink{
				Url: "jdbc:postgresql://crm-db:5432/crm", Username: "crm", SecretRef: "env:CRM_PW", PrimaryKeyFields: []string{"customer_id"}, DeleteEnabled: true}}},
			{Name: "search", Kind: &v1.Sink_Elasticsearch{Elasticsearch: &v1.ElasticsearchSink{Url: "https://search:9200", IndexPrefix: "orders"}}},
		},
	}
}

// unknownEnums returns the request paths of enum fields in m holding a
// number their enum does not define.
func unknownEnums(m protoreflect.Message, path string) []string {
	var out []string
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		p := path + "." + fd.JSONName()
		switch {
		case fd.IsMap():
			if fd.MapValue().Kind() == protoreflect.MessageKind || fd.MapValue().Kind() == protoreflect.EnumKind {
				out = append(out, p+" (map of messages or enums: extend unknownEnums)")
			}
		case fd.IsList():
			l := v.List()
			for i := range l.Len() {
				ip := fmt.Sprintf("%s[%d]", p, i)
				switch fd.Kind() {
				case protoreflect.EnumKind:
					if fd.Enum().Values().ByNumber(l.Get(i).Enum()) == nil {
						out = append(out, ip)
					}
				case protoreflect.MessageKind:
					out = append(out, unknownEnums(l.Get(i).Message(), ip)...)
				}
			}
		case fd.Kind() == protoreflect.EnumKind:
			if fd.Enum().Values().ByNumber(v.Enum()) == nil {
				out = append(out, p)
			}
		case fd.Kind() == protoreflect.MessageKind:
			out = append(out, unknownEnums(v.Message(), p)...)
		}
		return true
	})
	return out
}

// The enum fields of a product spec, by request path.
var enumPathRe = regexp.MustCompile(`^spec\.(source\.kind|ports\[(\d+)\]\.(cleanupPolicy|fields\[\d+\]\.(type|classification)))$`)

// checkDecoded decodes in as a create request does, validates it and checks
// that unknown enum numbers are refused by path and that whatever is valid
// survives the trip back to the wire.
func checkDecoded(t *testing.T, in *v1.DataProductSpec) {
	t.Helper()
	p := ProductSpec(in)
	p.Normalize("sales", "orders")
	var v errs.Violations
	p.Validate(&v, "spec")
	reported := map[string]bool{}
	for _, fv := range v.List() {
		reported[fv.Path] = true
	}

	unknown := unknownEnums(in.ProtoReflect(), "spec")
	if len(unknown) > 0 && v.Len() == 0 {
		t.Fatalf("unknown enum numbers at %v accepted", unknown)
	}
	for _, path := range unknown {
		m := enumPathRe.FindStringSubmatch(path)
		if m == nil {
			t.Fatalf("unknown enum number at %s, a field this test does not know", path)
		}
		// Over-long lists are refused as a whole, without per-item paths.
		if m[2] != "" {
			if len(in.GetPorts()) > spec.MaxPorts {
				continue
			}
			var i int
			fmt.Sscan(m[2], &i)
			if strings.Contains(path, ".fields[") && len(in.GetPorts()[i].GetFields()) > spec.MaxFields {
				continue
			}
		}
		if !reported[path] {
			t.Fatalf("unknown enum number at %s not reported; violations: %v", path, v.List())
		}
	}
	if v.Len() > 0 {
		return
	}

	// Valid: the stored product renders to the wire and decodes back unchanged.
	out := dataProductPB(&ent.DataProduct{
		Domain: "sales", Name: "orders", Description: p.Description, Owner: p.Owner, Labels: p.Labels,
		Source: p.Source, Ports: p.Ports, Sinks: p.Sinks,
	})
	for i, port := range out.GetPorts() {
		if port.GetTopic() != p.Ports[i].Topic {
			t.Fatalf("port %d topic %q, want %q", i, port.GetTopic(), p.Ports[i].Topic)
		}
	}
	back := ProductSpec(&v1.DataProductSpec{
		Description: out.GetDescription(), Owner: out.GetOwner(), Labels: out.GetLabels(),
		Source: out.GetSource(), Ports: out.GetPorts(), Sinks: out.GetSinks(),
	})
	back.Normalize("sales", "orders")
	if !reflect.DeepEqual(back, p) {
		t.Fatalf("wire round trip changed the product:\n%+v\n%+v", p, back)
	}
}

// FuzzDecodeProductSpec feeds arbitrary bytes through the descriptor decoding
// of a create request: protobuf or JSON wire form, then ProductSpec,
// Normalize and Validate. None of it may panic.
func FuzzDecodeProductSpec(f *testing.F) {
	valid := validSpecPB()
	bin, err := proto.MarshalOptions{Deterministic: true}.Marshal(valid)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(bin)
	js, err := protojson.Marshal(valid)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(js)

	odd := validSpecPB()
	odd.Source.Kind = 7
	odd.Ports[0].CleanupPolicy = -1
	odd.Ports[1].Fields[0].Type = 99
	odd.Ports[1].Fields[1].Classification = 1 << 30
	bin, err = proto.MarshalOptions{Deterministic: true}.Marshal(odd)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(bin)
	js, err = protojson.Marshal(odd)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(js)
	f.Add([]byte(`{"source":{"kind":99},"ports":[{"name":"orders","cleanupPolicy":12,"fields":[{"name":"a","type":-3}]}]}`))
	f.Add([]byte{})
	f.Add([]byte(`{"sinks":[{"name":"x","bigquery":{},"s3":{}}]}`))

	f.Fuzz(func(t *testing.T, data []byte) {
		var in v1.DataProductSpec
		if err := proto.Unmarshal(data, &in); err == nil {
			checkDecoded(t, &in)
		} else {
			// A failed decode may leave a partial message; decoding it must still not panic.
			p := ProductSpec(&in)
			var v errs.Violations
			p.Validate(&v, "spec")
		}
		var fromJSON v1.DataProductSpec
		if err := protojson.Unmarshal(data, &fromJSON); err == nil {
			checkDecoded(t, &fromJSON)
		}
	})
}

func TestDecodeValidSpec(t *testing.T) {
	in := validSpecPB()
	p := ProductSpec(in)
	p.Normalize("sales", "orders")
	var v errs.Violations
	p.Validate(&v, "spec")
	if v.Len() != 0 {
		t.Fatalf("valid spec has violations: %v", v.List())
	}
	if got := p.Ports[1].Topic; got != "sales.orders.customers.v2" {
		t.Errorf("topic = %q", got)
	}
	if p.Source.Kind != spec.SourcePostgres || p.Ports[0].CleanupPolicy != spec.CleanupCompact || p.Ports[1].CleanupPolicy != spec.CleanupDelete ||
		p.Ports[1].Fields[1].Classification != spec.ClassPII || p.Ports[0].Fields[1].Classification != spec.ClassUnclassified ||
		p.Ports[0].Fields[1].Type != spec.TypeDecimal {
		t.Errorf("enums decoded wrongly: %+v", p)
	}
	if p.Sinks[0].Kind() != spec.SinkBigQuery || p.Sinks[1].Kind() != spec.SinkS3 || p.Sinks[2].Kind() != spec.SinkJDBC || p.Sinks[3].Kind() != spec.SinkElasticsearch {
		t.Errorf("sink kinds decoded wrongly: %+v", p.Sinks)
	}
	checkDecoded(t, in)
}

func TestDecodeUnknownEnums(t *testing.T) {
	in := validSpecPB()
	in.Source.Kind = 7
	in.Ports[0].CleanupPolicy = -1
	in.Ports[1].Fields[0].Type = 99
	in.Ports[1].Fields[1].Classification = 1 << 30
	p := ProductSpec(in)
	p.Normalize("sales", "orders")
	var v errs.Violations
	p.Validate(&v, "spec")
	var got []string
	for _, fv := range v.List() {
		got = append(got, fv.Path)
	}
	want := []string{"spec.source.kind", "spec.ports[0].cleanupPolicy", "spec.ports[1].fields[0].type", "spec.ports[1].fields[1].classification"}
	if !slices.Equal(got, want) {
		t.Errorf("violations at %q, want %q: %v", got, want, v.List())
	}
	// protoreflect ranges over fields in no fixed order, so compare as sets.
	paths := unknownEnums(in.ProtoReflect(), "spec")
	slices.Sort(paths)
	sortedWant := slices.Sorted(slices.Values(want))
	if !slices.Equal(paths, sortedWant) {
		t.Errorf("unknownEnums = %q, want %q", paths, sortedWant)
	}
	checkDecoded(t, in)
}

// TestEnumMapsCoverEveryValue fails when the API gains an enum value the
// converter does not map: it would decode to a string the validator refuses.
func TestEnumMapsCoverEveryValue(t *testing.T) {
	check := func(name string, values protoreflect.EnumValueDescriptors, has func(protoreflect.EnumNumber) bool) {
		for i := range values.Len() {
			if n := values.Get(i).Number(); !has(n) {
				t.Errorf("%s: %s (%d) is not mapped", name, values.Get(i).Name(), n)
			}
		}
	}
	check("Lifecycle", v1.Lifecycle(0).Descriptor().Values(), func(n protoreflect.EnumNumber) bool { _, ok := lifecycles[v1.Lifecycle(n)]; return ok })
	check("SourceKind", v1.SourceKind(0).Descriptor().Values(), func(n protoreflect.EnumNumber) bool { _, ok := sourceKinds[v1.SourceKind(n)]; return ok })
	check("Classification", v1.Classification(0).Descriptor().Values(), func(n protoreflect.EnumNumber) bool {
		_, ok := classifications[v1.Classification(n)]
		return ok
	})
	check("FieldType", v1.FieldType(0).Descriptor().Values(), func(n protoreflect.EnumNumber) bool { _, ok := fieldTypes[v1.FieldType(n)]; return ok })
	check("CleanupPolicy", v1.CleanupPolicy(0).Descriptor().Values(), func(n protoreflect.EnumNumber) bool {
		_, ok := cleanupPolicies[v1.CleanupPolicy(n)]
		return ok
	})
	check("PrincipalKind", v1.PrincipalKind(0).Descriptor().Values(), func(n protoreflect.EnumNumber) bool {
		_, ok := principalKinds[v1.PrincipalKind(n)]
		return ok
	})

	// Every specified value decodes to something the validator accepts.
	values := v1.FieldType(0).Descriptor().Values()
	for i := 1; i < values.Len(); i++ {
		in := validSpecPB()
		in.Ports[0].Fields[0].Type = v1.FieldType(values.Get(i).Number())
		in.Ports[0].Fields[0].Classification = v1.Classification(i % 5)
		in.Ports[0].CleanupPolicy = v1.CleanupPolicy(i % 4)
		in.Source.Kind = v1.SourceKind(1 + i%2)
		p := ProductSpec(in)
		p.Normalize("sales", "orders")
		var v errs.Violations
		p.Validate(&v, "spec")
		if v.Len() != 0 {
			t.Errorf("%s: %v", values.Get(i).Name(), v.List())
		}
		// And encodes back to the same number.
		if got := fieldTypes.num(string(p.Ports[0].Fields[0].Type)); got != in.Ports[0].Fields[0].Type {
			t.Errorf("%s encodes back as %v", values.Get(i).Name(), got)
		}
	}
}

func TestDecodeMissingParts(t *testing.T) {
	if got := ProductSpec(nil); !reflect.DeepEqual(got, spec.Product{}) {
		t.Errorf("ProductSpec(nil) = %+v", got)
	}
	in := &v1.DataProductSpec{
		Ports: []*v1.OutputPort{nil, {Fields: []*v1.Field{nil}}},
		Sinks: []*v1.Sink{nil, {Kind: &v1.Sink_Bigquery{}}, {Kind: &v1.Sink_S3{}}, {Kind: &v1.Sink_Jdbc{}}, {Kind: &v1.Sink_Elasticsearch{}}},
	}
	p := ProductSpec(in)
	if len(p.Ports) != 2 || len(p.Ports[1].Fields) != 1 || len(p.Sinks) != 5 {
		t.Fatalf("decoded %+v", p)
	}
	// A oneof holding a nil message still names the sink's kind, so the
	// validator asks for that kind's settings.
	for i, want := range []spec.SinkKind{"", spec.SinkBigQuery, spec.SinkS3, spec.SinkJDBC, spec.SinkElasticsearch} {
		if got := p.Sinks[i].Kind(); got != want {
			t.Errorf("sink %d kind %q, want %q", i, got, want)
		}
	}
	p.Normalize("sales", "orders")
	var v errs.Violations
	p.Validate(&v, "spec")
	reported := map[string]bool{}
	for _, fv := range v.List() {
		reported[fv.Path] = true
	}
	for _, path := range []string{"spec.owner", "spec.source.kind", "spec.source.host", "spec.ports[0].name", "spec.ports[0].fields",
		"spec.ports[1].fields[0].name", "spec.ports[1].fields[0].type", "spec.sinks[0]", "spec.sinks[1].bigquery.project",
		"spec.sinks[2].s3.bucket", "spec.sinks[3].jdbc.url", "spec.sinks[4].elasticsearch.url"} {
		if !reported[path] {
			t.Errorf("no violation at %s; got %v", path, v.List())
		}
	}
}
