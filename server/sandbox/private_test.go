package sandbox_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/meshplane/meshplane/server/sandbox"
)

// secretsOnDisk fails t for each secret found under dir in a file other than
// the one it is allowed in (a path relative to dir, "" for none), in clear
// text or base64, as JSON encodes bytes.
func secretsOnDisk(t *testing.T, dir string, allowed map[string]string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		for secret, home := range allowed {
			if rel == home {
				continue
			}
			for _, form := range []string{secret, base64.StdEncoding.EncodeToString([]byte(secret)), base64.RawURLEncoding.EncodeToString([]byte(secret))} {
				if bytes.Contains(data, []byte(form)) {
					t.Errorf("%s holds the secret %.6s… (only %q may)", rel, secret, home)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// privateModes fails t unless every directory under dir is 0700 and every
// file 0600.
func privateModes(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// signIn reports whether mechanism signs in to sb's brokers: a metadata
// request needs an authenticated connection.
func signIn(t *testing.T, sb *sandbox.Sandbox, mechanism sasl.Mechanism) error {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(sb.Settings().BootstrapServers...), kgo.SASL(mechanism), kgo.RequestRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrMetadataRequest()
	req.Topics = []kmsg.MetadataRequestTopic{}
	_, err = req.RequestWith(ctxTimeout(t), cl)
	return err
}

// TestSASLStateHoldsNoPasswords proves the broker's SASL state is persisted
// without passwords, in 0600 files: the one password on disk is the admin's,
// in the credentials file meant for it. A restarted broker still signs in the
// admin and a SCRAM user from the salted keys alone.
func TestSASLStateHoldsNoPasswords(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := testConfig(dir)
	first, err := sandbox.Start(ctxTimeout(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	adminPass := first.AdminPassword()
	const user, userPass = "svc-analytics", "analytics-pass-0123456789"
	createUser(t, adminClient(t, first), user, userPass)

	state := filepath.Join(dir, "sandbox", "kafka", "sasl.json")
	// kfake rewrote the file on the SCRAM change; the admin client, built
	// from ClientOptions, restored its mode before returning.
	if m := mode(t, state); m != 0o600 {
		t.Errorf("sasl.json after a SCRAM change: mode %v, want 0600", m)
	}
	allowed := map[string]string{adminPass: "credentials", userPass: ""}
	secretsOnDisk(t, filepath.Join(dir, "sandbox"), allowed)
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	privateModes(t, filepath.Join(dir, "sandbox"))
	secretsOnDisk(t, filepath.Join(dir, "sandbox"), allowed)

	var persisted struct {
		Plain    map[string]string `json:"plain"`
		Scram512 map[string]struct {
			Salt       []byte `json:"salt"`
			SaltedPass []byte `json:"salted_pass"`
			Iterations int    `json:"iterations"`
		} `json:"scram512"`
	}
	data, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &persisted); err != nil {
		t.Fatal(err)
	}
	if len(persisted.Plain) > 0 {
		t.Errorf("sasl.json holds PLAIN users: %v", persisted.Plain)
	}
	for _, u := range []string{sandbox.AdminUsername, user} {
		if k := persisted.Scram512[u]; len(k.Salt) == 0 || len(k.SaltedPass) != 64 || k.Iterations != 4096 {
			t.Errorf("sasl.json SCRAM-SHA-512 key of %s: %+v", u, k)
		}
	}

	second := start(t, cfg)
	if err := signIn(t, second, scram.Auth{User: sandbox.AdminUsername, Pass: adminPass}.AsSha512Mechanism()); err != nil {
		t.Errorf("admin over SCRAM-SHA-512 after restart: %v", err)
	}
	if err := signIn(t, second, scram.Auth{User: sandbox.AdminUsername, Pass: adminPass}.AsSha256Mechanism()); err != nil {
		t.Errorf("admin over SCRAM-SHA-256 after restart: %v", err)
	}
	if err := signIn(t, second, scram.Auth{User: user, Pass: userPass}.AsSha512Mechanism()); err != nil {
		t.Errorf("%s after restart: %v", user, err)
	}
	if err := signIn(t, second, scram.Auth{User: user, Pass: userPass + "x"}.AsSha512Mechanism()); err == nil {
		t.Error("a wrong password signed in after restart")
	}
	if err := signIn(t, second, plain.Auth{User: sandbox.AdminUsername, Pass: adminPass}.AsMechanism()); err == nil {
		t.Error("the admin signed in over PLAIN, which would need its password stored in clear text")
	}
	for _, m := range second.Settings().SASLMechanisms {
		if m == "PLAIN" {
			t.Errorf("settings list PLAIN among %v", second.Settings().SASLMechanisms)
		}
	}
}

// TestStartRepairsEarlierState starts on state an earlier sandbox left: the
// admin's password in clear text as a PLAIN user (also in a temporary copy)
// and everything readable by others. Start removes the PLAIN users, restricts
// every mode, and the admin still signs in over SCRAM.
func TestStartRepairsEarlierState(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := testConfig(dir)
	first, err := sandbox.Start(ctxTimeout(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	adminPass := first.AdminPassword()
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	state := filepath.Join(dir, "sandbox", "kafka", "sasl.json")
	data, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	m["plain"], _ = json.Marshal(map[string]string{sandbox.AdminUsername: adminPass})
	legacy, _ := json.Marshal(m)
	for _, p := range []string{state, state + ".tmp"} {
		if err := os.WriteFile(p, legacy, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	err = filepath.WalkDir(filepath.Join(dir, "sandbox"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.Chmod(path, 0o755)
		}
		return os.Chmod(path, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}

	second := start(t, cfg)
	privateModes(t, filepath.Join(dir, "sandbox"))
	secretsOnDisk(t, filepath.Join(dir, "sandbox"), map[string]string{adminPass: "credentials"})
	if _, err := os.Stat(state + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("the temporary copy of the earlier state is still there: %v", err)
	}
	if err := signIn(t, second, scram.Auth{User: sandbox.AdminUsername, Pass: adminPass}.AsSha512Mechanism()); err != nil {
		t.Errorf("admin over SCRAM-SHA-512: %v", err)
	}
	if err := signIn(t, second, plain.Auth{User: sandbox.AdminUsername, Pass: adminPass}.AsMechanism()); err == nil {
		t.Error("the admin still signs in over PLAIN")
	}
	if err := second.Close(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(readFile(t, state), adminPass) {
		t.Error("the broker wrote the PLAIN password back on Close")
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
