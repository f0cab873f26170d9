package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/meshplane/meshplane/server/app/apptest"
	"github.com/meshplane/meshplane/server/sandbox"
)

// lockedBuffer collects a child's log while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startMeshplane runs meshplane with argv in its own process group and
// returns once a log line matches ready, with the line's first submatch.
func startMeshplane(t *testing.T, argv []string, ready *regexp.Regexp) (*exec.Cmd, string, *lockedBuffer) {
	t.Helper()
	args, _ := json.Marshal(argv)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childArgs+"="+string(args))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	logs := &lockedBuffer{}
	sc := bufio.NewScanner(stderr)
	var match string
	for sc.Scan() {
		logs.Write([]byte(sc.Text() + "\n"))
		if m := ready.FindStringSubmatch(sc.Text()); m != nil {
			match = m[1]
			break
		}
	}
	if match == "" {
		t.Fatalf("meshplane %s did not start:\n%s", argv[0], logs)
	}
	// The rest is collected until the process exits, so it never blocks
	// writing its log.
	go func() { _, _ = io.Copy(logs, stderr) }()
	return cmd, match, logs
}

// scramClient connects to bootstrap as user over SCRAM-SHA-512, trying once.
func scramClient(t *testing.T, bootstrap []string, user, password string) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap...), kgo.RequestRetries(0),
		kgo.SASL(scram.Auth{User: user, Pass: password}.AsSha512Mechanism()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// signIn reports whether user signs in to bootstrap: a metadata request
// needs an authenticated connection.
func signIn(t *testing.T, bootstrap []string, user, password string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req := kmsg.NewPtrMetadataRequest()
	req.Topics = []kmsg.MetadataRequestTopic{}
	_, err := req.RequestWith(ctx, scramClient(t, bootstrap, user, password))
	return err
}

// TestSandboxSharedByReplicas runs the data plane as its own process, a
// replica of meshplane serve against it through --sandbox, and kills the
// replica outright: the data plane, and what the replica made in it, carry
// on, and the data plane stops cleanly on SIGTERM.
func TestSandboxSharedByReplicas(t *testing.T) {
	sbDir, srvDir := t.TempDir(), t.TempDir()
	sb, _, sbLogs := startMeshplane(t, []string{"sandbox", "--data-dir", sbDir, "--log-format", "json"},
		regexp.MustCompile(`"msg":"(sandbox data plane ready)[^"]*"`))

	connPath := filepath.Join(sbDir, "sandbox", "connection.json")
	if connPath != sandbox.ConnectionPath(sbDir) {
		t.Fatalf("connection file at %s, want %s", sandbox.ConnectionPath(sbDir), connPath)
	}
	if fi, err := os.Stat(connPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("connection file: %v %v", fi, err)
	}
	conn, err := sandbox.ReadConnection(sbDir)
	if err != nil {
		t.Fatal(err)
	}
	if conn.SASLMechanism != "scram-sha512" || conn.Username != sandbox.AdminUsername || conn.Password == "" ||
		conn.ConnectUsername != sandbox.AdminUsername || conn.ConnectPassword != conn.Password || len(conn.BootstrapServers) != 1 {
		t.Fatalf("connection: %+v", conn)
	}
	if raw, _ := os.ReadFile(connPath); bytes.Contains(raw, []byte(conn.Password)) {
		t.Fatal("the connection file holds the admin password")
	}
	if strings.Contains(sbLogs.String(), conn.Password) {
		t.Fatal("the sandbox logged the admin password")
	}
	// SCRAM is enforced: the admin signs in with what ReadConnection gave,
	// and a wrong password is refused.
	adm := kadm.NewClient(scramClient(t, conn.BootstrapServers, conn.Username, conn.Password))
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if _, err := adm.ListTopics(ctx); err != nil {
		t.Fatalf("listing topics as the admin: %v", err)
	}
	if err := signIn(t, conn.BootstrapServers, conn.Username, conn.Password+"x"); err == nil {
		t.Fatal("a wrong admin password signed in")
	}

	srv, base, _ := startMeshplane(t, []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", srvDir, "--sandbox", sbDir,
		"--tools-dir", apptest.ToolsDir(), "--log-format", "json", "--drift-interval", "0"},
		regexp.MustCompile(`"addr":"(http://[^"]+)"`))
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("readyz: %d", resp.StatusCode)
	}
	if _, err := os.Stat(filepath.Join(srvDir, "sandbox")); !os.IsNotExist(err) {
		t.Fatalf("serve --sandbox started a sandbox of its own: %v", err)
	}

	// The replica provisions into the shared data plane: a Kafka credential
	// it issues is a SCRAM user of the sandbox's broker.
	raw, _ := os.ReadFile(filepath.Join(srvDir, "admin.token"))
	token := strings.TrimSpace(string(raw))
	replica := &child{cmd: srv, base: base}
	replica.call(t, token, "CatalogService/CreateDomain", map[string]string{"name": "sales"}, &struct{}{})
	replica.call(t, token, "IdentityService/CreatePrincipal",
		map[string]string{"name": "reporter", "kind": "PRINCIPAL_KIND_SERVICE_ACCOUNT", "domain": "sales"}, &struct{}{})
	var issued struct {
		Credential struct {
			Username string `json:"username"`
		} `json:"credential"`
		Password         string   `json:"password"`
		BootstrapServers []string `json:"bootstrapServers"`
	}
	replica.call(t, token, "AccessService/IssueKafkaCredential", map[string]string{"principal": "reporter"}, &issued)
	if !slices.Equal(issued.BootstrapServers, conn.BootstrapServers) || issued.Password == "" {
		t.Fatalf("credential issued for %v, the sandbox listens on %v", issued.BootstrapServers, conn.BootstrapServers)
	}

	// A crash of the replica leaves the data plane running.
	if err := syscall.Kill(-srv.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := srv.Wait(); err == nil {
		t.Fatal("serve exited cleanly after SIGKILL")
	}
	if err := signIn(t, conn.BootstrapServers, issued.Credential.Username, issued.Password); err != nil {
		t.Errorf("the issued credential after the replica died: %v", err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, conn.ConnectURL+"/connectors", nil)
	req.SetBasicAuth(conn.ConnectUsername, conn.ConnectPassword)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("connect after the replica died: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "[]" {
		t.Fatalf("GET /connectors after the replica died: %d %s", resp.StatusCode, body)
	}

	if err := sb.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := sb.Wait(); err != nil {
		t.Fatalf("sandbox after SIGTERM: %v\n%s", err, sbLogs)
	}
	if !strings.Contains(sbLogs.String(), "sandbox data plane stopped") {
		t.Errorf("the sandbox did not log its shutdown:\n%s", sbLogs)
	}
}

// TestServeSandboxFlag covers --sandbox refusals: with another data-plane
// flag, and on a dir no sandbox has run in.
func TestServeSandboxFlag(t *testing.T) {
	for _, v := range []string{"MESHPLANE_DATA_DIR", "MESHPLANE_SANDBOX", "MESHPLANE_KAFKA_BOOTSTRAP", "MESHPLANE_CONNECT_URL"} {
		t.Setenv(v, "")
	}
	dir := t.TempDir()
	err := run([]string{"serve", "--data-dir", dir, "--sandbox", dir, "--kafka-bootstrap", "k:9092", "--connect-url", "http://c"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--sandbox cannot be combined with --kafka-bootstrap, --connect-url") {
		t.Errorf("--sandbox with --kafka-bootstrap: %v", err)
	}
	empty := filepath.Join(dir, "empty")
	err = run([]string{"serve", "--data-dir", dir, "--sandbox", empty}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "no sandbox has run in "+empty) {
		t.Errorf("--sandbox on an empty dir: %v", err)
	}
	if err := run([]string{"sandbox"}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "--data-dir is required") {
		t.Errorf("sandbox without --data-dir: %v", err)
	}
}
