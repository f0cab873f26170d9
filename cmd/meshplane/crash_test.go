package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meshplane/meshplane/server/app/apptest"
)

// childArgs makes the test binary run `meshplane` itself, so a test can kill
// a whole server process.
const childArgs = "MESHPLANE_TEST_CHILD_ARGS"

func TestMain(m *testing.M) {
	if args := os.Getenv(childArgs); args != "" {
		var argv []string
		if err := json.Unmarshal([]byte(args), &argv); err != nil {
			panic(err)
		}
		exit(run(argv, os.Stdout, os.Stderr), os.Stderr)
	}
	os.Exit(m.Run())
}

type child struct {
	cmd  *exec.Cmd
	base string
}

// startServer runs meshplane serve on dir in its own process group; what
// terraform left running in dir is killed with it when the test ends.
func startServer(t *testing.T, dir string) *child {
	t.Helper()
	t.Cleanup(func() {
		for _, pid := range processesIn(dir, false) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	cmd, base, _ := startMeshplane(t, []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir, "--tools-dir", apptest.ToolsDir(),
		"--log-format", "json", "--drift-interval", "0"}, regexp.MustCompile(`"addr":"(http://[^"]+)"`))
	return &child{cmd: cmd, base: base}
}

// call posts a Connect-protocol JSON request and decodes the answer.
func (c *child) call(t *testing.T, token, procedure string, req, resp any) int {
	t.Helper()
	body, _ := json.Marshal(req)
	r, _ := http.NewRequest(http.MethodPost, c.base+"/meshplane.v1."+procedure, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatalf("%s: %v", procedure, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if resp != nil && res.StatusCode == 200 {
		if err := json.Unmarshal(b, resp); err != nil {
			t.Fatalf("%s: %v: %s", procedure, err, b)
		}
	}
	if res.StatusCode != 200 && resp != nil {
		t.Fatalf("%s: %d %s", procedure, res.StatusCode, b)
	}
	return res.StatusCode
}

type runView struct {
	Run struct {
		ID         string `json:"id"`
		State      string `json:"state"`
		Error      string `json:"error"`
		HasChanges bool   `json:"hasChanges"`
	} `json:"run"`
}

func (c *child) waitRun(t *testing.T, token, id string, until ...string) runView {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		var v runView
		c.call(t, token, "ProvisioningService/GetRun", map[string]string{"id": id}, &v)
		for _, u := range until {
			if v.Run.State == u {
				return v
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("run %s never reached %v", id, until)
	return runView{}
}

// processesIn lists the processes working in dir: terraform and the
// provider plugins it starts; terraformOnly keeps terraform itself.
func processesIn(dir string, terraformOnly bool) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cwd, _ := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		exe, _ := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if (cwd == dir || strings.HasPrefix(cwd, dir+"/")) && (!terraformOnly || filepath.Base(exe) == "terraform") {
			out = append(out, pid)
		}
	}
	return out
}

// TestCrashDuringApply kills meshplane — and the terraform it runs — in the
// middle of an apply, restarts it on the same data dir, and checks that the
// run is marked interrupted, the state lock is usable again, and the next
// plan shows what is really there and converges.
func TestCrashDuringApply(t *testing.T) {
	apptest.RequireTools(t)
	dir := t.TempDir()
	srv := startServer(t, dir)
	raw, _ := os.ReadFile(filepath.Join(dir, "admin.token"))
	token := strings.TrimSpace(string(raw))
	srv.call(t, token, "CatalogService/CreateDomain", map[string]string{"name": "sales"}, &struct{}{})
	spec := map[string]any{
		"owner": "orders-team", "description": "Orders",
		"source": map[string]any{"kind": "SOURCE_KIND_POSTGRES", "host": "db.internal", "port": 5432, "database": "shop",
			"tables": []string{"public.orders"}, "username": "debezium", "secretRef": "env:SALES__DB_PASSWORD"},
		"ports": []any{map[string]any{"name": "orders", "fields": []any{map[string]any{"name": "id", "type": "FIELD_TYPE_INT64", "classification": "CLASSIFICATION_NONE"}}}},
		"sinks": []any{map[string]any{"name": "lake", "s3": map[string]any{"bucket": "acme-lake", "region": "eu-west-1"}}},
	}
	srv.call(t, token, "CatalogService/CreateDataProduct", map[string]any{"domain": "sales", "name": "orders", "spec": spec}, &struct{}{})
	var planned runView
	srv.call(t, token, "ProvisioningService/Plan", map[string]string{"domain": "sales", "product": "orders"}, &planned)
	srv.waitRun(t, token, planned.Run.ID, "RUN_STATE_PLANNED")
	srv.call(t, token, "ProvisioningService/ApproveRun", map[string]string{"id": planned.Run.ID}, &struct{}{})

	// Kill the whole process group as soon as terraform is applying.
	ws := filepath.Join(dir, "environments", "sandbox", "workspaces", "sales", "orders")
	deadline := time.Now().Add(30 * time.Second)
	for len(processesIn(ws, true)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("terraform apply never started")
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	// A crash takes everything with it: meshplane, and terraform and its
	// providers, which run in process groups of their own.
	if err := syscall.Kill(-srv.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for _, pid := range processesIn(ws, false) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	_ = srv.cmd.Wait()
	for len(processesIn(ws, false)) > 0 {
		time.Sleep(10 * time.Millisecond)
	}
	_, lockErr := os.Stat(filepath.Join(ws, ".terraform.tfstate.lock.info"))
	lockLeft := lockErr == nil
	t.Logf("state lock left behind by the crash: %v", lockLeft)

	srv = startServer(t, dir)
	r := srv.waitRun(t, token, planned.Run.ID, "RUN_STATE_INTERRUPTED", "RUN_STATE_APPLIED")
	if r.Run.State != "RUN_STATE_INTERRUPTED" || !strings.Contains(r.Run.Error, "meshplane stopped") {
		t.Fatalf("after the crash the run is %s (%s)", r.Run.State, r.Run.Error)
	}
	if lockLeft != strings.Contains(r.Run.Error, "stale state lock was released") {
		t.Fatalf("lock file left: %v, run says: %s", lockLeft, r.Run.Error)
	}

	// The interrupted run is planned again for review, never applied again
	// blindly; that plan sees the data plane as it is and converges.
	var runs struct {
		Runs []struct {
			ID            string `json:"id"`
			Trigger       string `json:"trigger"`
			TriggerDetail string `json:"triggerDetail"`
		} `json:"runs"`
	}
	srv.call(t, token, "ProvisioningService/ListRuns", map[string]any{"domain": "sales", "product": "orders"}, &runs)
	if len(runs.Runs) == 0 || runs.Runs[0].Trigger != "recovery" || !strings.Contains(runs.Runs[0].TriggerDetail, planned.Run.ID) {
		t.Fatalf("no recovery plan was queued after the crash: %+v", runs.Runs)
	}
	var next runView
	next.Run.ID = runs.Runs[0].ID
	r = srv.waitRun(t, token, next.Run.ID, "RUN_STATE_PLANNED", "RUN_STATE_FAILED")
	if r.Run.State != "RUN_STATE_PLANNED" {
		t.Fatalf("plan after the crash: %s %s", r.Run.State, r.Run.Error)
	}
	if r.Run.HasChanges {
		srv.call(t, token, "ProvisioningService/ApproveRun", map[string]any{"id": next.Run.ID}, &struct{}{})
		if r = srv.waitRun(t, token, next.Run.ID, "RUN_STATE_APPLIED", "RUN_STATE_FAILED"); r.Run.State != "RUN_STATE_APPLIED" {
			t.Fatalf("apply after the crash: %s %s", r.Run.State, r.Run.Error)
		}
	}
	srv.call(t, token, "ProvisioningService/Plan", map[string]string{"domain": "sales", "product": "orders"}, &next)
	if r = srv.waitRun(t, token, next.Run.ID, "RUN_STATE_PLANNED", "RUN_STATE_FAILED"); r.Run.State != "RUN_STATE_PLANNED" || r.Run.HasChanges {
		t.Fatalf("the data plane did not converge: %+v", r.Run)
	}
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := srv.cmd.Wait(); err != nil {
		t.Fatalf("serve after SIGTERM: %v", err)
	}
}
