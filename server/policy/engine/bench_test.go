package engine_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/meshplane/meshplane/server/policy/engine"
)

// BenchmarkAdmitTypical evaluates a new input every time, as for a product
// just edited: the decision cache never answers.
func BenchmarkAdmitTypical(b *testing.B) {
	s := defaults(b)
	p := typical()
	ctx := context.Background()
	m := s.Mask(ctx, p)
	if m.Err != nil {
		b.Fatal(m.Err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		q := p
		q.Name = fmt.Sprintf("typical-%d", i)
		if a := s.Admit(ctx, q, m.Decisions); !a.Allowed || a.Cached {
			b.Fatal(a.Violations, a.Cached)
		}
	}
}

// BenchmarkAdmitTypicalCached asks about the same input again, as a plan
// does after the write that admitted it.
func BenchmarkAdmitTypicalCached(b *testing.B) {
	s := defaults(b)
	p := typical()
	ctx := context.Background()
	m := s.Mask(ctx, p)
	s.Admit(ctx, p, m.Decisions)
	b.ReportAllocs()
	for b.Loop() {
		if a := s.Admit(ctx, p, m.Decisions); !a.Allowed || !a.Cached {
			b.Fatal(a.Violations, a.Cached)
		}
	}
}

func BenchmarkMask200Fields(b *testing.B) {
	s := defaults(b)
	p := wide(200)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		q := p
		q.Name = fmt.Sprintf("wide-%d", i)
		if m := s.Mask(ctx, q); m.Err != nil || len(m.Decisions) != 200 || m.Cached {
			b.Fatal(m.Err, len(m.Decisions))
		}
	}
}

// BenchmarkAccess decides a request for two ports of two domains, seven
// fields each, in an environment with parameters: "new" asks about a new
// request every time, as for a request just made; "repeated" asks again, as
// the approval pages do.
func BenchmarkAccess(b *testing.B) {
	classes := []string{"none", "internal", "pii", "none", "sensitive", "internal", "none"}
	r := accessRequest(accessPort("sales", "orders", "customers", classes...), accessPort("crm", "customers", "regions", classes...))
	r.Environment = engine.Environment{Name: "prod", Parameters: map[string]any{"protected": true, "replicationFactor": 3.0, "maxRetentionMs": 259200000.0}}
	ctx := context.Background()
	b.Run("new", func(b *testing.B) {
		s := defaults(b)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			q := r
			q.Purpose = fmt.Sprintf("report %d", i)
			if d, err := s.Access(ctx, q); err != nil || d.Cached || len(d.Approvers) != 3 {
				b.Fatal(err, d)
			}
		}
	})
	b.Run("repeated", func(b *testing.B) {
		s := defaults(b)
		if _, err := s.Access(ctx, r); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if d, err := s.Access(ctx, r); err != nil || !d.Cached {
				b.Fatal(err, d)
			}
		}
	})
}
