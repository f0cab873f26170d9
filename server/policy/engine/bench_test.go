package engine_test

import (
	"context"
	"fmt"
	"testing"
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
