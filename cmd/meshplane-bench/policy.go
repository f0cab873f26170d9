package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/meshplane/meshplane/server/policy/engine"
	"github.com/meshplane/meshplane/server/policy/engine/enginetest"
)

// targetMask bounds the masking decisions for one 200-field schema.
const targetMask = time.Millisecond

// maskFields is the schema width of the masking measurement.
const maskFields = 200

// benchPolicy times the embedded policy engine on the default policies —
// Admit for a typical product, Mask for a 200-field schema — beside the
// same queries with the same inputs to an OPA server (opa run --server)
// over HTTP with a keep-alive client: what a sidecar would cost. The OPA
// part is skipped, saying so, when -opa names no binary.
func benchPolicy(ctx context.Context, c config, rep *report, progress func(string, ...any)) error {
	files := engine.Defaults()
	set, err := engine.Compile(ctx, "defaults", files, engine.Options{})
	if err != nil {
		return err
	}
	typ, wide := enginetest.Typical(), enginetest.Wide(maskFields)
	decisions := set.Mask(ctx, typ)
	if decisions.Err != nil {
		return decisions.Err
	}
	if a := set.Admit(ctx, typ, decisions.Decisions); !a.Allowed {
		return fmt.Errorf("the typical product is not admitted: %v %v", a.Violations, a.Err)
	}
	fields := 0
	for _, p := range typ.Spec.Ports {
		fields += len(p.Fields)
	}
	admitBody := inputBody(engine.AdmissionInput(typ, decisions.Decisions))
	maskBody := inputBody(engine.MaskingInput(wide))

	var srv *opaServer
	bin, err := filepath.Abs(c.OPA)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		progress("policy: no opa binary at %s, measuring the embedded engine only", c.OPA)
	} else {
		progress("policy: starting %s run --server", bin)
		served := maps.Clone(files)
		served[floorFile] = floorModule
		if srv, err = startOPA(ctx, bin, served); err != nil {
			return err
		}
		defer srv.stop()
		if err := agree(ctx, set, srv, typ, wide); err != nil {
			return err
		}
	}

	// Two rounds, alternating embedded and server runs, so drift from other
	// load on the machine hits both alike.
	// Embedded runs are timed twice: cold, every input new (the product's
	// name changes, so the engine's decision cache never answers), and
	// repeated, the same input each time (answered from the cache after the
	// first). The OPA server has no such cache; it evaluates every request.
	// The floors: the same admission input to a policy with no rules, so
	// what remains is building or decoding the input and running a query.
	emptySet, err := engine.Compile(ctx, "empty", emptyAdmission(files), engine.Options{})
	if err != nil {
		return err
	}
	var admit, admitCached, mask, maskCached, sAdmit, sMask, floor, sFloor stats
	n := 0
	fresh := func(p engine.Product) engine.Product {
		n++
		p.Name = fmt.Sprintf("%s-%d", p.Name, n)
		return p
	}
	half := max(1, c.PolicyEvals/2)
	for round := range 2 {
		progress("policy: round %d of 2: Admit (%d ports, %d fields, %d sink) and Mask (%d fields), %d evaluations each", round+1, len(typ.Spec.Ports), fields, len(typ.Spec.Sinks), maskFields, half)
		admit.merge(timeEach(half, 100, func() error {
			return set.Admit(ctx, fresh(typ), decisions.Decisions).Err
		}))
		admitCached.merge(timeEach(half, 100, func() error {
			return set.Admit(ctx, typ, decisions.Decisions).Err
		}))
		floor.merge(timeEach(half, 100, func() error {
			return emptySet.Admit(ctx, fresh(typ), decisions.Decisions).Err
		}))
		if srv != nil {
			sAdmit.merge(timeEach(half, 100, func() error {
				_, err := srv.query(ctx, "meshplane/admission/deny", admitBody)
				return err
			}))
			sFloor.merge(timeEach(half, 100, func() error {
				_, err := srv.query(ctx, floorQuery, admitBody)
				return err
			}))
		}
		mask.merge(timeEach(half, 100, func() error { return set.Mask(ctx, fresh(wide)).Err }))
		maskCached.merge(timeEach(half, 100, func() error { return set.Mask(ctx, wide).Err }))
		if srv != nil {
			sMask.merge(timeEach(half, 100, func() error {
				_, err := srv.query(ctx, "meshplane/masking/decisions", maskBody)
				return err
			}))
		}
	}
	if floor.FirstErr != nil {
		return fmt.Errorf("the policy without rules failed: %w", floor.FirstErr)
	}
	if err := profiled(c, "policy", progress, func() {
		timeEach(c.PolicyEvals, 0, func() error { return set.Mask(ctx, fresh(wide)).Err })
	}); err != nil {
		return err
	}

	rep.add("5a", fmt.Sprintf("embedded Admit, typical product (%d fields, %d ports, a sink), every input new", fields, len(typ.Spec.Ports)),
		fmt.Sprintf("p50 %s  p99 %s  (%s evals, CPU %s/eval)", us(admit.Pct(50)), us(admit.Pct(99)), thousands(float64(admit.Requests)), us(admit.CPUPerRequest())),
		"info", errStatus(admit, "—"))
	rep.add("5a'", "embedded Admit, the same input again (decision cache)",
		fmt.Sprintf("p50 %s  p99 %s  (%s evals)", us(admitCached.Pct(50)), us(admitCached.Pct(99)), thousands(float64(admitCached.Requests))),
		"info", errStatus(admitCached, "—"))
	rep.add("5b", fmt.Sprintf("embedded Mask, %d-field schema, every input new", maskFields),
		fmt.Sprintf("p50 %s  p99 %s  (%s evals, CPU %s/eval)", us(mask.Pct(50)), us(mask.Pct(99)), thousands(float64(mask.Requests)), us(mask.CPUPerRequest())),
		"p50 <= "+us(targetMask), errStatus(mask, verdict(mask.Pct(50) <= targetMask)))
	rep.add("5b'", fmt.Sprintf("embedded Mask, %d-field schema, the same input again (decision cache)", maskFields),
		fmt.Sprintf("p50 %s  p99 %s", us(maskCached.Pct(50)), us(maskCached.Pct(99))), "info", errStatus(maskCached, "—"))
	rep.note("5: default policies, compiled once with their queries prepared; each evaluation builds the input document, hashes it, evaluates with a %s deadline and checks the result. Mask's schema: %d fields, a tenth sensitive, a tenth pii, about a quarter internal, every seventh tagged.", engine.DefaultTimeout, maskFields)
	if err := cmp.Or(admit.FirstErr, mask.FirstErr); err != nil {
		rep.note("5: %d+%d evaluations failed (and failed closed); the first: %v", admit.Errors, mask.Errors, err)
	}
	if srv == nil {
		rep.add("5c", "OPA server comparison", "skipped: no opa binary at "+c.OPA+" (scripts/tools.sh opa, or -opa PATH)", "", "SKIP")
		return nil
	}
	rep.add("5c", "OPA server, same Admit over HTTP (keep-alive)",
		fmt.Sprintf("p50 %s  p99 %s  (%s requests)", us(sAdmit.Pct(50)), us(sAdmit.Pct(99)), thousands(float64(sAdmit.Requests))), "info", errStatus(sAdmit, "—"))
	rep.add("5d", "Admit latency ratio OPA server / embedded, every input new",
		fmt.Sprintf("p50 %.1fx  p99 %.1fx", ratioOf(sAdmit.Pct(50), admit.Pct(50)), ratioOf(sAdmit.Pct(99), admit.Pct(99))),
		">= 20x", errStatus(sAdmit, verdict(ratioOf(sAdmit.Pct(50), admit.Pct(50)) >= 20)))
	rep.add("5d'", "Admit latency ratio OPA server / embedded, repeated input",
		fmt.Sprintf("p50 %.1fx  p99 %.1fx", ratioOf(sAdmit.Pct(50), admitCached.Pct(50)), ratioOf(sAdmit.Pct(99), admitCached.Pct(99))),
		">= 20x", errStatus(sAdmit, verdict(ratioOf(sAdmit.Pct(50), admitCached.Pct(50)) >= 20)))
	rep.add("5e", fmt.Sprintf("OPA server, same %d-field masking query over HTTP", maskFields),
		fmt.Sprintf("p50 %s  p99 %s  (ratio to embedded Mask p50 %.1fx, p99 %.1fx)", us(sMask.Pct(50)), us(sMask.Pct(99)), ratioOf(sMask.Pct(50), mask.Pct(50)), ratioOf(sMask.Pct(99), mask.Pct(99))),
		"info", errStatus(sMask, "—"))
	rep.add("5f", "floors: the same Admit input to a policy without rules",
		fmt.Sprintf("embedded p50 %s  p99 %s | OPA server p50 %s  p99 %s", us(floor.Pct(50)), us(floor.Pct(99)), us(sFloor.Pct(50)), us(sFloor.Pct(99))),
		"info", errStatus(sFloor, "—"))
	if rules := admit.Pct(50) - floor.Pct(50); rules > 0 {
		rep.note("5f: evaluating the default admission rules costs the engine %s at p50 (5a − floor) and the OPA server %s (5c − floor): the same evaluator on both sides. Even were building the input free, the p50 ratio could reach at most %.1fx (5c / the engine's rule time).",
			us(rules), us(sAdmit.Pct(50)-sFloor.Pct(50)), ratioOf(sAdmit.Pct(50), rules))
	}
	rep.note("5c-5e: %s run --server on loopback, the same policy files, inputs as JSON (admission %d bytes, masking %d bytes), one keep-alive connection; before timing, the server's answers matched the engine's for an admitted and a refused product and for the %d-field masking. Process CPU here excludes the server's.",
		filepath.Base(bin), len(admitBody), len(maskBody), maskFields)
	return nil
}

// The module served beside the policies for the OPA server's floor: a rule
// that reads nothing, queried with the admission input.
const (
	floorFile   = "meshplane_bench_floor.rego"
	floorModule = "package meshplane.bench.floor\n\nentries := []\n"
	floorQuery  = "meshplane/bench/floor/entries"
)

// emptyAdmission is files with an admission policy that has no rules.
func emptyAdmission(files engine.Files) engine.Files {
	f := maps.Clone(files)
	f["admission.rego"] = "package meshplane.admission\n\ndeny contains \"never\" if false\n"
	return f
}

// agree checks the OPA server answers as the engine does: the same number
// of deny entries for an admitted and a refused product, and one masking
// decision for every field the engine changes.
func agree(ctx context.Context, set *engine.Set, srv *opaServer, typ, wide engine.Product) error {
	broken := typ
	broken.Spec.Owner = ""
	for _, p := range []engine.Product{typ, broken} {
		d := set.Mask(ctx, p).Decisions
		want := len(set.Admit(ctx, p, d).Violations)
		got, err := srv.query(ctx, "meshplane/admission/deny", inputBody(engine.AdmissionInput(p, d)))
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("the OPA server denies %d times where the engine denies %d times", got, want)
		}
	}
	changed := 0
	for _, d := range set.Mask(ctx, wide).Decisions {
		if d.Action != engine.ActionAllow {
			changed++
		}
	}
	got, err := srv.query(ctx, "meshplane/masking/decisions", inputBody(engine.MaskingInput(wide)))
	if err != nil {
		return err
	}
	if got != changed {
		return fmt.Errorf("the OPA server made %d masking decisions where the engine changes %d fields", got, changed)
	}
	return nil
}

func ratioOf(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// timeEach runs op n times after warm unmeasured runs and returns each
// run's latency; it stops early after a minute.
func timeEach(n, warm int, op func() error) stats {
	for range warm {
		_ = op()
	}
	s := stats{Lat: make([]time.Duration, 0, n)}
	cpu0, start := processCPU(), time.Now()
	deadline := start.Add(time.Minute)
	for i := 0; i < n; i++ {
		t0 := time.Now()
		err := op()
		d := time.Since(t0)
		if err != nil {
			s.Errors++
			if s.FirstErr == nil {
				s.FirstErr = err
			}
		} else {
			s.Requests++
			s.Lat = append(s.Lat, d)
		}
		if i%256 == 255 && time.Now().After(deadline) {
			break
		}
	}
	s.Elapsed, s.CPU = time.Since(start), processCPU()-cpu0
	s.finish()
	return s
}

// inputBody is the Data API request for an input document.
func inputBody(input *ast.Term) []byte {
	b := []byte(`{"input":`)
	b = append(b, engine.CanonicalJSON(input.Value)...)
	return append(b, '}')
}

// opaServer is an `opa run --server` process on a loopback port.
type opaServer struct {
	url    string
	dir    string
	cmd    *exec.Cmd
	out    *bytes.Buffer
	client *http.Client
	exited chan error // receives the process's exit
}

// startOPA writes the policy files (tests left out) to a temporary
// directory and serves them with opa, with an explicit environment and
// telemetry off, on a free loopback port.
func startOPA(ctx context.Context, bin string, files engine.Files) (*opaServer, error) {
	dir, err := os.MkdirTemp("", "meshplane-bench-opa-")
	if err != nil {
		return nil, err
	}
	for name, src := range files {
		if engine.IsTest(name) {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	s := &opaServer{url: "http://" + addr, dir: dir, out: &bytes.Buffer{}, client: &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: 1, IdleConnTimeout: time.Minute, DisableCompression: true},
		Timeout:   10 * time.Second,
	}}
	s.cmd = exec.CommandContext(ctx, bin, "run", "--server", "--addr", addr, "--disable-telemetry", "--log-level", "error", dir)
	s.cmd.Env = []string{"HOME=" + dir}
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	s.cmd.Cancel = func() error { return s.cmd.Process.Signal(syscall.SIGTERM) }
	s.cmd.WaitDelay = 5 * time.Second
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting opa: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- s.cmd.Wait() }()
	s.exited = exited
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-exited:
			os.RemoveAll(dir)
			return nil, fmt.Errorf("opa exited before serving: %v: %s", err, lastLinesOf(s.out.String(), 10))
		case <-time.After(50 * time.Millisecond):
		}
		if res, err := s.client.Get(s.url + "/health"); err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			s.cmd.Process.Kill()
			<-exited
			os.RemoveAll(dir)
			return nil, fmt.Errorf("opa did not become healthy in 30s: %s", lastLinesOf(s.out.String(), 10))
		}
	}
}

// stop ends the server and removes its files.
func (s *opaServer) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
	os.RemoveAll(s.dir)
}

// query POSTs body to the Data API at path and returns how many entries
// the result holds.
func (s *opaServer) query(ctx context.Context, path string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url+"/v1/data/"+path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 2048))
		return 0, fmt.Errorf("opa answered %s: %s", res.Status, b)
	}
	var out struct {
		Result *[]json.RawMessage `json:"result"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		return 0, fmt.Errorf("decoding opa's answer: %w", err)
	}
	if out.Result == nil {
		return 0, fmt.Errorf("opa's answer to %s is undefined", path)
	}
	return len(*out.Result), nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
