// Package connectemu emulates a Kafka Connect worker's REST API for the
// sandbox data plane. It stores connector configurations and validates each
// one against the rules of its connector class the way the connector would.
// Connectors of the classes a Runner serves move data through it, and report
// the Runner's state; every other connector is validate-only: it reports
// itself running while no connector or task code runs and no data moves. It
// implements what the Terraform kafka-connect provider (v0.5.0,
// through github.com/ricardo-ch/go-kafka-connect/v3) calls and the rest of the
// worker API a person would reach for.
package connectemu

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/meshplane/meshplane/server/sandbox/internal/atomicfile"
)

// Note is the sentence the statuses of validate-only connectors carry so
// nobody mistakes them for connectors that move data.
const Note = "meshplane sandbox: this Kafka Connect REST API is emulated; it validated this connector's configuration and moves no data (no connector or task code runs for this connector class)"

// Runner runs the connectors of the classes a local machine can serve. The
// emulator stays the only writer of connector configurations; it tells the
// runner what to run and asks it how each run is doing.
type Runner interface {
	// Runs reports whether connectors of class move data through the runner.
	Runs(class string) bool
	// Start starts the named connector with config, replacing a run of the
	// same name. It does not block on the connector's work.
	Start(name string, config map[string]string)
	// Stop stops the named connector and waits for it; deleted is true when
	// the connector is being deleted rather than paused or stopped.
	Stop(name string, deleted bool)
	// Status reports the named connector's run.
	Status(name string) RunStatus
	// Topics lists the topics the named connector's run has used.
	Topics(name string) []string
	// Close stops every connector, keeping what each committed.
	Close()
}

// RunStatus is how a connector's run is doing.
type RunStatus struct {
	// State is RUNNING, FAILED or UNASSIGNED (not started yet).
	State string
	// Trace is the error that failed the run, or a note while it retries.
	Trace string
	// Lag describes how far the connector is behind its input, in the
	// connector's own unit (bytes of WAL for a source, records for a sink).
	Lag *Lag
}

// Lag is how far a running connector is behind its input.
type Lag struct {
	// Unit is "wal_bytes" or "records".
	Unit string `json:"unit"`
	// Behind is how many units are not yet written out.
	Behind int64 `json:"behind"`
	// Records counts the records the run has written since it started.
	Records int64 `json:"records"`
	// LastWrite is when the run last wrote a record (RFC 3339), if it has.
	LastWrite string `json:"last_write,omitempty"`
}

// Config configures an Emulator.
type Config struct {
	// StatePath is the file connectors persist to (written atomically, mode
	// 0600 since configs may hold credentials); empty keeps them in memory.
	StatePath string
	Logger    *slog.Logger
	// WorkerID is reported as worker_id in statuses, like a worker's
	// advertised host:port.
	WorkerID string
	// KafkaClusterID is reported by GET /.
	KafkaClusterID string
	// Username and Password, when set, require HTTP basic auth on every
	// request, like a worker behind an authenticating proxy.
	Username string
	Password string
	// Runner, when set, runs the connectors of the classes it serves.
	Runner Runner
}

// Validate reports what is missing or inconsistent in c.
func (c Config) Validate() error {
	var errs []error
	if c.Logger == nil {
		errs = append(errs, errors.New("logger is required"))
	}
	if (c.Username == "") != (c.Password == "") {
		errs = append(errs, errors.New("basic auth needs both a username and a password"))
	}
	return errors.Join(errs...)
}

// Emulator is an emulated Kafka Connect worker.
type Emulator struct {
	cfg Config

	mu         sync.Mutex
	connectors map[string]*connector
}

// connector is a stored connector: its configuration exactly as submitted
// (plus "name"), because the Terraform provider compares config maps exactly.
type connector struct {
	Name    string            `json:"name"`
	Config  map[string]string `json:"config"`
	State   string            `json:"state"`
	Created time.Time         `json:"created"`
}

// Connector states a worker reports.
const (
	stateRunning = "RUNNING"
	statePaused  = "PAUSED"
	stateStopped = "STOPPED"
	stateFailed  = "FAILED"
)

type stateFile struct {
	Version    int          `json:"version"`
	Connectors []*connector `json:"connectors"`
}

const stateVersion = 1

// New returns an emulator holding the connectors persisted at c.StatePath.
func New(c Config) (*Emulator, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("configuring the connect emulator: %w", err)
	}
	e := &Emulator{cfg: c, connectors: map[string]*connector{}}
	if c.StatePath == "" {
		return e, nil
	}
	data, err := os.ReadFile(c.StatePath)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return e, nil
	case err != nil:
		return nil, fmt.Errorf("reading connectors: %w", err)
	}
	var st stateFile
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("decoding connectors in %s: %w", c.StatePath, err)
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("decoding connectors in %s: unsupported version %d", c.StatePath, st.Version)
	}
	for _, cn := range st.Connectors {
		if cn.State == "" {
			cn.State = stateRunning
		}
		e.connectors[cn.Name] = cn
	}
	return e, nil
}

// StartRunners starts the stored running connectors the Runner serves, as a
// worker does when it rejoins its cluster.
func (e *Emulator) StartRunners() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, name := range slices.Sorted(maps.Keys(e.connectors)) {
		e.syncLocked(e.connectors[name])
	}
}

// runs reports whether cn moves data through the Runner.
func (e *Emulator) runs(cn *connector) bool {
	return e.cfg.Runner != nil && e.cfg.Runner.Runs(cn.Config["connector.class"])
}

// syncLocked makes the Runner match cn's state: running connectors run,
// paused and stopped ones do not. e.mu is held.
func (e *Emulator) syncLocked(cn *connector) {
	if !e.runs(cn) {
		return
	}
	if cn.State == stateRunning {
		e.cfg.Runner.Start(cn.Name, maps.Clone(cn.Config))
		return
	}
	e.cfg.Runner.Stop(cn.Name, false)
}

// Names returns the stored connectors' names, sorted.
func (e *Emulator) Names() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Sorted(maps.Keys(e.connectors))
}

// Validate validates config against its connector.class's rules; ok is false
// when the class is missing or unknown, with the worker's message.
func (e *Emulator) Validate(config map[string]string) (infos ConfigInfos, msg string, ok bool) {
	class, present := config["connector.class"]
	if !present {
		// AbstractHerder.validateConnectorConfig; the worker also prints the
		// whole config, which may hold secrets, so it is left out here.
		return ConfigInfos{}, "Connector config contains no connector type", false
	}
	p := lookupPlugin(class)
	if p == nil {
		return ConfigInfos{}, unknownClassMessage(class), false
	}
	return validateConfig(p, config), "", true
}

func unknownClassMessage(class string) string {
	names := make([]string, len(plugins))
	for i, p := range plugins {
		names[i] = p.class
	}
	return fmt.Sprintf("Failed to find any class that implements Connector and which name matches %s, available connectors are: %s",
		class, strings.Join(names, ", "))
}

// persistLocked writes every connector to the state file. e.mu is held.
func (e *Emulator) persistLocked() error {
	if e.cfg.StatePath == "" {
		return nil
	}
	st := stateFile{Version: stateVersion, Connectors: make([]*connector, 0, len(e.connectors))}
	for _, name := range slices.Sorted(maps.Keys(e.connectors)) {
		st.Connectors = append(st.Connectors, e.connectors[name])
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding connectors: %w", err)
	}
	if err := atomicfile.Write(e.cfg.StatePath, data, 0o600); err != nil {
		return fmt.Errorf("saving connectors: %w", err)
	}
	return nil
}

// kind returns "source" or "sink" for a stored connector.
func (cn *connector) kind() string {
	if p := lookupPlugin(cn.Config["connector.class"]); p != nil {
		return p.kind
	}
	return "unknown"
}

// taskCount is how many tasks the connector would run: one for Debezium's
// relational sources, tasks.max otherwise; none while stopped.
func (cn *connector) taskCount() int {
	if cn.State == stateStopped {
		return 0
	}
	p := lookupPlugin(cn.Config["connector.class"])
	if p != nil && p.singleTask {
		return 1
	}
	n, err := strconv.Atoi(cn.Config["tasks.max"])
	if err != nil || n < 1 {
		return 1
	}
	return n
}
