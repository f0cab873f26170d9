// Command meshplane-bench measures meshplane on this machine in one run, over
// loopback with a real HTTP/2 (h2c) client, and prints a table of results
// against their targets:
//
//  1. GetDataProduct over Connect with authentication and authorization on
//     SQLite, closed loop at fixed concurrency, beside a bare net/http h2c
//     handler loaded identically (the ratio of the two), then an open loop at
//     a fixed rate with latency measured from each request's scheduled send.
//  2. ListDataProducts, a page of 100 out of 10,000 products, over Connect and
//     GraphQL: walking every page with cursors, and first pages with filters.
//  3. One Casbin authorization check with 10,000 role bindings, repeated
//     (cache warm) and distinct (cache cold).
//  4. Provisioning through Terraform against the sandbox data plane: one new
//     product from Plan to applied beside terraform's own start-up cost, then
//     planning one changed product as the provisioned catalog grows, beside
//     the same change in one monolithic workspace holding every product
//     (-only provision grows to 200 products; a run of every phase to 20).
//  5. The embedded policy engine on the default Rego policies: Admit for a
//     typical product and Mask for a 200-field schema, p50 and p99, beside
//     the same queries over HTTP to an OPA server (opa run --server).
//  6. Consumer access on the sandbox: approval to the consumer's first record
//     read with its SCRAM credential, the grant plan for one more consumer
//     beside 1 and beside 1,000 grants, and the access policy's decision.
//  7. Catalog search, a first page of 50 out of 10,000 varied products over
//     Connect: a name fragment, a field name and a classification facet,
//     with and without facet counts, each as a ratio to the unfiltered first
//     page of the same run; on SQLite, or on PostgreSQL with -search-postgres.
//  8. Hostile GraphQL requests from a viewer (-only graphql-limits): huge and
//     repeated selections, aliases, introspection, fragment bombs and cycles,
//     deep nesting, oversized bodies; each one's answer and CPU time, and
//     the worst, against 50 ms.
//  9. The provisioning job queue (its PostgreSQL rows need -postgres URL):
//     Plan request to a worker starting the run, p50 and p99, with a worker
//     free, on PostgreSQL against 100 ms and on SQLite; then runs drained per
//     minute when 24 plans are queued at once, by one replica and by two
//     sharing a PostgreSQL catalog (their ratio), beside the same burst on
//     SQLite.
//
// Every phase is bounded in requests and in time. `make bench` runs it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"text/tabwriter"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/api/gen/meshplane/v1/meshplanev1connect"
	"github.com/meshplane/meshplane/server/app"
	"github.com/meshplane/meshplane/server/app/apptest"
)

type config struct {
	Workers     int
	Duration    time.Duration
	MaxRequests int
	Rate        int
	OpenFor     time.Duration

	Products int
	Domains  int
	Seed     string
	ListFor  time.Duration
	ListMax  int

	Bindings     int
	AuthzDomains int
	AuthzFor     time.Duration

	CPUProfile string
	Profile    string

	Only            string
	Tools           string
	ProvSizesArg    string
	ProvSizes       []int
	ProvRepeats     int
	ProvMonoRepeats int
	ProvParallel    int
	ProvBudget      time.Duration

	OPA         string
	PolicyEvals int

	SearchPostgres string

	Postgres     string
	QueueSamples int
	QueueRuns    int
}

// Catalog sizes of the provisioning phase: growing to 200 products takes
// minutes, so a run of every phase stops at 20.
const (
	fullProvSizes  = "1,50,200"
	quickProvSizes = "1,20"
)

func main() {
	var c config
	flag.IntVar(&c.Workers, "workers", 32, "closed-loop concurrency for GetDataProduct")
	flag.DurationVar(&c.Duration, "duration", 5*time.Second, "closed-loop measuring time per target (after a 1s warm-up)")
	flag.IntVar(&c.MaxRequests, "max-requests", 2_000_000, "closed-loop request bound per target")
	flag.IntVar(&c.Rate, "rate", 1000, "open-loop rate, requests per second")
	flag.DurationVar(&c.OpenFor, "open-duration", 5*time.Second, "open-loop measuring time")
	flag.IntVar(&c.Products, "products", 10_000, "products in the catalog for the listing phase")
	flag.IntVar(&c.Domains, "domains", 20, "domains the listing phase spreads products across")
	flag.StringVar(&c.Seed, "seed", "bulk", "how to insert products: bulk (ent bulk creates) or service (catalog.CreateDataProduct, with audit)")
	flag.DurationVar(&c.ListFor, "list-duration", 3*time.Second, "measuring time per listing scenario")
	flag.IntVar(&c.ListMax, "list-max", 3000, "request bound per listing scenario")
	flag.IntVar(&c.Bindings, "bindings", 10_000, "role bindings for the authorization phase")
	flag.IntVar(&c.AuthzDomains, "authz-domains", 1000, "domains the role bindings spread across")
	flag.DurationVar(&c.AuthzFor, "authz-duration", 2*time.Second, "measuring time per authorization scenario")
	flag.StringVar(&c.CPUProfile, "cpuprofile", "", "write a CPU profile of one extra, unmeasured pass of -profile to this file")
	flag.StringVar(&c.Profile, "profile", "get", "phase to profile with -cpuprofile: get, list, graphql, authz or policy")
	flag.StringVar(&c.Only, "only", "", "run only these phases, comma-separated: get, list, authz, provision, policy, access, search, graphql-limits, queue (default: all)")
	flag.StringVar(&c.Tools, "tools", ".tools", "directory holding bin/terraform and terraform-plugins/ for the provisioning phase")
	flag.StringVar(&c.ProvSizesArg, "prov-sizes", "", "provisioned catalog sizes at which planning one changed product is timed (default "+fullProvSizes+" with -only, "+quickProvSizes+" when every phase runs)")
	flag.IntVar(&c.ProvRepeats, "prov-repeats", 5, "changed-product plans per catalog size (the median is reported)")
	flag.IntVar(&c.ProvMonoRepeats, "prov-mono-repeats", 3, "changed plans of the monolith per catalog size (the median is reported)")
	flag.IntVar(&c.ProvParallel, "prov-parallel", 8, "products provisioned at once while the catalog grows")
	flag.DurationVar(&c.ProvBudget, "prov-budget", 25*time.Minute, "time for the provisioning phase; larger sizes that would not fit are skipped")
	flag.StringVar(&c.OPA, "opa", ".tools/bin/opa", "opa binary the policy phase compares the embedded engine with (skipped when missing)")
	flag.IntVar(&c.PolicyEvals, "policy-evals", 5000, "evaluations per policy measurement")
	flag.StringVar(&c.SearchPostgres, "search-postgres", "", "PostgreSQL server URL the search phase creates (and drops) its database on (default: SQLite)")
	flag.StringVar(&c.Postgres, "postgres", "", "PostgreSQL server URL the queue phase creates (and drops) its databases on; scripts/pg-start.sh DIR PORT starts one and prints its URL (without it, the queue phase's PostgreSQL rows are skipped)")
	flag.IntVar(&c.QueueSamples, "queue-samples", 30, "runs planned one at a time per database for the queue overhead")
	flag.IntVar(&c.QueueRuns, "queue-runs", 24, "plans queued at once for runs drained per minute")
	flag.Parse()
	if c.ProvSizesArg == "" {
		c.ProvSizesArg = fullProvSizes
		if c.Only == "" {
			c.ProvSizesArg = quickProvSizes // keeps the whole run within a few minutes
		}
	}
	var err error
	if c.ProvSizes, err = parseSizes(c.ProvSizesArg); err != nil {
		fmt.Fprintln(os.Stderr, "meshplane-bench:", err)
		os.Exit(2)
	}
	if err := c.validate(); err != nil {
		fmt.Fprintln(os.Stderr, "meshplane-bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, c, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "meshplane-bench:", err)
		os.Exit(1)
	}
}

func (c config) validate() error {
	switch {
	case c.Workers < 1 || c.Rate < 1 || c.MaxRequests < 1 || c.ListMax < 1:
		return errors.New("-workers, -rate, -max-requests and -list-max must be positive")
	case c.Duration <= 0 || c.OpenFor <= 0 || c.ListFor <= 0 || c.AuthzFor <= 0:
		return errors.New("durations must be positive")
	case c.Domains < 1 || c.Products < c.Domains:
		return errors.New("-products must be at least -domains, which must be positive")
	case c.Bindings < 1 || c.AuthzDomains < 1:
		return errors.New("-bindings and -authz-domains must be positive")
	case c.Seed != "bulk" && c.Seed != "service":
		return fmt.Errorf("-seed must be bulk or service, got %q", c.Seed)
	case c.CPUProfile != "" && !strings.Contains(" get list graphql authz policy ", " "+c.Profile+" "):
		return fmt.Errorf("-profile must be get, list, graphql, authz or policy, got %q", c.Profile)
	case c.ProvRepeats < 1 || c.ProvMonoRepeats < 1 || c.ProvParallel < 1 || c.ProvBudget <= 0:
		return errors.New("-prov-repeats, -prov-mono-repeats, -prov-parallel and -prov-budget must be positive")
	case c.PolicyEvals < 1:
		return errors.New("-policy-evals must be positive")
	case c.QueueSamples < 1 || c.QueueRuns < 1:
		return errors.New("-queue-samples and -queue-runs must be positive")
	}
	for _, p := range strings.Split(c.Only, ",") {
		if p != "" && !strings.Contains(" get list authz provision policy access search graphql-limits queue ", " "+strings.TrimSpace(p)+" ") {
			return fmt.Errorf("-only takes get, list, authz, provision, policy, access, search, graphql-limits and queue, got %q", p)
		}
	}
	return nil
}

// row is one line of the report.
type row struct {
	ID, Name, Result, Target, Status string
}

type report struct {
	rows  []row
	notes []string
}

func (r *report) add(id, name, result, target, status string) {
	r.rows = append(r.rows, row{id, name, result, target, status})
}

func (r *report) note(format string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}

// errStatus marks a run with failed calls; its numbers are not trusted.
func errStatus(s stats, status string) string {
	if s.Errors > 0 {
		return "ERR"
	}
	if s.Requests == 0 {
		return "NO DATA"
	}
	return status
}

func run(ctx context.Context, c config, w io.Writer) error {
	began := time.Now()
	fmt.Fprintf(w, "meshplane-bench  %s %s/%s  NumCPU=%d GOMAXPROCS=%d  %s\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), cpuModel())
	fmt.Fprintf(w, "loopback only; client and server share this process and its CPUs; load average at start %s\n", loadAverage())

	var rep report
	progress := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "· "+format+"\n", args...)
	}
	if c.runs("get") || c.runs("list") {
		env, err := start(ctx)
		if err != nil {
			return err
		}
		defer env.close()
		if c.runs("get") {
			if err := benchGet(ctx, c, env, &rep, progress); err != nil {
				return fmt.Errorf("GetDataProduct phase: %w", err)
			}
		}
		if c.runs("list") {
			if err := benchList(ctx, c, env, &rep, progress); err != nil {
				return fmt.Errorf("listing phase: %w", err)
			}
		}
	}
	if c.runs("authz") {
		if err := benchAuthz(c, &rep, progress); err != nil {
			return fmt.Errorf("authorization phase: %w", err)
		}
	}
	if c.runs("provision") {
		if err := benchProvision(ctx, c, &rep, progress); err != nil {
			return fmt.Errorf("provisioning phase: %w", err)
		}
	}
	if c.runs("policy") {
		if err := benchPolicy(ctx, c, &rep, progress); err != nil {
			return fmt.Errorf("policy phase: %w", err)
		}
	}
	if c.runs("access") {
		if err := benchAccess(ctx, c, &rep, progress); err != nil {
			return fmt.Errorf("access phase: %w", err)
		}
	}
	if c.runs("search") {
		if err := benchSearch(ctx, c, &rep, progress); err != nil {
			return fmt.Errorf("search phase: %w", err)
		}
	}
	if c.runs("graphql-limits") {
		if err := benchGraphQLLimits(ctx, c, &rep, progress); err != nil {
			return fmt.Errorf("GraphQL limits phase: %w", err)
		}
	}
	if c.runs("queue") {
		if err := benchQueue(ctx, c, &rep, progress); err != nil {
			return fmt.Errorf("queue phase: %w", err)
		}
	}

	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tmeasurement\tresult\ttarget\tstatus")
	for _, r := range rep.rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.Name, r.Result, r.Target, r.Status)
	}
	tw.Flush()
	if len(rep.notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range rep.notes {
			fmt.Fprintln(w, n)
		}
	}
	fmt.Fprintf(w, "\ntotal %s; load average at end %s (other processes on the machine widen tails)\n", time.Since(began).Round(100*time.Millisecond), loadAverage())
	return nil
}

// runs reports whether -only selects phase (every phase when -only is empty).
func (c config) runs(phase string) bool {
	if c.Only == "" {
		return true
	}
	for _, p := range strings.Split(c.Only, ",") {
		if strings.TrimSpace(p) == phase {
			return true
		}
	}
	return false
}

// env is a meshplane server on a loopback listener and what the phases share.
type env struct {
	srv        *app.Server
	dir        string
	url        string
	adminToken string
	stop       context.CancelFunc
	done       chan error
}

func start(ctx context.Context, opts ...func(*app.Config)) (*env, error) {
	dir, err := os.MkdirTemp("", "meshplane-bench-")
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg := app.Config{DataDir: dir, Logger: log, AutoMigrate: true}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := app.New(ctx, cfg)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting meshplane: %w", err)
	}
	// A server joining a catalog that already has an admin creates no
	// token: its caller supplies one.
	var tok []byte
	if srv.AdminTokenPath != "" {
		if tok, err = os.ReadFile(srv.AdminTokenPath); err != nil {
			srv.Close()
			os.RemoveAll(dir)
			return nil, fmt.Errorf("reading the admin token: %w", err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	sctx, stop := context.WithCancel(ctx)
	e := &env{srv: srv, dir: dir, url: "http://" + ln.Addr().String(), adminToken: strings.TrimSpace(string(tok)), stop: stop, done: make(chan error, 1)}
	go func() { e.done <- srv.Serve(sctx, ln, 5*time.Second) }()
	return e, nil
}

func (e *env) close() {
	e.stop()
	if err := <-e.done; err != nil {
		fmt.Fprintln(os.Stderr, "meshplane-bench: serving:", err)
	}
	e.srv.Close()
	os.RemoveAll(e.dir)
}

// h2cClient is an HTTP client speaking only unencrypted HTTP/2 with prior
// knowledge: every request to one server shares one TCP connection.
func h2cClient() *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &http.Client{
		Transport: &http.Transport{Protocols: &p, MaxIdleConnsPerHost: 8, IdleConnTimeout: time.Minute},
		Timeout:   30 * time.Second,
	}
}

func bearer(token string) connect.ClientOption {
	return connect.WithInterceptors(connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			req.Header().Set("Authorization", "Bearer "+token)
			return next(ctx, req)
		}
	}))
}

// user creates a user principal bound to role in domain over Connect and
// returns a token for it.
func (e *env) user(ctx context.Context, name, role, domain string) (string, error) {
	c := meshplanev1connect.NewIdentityServiceClient(h2cClient(), e.url, bearer(e.adminToken))
	if _, err := c.CreatePrincipal(ctx, connect.NewRequest(&v1.CreatePrincipalRequest{Name: name, Kind: v1.PrincipalKind_PRINCIPAL_KIND_USER})); err != nil {
		return "", fmt.Errorf("creating principal %s: %w", name, err)
	}
	if _, err := c.CreateRoleBinding(ctx, connect.NewRequest(&v1.CreateRoleBindingRequest{Principal: name, Role: role, Domain: domain})); err != nil {
		return "", fmt.Errorf("binding %s: %w", name, err)
	}
	res, err := c.CreateToken(ctx, connect.NewRequest(&v1.CreateTokenRequest{Principal: name, Description: "bench"}))
	if err != nil {
		return "", fmt.Errorf("creating a token for %s: %w", name, err)
	}
	return res.Msg.GetSecret(), nil
}

// profiled runs fn under the CPU profiler when c asks for phase.
func profiled(c config, phase string, progress func(string, ...any), fn func()) error {
	if c.CPUProfile == "" || c.Profile != phase {
		return nil
	}
	f, err := os.Create(c.CPUProfile)
	if err != nil {
		return err
	}
	defer f.Close()
	progress("profiling %s into %s", phase, c.CPUProfile)
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	fn()
	pprof.StopCPUProfile()
	return nil
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	return ""
}

// loadAverage returns the 1-minute load average, or "?".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}

func thousands(f float64) string {
	s := fmt.Sprintf("%.0f", f)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// apptest's fixture is the product every phase registers, its secret
// references in the domain it is registered in.
var productSpec = apptest.ProductSpecIn
