package engine_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshplane/meshplane/server/policy/engine"
	"github.com/meshplane/meshplane/server/spec"
)

const validMasking = `package meshplane.masking

decisions contains {"port": "orders", "field": "email", "action": "hash", "params": {"algorithm": "SHA-256", "salt": "default"}}

decisions contains {"port": "orders", "field": "card_number", "action": "drop"}
`

// TestAdmissionFailsClosed injects broken admission policies: each must
// refuse the product with one violation saying why, and set Err.
func TestAdmissionFailsClosed(t *testing.T) {
	tests := []struct {
		name, src string
		timeout   time.Duration
		want      error  // wrapped by Err, when not nil
		message   string // in the violation
	}{{
		name:    "timeout",
		src:     slowModule("meshplane.admission", "deny contains \"slow\""),
		timeout: 50 * time.Millisecond,
		want:    engine.ErrTimeout,
		message: "timed out",
	}, {
		name:    "division by zero",
		src:     "package meshplane.admission\n\ndeny contains \"x\" if {\n\t1 / (count(input.product.ports) - count(input.product.ports)) > 0\n}\n",
		message: "divide by zero",
	}, {
		name:    "conflicting outputs",
		src:     "package meshplane.admission\n\ndeny := {\"a\"} if input.product.owner != \"\"\n\ndeny := {\"b\"} if input.product.name != \"\"\n",
		message: "eval_conflict_error: rule data.meshplane.admission.deny produced conflicting values",
	}, {
		name:    "object key conflict",
		src:     "package meshplane.admission\n\nowners[\"x\"] := input.product.owner\n\nowners[\"x\"] := input.product.name\n\ndeny contains \"x\" if owners.x == \"\"\n",
		message: "eval_conflict_error: rule data.meshplane.admission.owners.x produced conflicting values",
	}, {
		name:    "package missing",
		src:     validMasking,
		want:    engine.ErrUndefined,
		message: "does not define data.meshplane.admission.deny",
	}, {
		name:    "deny rule missing",
		src:     "package meshplane.admission\n\nallow := true\n",
		want:    engine.ErrUndefined,
		message: "does not define data.meshplane.admission.deny",
	}, {
		name:    "deny not a set",
		src:     "package meshplane.admission\n\ndeny := \"no\"\n",
		want:    engine.ErrMalformed,
		message: "deny is string, not a set",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := generous
			if tt.timeout > 0 {
				opts.Timeout = tt.timeout
			}
			s, err := engine.Compile(context.Background(), "broken", engine.Files{"policy.rego": tt.src}, opts)
			if err != nil {
				t.Fatal(err)
			}
			a := s.Admit(context.Background(), orders(), nil)
			if a.Allowed || a.Err == nil {
				t.Fatalf("Admit = %+v, want refused with an error", a)
			}
			if tt.want != nil && !errors.Is(a.Err, tt.want) {
				t.Errorf("Err = %v, want %v", a.Err, tt.want)
			}
			if len(a.Violations) != 1 || a.Violations[0].Path != "" {
				t.Fatalf("violations = %+v, want one for the whole product", a.Violations)
			}
			msg := a.Violations[0].Message
			if !strings.Contains(msg, "admission policy could not be evaluated") || !strings.Contains(msg, "the change is refused") || !strings.Contains(msg, tt.message) {
				t.Errorf("message %q does not say the policy failed (%q) and the change is refused", msg, tt.message)
			}
		})
	}
}

func TestAdmissionMalformedEntries(t *testing.T) {
	s := compile(t, engine.Files{"admission.rego": `package meshplane.admission

deny contains {"path": "spec.owner", "msg": "needs an owner"}

deny contains {"path": "spec.description"}

deny contains {"path": 3, "msg": "path is a number"}

deny contains 42
`})
	a := s.Admit(context.Background(), orders(), nil)
	if a.Allowed || !errors.Is(a.Err, engine.ErrMalformed) {
		t.Fatalf("Admit = %+v, want refused as malformed", a)
	}
	if !strings.Contains(a.Err.Error(), "3 deny entries") {
		t.Errorf("Err = %v, want the 3 malformed entries counted", a.Err)
	}
	if len(a.Violations) != 2 || a.Violations[0].Path != "" || a.Violations[1] != (engine.Violation{Path: "spec.owner", Message: "needs an owner"}) {
		t.Errorf("violations = %+v, want the failure, then the valid entry", a.Violations)
	}
}

func TestAdmissionWithoutSetOrContext(t *testing.T) {
	var s *engine.Set
	if a := s.Admit(context.Background(), orders(), nil); a.Allowed || a.Err == nil || len(a.Violations) != 1 {
		t.Errorf("nil set: Admit = %+v, want refused", a)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if a := defaults(t).Admit(ctx, orders(), nil); a.Allowed || !errors.Is(a.Err, context.Canceled) {
		t.Errorf("cancelled: Admit = %+v, want refused with context.Canceled", a)
	}
}

// TestCallerGivingUpStopsEvaluation cancels the caller's context while a
// slow policy runs: the evaluation stops well before the set's own time
// budget and says it was cancelled, not timed out.
func TestCallerGivingUpStopsEvaluation(t *testing.T) {
	s, err := engine.Compile(context.Background(), "slow", engine.Files{"policy.rego": slowModule("meshplane.admission", "deny contains \"slow\"")}, engine.Options{Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	a := s.Admit(ctx, orders(), nil)
	if a.Allowed || !errors.Is(a.Err, context.Canceled) || errors.Is(a.Err, engine.ErrTimeout) {
		t.Errorf("Admit = %+v, want refused with context.Canceled", a)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("the evaluation ran %s after its caller gave up", took)
	}
}

// mixed has one field of every classification.
func mixed() engine.Product {
	p := orders()
	p.Spec.Ports[0].Fields = []spec.Field{
		{Name: "order_id", Type: spec.TypeString, Classification: spec.ClassNone},
		{Name: "shop", Type: spec.TypeString, Classification: spec.ClassInternal},
		{Name: "email", Type: spec.TypeString, Classification: spec.ClassPII},
		{Name: "card_number", Type: spec.TypeString, Classification: spec.ClassSensitive},
		{Name: "notes", Type: spec.TypeString, Classification: spec.ClassUnclassified},
	}
	return p
}

// failedClosed checks every field was decided by meshplane: dropped unless
// classified none or internal.
func failedClosed(t *testing.T, m engine.Masking) {
	t.Helper()
	if len(m.Decisions) != 5 {
		t.Fatalf("decisions = %+v, want one per field", m.Decisions)
	}
	for _, d := range m.Decisions {
		want := engine.ActionDrop
		if d.Classification == spec.ClassNone || d.Classification == spec.ClassInternal {
			want = engine.ActionAllow
		}
		if d.Action != want || !d.Fallback || d.Reason == "" || d.Sink != "" {
			t.Errorf("%s: %+v, want %s by meshplane", d.Field, d, want)
		}
	}
}

// TestMaskingFailsClosed injects broken masking policies whose whole
// output cannot be used.
func TestMaskingFailsClosed(t *testing.T) {
	tests := []struct {
		name, src string
		timeout   time.Duration
		want      error
	}{
		{name: "timeout", src: slowModule("meshplane.masking", "decisions contains {}"), timeout: 50 * time.Millisecond, want: engine.ErrTimeout},
		{name: "division by zero", src: "package meshplane.masking\n\ndecisions := {x} if {\n\tx := 1 / (count(input.product.ports) - 1)\n}\n"},
		{name: "package missing", src: "package meshplane.admission\n\ndeny := set()\n", want: engine.ErrUndefined},
		{name: "decisions not a set", src: "package meshplane.masking\n\ndecisions := [{\"port\": \"orders\", \"field\": \"email\", \"action\": \"drop\"}]\n", want: engine.ErrMalformed},
		{name: "entry not an object", src: validMasking + "\ndecisions contains \"drop everything\"\n", want: engine.ErrMalformed},
		{name: "entry for no field", src: validMasking + "\ndecisions contains {\"port\": \"orders\", \"field\": \"emial\", \"action\": \"drop\"}\n", want: engine.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := generous
			if tt.timeout > 0 {
				opts.Timeout = tt.timeout
			}
			s, err := engine.Compile(context.Background(), "broken", engine.Files{"policy.rego": tt.src}, opts)
			if err != nil {
				t.Fatal(err)
			}
			m := s.Mask(context.Background(), mixed())
			if m.Err == nil || (tt.want != nil && !errors.Is(m.Err, tt.want)) {
				t.Errorf("Err = %v, want %v", m.Err, tt.want)
			}
			failedClosed(t, m)
		})
	}
	var nilSet *engine.Set
	failedClosed(t, nilSet.Mask(context.Background(), mixed()))
}

// TestMaskingInvalidDecisions injects invalid decisions for single
// fields: each such field is dropped, the rest keep the policy's decisions.
func TestMaskingInvalidDecisions(t *testing.T) {
	tests := []struct {
		name, decision string // for the field order_id, classified none
		problem        string
	}{
		{"unknown action", `{"action": "scramble"}`, "unknown action"},
		{"no action", `{"reason": "forgot"}`, "no action"},
		{"unknown key", `{"action": "mask", "params": {"chars": 4}, "sinks": ["search"]}`, "unknown key"},
		{"hash without salt", `{"action": "hash", "params": {"algorithm": "SHA-256"}}`, "params.salt"},
		{"salt value instead of name", `{"action": "hash", "params": {"algorithm": "SHA-256", "salt": "s3cr3t p@ss"}}`, "params.salt"},
		{"weak hash", `{"action": "hash", "params": {"algorithm": "MD5", "salt": "default"}}`, "params.algorithm"},
		{"mask without chars", `{"action": "mask"}`, "params.chars"},
		{"mask too long", `{"action": "mask", "params": {"chars": 256}}`, "params.chars"},
		{"mask fraction", `{"action": "mask", "params": {"chars": 2.5}}`, "params.chars"},
		{"truncate to nothing", `{"action": "truncate", "params": {"length": 0}}`, "params.length"},
		{"truncate too long", `{"action": "truncate", "params": {"length": 65536}}`, "params.length"},
		{"misspelt parameter", `{"action": "truncate", "params": {"lenght": 4}}`, "takes no parameter"},
		{"allow with parameters", `{"action": "allow", "params": {"chars": 4}}`, "takes no parameter"},
		{"unknown sink", `{"sink": "lake", "action": "drop"}`, "unknown sink"},
		{"sink without the port", `{"sink": "warehouse", "action": "drop"}`, "does not deliver"},
		{"reason not a string", `{"action": "allow", "reason": 1}`, "reason is not a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := compile(t, engine.Files{"masking.rego": validMasking + `
decisions contains object.union({"port": "orders", "field": "order_id"}, ` + tt.decision + `)
`})
			p := orders()
			p.Spec.Sinks[0].Ports = []string{"other"}
			m := s.Mask(context.Background(), p)
			if !errors.Is(m.Err, engine.ErrMalformed) || !strings.Contains(m.Err.Error(), tt.problem) {
				t.Errorf("Err = %v, want %q", m.Err, tt.problem)
			}
			byField := map[string]engine.Decision{}
			for _, d := range m.Decisions {
				byField[d.Field] = d
			}
			if d := byField["order_id"]; d.Action != engine.ActionDrop || !d.Fallback || !strings.Contains(d.Reason, tt.problem) {
				t.Errorf("order_id: %+v, want dropped by meshplane", d)
			}
			if d := byField["email"]; d.Action != engine.ActionHash || d.Fallback {
				t.Errorf("email: %+v, want the policy's hash", d)
			}
			if d := byField["card_number"]; d.Action != engine.ActionDrop || d.Fallback {
				t.Errorf("card_number: %+v, want the policy's drop", d)
			}
		})
	}
}

func TestMaskingUndecidedFields(t *testing.T) {
	s := compile(t, engine.Files{"masking.rego": "package meshplane.masking\n\ndecisions := set()\n"})
	m := s.Mask(context.Background(), mixed())
	if m.Err != nil {
		t.Fatal(m.Err)
	}
	for _, d := range m.Decisions {
		switch d.Classification {
		case spec.ClassNone, spec.ClassInternal:
			if d.Action != engine.ActionAllow || d.Fallback {
				t.Errorf("%s: %+v, want published as it is", d.Field, d)
			}
		default:
			if d.Action != engine.ActionDrop || !d.Fallback || !strings.Contains(d.Reason, "no decision") {
				t.Errorf("%s: %+v, want dropped by meshplane", d.Field, d)
			}
		}
	}
}

// TestEngineSwap evaluates while policy sets are swapped (run with -race).
func TestEngineSwap(t *testing.T) {
	strict := compile(t, engine.Files{"admission.rego": "package meshplane.admission\n\ndeny contains \"closed for maintenance\"\n"})
	e := engine.NewEngine(defaults(t))
	ctx := context.Background()
	p := orders()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 50 {
				s := e.Current()
				a := s.Admit(ctx, p, s.Mask(ctx, p).Decisions)
				if a.Err != nil {
					t.Error(a.Err)
					return
				}
				if a.Version == "test" && a.Allowed {
					t.Error("the strict set admitted the product")
				}
			}
		})
	}
	for range 20 {
		e.Swap(strict)
		e.Swap(defaults(t))
	}
	wg.Wait()
	e.Swap(strict)
	if a := e.Current().Admit(ctx, p, nil); a.Allowed || a.Version != "test" {
		t.Errorf("after Swap: %+v", a)
	}
}
