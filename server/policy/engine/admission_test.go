package engine_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/meshplane/meshplane/server/policy/engine"
	"github.com/meshplane/meshplane/server/spec"
)

// TestDefaultAdmission runs each default admission rule on products that
// break it, and on products that come close, with the decisions of the
// default masking policy unless a case overrides them.
func TestDefaultAdmission(t *testing.T) {
	s := approvedSet(t) // the default rules, with sales/orders/orders approved for raw PII
	tests := []struct {
		name    string
		product func(*engine.Product)
		masking func([]engine.Decision) []engine.Decision // changes the default decisions
		want    []string                                  // paths denied; none: admitted
	}{{
		name: "compliant product",
	}, {
		name:    "unclassified field",
		product: func(p *engine.Product) { p.Spec.Ports[0].Fields[0].Classification = "" },
		want:    []string{"spec.ports[0].fields[0].classification"},
	}, {
		name:    "pii port without description",
		product: func(p *engine.Product) { p.Spec.Ports[0].Description = " " },
		want:    []string{"spec.ports[0].description"},
	}, {
		name: "plain port without description",
		product: func(p *engine.Product) {
			p.Spec.Ports[0].Description = ""
			p.Spec.Ports[0].Fields[1].Classification = spec.ClassInternal
			p.Spec.Ports[0].Fields[2].Classification = spec.ClassNone
		},
	}, {
		name:    "pii product without owner",
		product: func(p *engine.Product) { p.Spec.Owner = "" },
		want:    []string{"spec.owner"},
	}, {
		name:    "pii kept 31 days",
		product: func(p *engine.Product) { p.Spec.Ports[0].RetentionMs = 31 * 24 * 3600 * 1000 },
		want:    []string{"spec.ports[0].retentionMs"},
	}, {
		name:    "pii kept 30 days",
		product: func(p *engine.Product) { p.Spec.Ports[0].RetentionMs = 30 * 24 * 3600 * 1000 },
	}, {
		name:    "pii kept forever",
		product: func(p *engine.Product) { p.Spec.Ports[0].RetentionMs = -1 },
		want:    []string{"spec.ports[0].retentionMs"},
	}, {
		name: "plain port kept forever",
		product: func(p *engine.Product) {
			p.Spec.Ports[0].RetentionMs = -1
			p.Spec.Ports[0].Fields = p.Spec.Ports[0].Fields[:1]
		},
	}, {
		name:    "sensitive field delivered raw",
		masking: setAction("card_number", "", engine.ActionAllow),
		want:    []string{"spec.sinks[0]", "spec.sinks[1]"},
	}, {
		name:    "sensitive field truncated for one sink",
		masking: setAction("card_number", "", engine.ActionTruncate),
		want:    []string{"spec.sinks[0]", "spec.sinks[1]"},
	}, {
		name:    "sensitive field masked",
		masking: setAction("card_number", "", engine.ActionMask),
	}, {
		name: "raw pii approved, hashed for the search index",
		product: func(p *engine.Product) {
			p.Spec.Ports[0].Fields[1].Tags = []string{"allow-raw"}
		},
	}, {
		name: "raw pii indexed for search",
		product: func(p *engine.Product) {
			p.Spec.Ports[0].Fields[1].Tags = []string{"allow-raw"}
		},
		masking: func(ds []engine.Decision) []engine.Decision {
			return slices.DeleteFunc(ds, func(d engine.Decision) bool { return d.Sink == "search" })
		},
		want: []string{"spec.sinks[1]"},
	}, {
		name: "raw pii in a warehouse",
		product: func(p *engine.Product) {
			p.Spec.Sinks = p.Spec.Sinks[:1]
			p.Spec.Ports[0].Fields[1].Tags = []string{"allow-raw"}
		},
	}, {
		name:    "pii without any masking decision",
		masking: func([]engine.Decision) []engine.Decision { return nil },
		want:    []string{"spec.sinks[0]", "spec.sinks[1]", "spec.sinks[1]"}, // the card number, then also the e-mail
	}, {
		name:    "field name not snake_case",
		product: func(p *engine.Product) { p.Spec.Ports[0].Fields[0].Name = "orderId" },
		want:    []string{"spec.ports[0].fields[0].name"},
	}, {
		name:    "label key not lower case",
		product: func(p *engine.Product) { p.Spec.Labels["Tier"] = "gold" },
		want:    []string{`spec.labels["Tier"]`},
	}, {
		name: "several rules at once",
		product: func(p *engine.Product) {
			p.Spec.Owner = ""
			p.Spec.Ports[0].RetentionMs = -1
			p.Spec.Ports[0].Fields[0].Classification = ""
		},
		want: []string{"spec.owner", "spec.ports[0].fields[0].classification", "spec.ports[0].retentionMs"},
	}}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := orders()
			if tt.product != nil {
				tt.product(&p)
			}
			m := s.Mask(ctx, p)
			if m.Err != nil {
				t.Fatalf("Mask: %v", m.Err)
			}
			decisions := m.Decisions
			if tt.masking != nil {
				decisions = tt.masking(slices.Clone(decisions))
			}
			a := s.Admit(ctx, p, decisions)
			if a.Err != nil {
				t.Fatalf("Admit: %v", a.Err)
			}
			var paths []string
			for _, v := range a.Violations {
				paths = append(paths, v.Path)
				if v.Message == "" {
					t.Errorf("violation at %s has no message", v.Path)
				}
			}
			if !slices.Equal(paths, tt.want) {
				t.Errorf("denied %q, want %q\n%v", paths, tt.want, a.Violations)
			}
			if a.Allowed != (len(tt.want) == 0) {
				t.Errorf("Allowed = %v with violations %v", a.Allowed, a.Violations)
			}
			if a.Version != "approved" || len(a.InputDigest) != 64 || a.Duration <= 0 {
				t.Errorf("Version %q, InputDigest %q, Duration %v", a.Version, a.InputDigest, a.Duration)
			}
		})
	}
}

// setAction sets the action of field's decision at sink ("" for the topic).
func setAction(field, sink string, action engine.Action) func([]engine.Decision) []engine.Decision {
	return func(ds []engine.Decision) []engine.Decision {
		for i := range ds {
			if ds[i].Field == field && ds[i].Sink == sink {
				ds[i].Action = action
			}
		}
		return ds
	}
}

func TestAdmissionMessagesNameTheField(t *testing.T) {
	s := defaults(t)
	p := orders()
	p.Spec.Ports[0].Fields[2].Classification = ""
	a := s.Admit(context.Background(), p, s.Mask(context.Background(), p).Decisions)
	if len(a.Violations) != 1 {
		t.Fatalf("violations = %v", a.Violations)
	}
	v := a.Violations[0]
	if v.Path != "spec.ports[0].fields[2].classification" || !strings.Contains(v.Message, `"card_number"`) || !strings.Contains(v.Message, `"orders"`) {
		t.Errorf("violation = %+v", v)
	}
}

func TestAdmissionSortsViolations(t *testing.T) {
	s := compile(t, engine.Files{"admission.rego": `package meshplane.admission

deny contains {"path": "spec.b", "msg": "second"}

deny contains {"path": "spec.a", "msg": "z"}

deny contains {"path": "spec.a", "msg": "a"}

deny contains "the product as a whole"
`})
	a := s.Admit(context.Background(), orders(), nil)
	want := []engine.Violation{{"", "the product as a whole"}, {"spec.a", "a"}, {"spec.a", "z"}, {"spec.b", "second"}}
	if !slices.Equal(a.Violations, want) || a.Allowed || a.Err != nil {
		t.Errorf("Admit = %+v, want %v", a, want)
	}
}

// TestInputDigest checks InputDigest is the SHA-256 of the input as
// encoding/json writes it from the documented shape.
func TestInputDigest(t *testing.T) {
	s := defaults(t)
	p := orders()
	p.Spec.Description = "Orders \"quoted\", tabbed\t, é and \u2028"
	p.Spec.Ports[0].Fields[1].Tags = []string{"mask", "searchable"}
	p.Spec.Sinks[0].Ports = []string{"orders"}
	ctx := context.Background()
	m := s.Mask(ctx, p)

	doc := map[string]any{
		"domain": p.Domain, "name": p.Name, "lifecycle": p.Lifecycle,
		"description": p.Spec.Description, "owner": p.Spec.Owner, "labels": p.Spec.Labels,
		"source": map[string]any{
			"kind": p.Spec.Source.Kind, "host": p.Spec.Source.Host, "port": p.Spec.Source.Port,
			"database": p.Spec.Source.Database, "tables": p.Spec.Source.Tables,
			"username": p.Spec.Source.Username, "secretRef": p.Spec.Source.SecretRef,
		},
	}
	var ports []map[string]any
	for _, port := range p.Spec.Ports {
		var fields []map[string]any
		for _, f := range port.Fields {
			tags := f.Tags
			if tags == nil {
				tags = []string{}
			}
			fields = append(fields, map[string]any{
				"name": f.Name, "type": f.Type, "nullable": f.Nullable, "description": f.Description,
				"classification": f.Classification, "tags": tags, "key": f.Key,
			})
		}
		ports = append(ports, map[string]any{
			"name": port.Name, "description": port.Description, "topic": port.Topic,
			"majorVersion": port.MajorVersion, "partitions": port.Partitions, "retentionMs": port.RetentionMs,
			"cleanupPolicy": port.CleanupPolicy, "table": port.Table, "fields": fields,
		})
	}
	doc["ports"] = ports
	doc["secretRefs"] = []map[string]any{
		{"path": "spec.source.secretRef", "ref": p.Spec.Source.SecretRef},
		{"path": "spec.sinks[0].bigquery.credentialsRef", "ref": p.Spec.Sinks[0].BigQuery.CredentialsRef},
	}
	doc["sinks"] = []map[string]any{
		{"name": "warehouse", "kind": "bigquery", "ports": []string{"orders"}},
		{"name": "search", "kind": "elasticsearch", "ports": []string{"orders"}},
	}
	env := map[string]any{"name": "", "parameters": map[string]any{}}
	want := digestOf(t, map[string]any{"product": doc, "environment": env})
	if m.InputDigest != want {
		t.Errorf("Mask InputDigest = %s, want %s", m.InputDigest, want)
	}

	masking := map[string]map[string]any{}
	for _, d := range m.Decisions {
		if masking[d.Port] == nil {
			masking[d.Port] = map[string]any{}
		}
		e, _ := masking[d.Port][d.Field].(map[string]any)
		if e == nil {
			e = map[string]any{"sinks": map[string]any{}}
			masking[d.Port][d.Field] = e
		}
		if d.Sink == "" {
			e["action"] = d.Action
		} else {
			e["sinks"].(map[string]any)[d.Sink] = d.Action
		}
	}
	want = digestOf(t, map[string]any{"product": doc, "masking": masking, "environment": env})
	if a := s.Admit(ctx, p, m.Decisions); a.InputDigest != want {
		t.Errorf("Admit InputDigest = %s, want %s", a.InputDigest, want)
	}

	prod := orders()
	prod.Environment = engine.Environment{Name: "prod", Parameters: map[string]any{"maxRetentionMs": 86400000, "rawPII": false}}
	if s.Mask(ctx, prod).InputDigest == m.InputDigest {
		t.Error("the environment is not part of the digest")
	}

	q := orders()
	q.Spec.Owner = "someone-else"
	if s.Mask(ctx, q).InputDigest == m.InputDigest {
		t.Error("different products share a digest")
	}
}

// digestOf hashes v as encoding/json writes it: object keys sorted.
func digestOf(t *testing.T, v any) string {
	t.Helper()
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(strings.TrimSuffix(b.String(), "\n")))
	return hex.EncodeToString(sum[:])
}
