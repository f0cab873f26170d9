package sandbox_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/meshplane/meshplane/server/sandbox"
)

// TestReadConnection proves the connection file a sandbox writes gives
// another process everything it needs to sign in, while the password stays
// in the credentials file alone.
func TestReadConnection(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.ConnectBasicAuth = true
	sb := start(t, cfg)
	st := sb.Settings()

	conn, err := sandbox.ReadConnection(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := sandbox.Connection{
		BootstrapServers: st.BootstrapServers, SASLMechanism: "scram-sha512",
		Username: sandbox.AdminUsername, Password: sb.AdminPassword(),
		ConnectURL: st.ConnectURL, ConnectUsername: sandbox.AdminUsername, ConnectPassword: sb.AdminPassword(),
		CredentialsFile: filepath.Join(dir, "sandbox", "credentials"),
	}
	if !reflect.DeepEqual(conn, want) {
		t.Errorf("connection:\n got %+v\nwant %+v", conn, want)
	}
	if m := mode(t, sandbox.ConnectionPath(dir)); m != 0o600 {
		t.Errorf("connection file mode %v, want 0600", m)
	}
	secretsOnDisk(t, filepath.Join(dir, "sandbox"), map[string]string{sb.AdminPassword(): "credentials"})
	if err := signIn(t, sb, scram.Auth{User: conn.Username, Pass: conn.Password}.AsSha512Mechanism()); err != nil {
		t.Errorf("signing in with the connection read back: %v", err)
	}
}

func TestReadConnectionWithoutConnectAuth(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	start(t, testConfig(dir))
	conn, err := sandbox.ReadConnection(dir)
	if err != nil {
		t.Fatal(err)
	}
	if conn.ConnectUsername != "" || conn.ConnectPassword != "" || conn.Password == "" {
		t.Errorf("without Connect basic auth: connect user %q, connect password set %v, admin password set %v",
			conn.ConnectUsername, conn.ConnectPassword != "", conn.Password != "")
	}
}

// TestReadConnectionErrors covers a data dir no sandbox has run in and
// damaged files: each is refused with what to do about it.
func TestReadConnectionErrors(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "nowhere")
	_, err := sandbox.ReadConnection(missing)
	if err == nil || !strings.Contains(err.Error(), "no sandbox has run in "+missing) ||
		!strings.Contains(err.Error(), "meshplane sandbox --data-dir "+missing) {
		t.Errorf("missing dir: %v", err)
	}

	dir := t.TempDir()
	sb, err := sandbox.Start(ctxTimeout(t), testConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.Close(); err != nil {
		t.Fatal(err)
	}
	// A stopped sandbox's settings stay readable: its ports are kept for the
	// next start.
	if _, err := sandbox.ReadConnection(dir); err != nil {
		t.Fatalf("after Close: %v", err)
	}
	path := sandbox.ConnectionPath(dir)
	good := readFile(t, path)
	for name, content := range map[string]string{
		"not json":          `{"bootstrap_servers": [`,
		"no bootstrap":      `{"sasl_mechanism":"scram-sha512","username":"meshplane-admin","connect_url":"http://127.0.0.1:1"}`,
		"another mechanism": strings.Replace(good, "scram-sha512", "plain", 1),
	} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := sandbox.ReadConnection(dir)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "restart `meshplane sandbox --data-dir "+dir+"`") {
			t.Errorf("%s: %v", name, err)
		}
	}

	if err := os.WriteFile(path, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	creds := filepath.Join(dir, "sandbox", "credentials")
	if err := os.Remove(creds); err != nil {
		t.Fatal(err)
	}
	if _, err := sandbox.ReadConnection(dir); err == nil || !strings.Contains(err.Error(), creds+" is missing") {
		t.Errorf("missing credentials file: %v", err)
	}
	if err := os.WriteFile(creds, []byte("sasl.username=someone\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := sandbox.ReadConnection(dir); err == nil || !strings.Contains(err.Error(), "sasl.username") {
		t.Errorf("corrupt credentials file: %v", err)
	}
}

// TestCredentialsFileNamesBootstrapServers proves the credentials file is
// complete for librdkafka clients: it names the brokers, and after a restart
// on other ports it names the new ones. With kcat installed, `kcat -F
// <file> -L` lists the cluster as is.
func TestCredentialsFileNamesBootstrapServers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	creds := filepath.Join(dir, "sandbox", "credentials")
	cfg := testConfig(dir)
	sb := start(t, cfg)
	line := "bootstrap.servers=" + strings.Join(sb.Settings().BootstrapServers, ",") + "\n"
	if got := readFile(t, creds); !strings.Contains(got, line) || !strings.Contains(got, "sasl.password="+sb.AdminPassword()+"\n") {
		t.Fatalf("credentials file lacks %q or the password", line)
	}
	if m := mode(t, creds); m != 0o600 {
		t.Errorf("credentials file mode %v, want 0600", m)
	}

	if kcat, err := exec.LookPath("kcat"); err == nil {
		createTopic(t, adminClient(t, sb), "kcat.visible")
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, kcat, "-F", creds, "-L", "-m", "20")
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir()}
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), `topic "kcat.visible"`) {
			t.Errorf("kcat -F %s -L: %v\n%s", creds, err, out)
		}
	} else {
		t.Log("kcat is not installed; the file is checked but not used")
	}

	// A restart that cannot have its old port back rewrites the file for
	// the new one.
	old := sb.Settings().BootstrapServers[0]
	if err := sb.Close(); err != nil {
		t.Fatal(err)
	}
	taken, err := net.Listen("tcp", old)
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	restarted := start(t, cfg)
	now := restarted.Settings().BootstrapServers
	if now[0] == old || !strings.Contains(readFile(t, creds), "bootstrap.servers="+strings.Join(now, ",")+"\n") {
		t.Errorf("after a restart on %s (%s taken) the credentials file reads:\n%s", now[0], old, readFile(t, creds))
	}
	conn, err := sandbox.ReadConnection(dir)
	if err != nil || !slices.Equal(conn.BootstrapServers, now) {
		t.Errorf("connection after the restart: %+v %v", conn, err)
	}
}

// TestOneSandboxPerDataDir proves a second sandbox on a data dir in use is
// refused, and that the dir is free again once the first has stopped.
func TestOneSandboxPerDataDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first, err := sandbox.Start(ctxTimeout(t), testConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	_, err = sandbox.Start(ctxTimeout(t), testConfig(dir))
	if err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("second sandbox on one data dir: %v", err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	start(t, testConfig(dir))
}
