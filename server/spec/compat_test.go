package spec

import (
	"strings"
	"testing"
)

func TestBreaks(t *testing.T) {
	base := OutputPort{Name: "customers", MajorVersion: 1, CleanupPolicy: CleanupDelete, Partitions: 6, RetentionMs: 1000, Table: "public.customers", Fields: []Field{
		{Name: "id", Type: TypeInt32, Classification: ClassNone, Key: true},
		{Name: "email", Type: TypeString, Nullable: true, Classification: ClassPII},
		{Name: "score", Type: TypeFloat, Nullable: true, Classification: ClassInternal},
	}}
	change := func(f func(p *OutputPort)) OutputPort {
		p := base
		p.Fields = append([]Field(nil), base.Fields...)
		f(&p)
		return p
	}
	for _, tc := range []struct {
		name  string
		new   OutputPort
		paths []string // of the breaks, in order; none: compatible
		why   string   // in the first reason
	}{
		{"unchanged", base, nil, ""},
		{"optional field added", change(func(p *OutputPort) {
			p.Fields = append(p.Fields, Field{Name: "phone", Type: TypeString, Nullable: true})
		}), nil, ""},
		{"description changed", change(func(p *OutputPort) { p.Fields[1].Description = "where receipts go"; p.Description = "x" }), nil, ""},
		{"retention raised", change(func(p *OutputPort) { p.RetentionMs = 2 * p.RetentionMs }), nil, ""},
		{"field removed", change(func(p *OutputPort) { p.Fields = p.Fields[:2] }), []string{"spec.ports[0].fields"}, `field "score" is removed`},
		{"field renamed", change(func(p *OutputPort) { p.Fields[2].Name = "rating" }), []string{"spec.ports[0].fields"}, `"score" is removed (or renamed)`},
		{"type narrowed", change(func(p *OutputPort) { p.Fields[0].Type = TypeString }), []string{"spec.ports[0].fields[0].type"}, "from int32 to string"},
		{"int32 widened to int64", change(func(p *OutputPort) { p.Fields[0].Type = TypeInt64 }), []string{"spec.ports[0].fields[0].type"}, "readers of int32 cannot read it"},
		{"float widened to double", change(func(p *OutputPort) { p.Fields[2].Type = TypeDouble }), []string{"spec.ports[0].fields[2].type"}, "from float to double"},
		{"optional made required", change(func(p *OutputPort) { p.Fields[1].Nullable = false }), []string{"spec.ports[0].fields[1].nullable"}, "becomes required"},
		{"required made optional", change(func(p *OutputPort) { p.Fields[0].Nullable = true }), []string{"spec.ports[0].fields[0].nullable"}, "becomes optional"},
		{"required field added", change(func(p *OutputPort) { p.Fields = append(p.Fields, Field{Name: "phone", Type: TypeString}) }), []string{"spec.ports[0].fields[3].nullable"}, "added as required"},
		{"key changed", change(func(p *OutputPort) { p.Fields[1].Key = true }), []string{"spec.ports[0].fields[1].key"}, "joins the record key"},
		{"key dropped", change(func(p *OutputPort) { p.Fields[0].Key = false }), []string{"spec.ports[0].fields[0].key"}, "leaves the record key"},
		{"classification raised", change(func(p *OutputPort) { p.Fields[1].Classification = ClassSensitive }), []string{"spec.ports[0].fields[1].classification"}, "classified sensitive instead of pii"},
		{"classification relaxed", change(func(p *OutputPort) { p.Fields[1].Classification = ClassInternal }), []string{"spec.ports[0].fields[1].classification"}, "classified internal instead of pii"},
		{"classification removed", change(func(p *OutputPort) { p.Fields[0].Classification = ClassUnclassified }), []string{"spec.ports[0].fields[0].classification"}, "classified unclassified instead of none"},
		{"masking tag added", change(func(p *OutputPort) { p.Fields[2].Tags = []string{"mask"} }), []string{"spec.ports[0].fields[2].tags"}, "tags steer the masking policy"},
		{"cleanup policy", change(func(p *OutputPort) { p.CleanupPolicy = CleanupCompact }), []string{"spec.ports[0].cleanupPolicy"}, "from delete to compact"},
		{"partitions down", change(func(p *OutputPort) { p.Partitions = 1 }), []string{"spec.ports[0].partitions"}, "cannot shrink"},
		{"partitions up", change(func(p *OutputPort) { p.Partitions = 12 }), nil, ""},
		{"table changed", change(func(p *OutputPort) { p.Table = "public.other" }), []string{"spec.ports[0].table"}, "other data"},
		{"several at once", change(func(p *OutputPort) { p.Fields[0].Type = TypeBoolean; p.Fields[1].Nullable = false }),
			[]string{"spec.ports[0].fields[0].type", "spec.ports[0].fields[1].nullable"}, "int32 to boolean"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Breaks(base, tc.new, "spec.ports[0]")
			var paths []string
			for _, b := range got {
				paths = append(paths, b.Path)
			}
			if strings.Join(paths, " ") != strings.Join(tc.paths, " ") {
				t.Fatalf("breaks at %v, want %v: %v", paths, tc.paths, got)
			}
			if len(got) > 0 && !strings.Contains(got[0].Reason, tc.why) {
				t.Errorf("reason %q lacks %q", got[0].Reason, tc.why)
			}
		})
	}
}
