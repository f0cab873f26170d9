package engine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/meshplane/meshplane/server/policy/engine"
	"github.com/meshplane/meshplane/server/spec"
)

// TestDefaultMasking checks the default masking policy's decision for one
// field at the topic, by classification, tags and approval label.
func TestDefaultMasking(t *testing.T) {
	hash := engine.Decision{Action: engine.ActionHash, Algorithm: "SHA-256", Salt: "default"}
	tests := []struct {
		name     string
		class    spec.Classification
		tags     []string
		approved bool
		want     engine.Decision // Port, Field and Classification are filled in
	}{
		{name: "plain", class: spec.ClassNone, want: engine.Decision{Action: engine.ActionAllow}},
		{name: "internal", class: spec.ClassInternal, want: engine.Decision{Action: engine.ActionAllow}},
		{name: "pii", class: spec.ClassPII, want: hash},
		{name: "sensitive", class: spec.ClassSensitive, want: engine.Decision{Action: engine.ActionDrop}},
		{name: "unclassified", class: spec.ClassUnclassified, want: engine.Decision{Action: engine.ActionDrop, Fallback: true}},
		{name: "pii tagged mask", class: spec.ClassPII, tags: []string{"mask"}, want: engine.Decision{Action: engine.ActionMask, Chars: 8}},
		{name: "plain tagged mask", class: spec.ClassNone, tags: []string{"searchable", "mask"}, want: engine.Decision{Action: engine.ActionMask, Chars: 8}},
		{name: "sensitive tagged mask", class: spec.ClassSensitive, tags: []string{"mask"}, want: engine.Decision{Action: engine.ActionDrop}},
		{name: "plain tagged truncate", class: spec.ClassInternal, tags: []string{"truncate-12", "truncate-4"}, want: engine.Decision{Action: engine.ActionTruncate, Length: 4}},
		{name: "pii tagged truncate", class: spec.ClassPII, tags: []string{"truncate-4"}, want: hash},
		{name: "pii tagged allow-raw", class: spec.ClassPII, tags: []string{"allow-raw"}, want: hash},
		{name: "pii tagged allow-raw, approved", class: spec.ClassPII, tags: []string{"allow-raw"}, approved: true, want: engine.Decision{Action: engine.ActionAllow, Reason: "raw pii approved for this port by policy"}},
		{name: "sensitive tagged allow-raw, approved", class: spec.ClassSensitive, tags: []string{"allow-raw"}, approved: true, want: engine.Decision{Action: engine.ActionDrop}},
		{name: "other tags", class: spec.ClassNone, tags: []string{"searchable", "truncate-0"}, want: engine.Decision{Action: engine.ActionAllow}},
		{name: "pii with other tags", class: spec.ClassPII, tags: []string{"searchable"}, want: hash},
	}
	s, approved := defaults(t), approvedSet(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := orders()
			p.Spec.Sinks = nil
			p.Spec.Ports[0].Fields = []spec.Field{{Name: "f", Type: spec.TypeString, Classification: tt.class, Tags: tt.tags}}
			set := s
			if tt.approved {
				set = approved
			}
			m := set.Mask(context.Background(), p)
			if m.Err != nil {
				t.Fatal(m.Err)
			}
			want := tt.want
			want.Port, want.Field, want.Classification = "orders", "f", tt.class
			if len(m.Decisions) != 1 {
				t.Fatalf("decisions = %+v, want one", m.Decisions)
			}
			got := m.Decisions[0]
			if want.Fallback {
				want.Reason = got.Reason // meshplane's wording
			}
			if got != want {
				t.Errorf("decision = %+v\nwant       %+v", got, want)
			}
		})
	}
}

func TestDefaultMaskingProduct(t *testing.T) {
	s := approvedSet(t)
	p := orders()
	p.Spec.Ports[0].Fields = append(p.Spec.Ports[0].Fields, spec.Field{Name: "phone", Type: spec.TypeString, Classification: spec.ClassPII, Tags: []string{"allow-raw"}})
	m := s.Mask(context.Background(), p)
	if m.Err != nil || m.Version != "approved" || len(m.InputDigest) != 64 {
		t.Fatalf("Mask = %+v", m)
	}
	var got []string
	for _, d := range m.Decisions {
		got = append(got, fmt.Sprintf("%s.%s@%s=%s", d.Port, d.Field, d.Sink, d.Action))
	}
	want := []string{
		"orders.card_number@=drop",
		"orders.email@=hash",
		"orders.order_id@=allow",
		"orders.phone@=allow",
		"orders.phone@search=hash", // search indexes never hold raw pii
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("decisions\n %v\nwant\n %v", got, want)
	}
	if d, _ := m.For("orders", "phone", "search"); d.Action != engine.ActionHash || d.Reason == "" {
		t.Errorf("For(phone, search) = %+v", d)
	}
	if d, _ := m.For("orders", "phone", "warehouse"); d.Action != engine.ActionAllow {
		t.Errorf("For(phone, warehouse) = %+v, want the topic's allow", d)
	}
	if _, ok := m.For("orders", "nope", ""); ok {
		t.Error("For found a field that does not exist")
	}
}

func TestDefaultMaskingWideSchema(t *testing.T) {
	p := wide(200)
	m := defaults(t).Mask(context.Background(), p)
	if m.Err != nil || len(m.Decisions) != 200 {
		t.Fatalf("Mask: %v, %d decisions", m.Err, len(m.Decisions))
	}
	want := map[spec.Classification]engine.Action{
		spec.ClassNone: engine.ActionAllow, spec.ClassInternal: engine.ActionAllow,
		spec.ClassPII: engine.ActionHash, spec.ClassSensitive: engine.ActionDrop,
	}
	for _, d := range m.Decisions {
		if d.Action != want[d.Classification] || d.Fallback {
			t.Errorf("%s (%s): %+v", d.Field, d.Classification, d)
		}
	}
}

func TestMaskingConflictsKeepTheStrictest(t *testing.T) {
	s := compile(t, engine.Files{"masking.rego": `package meshplane.masking

decisions contains {"port": "orders", "field": "order_id", "action": "hash", "params": {"algorithm": "SHA-512", "salt": "orders"}}

decisions contains {"port": "orders", "field": "order_id", "action": "mask", "params": {"chars": 4}}

decisions contains {"port": "orders", "field": "order_id", "action": "truncate", "params": {"length": 3}}

decisions contains {"port": "orders", "field": "email", "action": "truncate", "params": {"length": 9}}

decisions contains {"port": "orders", "field": "email", "action": "truncate", "params": {"length": 5}}

decisions contains {"port": "orders", "field": "card_number", "action": "drop"}

decisions contains {"port": "orders", "field": "card_number", "action": "allow"}

# A sink decision laxer than the topic's adds nothing.
decisions contains {"port": "orders", "field": "card_number", "sink": "search", "action": "hash", "params": {"algorithm": "SHA-256", "salt": "s"}}

decisions contains {"port": "orders", "field": "email", "sink": "search", "action": "drop", "reason": "not searchable"}
`})
	m := s.Mask(context.Background(), orders())
	if m.Err != nil {
		t.Fatal(m.Err)
	}
	want := []engine.Decision{
		{Port: "orders", Field: "card_number", Classification: spec.ClassSensitive, Action: engine.ActionDrop},
		{Port: "orders", Field: "email", Classification: spec.ClassPII, Action: engine.ActionTruncate, Length: 5},
		{Port: "orders", Field: "email", Sink: "search", Classification: spec.ClassPII, Action: engine.ActionDrop, Reason: "not searchable"},
		{Port: "orders", Field: "order_id", Classification: spec.ClassNone, Action: engine.ActionMask, Chars: 4},
	}
	if fmt.Sprint(m.Decisions) != fmt.Sprint(want) {
		t.Errorf("decisions\n %+v\nwant\n %+v", m.Decisions, want)
	}
}

func TestStrictness(t *testing.T) {
	order := []engine.Action{engine.ActionAllow, engine.ActionTruncate, engine.ActionHash, engine.ActionMask, engine.ActionDrop}
	for i := range order {
		for j := range order {
			if got := order[i].Stricter(order[j]); got != (i > j) {
				t.Errorf("%s.Stricter(%s) = %v", order[i], order[j], got)
			}
		}
	}
	if engine.Strictness("scramble") != -1 || engine.ActionAllow.Stricter("scramble") != true {
		t.Error("unknown actions must rank below allow")
	}
}
