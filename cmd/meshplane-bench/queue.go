package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/api/gen/meshplane/v1/meshplanev1connect"
	"github.com/meshplane/meshplane/server/app"
	"github.com/meshplane/meshplane/server/ent/provisioningrun"
	"github.com/meshplane/meshplane/server/sandbox"
)

// targetQueueP99 bounds the queue's overhead on PostgreSQL: from the Plan
// request recording a run to a worker starting it, with a worker free.
const targetQueueP99 = 100 * time.Millisecond

const (
	queueDomain = "queue"
	// queueWarmUp is the product each drain plans before it starts timing.
	queueWarmUp = "warmup"
	// queueWorkers is each replica's worker pool (the server's default, set explicitly).
	queueWorkers = 4
)

// queueBench is what the queue phase shares: one sandbox data plane every
// server it starts provisions into, and one masking key, which replicas of
// one catalog must share.
type queueBench struct {
	c         config
	tools     string
	dataPlane app.DataPlane
	keyFile   string
	progress  func(string, ...any)
}

// benchQueue measures the durable job queue that provisioning runs go
// through: request to a worker starting the run with a worker free, on
// PostgreSQL and on SQLite, then how many runs a burst drains per minute
// with one replica and with two sharing a PostgreSQL catalog.
func benchQueue(ctx context.Context, c config, rep *report, progress func(string, ...any)) error {
	tools, err := filepath.Abs(c.Tools)
	if err != nil {
		return err
	}
	for _, p := range []string{filepath.Join(tools, "bin", "terraform"), filepath.Join(tools, "terraform-plugins")} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%s is missing (run scripts/tools.sh, or point -tools at the directory holding bin/terraform)", p)
		}
	}
	dir, err := os.MkdirTemp("", "meshplane-bench-queue-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	progress("queue: starting one sandbox data plane for every server of the phase")
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	sb, err := sandbox.Start(ctx, sandbox.Config{DataDir: dir, Logger: log, KafkaAddr: "127.0.0.1:0", ConnectAddr: "127.0.0.1:0",
		ConnectBasicAuth: true, Brokers: 1})
	if err != nil {
		return fmt.Errorf("starting the sandbox: %w", err)
	}
	defer sb.Close()
	conn, err := sandbox.ReadConnection(dir)
	if err != nil {
		return err
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	keyFile := filepath.Join(dir, "masking.key")
	if err := os.WriteFile(keyFile, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		return err
	}
	b := &queueBench{c: c, tools: tools, keyFile: keyFile, progress: progress,
		dataPlane: app.DataPlane{KafkaBootstrap: conn.BootstrapServers, SASLMechanism: conn.SASLMechanism,
			KafkaUsername: conn.Username, KafkaPassword: conn.Password, ConnectURL: conn.ConnectURL,
			ConnectUsername: conn.ConnectUsername, ConnectPassword: conn.ConnectPassword, ReplicationFactor: 1}}

	enable := "-postgres URL (scripts/pg-start.sh DIR PORT prints one)"
	var pg queueLatency
	if c.Postgres == "" {
		rep.add("9a", "queue overhead on PostgreSQL, Plan → a worker starts the run", "skipped: no PostgreSQL server", enable, "SKIP")
	} else {
		if pg, err = b.latency(ctx, "PostgreSQL"); err != nil {
			return fmt.Errorf("queue overhead on PostgreSQL: %w", err)
		}
		pg.report(rep, "9a", "PostgreSQL", "p99 <= "+ms(targetQueueP99), verdict(pg.Pct(99) <= targetQueueP99))
	}
	lite, err := b.latency(ctx, "SQLite")
	if err != nil {
		return fmt.Errorf("queue overhead on SQLite: %w", err)
	}
	lite.report(rep, "9b", "SQLite", "info", "—")
	details := []string{lite.detail("SQLite")}
	if c.Postgres != "" {
		details = append([]string{pg.detail("PostgreSQL")}, details...)
	}
	rep.note("9a/9b: %d runs of distinct new products, one at a time, each planned before the next request, so a worker is free: start_time − create_time as the server records them "+
		"(the run is created inside the Plan request; a worker's conditional update sets start_time). %s.", c.QueueSamples, strings.Join(details, ". "))

	// The same burst on SQLite, where each workspace keeps its state in a
	// local file: what a drain costs without the pg backend.
	local, err := b.drain(ctx, "SQLite", 1)
	if err != nil {
		return fmt.Errorf("draining on SQLite: %w", err)
	}
	var drains []drainResult
	if c.Postgres == "" {
		rep.add("9c", "runs drained per minute, 1 and 2 replicas on PostgreSQL", "skipped: no PostgreSQL server", enable, "SKIP")
	} else {
		one, err := b.drain(ctx, "PostgreSQL", 1)
		if err != nil {
			return fmt.Errorf("draining with 1 replica: %w", err)
		}
		two, err := b.drain(ctx, "PostgreSQL", 2)
		if err != nil {
			return fmt.Errorf("draining with 2 replicas: %w", err)
		}
		drains = append(drains, one, two)
		rep.add("9c", fmt.Sprintf("runs drained per minute, %d plans queued at once, 1 replica (%d workers, PostgreSQL)", c.QueueRuns, queueWorkers),
			fmt.Sprintf("%.1f runs/min  (%d in %s)", one.perMinute(), c.QueueRuns, secs(one.Elapsed)), "baseline", one.status())
		rep.add("9d", fmt.Sprintf("  2 replicas on one database (%d workers each), requests alternated", queueWorkers),
			fmt.Sprintf("%.1f runs/min = %.2f× 1 replica  (%d in %s; planned by replica %s)", two.perMinute(), two.perMinute()/one.perMinute(),
				c.QueueRuns, secs(two.Elapsed), two.spread()), "info", two.status())
		rep.note("9c/9d: what limits the ratio: %s", limits(one, two, local))
	}
	drains = append(drains, local)
	result := fmt.Sprintf("%.1f runs/min  (%d in %s)", local.perMinute(), c.QueueRuns, secs(local.Elapsed))
	if len(drains) > 1 {
		result = fmt.Sprintf("%.1f runs/min = %.2f× 1 replica on PostgreSQL  (%d in %s)", local.perMinute(), local.perMinute()/drains[0].perMinute(), c.QueueRuns, secs(local.Elapsed))
	}
	name := fmt.Sprintf("runs drained per minute, %d plans queued at once, 1 replica (%d workers, SQLite, state in local files)", c.QueueRuns, queueWorkers)
	if len(drains) > 1 {
		name = fmt.Sprintf("  the same burst on SQLite, 1 replica (%d workers, state in local files)", queueWorkers)
	}
	rep.add("9e", name, result, "info", local.status())
	rep.note("9c–9e: every run planned a new product (terraform init, plan and show against the sandbox; on PostgreSQL the state lives in the catalog's database through terraform's pg backend); timed from the first of %d concurrent Plan requests until the catalog holds no queued or planning run, polled every %s. Each measurement has a fresh database, in which one other product is planned first, untimed, as in a catalog that has provisioned before.",
		c.QueueRuns, pollEvery)
	var cpu []string
	for _, d := range drains {
		line := fmt.Sprintf("%s %s = %.0f%% of %d cores (%s a run)", d.label(), secs(d.CPU), d.busy(), runtime.NumCPU(), secs(d.CPU/time.Duration(c.QueueRuns)))
		if d.Where == "PostgreSQL" {
			line += fmt.Sprintf(", pg backend creation lock held in %.0f%% of polls", d.CreationLock)
		}
		cpu = append(cpu, line)
	}
	rep.note("9c–9e: CPU of this process and its terraform children while draining (PostgreSQL's own CPU is outside it): %s.", strings.Join(cpu, "; "))
	for _, d := range drains {
		if d.FirstErr != "" {
			rep.note("9c–9e: %s: %d runs did not end planned (%v); the first: %s", d.label(), d.C.QueueRuns-d.States[string(provisioningrun.StatePlanned)], d.States, oneLine(d.FirstErr))
		}
	}
	return nil
}

// limits says what bounds the 2-replica/1-replica ratio, from what the
// drains measured; local is the same burst on SQLite, beside as a reference.
func limits(one, two, local drainResult) string {
	cores := runtime.NumCPU()
	cpu := fmt.Sprintf("on this machine the CPUs cap any ratio: the SQLite burst alone kept %.0f%% of its %d cores busy with %d workers, and the replicas share this process and its cores.",
		local.busy(), cores, queueWorkers)
	switch {
	case one.busy() < 60 && max(one.CreationLock, two.CreationLock) >= 20:
		return fmt.Sprintf("not the CPUs (%.0f%% and %.0f%% of %d cores busy) but Terraform's pg backend: the plan of a product with no state yet holds the database-wide advisory lock -1 throughout (held in %.0f%% and %.0f%% of polls), "+
			"every other plan's lock attempt fails meanwhile and retries after 1, 2, 4, 8, 16 s, so plans run about one at a time with the lock idle between holders, and a second replica only adds contenders. Without that lock, %s",
			one.busy(), two.busy(), cores, one.CreationLock, two.CreationLock, cpu)
	case one.busy() >= 80:
		return fmt.Sprintf("the CPUs: %d workers kept %.0f%% of the %d cores busy and terraform plans are CPU-bound; a second replica's workers queue for the same CPUs, so the ratio measures the CPU left idle, not the job queue.",
			queueWorkers, one.busy(), cores)
	default:
		return fmt.Sprintf("neither the CPUs (%.0f%% and %.0f%% of %d cores busy) nor the pg backend's creation lock (held in %.0f%% and %.0f%% of polls) was saturated; %s",
			one.busy(), two.busy(), cores, one.CreationLock, two.CreationLock, cpu)
	}
}

// queueLatency is one catalog's samples of the queue's overhead.
type queueLatency struct {
	stats
	FromSend []time.Duration // the client's Plan send → start_time
	Plan     []time.Duration // start_time → seen planned
	Failed   int
	FirstErr string
	// Slow counts the samples over targetQueueP99; Crowded those of them
	// whose job followed the queue's previous one, of a kind in CrowdedBy,
	// within riverFetchCooldown.
	Slow, Crowded int
	CrowdedBy     []string
}

func (q queueLatency) report(rep *report, id, where, target, status string) {
	rep.add(id, fmt.Sprintf("queue overhead on %s, Plan → a worker starts the run (%d runs, one at a time)", where, len(q.Lat)),
		fmt.Sprintf("p50 %s  p99 %s  max %s", ms(q.Pct(50)), ms(q.Pct(99)), ms(q.Max())), target, status)
	if q.Failed > 0 {
		rep.note("%s: %d of the runs ended failed (after starting, so their samples count); the first: %s", id, q.Failed, oneLine(q.FirstErr))
	}
}

// detail describes the samples beside the measured figure.
func (q queueLatency) detail(where string) string {
	send := stats{Lat: slices.Sorted(slices.Values(q.FromSend))}
	out := fmt.Sprintf("%s: from the client's send to start_time p50 %s p99 %s; one plan %s (median, start_time until GetRun shows it planned); %d of %d runs waited over %s",
		where, ms(send.Pct(50)), ms(send.Pct(99)), secs(median(q.Plan)), q.Slow, len(q.Lat), targetQueueP99)
	if q.Crowded > 0 {
		out += fmt.Sprintf(", %d of them queued less than %s after another job of the queue (%s): a River client sends one insert notification per queue per FetchCooldown (%s), so these waited for the next poll",
			q.Crowded, riverFetchCooldown, strings.Join(q.CrowdedBy, ", "), riverFetchCooldown)
	}
	return out
}

// latency starts a server on a fresh catalog of kind where, and plans
// c.QueueSamples new products one after the other.
func (b *queueBench) latency(ctx context.Context, where string) (queueLatency, error) {
	var q queueLatency
	var opts []func(*app.Config)
	if where == "PostgreSQL" {
		dbURL, drop, err := postgresDatabase(ctx, b.c.Postgres)
		if err != nil {
			return q, err
		}
		defer drop()
		opts = append(opts, func(ac *app.Config) { ac.DatabaseURL = dbURL })
	}
	b.progress("queue: %d plans one at a time on %s, %d workers", b.c.QueueSamples, where, queueWorkers)
	e, err := b.start(ctx, "", opts...)
	if err != nil {
		return q, err
	}
	defer e.close()
	names, err := b.products(ctx, e, b.c.QueueSamples)
	if err != nil {
		return q, err
	}
	prov := meshplanev1connect.NewProvisioningServiceClient(h2cClient(), e.url, bearer(e.adminToken))
	slow := map[string]bool{}
	for _, name := range names {
		sent := time.Now()
		res, err := prov.Plan(ctx, connect.NewRequest(&v1.PlanRequest{Domain: queueDomain, Product: name}))
		if err != nil {
			return q, fmt.Errorf("Plan %s: %w", name, err)
		}
		r, err := waitRun(ctx, prov, res.Msg.GetRun().GetId())
		if err != nil {
			return q, err
		}
		seen := time.Now()
		if r.GetStartTime() == nil {
			return q, fmt.Errorf("run %s of %s ended %v without starting: %s", r.GetId(), name, r.GetState(), r.GetError())
		}
		if r.GetState() != v1.RunState_RUN_STATE_PLANNED {
			q.Failed++
			if q.FirstErr == "" {
				q.FirstErr = fmt.Sprintf("%s ended %v: %s", name, r.GetState(), r.GetError())
			}
		}
		started := r.GetStartTime().AsTime()
		lat := started.Sub(r.GetCreateTime().AsTime())
		if lat > targetQueueP99 {
			slow[r.GetId()] = true
		}
		q.Lat = append(q.Lat, lat)
		q.FromSend = append(q.FromSend, started.Sub(sent))
		q.Plan = append(q.Plan, seen.Sub(started))
		q.Requests++
	}
	q.finish()
	q.Slow = len(slow)
	if where == "PostgreSQL" && len(slow) > 0 {
		if q.Crowded, q.CrowdedBy, err = crowded(ctx, e.srv.Store.DB, slow); err != nil {
			return q, err
		}
	}
	return q, nil
}

// riverFetchCooldown is River's default FetchCooldown, which the queue
// keeps on PostgreSQL: a client sends at most one insert notification per
// queue in that time, and a job whose notification was held back waits for
// the next poll.
const riverFetchCooldown = 100 * time.Millisecond

// crowded counts the plan jobs of runs in slow that were inserted less than
// riverFetchCooldown after the queue's previous job, and names the kinds of
// those previous jobs.
func crowded(ctx context.Context, db *sql.DB, slow map[string]bool) (int, []string, error) {
	rows, err := db.QueryContext(ctx, "SELECT kind, created_at, args FROM river_job WHERE queue = 'default' ORDER BY created_at, id")
	if err != nil {
		return 0, nil, fmt.Errorf("reading river_job: %w", err)
	}
	defer rows.Close()
	var (
		prev     time.Time
		prevKind string
		n        int
		after    []string
	)
	for rows.Next() {
		var kind string
		var at time.Time
		var raw []byte
		if err := rows.Scan(&kind, &at, &raw); err != nil {
			return 0, nil, fmt.Errorf("reading river_job: %w", err)
		}
		var args struct {
			RunID string `json:"run_id"`
			Phase string `json:"phase"`
		}
		_ = json.Unmarshal(raw, &args)
		if slow[args.RunID] && args.Phase == "plan" && !prev.IsZero() && at.Sub(prev) < riverFetchCooldown {
			n++
			if !slices.Contains(after, prevKind) {
				after = append(after, prevKind)
			}
		}
		prev, prevKind = at, kind
	}
	return n, after, rows.Err()
}

// creationLockHeld asks whether anyone in the current database holds
// advisory lock -1: Terraform's pg backend takes it, database-wide, to create
// a workspace's state, and holds it for the whole operation (a plan of a
// product never applied). A bigint key shows as its two halves.
const creationLockHeld = `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted
	AND classid = 4294967295 AND objid = 4294967295 AND objsubid = 1
	AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))`

// drainResult is one burst of plans drained by some replicas.
type drainResult struct {
	C        config
	Where    string
	Replicas int
	Elapsed  time.Duration
	CPU      time.Duration
	// CreationLock is the share of the drain's polls, in percent, that
	// found the pg backend's creation lock held (PostgreSQL only).
	CreationLock float64
	States       map[string]int // runs by final state
	Worked       []int          // runs each replica planned
	FirstErr     string
}

func (d drainResult) label() string {
	if d.Replicas == 1 {
		return "1 replica on " + d.Where
	}
	return fmt.Sprintf("%d replicas on %s", d.Replicas, d.Where)
}

func (d drainResult) perMinute() float64 {
	if d.Elapsed <= 0 {
		return 0
	}
	return float64(d.C.QueueRuns) / d.Elapsed.Minutes()
}

// busy is the share of the machine's CPUs the drain used, in percent.
func (d drainResult) busy() float64 {
	if d.Elapsed <= 0 {
		return 0
	}
	return 100 * float64(d.CPU) / float64(d.Elapsed) / float64(runtime.NumCPU())
}

func (d drainResult) status() string {
	if d.FirstErr != "" {
		return "ERR"
	}
	return "—"
}

// spread is how many runs each replica planned, "12/12".
func (d drainResult) spread() string {
	parts := make([]string, len(d.Worked))
	for i, n := range d.Worked {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, "/")
}

// drain starts replicas servers on one fresh catalog of kind where (one
// server alone on SQLite), sends c.QueueRuns Plan requests at once,
// alternating between the replicas, and times them until no run is queued
// or planning.
func (b *queueBench) drain(ctx context.Context, where string, replicas int) (drainResult, error) {
	d := drainResult{C: b.c, Where: where, Replicas: replicas, States: map[string]int{}}
	var opts []func(*app.Config)
	if where == "PostgreSQL" {
		dbURL, drop, err := postgresDatabase(ctx, b.c.Postgres)
		if err != nil {
			return d, err
		}
		defer drop()
		opts = append(opts, func(ac *app.Config) { ac.DatabaseURL = dbURL })
	} else if replicas != 1 {
		return d, errors.New("a SQLite catalog has one server")
	}
	b.progress("queue: %d plans at once on %s, %d replicas of %d workers", b.c.QueueRuns, where, replicas, queueWorkers)
	var es []*env
	defer func() {
		for _, e := range slices.Backward(es) {
			e.close()
		}
	}()
	for i := range replicas {
		token := ""
		if i > 0 {
			token = es[0].adminToken
		}
		e, err := b.start(ctx, token, opts...)
		if err != nil {
			return d, fmt.Errorf("starting replica %d: %w", i+1, err)
		}
		es = append(es, e)
	}
	names, err := b.products(ctx, es[0], b.c.QueueRuns)
	if err != nil {
		return d, err
	}
	provs := make([]meshplanev1connect.ProvisioningServiceClient, len(es))
	for i, e := range es {
		provs[i] = meshplanev1connect.NewProvisioningServiceClient(h2cClient(), e.url, bearer(e.adminToken))
	}
	// One plan first, untimed: the burst is timed on a catalog that has
	// provisioned before, as a running one has.
	cat := meshplanev1connect.NewCatalogServiceClient(h2cClient(), es[0].url, bearer(es[0].adminToken))
	if _, err := cat.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{Domain: queueDomain, Name: queueWarmUp, Spec: productSpec(queueDomain)})); err != nil {
		return d, fmt.Errorf("creating %s: %w", queueWarmUp, err)
	}
	res, err := provs[0].Plan(ctx, connect.NewRequest(&v1.PlanRequest{Domain: queueDomain, Product: queueWarmUp}))
	if err != nil {
		return d, fmt.Errorf("Plan %s: %w", queueWarmUp, err)
	}
	warm, err := waitRun(ctx, provs[0], res.Msg.GetRun().GetId())
	if err != nil {
		return d, err
	}
	if warm.GetState() != v1.RunState_RUN_STATE_PLANNED {
		return d, fmt.Errorf("the plan of %s ended %v: %s", queueWarmUp, warm.GetState(), warm.GetError())
	}
	runs := es[0].srv.Store.Client.ProvisioningRun
	cpu0, t0 := cpuWithChildren(), time.Now()
	errc := make(chan error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			_, err := provs[i%len(provs)].Plan(ctx, connect.NewRequest(&v1.PlanRequest{Domain: queueDomain, Product: name}))
			if err != nil {
				errc <- fmt.Errorf("Plan %s: %w", name, err)
			}
		})
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return d, err
	}
	var samples, held int
	for deadline := t0.Add(runTimeout); ; {
		n, err := runs.Query().Where(provisioningrun.StateIn(provisioningrun.StateQueued, provisioningrun.StatePlanning)).Count(ctx)
		if err != nil {
			return d, fmt.Errorf("counting runs: %w", err)
		}
		if n == 0 {
			break
		}
		if where == "PostgreSQL" {
			var h bool
			if err := es[0].srv.Store.DB.QueryRowContext(ctx, creationLockHeld).Scan(&h); err != nil {
				return d, fmt.Errorf("reading pg_locks: %w", err)
			}
			samples++
			if h {
				held++
			}
		}
		if time.Now().After(deadline) {
			return d, fmt.Errorf("%d of %d runs still queued or planning after %s", n, len(names), runTimeout)
		}
		select {
		case <-ctx.Done():
			return d, ctx.Err()
		case <-time.After(pollEvery):
		}
	}
	d.Elapsed, d.CPU = time.Since(t0), cpuWithChildren()-cpu0
	if samples > 0 {
		d.CreationLock = 100 * float64(held) / float64(samples)
	}
	all, err := runs.Query().Where(provisioningrun.ProductNEQ(queueWarmUp)).All(ctx)
	if err != nil {
		return d, fmt.Errorf("reading runs: %w", err)
	}
	if len(all) != len(names) {
		return d, fmt.Errorf("%d runs in the catalog, want %d", len(all), len(names))
	}
	for _, r := range all {
		d.States[string(r.State)]++
		if r.State != provisioningrun.StatePlanned && d.FirstErr == "" {
			d.FirstErr = fmt.Sprintf("%s ended %s: %s", r.Product, r.State, r.Error)
		}
	}
	// The executor is cleared once a run is planned; the workspace each
	// plan left in its replica's data dir says which replica worked it.
	for _, e := range es {
		ws, err := os.ReadDir(filepath.Join(e.dir, "workspaces", queueDomain))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return d, err
		}
		d.Worked = append(d.Worked, len(slices.DeleteFunc(ws, func(w os.DirEntry) bool { return w.Name() == queueWarmUp })))
	}
	return d, nil
}

// start starts a server provisioning into the phase's sandbox with the
// phase's masking key. A replica joining a catalog that already has an
// admin is given the admin's token.
func (b *queueBench) start(ctx context.Context, adminToken string, opts ...func(*app.Config)) (*env, error) {
	opts = append([]func(*app.Config){func(ac *app.Config) {
		ac.ToolsDir, ac.Workers, ac.DataPlane, ac.MaskingKeyFile = b.tools, queueWorkers, b.dataPlane, b.keyFile
	}}, opts...)
	e, err := start(ctx, opts...)
	if err != nil {
		return nil, err
	}
	if why := e.srv.Provision.Unavailable(); why != "" {
		e.close()
		return nil, errors.New(why)
	}
	if adminToken != "" {
		e.adminToken = adminToken
	}
	if e.adminToken == "" {
		e.close()
		return nil, errors.New("no admin token: the catalog had an admin before this server started")
	}
	return e, nil
}

// products creates the queue domain and n new products in it over Connect.
func (b *queueBench) products(ctx context.Context, e *env, n int) ([]string, error) {
	cat := meshplanev1connect.NewCatalogServiceClient(h2cClient(), e.url, bearer(e.adminToken))
	if _, err := cat.CreateDomain(ctx, connect.NewRequest(&v1.CreateDomainRequest{Name: queueDomain, Description: "queue bench"})); err != nil {
		return nil, fmt.Errorf("creating a domain: %w", err)
	}
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("q%03d", i)
		if _, err := cat.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{Domain: queueDomain, Name: names[i], Spec: productSpec(queueDomain)})); err != nil {
			return nil, fmt.Errorf("creating %s: %w", names[i], err)
		}
	}
	return names, nil
}
