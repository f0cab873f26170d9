package engine_test

import (
	"context"
	"errors"
	"runtime"
	"testing"

	"github.com/meshplane/meshplane/server/policy/engine"
)

// A policy that tries to build a gigabyte string is stopped by the
// evaluation deadline long before the string exists: large values are slow
// to build in the evaluator, so the deadline bounds memory as well as time.
func TestMemoryBombIsStoppedByTheDeadline(t *testing.T) {
	files := engine.Defaults()
	files["bomb.rego"] = `package meshplane.admission

deny contains {"path": "", "msg": sprintf("%d bytes", [count(huge)])} if {
	input.product.name == "bomb"
	mega := sprintf("%01000000d", [0])
	huge := replace(mega, "0", sprintf("%01000d", [0]))
}
`
	s, err := engine.Compile(context.Background(), "bomb", files, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := orders()
	p.Name = "bomb"
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	a := s.Admit(context.Background(), p, nil)
	runtime.ReadMemStats(&after)
	if a.Allowed || !errors.Is(a.Err, engine.ErrTimeout) {
		t.Fatalf("Admit = allowed %v, err %v; want a refusal for the timeout", a.Allowed, a.Err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew >= 1<<30 {
		t.Errorf("the evaluation allocated %d MiB: the gigabyte string was built", grew>>20)
	}
	// The policy still answers for every other product.
	if a := s.Admit(context.Background(), orders(), s.Mask(context.Background(), orders()).Decisions); !a.Allowed {
		t.Errorf("an ordinary product was refused after the bomb: %v", a.Violations)
	}
}
