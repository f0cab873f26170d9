package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"connectrpc.com/connect"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/api/gen/meshplane/v1/meshplanev1connect"
	"github.com/meshplane/meshplane/server/actor"
	"github.com/meshplane/meshplane/server/app"
	"github.com/meshplane/meshplane/server/catalog"
	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/ent/provisioningrun"
	"github.com/meshplane/meshplane/server/policy/engine"
	"github.com/meshplane/meshplane/server/provision/render"
	"github.com/meshplane/meshplane/server/provision/summary"
	"github.com/meshplane/meshplane/server/rpc"
	"github.com/meshplane/meshplane/server/spec"
)

// Targets of the provisioning phase.
const (
	// targetProvisionWall bounds one new product from the Plan request to applied.
	targetProvisionWall = 15 * time.Second
	// targetPlanGrowth bounds planning one changed product in the largest
	// catalog, relative to the same plan with one product provisioned.
	targetPlanGrowth = 1.2
)

const (
	fleetDomain = "fleet"
	// provisionWorkers is the server's worker pool (its default, set explicitly).
	provisionWorkers = 4
	// pollEvery is how often runs are polled; results are this coarse.
	pollEvery = 50 * time.Millisecond
	// runTimeout bounds one provisioning run.
	runTimeout = 10 * time.Minute
)

func fleetName(i int) string { return fmt.Sprintf("p%04d", i) }

// fleetSpec is the spec every fleet product is created with: the fixture,
// normalized for its name, exactly as the catalog stores it.
func fleetSpec(name string) spec.Product {
	sp := rpc.ProductSpec(productSpec(fleetDomain))
	sp.Normalize(fleetDomain, name)
	return sp
}

// provBench is what the provisioning phase shares: a meshplane server with
// a sandbox data plane, and the terraform the server runs.
type provBench struct {
	c        config
	e        *env
	admin    context.Context // the admin actor, for direct service calls
	prov     meshplanev1connect.ProvisioningServiceClient
	tf       terraformCLI
	renv     render.Environment
	progress func(string, ...any)
	deadline time.Time

	fleet      int           // fleet products provisioned so far
	perProduct time.Duration // wall time per product of the last fleet growth
	changes    int           // retention changes made so far (each one distinct)
	// adopted lists, per changed plan that had any, the existing topics the
	// plan imported beside the retention change: no change to the data plane.
	adopted []string

	mu       sync.Mutex
	failures []string // runs that failed while the fleet grew, retried
	orphans  int      // topics failed applies left on the broker, outside any state
	kafka    *kadm.Client
}

// sizeResult is one catalog size of the scaling measurement.
type sizeResult struct {
	N, From  int           // fleet size measured, and before growing to it
	Grow     time.Duration // provisioning the products added for this size
	Plans    []time.Duration
	PlanCPU  []time.Duration
	Mono     []time.Duration // terraform plan of the monolith, one product changed
	MonoCPU  []time.Duration
	MonoNoop time.Duration // terraform plan of the unchanged monolith (state check)
	MonoInit time.Duration
	// MonoRetries counts monolith plans run again after the provider lost a
	// broker connection; the second attempt is the one timed.
	MonoRetries int
	MonoBuild   time.Duration // rendering, merging config and state
	Resources   int           // resources in the monolith's state
}

// benchProvision measures provisioning through Terraform against the sandbox:
// one new product from Plan to applied beside terraform's fixed start-up cost,
// then planning one changed product as the catalog grows, beside the same
// change in one monolithic workspace holding every product.
func benchProvision(ctx context.Context, c config, rep *report, progress func(string, ...any)) error {
	began := time.Now()
	ctx, cancel := context.WithTimeout(ctx, c.ProvBudget+3*time.Minute)
	defer cancel()
	tools, err := filepath.Abs(c.Tools)
	if err != nil {
		return err
	}
	for _, p := range []string{filepath.Join(tools, "bin", "terraform"), filepath.Join(tools, "terraform-plugins")} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%s is missing (run scripts/tools.sh, or point -tools at the directory holding bin/terraform)", p)
		}
	}
	progress("provisioning: starting meshplane with a sandbox data plane, %d workers", provisionWorkers)
	e, err := start(ctx, func(ac *app.Config) { ac.ToolsDir = tools; ac.Workers = provisionWorkers })
	if err != nil {
		return err
	}
	defer e.close()
	if why := e.srv.Provision.Unavailable(); why != "" {
		return errors.New(why)
	}
	sb := e.srv.Sandbox
	if sb == nil {
		return errors.New("no sandbox data plane started")
	}
	st := sb.Settings()
	home := filepath.Join(e.dir, "bench-terraform-home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return err
	}
	cli := filepath.Join(home, "terraformrc")
	if err := os.WriteFile(cli, nil, 0o600); err != nil {
		return err
	}
	b := &provBench{
		c: c, e: e, progress: progress, deadline: began.Add(c.ProvBudget),
		admin: actor.With(ctx, actor.Actor{Name: "admin", Kind: actor.KindUser}),
		prov:  meshplanev1connect.NewProvisioningServiceClient(h2cClient(), e.url, bearer(e.adminToken)),
		tf: terraformCLI{bin: filepath.Join(tools, "bin", "terraform"), plugins: filepath.Join(tools, "terraform-plugins"), env: []string{
			"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + home, "TF_CLI_CONFIG_FILE=" + cli, "CHECKPOINT_DISABLE=1",
			"KAFKA_SASL_PASSWORD=" + sb.AdminPassword(), "KAFKA_CONNECT_BASIC_AUTH_PASSWORD=" + sb.AdminPassword(),
		}},
		// The environment the server renders for its sandbox (app.startProvisioning).
		renv: render.Environment{Name: "sandbox", KafkaBootstrap: st.BootstrapServers, KafkaSASLMechanism: render.SASLScramSHA512,
			KafkaUsername: st.AdminUsername, ConnectURL: st.ConnectURL, ConnectUsername: st.ConnectUsername, ReplicationFactor: min(3, st.Brokers)},
	}
	defer func() {
		if b.kafka != nil {
			b.kafka.Close()
		}
	}()
	if err := b.wallTime(ctx, rep); err != nil {
		return err
	}
	return b.scaling(ctx, rep)
}

// wallTime provisions the first product over Connect, Plan to applied, and
// times terraform alone on an empty workspace beside it.
func (b *provBench) wallTime(ctx context.Context, rep *report) error {
	b.progress("provisioning: one new product over Connect, Plan → planned → ApproveRun → applied")
	cat := meshplanev1connect.NewCatalogServiceClient(h2cClient(), b.e.url, bearer(b.e.adminToken))
	if _, err := cat.CreateDomain(ctx, connect.NewRequest(&v1.CreateDomainRequest{Name: fleetDomain, Description: "provisioning bench"})); err != nil {
		return fmt.Errorf("creating a domain: %w", err)
	}
	name := fleetName(0)
	if _, err := cat.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{Domain: fleetDomain, Name: name, Spec: productSpec(fleetDomain)})); err != nil {
		return fmt.Errorf("creating a product: %w", err)
	}
	t0 := time.Now()
	res, err := b.prov.Plan(ctx, connect.NewRequest(&v1.PlanRequest{Domain: fleetDomain, Product: name}))
	if err != nil {
		return fmt.Errorf("Plan: %w", err)
	}
	planned, err := b.waitRun(ctx, res.Msg.GetRun().GetId())
	if err != nil {
		return err
	}
	t1 := time.Now()
	if planned.GetState() != v1.RunState_RUN_STATE_PLANNED {
		return fmt.Errorf("the first plan ended %v: %s", planned.GetState(), planned.GetError())
	}
	if _, err := b.prov.ApproveRun(ctx, connect.NewRequest(&v1.ApproveRunRequest{Id: planned.GetId()})); err != nil {
		return fmt.Errorf("ApproveRun: %w", err)
	}
	applied, err := b.waitRun(ctx, planned.GetId())
	if err != nil {
		return err
	}
	t2 := time.Now()
	if applied.GetState() != v1.RunState_RUN_STATE_APPLIED {
		return fmt.Errorf("the first apply ended %v: %s", applied.GetState(), applied.GetError())
	}
	b.fleet = 1
	total, planPart, applyPart := t2.Sub(t0), t1.Sub(t0), t2.Sub(t1)
	queued := applied.GetStartTime().AsTime().Sub(applied.GetCreateTime().AsTime())
	sum := planned.GetSummary()

	b.progress("provisioning: terraform alone on an empty workspace (providers configured, no resources), 3 times")
	base, err := b.baseline(ctx)
	if err != nil {
		return fmt.Errorf("terraform baseline: %w", err)
	}
	// What the worker runs: terraform-exec checks the version once per
	// phase, then init, plan and show; apply alone on approval.
	planFloor := base.Version + base.InitCold + base.Plan + base.Show
	applyFloor := base.Version + base.Apply
	b.perProduct = total / 2

	rep.add("4a", fmt.Sprintf("new product, Plan request → applied (%d resources, Connect)", sum.GetCreate()),
		fmt.Sprintf("%s = plan %s + apply %s", secs(total), secs(planPart), secs(applyPart)),
		"<= "+secs(targetProvisionWall), verdict(total <= targetProvisionWall))
	rep.add("4b", "  of which terraform start-up (same steps, empty workspace)",
		fmt.Sprintf("%s (%.0f%%) = plan %s + apply %s", secs(planFloor+applyFloor), pct(planFloor+applyFloor, total), secs(planFloor), secs(applyFloor)),
		"info", "—")
	rep.note("4a: queued → planning %s (server timestamps); plan summary: %d to create, %d to update, %d to delete. Runs were polled with GetRun every %s.",
		ms(queued), sum.GetCreate(), sum.GetUpdate(), sum.GetDelete(), pollEvery)
	rep.note("4a: the apply's own account of resource creation (terraform rounds to seconds): %s. The Kafka provider waits at least 1s after creating a topic before it checks the topic exists; the connectors depend on the topics.",
		creationTimes(applied.GetLog()))
	rep.note("4b: terraform %s alone, medians of 3: version %s; init -plugin-dir %s cold (new workspace), %s warm; plan -out %s; show -json %s; apply of the empty plan %s. "+
		"The plan phase runs version+init+plan+show (%s floor of %s), the apply phase version+apply (%s floor of %s).",
		b.tf.version, ms(base.Version), ms(base.InitCold), ms(base.InitWarm), ms(base.Plan), ms(base.Show), ms(base.Apply),
		secs(planFloor), secs(planPart), secs(applyFloor), secs(applyPart))
	return nil
}

// creationTimes summarises the "Creation complete after …" lines of a
// terraform apply log by resource type: count and slowest.
func creationTimes(log string) string {
	type agg struct {
		n   int
		max time.Duration
	}
	byType := map[string]*agg{}
	for _, l := range strings.Split(log, "\n") {
		addr, rest, ok := strings.Cut(l, ": Creation complete after ")
		if !ok {
			continue
		}
		parts := strings.Split(addr, ".")
		if len(parts) < 4 || parts[0] != "module" {
			continue
		}
		// module.<call>.<type>.<name>, the name perhaps with a for_each key
		typ := parts[2]
		took, _, _ := strings.Cut(rest, " ")
		d, err := time.ParseDuration(took)
		if err != nil {
			continue
		}
		a := byType[typ]
		if a == nil {
			a = &agg{}
			byType[typ] = a
		}
		a.n++
		a.max = max(a.max, d)
	}
	if len(byType) == 0 {
		return "no creation lines in the log"
	}
	var out []string
	for _, typ := range slices.Sorted(maps.Keys(byType)) {
		a := byType[typ]
		out = append(out, fmt.Sprintf("%d %s, slowest %s", a.n, typ, a.max))
	}
	return strings.Join(out, "; ")
}

// tfBaseline is terraform's fixed cost: medians over a few empty workspaces.
type tfBaseline struct {
	Version, InitCold, InitWarm, Plan, Show, Apply time.Duration
}

// baseline runs, in empty-but-configured workspaces, what the worker runs
// for a product: init (cold, then again warm), plan -out, show -json, apply.
func (b *provBench) baseline(ctx context.Context) (tfBaseline, error) {
	w, err := render.Render(render.Input{Domain: fleetDomain, Product: fleetName(0), Spec: fleetSpec(fleetName(0)), Env: b.renv})
	if err != nil {
		return tfBaseline{}, err
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(w.Files[render.MainFile], &doc); err != nil {
		return tfBaseline{}, err
	}
	empty, err := json.MarshalIndent(map[string]json.RawMessage{"terraform": doc["terraform"], "provider": doc["provider"]}, "", "  ")
	if err != nil {
		return tfBaseline{}, err
	}
	if out, err := b.tf.output(ctx, b.e.dir, "version"); err == nil {
		first, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
		b.tf.version = strings.TrimPrefix(first, "Terraform ")
	}
	const reps = 3
	var version, initCold, initWarm, plan, show, apply []time.Duration
	for i := range reps {
		dir := filepath.Join(b.e.dir, "bench-empty", strconv.Itoa(i))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return tfBaseline{}, err
		}
		if err := os.WriteFile(filepath.Join(dir, render.MainFile), empty, 0o600); err != nil {
			return tfBaseline{}, err
		}
		steps := []struct {
			into *[]time.Duration
			args []string
		}{
			{&version, []string{"version", "-json"}},
			{&initCold, []string{"init", "-input=false", "-no-color", "-upgrade=false", "-plugin-dir=" + b.tf.plugins}},
			{&initWarm, []string{"init", "-input=false", "-no-color", "-upgrade=false", "-plugin-dir=" + b.tf.plugins}},
			{&plan, []string{"plan", "-input=false", "-no-color", "-out=empty.tfplan"}},
			{&show, []string{"show", "-json", "-no-color", "empty.tfplan"}},
			{&apply, []string{"apply", "-input=false", "-no-color", "-auto-approve", "empty.tfplan"}},
		}
		for _, s := range steps {
			d, _, err := b.tf.run(ctx, dir, s.args...)
			if err != nil {
				return tfBaseline{}, err
			}
			*s.into = append(*s.into, d)
		}
	}
	return tfBaseline{Version: median(version), InitCold: median(initCold), InitWarm: median(initWarm),
		Plan: median(plan), Show: median(show), Apply: median(apply)}, nil
}

// scaling grows the fleet through c.ProvSizes and at each size times
// planning one changed product, per product and in a monolith. A failure
// ends the growth; the sizes measured until then are still reported.
func (b *provBench) scaling(ctx context.Context, rep *report) error {
	var (
		results []sizeResult
		skipped []int
		failure error
	)
	for _, n := range b.c.ProvSizes {
		if n > b.fleet {
			est := time.Duration(n-b.fleet)*b.perProduct + b.measureEstimate(results, n)
			if left := time.Until(b.deadline); est > left {
				skipped = append(skipped, n)
				b.progress("provisioning: skipping %d products: about %s needed, %s of the budget left", n, est.Round(time.Second), left.Round(time.Second))
				continue
			}
		}
		r, err := b.measureSize(ctx, n)
		if err != nil {
			failure = fmt.Errorf("%d products: %w", n, err)
			break
		}
		results = append(results, r)
	}
	b.report(rep, results)
	if len(skipped) > 0 {
		rep.note("4c: sizes %v skipped: they would not finish within -prov-budget %s.", skipped, b.c.ProvBudget)
	}
	if failure != nil {
		rep.add("4c!", "scaling stopped", oneLine(failure.Error()), "", "ERR")
	}
	return nil
}

// measureSize grows the fleet to n products and times the changed plans.
func (b *provBench) measureSize(ctx context.Context, n int) (sizeResult, error) {
	r := sizeResult{N: n, From: b.fleet}
	if n > b.fleet {
		b.progress("provisioning: growing the fleet from %d to %d products (%d in parallel, %d workers)", b.fleet, n, b.c.ProvParallel, provisionWorkers)
		t0 := time.Now()
		if err := b.grow(ctx, n); err != nil {
			return r, fmt.Errorf("provisioning: %w", err)
		}
		r.Grow = time.Since(t0)
		b.perProduct = r.Grow / time.Duration(n-r.From)
	}
	b.progress("provisioning: %d products: planning one changed product %d times over Connect", n, b.c.ProvRepeats)
	for range b.c.ProvRepeats {
		cpu0 := cpuWithChildren()
		d, err := b.changedPlan(ctx)
		if err != nil {
			return r, err
		}
		r.Plans = append(r.Plans, d)
		r.PlanCPU = append(r.PlanCPU, cpuWithChildren()-cpu0)
	}
	b.progress("provisioning: %d products: the same change in one monolithic workspace, %d times", n, b.c.ProvMonoRepeats)
	if err := b.monolith(ctx, &r); err != nil {
		return r, fmt.Errorf("monolith: %w", err)
	}
	b.progress("provisioning: %d products: per product %s, monolith %s", n, secs(median(r.Plans)), secs(median(r.Mono)))
	return r, nil
}

// report adds the scaling rows and notes.
func (b *provBench) report(rep *report, results []sizeResult) {
	if len(results) == 0 {
		rep.add("4c", "changed product plan", "no size measured", "", "NO DATA")
		return
	}
	first := results[0]
	one := median(first.Plans)
	for i, r := range results {
		per, mono := median(r.Plans), median(r.Mono)
		name := fmt.Sprintf("changed product plan, %d provisioned (median of %d)", r.N, len(r.Plans))
		if i == 0 {
			rep.add(fmt.Sprintf("4c%d", i+1), name, secs(per)+"  runs "+secsList(r.Plans), "baseline", "—")
		} else {
			limit := time.Duration(float64(one) * targetPlanGrowth)
			rep.add(fmt.Sprintf("4c%d", i+1), name,
				fmt.Sprintf("%s = %.2f× %d-product  runs %s", secs(per), float64(per)/float64(one), first.N, secsList(r.Plans)),
				fmt.Sprintf("<= %.1f× = %s", targetPlanGrowth, secs(limit)), verdict(per <= limit))
		}
		rep.add(fmt.Sprintf("4d%d", i+1), fmt.Sprintf("  same change, one monolith of %d products (%s resources)", r.N, thousands(float64(r.Resources))),
			fmt.Sprintf("%s = %.1f× per-product  runs %s", secs(mono), float64(mono)/float64(per), secsList(r.Mono)), "info", "—")
	}
	rep.note("4c: each plan follows a retention change of %s/%s made through the catalog service, and is timed from the Connect Plan request until GetRun shows it planned; every plan updated exactly 1 resource, the changed topic, and created, replaced and deleted none.",
		fleetDomain, fleetName(0))
	if len(b.adopted) > 0 {
		rep.note("4c: %d changed plans also imported topics of the product that existed on the broker but not in its state, unchanged (the server adopts them); the first: %s.",
			len(b.adopted), b.adopted[0])
	}
	for _, r := range results {
		line := fmt.Sprintf("4c/4d %d products: CPU per plan (this process and its terraform children, load-independent): per-product %s, monolith %s",
			r.N, secs(median(r.PlanCPU)), secs(median(r.MonoCPU)))
		if r.Grow > 0 {
			line += fmt.Sprintf("; adding %d products took %s (%s each, Plan+ApproveRun through the service, %d at a time, %d workers)",
				r.N-r.From, r.Grow.Round(100*time.Millisecond), secs(r.Grow/time.Duration(r.N-r.From)), b.c.ProvParallel, provisionWorkers)
		}
		line += fmt.Sprintf("; monolith build %s, init %s", secs(r.MonoBuild), secs(r.MonoInit))
		if r.MonoRetries > 0 {
			line += fmt.Sprintf(", %d plans run again after \"broker not connected\" (the retry timed)", r.MonoRetries)
		}
		line += "."
		rep.note("%s", line)
	}
	rep.note("4d: the monolith is every fleet product rendered by render.Render as the server renders it (with the published policy's connector settings and sink masks), merged into one main.tf.json (module names prefixed by product, modules/ copied once), " +
		"with one state merged from the products' applied states: the same topics, ACLs and connectors, not copies. Timed: terraform plan -refresh=true, as a team would run it (no init, no show -json). " +
		"Every changed plan showed exactly 1 to change, the changed topic, so the merged state matched the configuration and the data plane everywhere else.")
	if last := results[len(results)-1]; len(results) > 1 {
		rep.note("4d: at %d products one changed product costs the monolith %.1f× the wall time of meshplane's per-product plan (%s vs %s) and %.1f× its CPU.",
			last.N, float64(median(last.Mono))/float64(median(last.Plans)), secs(median(last.Mono)), secs(median(last.Plans)),
			float64(median(last.MonoCPU))/float64(median(last.PlanCPU)))
	}
	if len(b.failures) > 0 {
		rep.note("4c: %d runs failed while the fleet grew; %d topics they had created but not recorded in state were deleted and the products planned again. The first failure: %s",
			len(b.failures), b.orphans, oneLine(b.failures[0]))
	}
}

// cpuWithChildren is the CPU time of this process and of its children that
// have exited: terraform and, through it, its provider plugins.
func cpuWithChildren() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		return processCPU()
	}
	return processCPU() + time.Duration(ru.Utime.Nano()+ru.Stime.Nano())
}

// measureEstimate guesses how long measuring at n products takes, from the
// previous size, generously.
func (b *provBench) measureEstimate(results []sizeResult, n int) time.Duration {
	if len(results) == 0 {
		return time.Minute
	}
	r := results[len(results)-1]
	mono := time.Duration(float64(median(r.Mono)+r.MonoInit+r.MonoBuild) * float64(n) / float64(r.N))
	return time.Duration(len(r.Plans))*median(r.Plans)*2 + mono*time.Duration(b.c.ProvMonoRepeats+1)
}

// grow creates fleet products up to n and provisions them through the
// provisioning service, c.ProvParallel at a time.
func (b *provBench) grow(ctx context.Context, n int) error {
	for i := b.fleet; i < n; i++ {
		if _, err := b.e.srv.Catalog.CreateDataProduct(b.admin, catalog.CreateProductInput{Domain: fleetDomain, Name: fleetName(i), Spec: fleetSpec(fleetName(i))}); err != nil {
			return fmt.Errorf("creating %s: %w", fleetName(i), err)
		}
	}
	idx := make(chan int)
	var (
		wg       sync.WaitGroup
		done     atomic.Int64
		mu       sync.Mutex
		firstErr error
	)
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range b.c.ProvParallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range idx {
				if err := b.provisionDirect(gctx, fleetName(i)); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
						cancel()
					}
					mu.Unlock()
					continue
				}
				done.Add(1)
			}
		}()
	}
	stopTick := make(chan struct{})
	go func() {
		t := time.NewTicker(15 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stopTick:
				return
			case <-t.C:
				b.progress("provisioning: %d/%d products added, load average %s", done.Load(), n-b.fleet, loadAverage())
			}
		}
	}()
feed:
	for i := b.fleet; i < n; i++ {
		select {
		case idx <- i:
		case <-gctx.Done():
			break feed
		}
	}
	close(idx)
	wg.Wait()
	close(stopTick)
	if firstErr != nil {
		return firstErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	b.fleet = n
	return nil
}

// provisionAttempts bounds how often one product's plan and apply are tried.
const provisionAttempts = 3

// provisionDirect plans and applies one product through the provisioning
// service as the admin, planning again after a failed run (the failures are
// counted and reported).
func (b *provBench) provisionDirect(ctx context.Context, name string) error {
	var err error
	for range provisionAttempts {
		var failed bool
		if failed, err = b.provisionOnce(ctx, name); err == nil || !failed {
			return err
		}
		orphans, cerr := b.clearOrphans(ctx, name)
		if cerr != nil {
			return fmt.Errorf("%w; clearing what it left: %v", err, cerr)
		}
		b.mu.Lock()
		b.failures = append(b.failures, err.Error())
		b.orphans += len(orphans)
		b.mu.Unlock()
		b.progress("provisioning: %s (planning it again; deleted %d unmanaged topics it left: %v)", oneLine(err.Error()), len(orphans), orphans)
	}
	return fmt.Errorf("%s failed %d times, last: %w", name, provisionAttempts, err)
}

// provisionOnce plans and applies a product once; failed reports a run that
// ended failed, as opposed to a call that did not go through.
func (b *provBench) provisionOnce(ctx context.Context, name string) (failed bool, _ error) {
	admin := actor.With(ctx, actor.Actor{Name: "admin", Kind: actor.KindUser})
	r, err := b.e.srv.Provision.Plan(admin, fleetDomain, name, "")
	if err != nil {
		return false, fmt.Errorf("planning %s: %w", name, err)
	}
	if r, err = b.waitDirect(admin, r.ID); err != nil {
		return false, err
	}
	if r.State != provisioningrun.StatePlanned {
		return r.State == provisioningrun.StateFailed, fmt.Errorf("plan of %s ended %s: %s", name, r.State, r.Error)
	}
	if _, err := b.e.srv.Provision.ApproveRun(admin, r.ID, false); err != nil {
		return false, fmt.Errorf("approving %s: %w", name, err)
	}
	if r, err = b.waitDirect(admin, r.ID); err != nil {
		return false, err
	}
	if r.State != provisioningrun.StateApplied {
		return r.State == provisioningrun.StateFailed, fmt.Errorf("apply of %s ended %s: %s", name, r.State, r.Error)
	}
	return false, nil
}

// clearOrphans deletes the product's topics that exist on the broker but not
// in its workspace's state. The Kafka provider creates a topic, then waits
// for it to appear and only then records it: a failure while waiting leaves
// the topic unmanaged, and every later apply fails with "already exists".
func (b *provBench) clearOrphans(ctx context.Context, name string) ([]string, error) {
	managed := map[string]bool{}
	st, err := readState(filepath.Join(b.e.dir, "workspaces", fleetDomain, name, "terraform.tfstate"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	resources, _ := st["resources"].([]any)
	for _, res := range resources {
		m, _ := res.(map[string]any)
		if m["type"] != "kafka_topic" {
			continue
		}
		instances, _ := m["instances"].([]any)
		for _, inst := range instances {
			im, _ := inst.(map[string]any)
			attrs, _ := im["attributes"].(map[string]any)
			if n, ok := attrs["name"].(string); ok {
				managed[n] = true
			}
		}
	}
	sp := fleetSpec(name)
	topics := []string{render.HeartbeatTopic(fleetDomain, name)}
	for _, port := range sp.Ports {
		topics = append(topics, port.Topic)
	}
	for _, sink := range sp.Sinks {
		topics = append(topics, render.DLQTopic(fleetDomain, name, sink.Name))
	}
	b.mu.Lock()
	if b.kafka == nil {
		cl, err := kgo.NewClient(b.e.srv.Sandbox.ClientOptions()...)
		if err != nil {
			b.mu.Unlock()
			return nil, err
		}
		b.kafka = kadm.NewClient(cl)
	}
	adm := b.kafka
	b.mu.Unlock()
	existing, err := adm.ListTopics(ctx, topics...)
	if err != nil {
		return nil, err
	}
	var orphans []string
	for _, t := range topics {
		if existing.Has(t) && !managed[t] {
			orphans = append(orphans, t)
		}
	}
	if len(orphans) == 0 {
		return nil, nil
	}
	res, err := adm.DeleteTopics(ctx, orphans...)
	if err != nil {
		return nil, err
	}
	if err := res.Error(); err != nil {
		return nil, err
	}
	return orphans, nil
}

func (b *provBench) waitDirect(ctx context.Context, id string) (*ent.ProvisioningRun, error) {
	deadline := time.Now().Add(runTimeout)
	for {
		r, err := b.e.srv.Provision.GetRun(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("reading run %s: %w", id, err)
		}
		switch r.State {
		case provisioningrun.StateQueued, provisioningrun.StatePlanning, provisioningrun.StateApplying:
		default:
			return r, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("run %s of %s still %s after %s", id, r.Product, r.State, runTimeout)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(2 * pollEvery):
		}
	}
}

// waitRun polls a run on the phase's server until it settles.
func (b *provBench) waitRun(ctx context.Context, id string) (*v1.Run, error) {
	return waitRun(ctx, b.prov, id)
}

// waitRun polls a run over Connect until it leaves queued, planning and applying.
func waitRun(ctx context.Context, prov meshplanev1connect.ProvisioningServiceClient, id string) (*v1.Run, error) {
	deadline := time.Now().Add(runTimeout)
	for {
		res, err := prov.GetRun(ctx, connect.NewRequest(&v1.GetRunRequest{Id: id}))
		if err != nil {
			return nil, fmt.Errorf("GetRun: %w", err)
		}
		r := res.Msg.GetRun()
		switch r.GetState() {
		case v1.RunState_RUN_STATE_QUEUED, v1.RunState_RUN_STATE_PLANNING, v1.RunState_RUN_STATE_APPLYING:
		default:
			return r, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("run %s still %v after %s", id, r.GetState(), runTimeout)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(pollEvery):
		}
	}
}

// baseRetentionMs is the fixture's retention of its first port.
func baseRetentionMs() int64 { return fleetSpec(fleetName(0)).Ports[0].RetentionMs }

// nextRetention returns a retention differing from the applied one and from
// every earlier change.
func (b *provBench) nextRetention() int64 {
	b.changes++
	return baseRetentionMs() + int64(b.changes)*3600*1000
}

// changedPlan changes the first fleet product's retention through the
// catalog service, then times Plan → planned over Connect.
func (b *provBench) changedPlan(ctx context.Context) (time.Duration, error) {
	name := fleetName(0)
	p, err := b.e.srv.Catalog.GetDataProduct(b.admin, fleetDomain, name)
	if err != nil {
		return 0, err
	}
	sp := spec.Product{Description: p.Description, Owner: p.Owner, Labels: p.Labels, Source: p.Source, Ports: slices.Clone(p.Ports), Sinks: p.Sinks}
	sp.Ports[0].RetentionMs = b.nextRetention()
	if _, err := b.e.srv.Catalog.UpdateDataProduct(b.admin, catalog.UpdateProductInput{Domain: fleetDomain, Name: name, Spec: sp, Version: p.Version}); err != nil {
		return 0, fmt.Errorf("changing retention: %w", err)
	}
	t0 := time.Now()
	res, err := b.prov.Plan(ctx, connect.NewRequest(&v1.PlanRequest{Domain: fleetDomain, Product: name}))
	if err != nil {
		return 0, fmt.Errorf("Plan: %w", err)
	}
	r, err := b.waitRun(ctx, res.Msg.GetRun().GetId())
	if err != nil {
		return 0, err
	}
	d := time.Since(t0)
	if r.GetState() != v1.RunState_RUN_STATE_PLANNED {
		return 0, fmt.Errorf("changed plan ended %v: %s", r.GetState(), r.GetError())
	}
	topics, err := b.topicAddresses(name)
	if err != nil {
		return 0, err
	}
	target := topics[fleetSpec(name).Ports[0].Topic]
	s := r.GetSummary()
	var updated bool
	var adopted, others []string
	for _, rc := range s.GetResources() {
		switch {
		case rc.GetAddress() == target && rc.GetAction() == summary.ActionUpdate:
			updated = true
		case rc.GetAction() == summary.ActionImport && slices.Contains(slices.Collect(maps.Values(topics)), rc.GetAddress()):
			// The server adopts the product's own topics that exist on the
			// broker but not in its state: they come under management
			// unchanged, and are reported apart.
			adopted = append(adopted, rc.GetAddress())
		default:
			others = append(others, rc.GetAddress()+" "+rc.GetAction())
		}
	}
	if !updated || len(others) > 0 || s.GetUpdate() != 1 || s.GetCreate()+s.GetDelete()+s.GetReplace() != 0 {
		return 0, fmt.Errorf("changed plan: want only %s updated, got %d to create, %d to update, %d to replace, %d to delete; other changes: %s",
			target, s.GetCreate(), s.GetUpdate(), s.GetReplace(), s.GetDelete(), orNone(others))
	}
	if len(adopted) > 0 {
		b.adopted = append(b.adopted, strings.Join(adopted, ", "))
	}
	return d, nil
}

// topicAddresses maps each topic of a fleet product to its Terraform
// address in the product's own workspace.
func (b *provBench) topicAddresses(name string) (map[string]string, error) {
	sp := fleetSpec(name)
	w, err := render.Render(render.Input{Domain: fleetDomain, Product: name, Spec: sp, Env: b.renv})
	if err != nil {
		return nil, err
	}
	if _, ok := w.TopicAddresses[sp.Ports[0].Topic]; !ok {
		return nil, fmt.Errorf("the workspace of %s has no address for topic %s", name, sp.Ports[0].Topic)
	}
	return w.TopicAddresses, nil
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, "; ")
}

// appliedInput is the render input of a fleet product as the server's plan
// built it when the product was applied: the fleet spec, with the connector
// settings and sink masks the published policy adds (provision's planPhase).
// Rendered without them, the source connector lacks the policy's column
// settings that the applied state holds, and terraform plans to remove them.
func (b *provBench) appliedInput(name string) (render.Input, error) {
	in := render.Input{Domain: fleetDomain, Product: name, Spec: fleetSpec(name), Env: b.renv}
	if b.e.srv.Policy == nil {
		return in, nil
	}
	p, err := b.e.srv.Catalog.GetDataProduct(b.admin, fleetDomain, name)
	if err != nil {
		return in, fmt.Errorf("reading %s: %w", name, err)
	}
	// The stored product, with the spec as applied: the first product's
	// stored retention has changed since, in plans never applied.
	applied := *p
	applied.Description, applied.Owner, applied.Labels = in.Spec.Description, in.Spec.Owner, in.Spec.Labels
	applied.Source, applied.Ports, applied.Sinks = in.Spec.Source, in.Spec.Ports, in.Spec.Sinks
	g, err := b.e.srv.Policy.Govern(b.admin, &applied, engine.Environment{Name: b.e.srv.Provision.DefaultEnvironment()}, "bench.monolith")
	if err != nil {
		return in, fmt.Errorf("governing %s: %w", name, err)
	}
	in.ConnectorConfig, in.SinkMasks = g.ConnectorConfig, g.SinkMasks
	return in, nil
}

// monolith builds one workspace holding every fleet product — their modules
// in one root module, their applied states in one state — and times
// terraform plan of it with one product's retention changed.
func (b *provBench) monolith(ctx context.Context, r *sizeResult) error {
	dir := filepath.Join(b.e.dir, "bench-monolith")
	t0 := time.Now()
	var head map[string]json.RawMessage
	modules := map[string]any{}
	moduleFiles := map[string][]byte{}
	var states []map[string]any
	for i := range b.fleet {
		name := fleetName(i)
		in, err := b.appliedInput(name)
		if err != nil {
			return err
		}
		w, err := render.Render(in)
		if err != nil {
			return err
		}
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(w.Files[render.MainFile], &doc); err != nil {
			return err
		}
		if head == nil {
			head = map[string]json.RawMessage{"terraform": doc["terraform"], "provider": doc["provider"]}
		}
		var mods map[string]map[string]any
		if err := decodeJSON(doc["module"], &mods); err != nil {
			return err
		}
		prefix := monoPrefix(name)
		for id, block := range mods {
			if deps, ok := block["depends_on"].([]any); ok {
				for j, d := range deps {
					s, _ := d.(string)
					deps[j] = strings.Replace(s, "module.", "module."+prefix, 1)
				}
			}
			modules[prefix+id] = block
		}
		for f, content := range w.Files {
			if strings.HasPrefix(f, "modules/") {
				moduleFiles[f] = content
			}
		}
		st, err := readState(filepath.Join(b.e.dir, "workspaces", fleetDomain, name, "terraform.tfstate"))
		if err != nil {
			return err
		}
		rewriteState(st, prefix)
		states = append(states, st)
	}
	if err := os.RemoveAll(filepath.Join(dir, "modules")); err != nil {
		return err
	}
	for f, content := range moduleFiles {
		p := filepath.Join(dir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(p, content, 0o600); err != nil {
			return err
		}
	}
	state, n := mergeStates(states)
	r.Resources = n
	if err := writeJSON(filepath.Join(dir, "terraform.tfstate"), state); err != nil {
		return err
	}
	topics, err := b.topicAddresses(fleetName(0))
	if err != nil {
		return err
	}
	// module.<call>.kafka_topic.this, the call prefixed in the monolith
	target := strings.Replace(topics[fleetSpec(fleetName(0)).Ports[0].Topic], "module.", "module."+monoPrefix(fleetName(0)), 1)
	topicModule, _, _ := strings.Cut(strings.TrimPrefix(target, "module."), ".")
	retention, ok := modules[topicModule].(map[string]any)
	if !ok {
		return fmt.Errorf("the monolith has no module %s", topicModule)
	}
	write := func() error {
		doc := map[string]any{"terraform": head["terraform"], "provider": head["provider"], "module": modules}
		return writeJSON(filepath.Join(dir, render.MainFile), doc)
	}
	if err := write(); err != nil {
		return err
	}
	r.MonoBuild = time.Since(t0)
	// Every size adds module calls, which terraform must install first.
	init, _, err := b.tf.run(ctx, dir, "init", "-input=false", "-no-color", "-upgrade=false", "-plugin-dir="+b.tf.plugins)
	if err != nil {
		return err
	}
	r.MonoInit = init
	// A plan with exactly the one intended change also proves the merged
	// state matches the configuration and the data plane everywhere else.
	plan := []string{"plan", "-input=false", "-no-color", "-refresh=true", "-detailed-exitcode"}
	want := target + " will be updated in-place"
	for range b.c.ProvMonoRepeats {
		retention["retention_ms"] = json.Number(strconv.FormatInt(b.nextRetention(), 10))
		if err := write(); err != nil {
			return err
		}
		cpu0 := cpuWithChildren()
		d, out, err := b.tf.run(ctx, dir, plan...)
		if strings.Contains(out, "kafka: broker not connected") {
			// The provider's known transient failure, which the server
			// answers by planning once more: so does the monolith.
			r.MonoRetries++
			cpu0 = cpuWithChildren()
			d, out, err = b.tf.run(ctx, dir, plan...)
		}
		cpu := cpuWithChildren() - cpu0
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 {
			return fmt.Errorf("changed monolith: want exit code 2 (changes), got %v: %s", err, lastLinesOf(out, 15))
		}
		if got := planLines(out); len(got) != 1 || got[0] != want || !strings.Contains(out, "Plan: 0 to add, 1 to change, 0 to destroy.") {
			return fmt.Errorf("changed monolith: want only %s updated in place, the plan has: %s; %s",
				target, orNone(got), planTotals(out))
		}
		r.Mono = append(r.Mono, d)
		r.MonoCPU = append(r.MonoCPU, cpu)
	}
	retention["retention_ms"] = json.Number(strconv.FormatInt(baseRetentionMs(), 10))
	return write()
}

// planLines returns the resource lines of terraform plan's human output,
// "<address> will be updated in-place" and the like: every resource the plan
// acts on, and every change made outside terraform that it reports.
func planLines(out string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		rest, ok := strings.CutPrefix(l, "# ")
		if !ok || strings.HasPrefix(rest, "(") || !strings.Contains(rest, " ") {
			continue
		}
		lines = append(lines, rest)
	}
	return lines
}

// planTotals is terraform plan's "Plan: …" line, or the output's last lines
// when it has none.
func planTotals(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "Plan: ") || strings.HasPrefix(l, "No changes.") {
			return l
		}
	}
	return lastLinesOf(out, 15)
}

// monoPrefix prefixes a product's module names in the monolith.
func monoPrefix(product string) string { return product + "__" }

func readState(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var st map[string]any
	if err := decodeJSON(b, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return st, nil
}

// rewriteState moves a product's resources under its prefixed module names.
func rewriteState(st map[string]any, prefix string) {
	resources, _ := st["resources"].([]any)
	for _, res := range resources {
		m, _ := res.(map[string]any)
		if mod, ok := m["module"].(string); ok {
			m["module"] = strings.Replace(mod, "module.", "module."+prefix, 1)
		}
		instances, _ := m["instances"].([]any)
		for _, inst := range instances {
			im, _ := inst.(map[string]any)
			deps, _ := im["dependencies"].([]any)
			for j, d := range deps {
				s, _ := d.(string)
				deps[j] = strings.Replace(s, "module.", "module."+prefix, 1)
			}
		}
	}
}

// mergeStates joins rewritten product states into one new state and
// returns it with its count of resource instances.
func mergeStates(states []map[string]any) (map[string]any, int) {
	var resources []any
	instances := 0
	for _, st := range states {
		rs, _ := st["resources"].([]any)
		resources = append(resources, rs...)
		for _, r := range rs {
			m, _ := r.(map[string]any)
			is, _ := m["instances"].([]any)
			instances += len(is)
		}
	}
	version := "1.5.7"
	if len(states) > 0 {
		if v, ok := states[0]["terraform_version"].(string); ok {
			version = v
		}
	}
	return map[string]any{
		"version":           4,
		"terraform_version": version,
		"serial":            1,
		"lineage":           newLineage(),
		"outputs":           map[string]any{},
		"resources":         resources,
		"check_results":     nil,
	}, instances
}

func newLineage() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func decodeJSON(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}

func writeJSON(path string, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o600)
}

// terraformCLI runs the server's terraform with an explicit, minimal
// environment: nothing is inherited from this process.
type terraformCLI struct {
	bin, plugins string
	env          []string
	version      string
}

// run runs terraform in dir and returns its wall time and combined output.
// A non-zero exit is an error (an *exec.ExitError, wrapped).
func (t terraformCLI) run(ctx context.Context, dir string, args ...string) (time.Duration, string, error) {
	ctx, cancel := context.WithTimeout(ctx, runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, t.bin, args...)
	cmd.Dir = dir
	cmd.Env = t.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGINT) }
	cmd.WaitDelay = 10 * time.Second
	t0 := time.Now()
	err := cmd.Run()
	d := time.Since(t0)
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() == 2 && slices.Contains(args, "-detailed-exitcode") {
			return d, out.String(), fmt.Errorf("terraform %s: %w", args[0], err)
		}
		return d, out.String(), fmt.Errorf("terraform %s: %w: %s", args[0], err, lastLinesOf(out.String(), 15))
	}
	return d, out.String(), nil
}

func (t terraformCLI) output(ctx context.Context, dir string, args ...string) (string, error) {
	_, out, err := t.run(ctx, dir, args...)
	return out, err
}

// oneLine joins an error's lines, dropping blank ones.
func oneLine(s string) string {
	var parts []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, " | ")
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

func lastLinesOf(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }

func secsList(ds []time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = fmt.Sprintf("%.2f", d.Seconds())
	}
	return strings.Join(parts, "/") + "s"
}

func pct(part, whole time.Duration) float64 {
	if whole <= 0 {
		return 0
	}
	return 100 * float64(part) / float64(whole)
}

// parseSizes parses a comma-separated list of catalog sizes, ascending.
func parseSizes(s string) ([]int, error) {
	seen := map[int]bool{}
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-prov-sizes: %q is not a positive number", f)
		}
		seen[n] = true
	}
	return slices.Sorted(maps.Keys(seen)), nil
}
