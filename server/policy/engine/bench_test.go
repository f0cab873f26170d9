package engine_test

import (
	"context"
	"testing"
)

func BenchmarkAdmitTypical(b *testing.B) {
	s := defaults(b)
	p := typical()
	ctx := context.Background()
	m := s.Mask(ctx, p)
	if m.Err != nil {
		b.Fatal(m.Err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if a := s.Admit(ctx, p, m.Decisions); !a.Allowed {
			b.Fatal(a.Violations)
		}
	}
}

func BenchmarkMask200Fields(b *testing.B) {
	s := defaults(b)
	p := wide(200)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if m := s.Mask(ctx, p); m.Err != nil || len(m.Decisions) != 200 {
			b.Fatal(m.Err, len(m.Decisions))
		}
	}
}
