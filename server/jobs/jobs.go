// Package jobs is meshplane's durable job queue: River, on the catalog's own
// database (riverpgxv5 on PostgreSQL, riversqlite on the embedded SQLite), so
// every replica sharing a catalog shares one queue. Services register their
// workers and periodic jobs, then the queue starts; periodic jobs are
// inserted by the elected leader alone, so they run once per cluster.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"entgo.io/ent/dialect"
	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"

	"github.com/meshplane/meshplane/server/store"
)

// Config configures the queue.
type Config struct {
	Store  *store.Store
	Logger *slog.Logger
	// Workers bounds how many jobs this replica works at once (default 4);
	// a negative number makes a replica that queues jobs and works none.
	Workers int
	// RescueAfter is how long a job may stay running before River hands it
	// to another replica (default 1 minute). Workers guard their own work
	// against being run twice, so a rescue of a live job is harmless.
	RescueAfter time.Duration
}

// client is what meshplane uses of a River client, whatever its driver.
type client interface {
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
}

// Queue is the job queue of one replica.
type Queue struct {
	cfg      Config
	id       string
	workers  *river.Workers
	periodic []*river.PeriodicJob
	client   client
	working  bool
}

// New returns a queue to register workers on; Start starts it.
func New(c Config) (*Queue, error) {
	if c.Store == nil || c.Logger == nil {
		return nil, errors.New("jobs: a store and a logger are required")
	}
	if c.Workers == 0 {
		c.Workers = 4
	}
	if c.RescueAfter <= 0 {
		c.RescueAfter = time.Minute
	}
	return &Queue{cfg: c, id: "meshplane-" + uuid.NewString()[:8], workers: river.NewWorkers()}, nil
}

// ID names this replica among those sharing the queue.
func (q *Queue) ID() string { return q.id }

// Handle registers the function that works jobs of args' kind.
func Handle[T river.JobArgs](q *Queue, work func(ctx context.Context, job *river.Job[T]) error) {
	river.AddWorker(q.workers, &worker[T]{work: work})
}

type worker[T river.JobArgs] struct {
	river.WorkerDefaults[T]
	work func(ctx context.Context, job *river.Job[T]) error
}

func (w *worker[T]) Work(ctx context.Context, job *river.Job[T]) error { return w.work(ctx, job) }

// Terraform runs as long as it takes; cancelling is the run's own business.
func (w *worker[T]) Timeout(*river.Job[T]) time.Duration { return -1 }

// Every inserts a job of args every interval, from the leader alone, and
// once when a leader takes over. A job still waiting or running is not
// inserted twice.
func (q *Queue) Every(interval time.Duration, args river.JobArgs) {
	q.periodic = append(q.periodic, river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) {
			return args, &river.InsertOpts{Queue: QueuePeriodic, UniqueOpts: Pending}
		},
		&river.PeriodicJobOpts{RunOnStart: true}))
}

// QueuePeriodic is the queue of the periodic jobs (sweeps, drift checks,
// grant reconciliation), apart from the runs people wait for.
const QueuePeriodic = "periodic"

// Pending makes a job unique among the jobs of its kind and args that have
// not finished yet.
var Pending = river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{rivertype.JobStateAvailable,
	rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStateScheduled}}

// Start starts working jobs. Stop with Stop.
func (q *Queue) Start(ctx context.Context) error {
	cfg := &river.Config{
		// A job insert is announced at most once per cooldown per queue: a
		// short one, and periodic jobs in a queue of their own, so a run
		// asked for right after a sweep is not left to the next poll.
		FetchCooldown: 10 * time.Millisecond,
		ID:            q.id,
		Logger:        slog.New(quiet{q.cfg.Logger.With("component", "jobs").Handler()}),
		Workers:       q.workers,
		PeriodicJobs:  q.periodic,
		Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: q.cfg.Workers},
			QueuePeriodic: {MaxWorkers: 2}},
		RescueStuckJobsAfter: q.cfg.RescueAfter,
		MaxAttempts:          5,
		// Finished jobs are history the runs themselves keep.
		CompletedJobRetentionPeriod: time.Hour,
	}
	if q.cfg.Workers < 0 {
		// Queueing only: no worker, no periodic job, no leader election.
		cfg.Workers, cfg.PeriodicJobs, cfg.Queues = nil, nil, nil
	}
	var err error
	switch q.cfg.Store.Dialect {
	case dialect.Postgres:
		q.client, err = river.NewClient(riverpgxv5.New(q.cfg.Store.Pool), cfg)
	default:
		// SQLite has no LISTEN: riversqlite's notifier polls a table of
		// notifications instead, so an inserted job is fetched within
		// tens of milliseconds; the fetch poll only catches what nothing
		// announced.
		q.client, err = river.NewClient(riversqlite.New(q.cfg.Store.DB), cfg)
	}
	if err != nil {
		return fmt.Errorf("creating the job queue: %w", err)
	}
	if q.cfg.Workers < 0 {
		return nil
	}
	if err := q.client.Start(ctx); err != nil {
		return fmt.Errorf("starting the job queue: %w", err)
	}
	q.working = true
	return nil
}

// Insert queues a job. Jobs with UniqueOpts set are not queued twice.
func (q *Queue) Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error {
	if q.client == nil {
		return errors.New("the job queue has not started")
	}
	_, err := q.client.Insert(ctx, args, opts)
	return err
}

// Stop stops fetching jobs and cancels the running ones, waiting for them
// to return (bounded by ctx): a run cut short ends interrupted and is
// planned again.
func (q *Queue) Stop(ctx context.Context) {
	if !q.working {
		return
	}
	if err := q.client.StopAndCancel(ctx); err != nil {
		q.cfg.Logger.Warn("stopping the job queue", "error", err)
	}
}

// quiet keeps River's routine information (job counts every few seconds,
// leadership changes) out of the server's log: warnings and errors pass.
type quiet struct{ slog.Handler }

func (q quiet) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && q.Handler.Enabled(ctx, l)
}

func (q quiet) WithAttrs(as []slog.Attr) slog.Handler { return quiet{q.Handler.WithAttrs(as)} }
func (q quiet) WithGroup(name string) slog.Handler    { return quiet{q.Handler.WithGroup(name)} }
