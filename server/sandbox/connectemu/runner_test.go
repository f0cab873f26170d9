package connectemu_test

import (
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/meshplane/meshplane/server/sandbox/connectemu"
)

// recordingRunner runs PostgreSQL sources and records what it was told.
type recordingRunner struct {
	mu      sync.Mutex
	calls   []string
	running map[string]bool
	status  connectemu.RunStatus
}

func (r *recordingRunner) Runs(class string) bool {
	return class == "io.debezium.connector.postgresql.PostgresConnector"
}

func (r *recordingRunner) Start(name string, _ map[string]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, "start "+name)
	r.running[name] = true
}

func (r *recordingRunner) Stop(name string, deleted bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	verb := "stop "
	if deleted {
		verb = "delete "
	}
	r.calls = append(r.calls, verb+name)
	delete(r.running, name)
}

func (r *recordingRunner) Status(string) connectemu.RunStatus { return r.status }
func (r *recordingRunner) Topics(string) []string             { return []string{"t1"} }
func (r *recordingRunner) Close()                             {}

func (r *recordingRunner) took() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.calls
	r.calls = nil
	return out
}

// The emulator keeps the runner in step with each connector's state, only
// for the classes the runner serves, and reports the run's status.
func TestRunnerFollowsConnectorState(t *testing.T) {
	rr := &recordingRunner{running: map[string]bool{}, status: connectemu.RunStatus{State: "FAILED", Trace: "boom"}}
	w := newWorker(t, connectemu.Config{Runner: rr})
	steps := []struct {
		method, path string
		body         any
		want         []string
	}{
		{http.MethodPost, "/connectors", map[string]any{"name": "src", "config": postgresConfig()}, []string{"start src"}},
		{http.MethodPost, "/connectors", map[string]any{"name": "lake", "config": s3Config()}, nil},
		{http.MethodPut, "/connectors/src/pause", nil, []string{"stop src"}},
		{http.MethodPut, "/connectors/src/resume", nil, []string{"start src"}},
		{http.MethodPut, "/connectors/src/config", postgresConfig(), []string{"start src"}},
		{http.MethodPost, "/connectors/src/restart", nil, []string{"start src"}},
		{http.MethodPost, "/connectors/src/tasks/0/restart", nil, []string{"start src"}},
		{http.MethodPut, "/connectors/src/stop", nil, []string{"stop src"}},
		{http.MethodPut, "/connectors/src/resume", nil, []string{"start src"}},
		{http.MethodDelete, "/connectors/src", nil, []string{"delete src"}},
		{http.MethodDelete, "/connectors/lake", nil, nil},
	}
	for i, s := range steps {
		if r := w.do(s.method, s.path, s.body); r.code >= 300 {
			t.Fatalf("step %d %s %s: %d %s", i, s.method, s.path, r.code, r.body)
		}
		if got := rr.took(); !slices.Equal(got, s.want) {
			t.Errorf("step %d %s %s: runner told %q, want %q", i, s.method, s.path, got, s.want)
		}
		if i == 1 {
			// The run's state and trace are the task's; the connector stays
			// RUNNING, as on a worker. A validate-only class says so.
			src := string(w.do(http.MethodGet, "/connectors/src/status", nil).body)
			if !strings.Contains(src, `"connector":{"state":"RUNNING"`) || !strings.Contains(src, `"tasks":[{"id":0,"state":"FAILED","worker_id":"127.0.0.1:8083","trace":"boom"}]`) {
				t.Errorf("src status: %s", src)
			}
			if topics := string(w.do(http.MethodGet, "/connectors/src/topics", nil).body); !strings.Contains(topics, `"topics":["t1"]`) {
				t.Errorf("src topics: %s", topics)
			}
			lake := string(w.do(http.MethodGet, "/connectors/lake/status", nil).body)
			if !strings.Contains(lake, "moves no data") || strings.Contains(lake, "FAILED") {
				t.Errorf("lake status: %s", lake)
			}
			if topics := string(w.do(http.MethodGet, "/connectors/lake/topics", nil).body); !strings.Contains(topics, `"topics":[]`) {
				t.Errorf("lake topics: %s", topics)
			}
		}
	}
}

// A restarted worker starts the running connectors it stored, and leaves
// paused ones and validate-only classes alone.
func TestRunnerStartsStoredConnectors(t *testing.T) {
	state := t.TempDir() + "/connectors.json"
	first := newWorker(t, connectemu.Config{StatePath: state})
	for name, cfg := range map[string]map[string]string{"a": postgresConfig(), "b": postgresConfig(), "lake": s3Config()} {
		if r := first.create(name, cfg); r.code != http.StatusCreated {
			t.Fatalf("creating %s: %d %s", name, r.code, r.body)
		}
	}
	if r := first.do(http.MethodPut, "/connectors/b/pause", nil); r.code != http.StatusAccepted {
		t.Fatalf("pausing b: %d", r.code)
	}
	rr := &recordingRunner{running: map[string]bool{}}
	emu, err := connectemu.New(connectemu.Config{StatePath: state, Runner: rr, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	emu.StartRunners()
	if got := rr.took(); !slices.Equal(got, []string{"start a", "stop b"}) {
		t.Errorf("on restart the runner was told %q", got)
	}
}
