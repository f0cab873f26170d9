// Package connectrun runs, inside the sandbox data plane, the Kafka Connect
// connectors a local machine can serve, so the sandbox moves real data:
// Debezium's PostgreSQL source (snapshot, then logical replication with
// pgoutput, writing Debezium-compatible change events) and Debezium's JDBC
// sink into PostgreSQL. It implements connectemu.Runner: the emulator keeps
// the configurations and the REST API, and this package runs them. Every
// other connector class stays validate-only.
//
// Connectors authenticate to the sandbox broker as their own principal
// (User:<connector name>), so the ACLs a plan creates are what let them read
// and write. Config-provider references (${env:NAME}, ${file:/path:key}) are
// resolved when a connector starts, as a worker does; the resolved values
// are never logged or reported.
package connectrun

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/meshplane/meshplane/server/sandbox/connectemu"
)

// Connector classes that move data here.
const (
	PostgresSource = "io.debezium.connector.postgresql.PostgresConnector"
	JDBCSink       = "io.debezium.connector.jdbc.JdbcSinkConnector"
)

// taskFunc runs one connector's task until ctx ends (returning nil) or it
// fails.
type taskFunc func(ctx context.Context, t *Task) error

// tasks are the connector classes the runner serves.
var tasks = map[string]taskFunc{
	PostgresSource: runPostgresSource,
	JDBCSink:       runJDBCSink,
}

// Config configures a Runner.
type Config struct {
	Logger *slog.Logger
	// StateDir holds each connector's offsets (mode 0700); the sandbox's
	// stand-in for a worker's connect-offsets topic.
	StateDir string
	// Kafka returns client options that reach the broker as the named
	// connector's own principal.
	Kafka func(ctx context.Context, connector string) ([]kgo.Opt, error)
	// DeniedDirs are directories config-provider file references may not
	// read (meshplane's data directory); environment variables named
	// MESHPLANE_* are never given to connectors either.
	DeniedDirs []string
}

// Runner runs connectors; it implements connectemu.Runner. Its methods do
// not wait for a connector's work: the Connect API that calls them stays
// responsive while a task flushes or lets go of a slot. Two runs of one
// connector never overlap, a new one waits for the last to end, and Close
// waits for every run.
type Runner struct {
	cfg Config

	mu     sync.Mutex
	runs   map[string]*run
	last   map[string]*run // the newest run of each name, running or stopping
	closed bool
	wg     sync.WaitGroup
}

var _ connectemu.Runner = (*Runner)(nil)

// New returns a runner with nothing running.
func New(c Config) (*Runner, error) {
	if c.Logger == nil || c.StateDir == "" || c.Kafka == nil {
		return nil, errors.New("configuring the connector runner: logger, state dir and kafka are required")
	}
	if err := os.MkdirAll(c.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", c.StateDir, err)
	}
	return &Runner{cfg: c, runs: map[string]*run{}, last: map[string]*run{}}, nil
}

// Runs reports whether connectors of class move data here.
func (r *Runner) Runs(class string) bool {
	_, ok := tasks[strings.TrimSpace(class)]
	return ok
}

// run is one connector's run.
type run struct {
	name   string
	class  string
	cancel context.CancelFunc
	done   chan struct{}
	task   *Task

	mu    sync.Mutex
	state string
	trace string
}

func (rn *run) set(state, trace string) {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	rn.state, rn.trace = state, trace
}

// Start starts the connector, replacing a run of the same name; the new run
// begins once the old one has ended.
func (r *Runner) Start(name string, config map[string]string) {
	class := strings.TrimSpace(config["connector.class"])
	fn := tasks[class]
	if fn == nil {
		r.Stop(name, false)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	rn := &run{name: name, class: class, cancel: cancel, done: make(chan struct{}), state: "UNASSIGNED"}
	rn.task = &Task{Name: name, Log: r.cfg.Logger.With("connector", name), StateDir: filepath.Join(r.cfg.StateDir, safeDirName(name)), run: rn}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		cancel()
		return
	}
	prev := r.last[name]
	if old := r.runs[name]; old != nil {
		old.cancel()
	}
	r.runs[name], r.last[name] = rn, rn
	r.wg.Add(1)
	r.mu.Unlock()
	go func() {
		defer r.wg.Done()
		defer close(rn.done)
		defer r.forget(rn)
		if prev != nil {
			<-prev.done
		}
		if ctx.Err() != nil {
			return
		}
		err := r.execute(ctx, rn, config, fn)
		switch {
		case ctx.Err() != nil:
			// Stopped on request: whatever the task said while stopping.
		case err != nil:
			rn.task.Log.Warn("connector task failed", "class", class, "err", err)
			rn.set("FAILED", trace(err))
		default:
			rn.set("FAILED", "the task stopped without being asked to")
		}
	}()
}

func (r *Runner) execute(ctx context.Context, rn *run, config map[string]string, fn taskFunc) error {
	resolved, err := resolveProviders(config, providerLimits{deniedDirs: r.cfg.DeniedDirs})
	if err != nil {
		return err
	}
	rn.task.Config = resolved
	if err := os.MkdirAll(rn.task.StateDir, 0o700); err != nil {
		return fmt.Errorf("creating the connector's offsets directory: %w", err)
	}
	opts, err := r.cfg.Kafka(ctx, rn.name)
	if err != nil {
		return fmt.Errorf("signing the connector in to the broker: %w", err)
	}
	rn.task.Kafka = opts
	rn.set("RUNNING", "")
	return fn(ctx, rn.task)
}

// forget drops rn from the newest runs once it has ended.
func (r *Runner) forget(rn *run) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last[rn.name] == rn {
		delete(r.last, rn.name)
	}
}

// Stop stops the connector without waiting for it. What a stop leaves
// behind is what the connector's configuration says (a source's
// slot.drop.on.stop), whether or not the connector is being deleted;
// offsets are kept, as a worker keeps them in its offsets topic.
func (r *Runner) Stop(name string, _ bool) {
	r.mu.Lock()
	rn := r.runs[name]
	delete(r.runs, name)
	r.mu.Unlock()
	if rn != nil {
		rn.cancel()
	}
}

// stopWait stops the connector and waits until it has ended.
func (r *Runner) stopWait(name string) {
	r.mu.Lock()
	rn := r.last[name]
	r.mu.Unlock()
	r.Stop(name, false)
	if rn != nil {
		<-rn.done
	}
}

// Status reports the connector's run.
func (r *Runner) Status(name string) connectemu.RunStatus {
	r.mu.Lock()
	rn := r.runs[name]
	r.mu.Unlock()
	if rn == nil {
		return connectemu.RunStatus{State: "UNASSIGNED"}
	}
	rn.mu.Lock()
	st := connectemu.RunStatus{State: rn.state, Trace: rn.trace}
	rn.mu.Unlock()
	st.Lag = rn.task.lag()
	return st
}

// Topics returns the topics the named connector's run has read or written,
// sorted.
func (r *Runner) Topics(name string) []string {
	r.mu.Lock()
	rn := r.runs[name]
	r.mu.Unlock()
	if rn == nil {
		return nil
	}
	var out []string
	rn.task.topics.Range(func(k, _ any) bool {
		out = append(out, k.(string))
		return true
	})
	slices.Sort(out)
	return out
}

// Close stops every connector and waits for all of them, those stopping
// already included; nothing starts afterwards.
func (r *Runner) Close() {
	r.mu.Lock()
	r.closed = true
	for name, rn := range r.runs {
		rn.cancel()
		delete(r.runs, name)
	}
	r.mu.Unlock()
	r.wg.Wait()
}

// Task is one connector's running task, as a task function sees it.
type Task struct {
	Name string
	// Config is the connector's configuration with config-provider
	// references resolved; it may hold secrets.
	Config map[string]string
	// Kafka reaches the broker as the connector's principal.
	Kafka []kgo.Opt
	Log   *slog.Logger
	// StateDir is the connector's own directory for its offsets.
	StateDir string

	run       *run
	records   atomic.Int64
	lastWrite atomic.Int64
	behind    atomic.Int64
	lagUnit   atomic.Value
	topics    sync.Map // topic name → struct{}
}

// UsedTopic records that the task read or wrote topic, for the worker's
// GET /connectors/{name}/topics.
func (t *Task) UsedTopic(topic string) {
	if _, ok := t.topics.Load(topic); !ok {
		t.topics.Store(topic, struct{}{})
	}
}

// Wrote counts n records written out.
func (t *Task) Wrote(n int) {
	t.records.Add(int64(n))
	t.lastWrite.Store(time.Now().UnixMilli())
}

// Behind records how far the task is behind its input, in unit.
func (t *Task) Behind(unit string, n int64) {
	t.lagUnit.Store(unit)
	t.behind.Store(n)
}

// Retrying reports a passing problem the task is retrying: the run stays
// RUNNING and the trace says what it waits for. A nil err clears it.
func (t *Task) Retrying(err error) {
	if err == nil {
		t.run.set("RUNNING", "")
		return
	}
	t.run.set("RUNNING", "retrying: "+trace(err))
}

func (t *Task) lag() *connectemu.Lag {
	unit, _ := t.lagUnit.Load().(string)
	if unit == "" {
		return nil
	}
	l := &connectemu.Lag{Unit: unit, Behind: t.behind.Load(), Records: t.records.Load()}
	if ms := t.lastWrite.Load(); ms > 0 {
		l.LastWrite = time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)
	}
	return l
}

// trace is the error as a status trace: the whole chain, one cause a line.
func trace(err error) string {
	return err.Error()
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]`)

// safeDirName maps a connector name to a directory name of its own.
func safeDirName(name string) string {
	s := unsafeName.ReplaceAllString(name, "_")
	if s != name || s == "." || s == ".." {
		s = strings.Trim(s, ".") + "-" + shortHash(name)
	}
	return s
}
