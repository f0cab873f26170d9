package connectrun

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The runner never waits for a task in Start or Stop, never runs two tasks
// of one connector at once, and Close waits for every task, those already
// stopping included.
func TestRunnerStartStopClose(t *testing.T) {
	const class = "test.SlowToStop"
	release := make(chan struct{})
	var running, most, ran atomic.Int32
	tasks[class] = func(ctx context.Context, _ *Task) error {
		n := running.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		ran.Add(1)
		<-ctx.Done()
		<-release // stopping takes until the test lets it
		running.Add(-1)
		return nil
	}
	t.Cleanup(func() { delete(tasks, class) })
	r, err := New(Config{Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil)), StateDir: t.TempDir(),
		Kafka: func(context.Context, string) ([]kgo.Opt, error) { return nil, nil }})
	if err != nil {
		t.Fatal(err)
	}
	cfg := map[string]string{"connector.class": class}
	r.Start("c", cfg)
	waitFor(t, func() bool { return ran.Load() == 1 })
	r.Start("c", cfg) // replaces the first run, which cannot end yet
	r.Stop("c", false)
	r.Start("c", cfg)
	if st := r.Status("c"); st.State != "UNASSIGNED" {
		t.Errorf("the newest run started before the first ended: %+v", st)
	}
	closed := make(chan struct{})
	go func() { r.Close(); close(closed) }()
	waitFor(t, func() bool { r.mu.Lock(); defer r.mu.Unlock(); return r.closed })
	close(release)
	<-closed
	if most.Load() != 1 || ran.Load() != 1 {
		t.Errorf("%d runs of one connector overlapped, %d ran; want 1 and 1 (the replaced ones were stopped before they began)", most.Load(), ran.Load())
	}
	if running.Load() != 0 {
		t.Errorf("Close returned with %d tasks still running", running.Load())
	}
	r.Start("c", cfg)
	if st := r.Status("c"); st.State != "UNASSIGNED" {
		t.Errorf("a closed runner started a connector: %+v", st)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition never held")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
