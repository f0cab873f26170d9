package app_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"io/fs"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/server/app"
	"github.com/meshplane/meshplane/server/app/apptest"
	"github.com/meshplane/meshplane/server/sandbox"
)

// secretHomes maps each secret to the one file, relative to the data dir,
// meant to hold it, or to "" when no file may. Two files hold a secret by
// design, both 0600: sandbox/credentials holds the sandbox admin's password
// (a librdkafka properties file for kcat), admin.token the initial admin's
// API token. Every other secret lives only as a hash or a salted key.
type secretHomes map[string]string

// secretsAtRest fails t for every file under dataDir holding a secret it is
// not the home of, in clear text or base64 (as JSON encodes bytes).
func secretsAtRest(t *testing.T, dataDir string, homes secretHomes) {
	t.Helper()
	for secret := range homes {
		if len(secret) < 16 {
			t.Fatalf("implausible secret %q", secret)
		}
	}
	files := 0
	err := filepath.WalkDir(dataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		files++
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dataDir, path)
		for secret, home := range homes {
			if rel == home {
				if !bytes.Contains(data, []byte(secret)) {
					t.Errorf("%s does not hold the secret it is meant for", rel)
				}
				continue
			}
			for _, form := range []string{secret, base64.StdEncoding.EncodeToString([]byte(secret)), base64.RawURLEncoding.EncodeToString([]byte(secret))} {
				if bytes.Contains(data, []byte(form)) {
					t.Errorf("%s holds a secret in clear text (only %q may)", rel, home)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The catalog, the workspaces and the broker's state at least.
	if files < 10 {
		t.Fatalf("only %d files under %s: the search proves little", files, dataDir)
	}
}

// privatePaths fails t unless each secret-bearing file under dataDir is 0600
// and each directory meshplane creates on the way to one is 0700. The data
// dir itself is the caller's: meshplane serve creates it 0700, t.TempDir
// 0755.
func privatePaths(t *testing.T, dataDir string) {
	t.Helper()
	for rel, want := range map[string]fs.FileMode{
		"admin.token": 0o600, "masking.key": 0o600,
		"sandbox": 0o700, "sandbox/credentials": 0o600,
		"sandbox/kafka": 0o700, "sandbox/kafka/sasl.json": 0o600,
	} {
		fi, err := os.Stat(filepath.Join(dataDir, rel))
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			continue
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", rel, fi.Mode().Perm(), want)
		}
	}
}

// scramSignIn reports whether user signs in to the brokers at bootstrap over
// SCRAM-SHA-512: a metadata request needs an authenticated connection.
func scramSignIn(t *testing.T, bootstrap []string, user, password string) error {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap...), kgo.RequestRetries(0),
		kgo.SASL(scram.Auth{User: user, Pass: password}.AsSha512Mechanism()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req := kmsg.NewPtrMetadataRequest()
	req.Topics = []kmsg.MetadataRequestTopic{}
	_, err = req.RequestWith(ctx, cl)
	return err
}

// TestSandboxSecretsStayPrivateAcrossRestart runs a product's whole path on
// the sandbox — create, plan, apply, a Kafka credential issued — then
// restarts the server on the same data dir. The broker reloads its SASL
// users from salted keys: the admin and the issued credential still sign
// in, and a credential rotated after the restart replaces the old one. No
// file under the data dir holds a password or token except the two files
// meant to, and every secret-bearing file is 0600 in a 0700 directory.
func TestSandboxSecretsStayPrivateAcrossRestart(t *testing.T) {
	f := newCatalogFixture(t)
	env, ctx := f.env, context.Background()
	provisionProduct(t, f.owner, "sales", "orders")
	cred, err := f.mOwn.Access.IssueKafkaCredential(ctx, connect.NewRequest(&v1.IssueKafkaCredentialRequest{Principal: "reporter"}))
	if err != nil {
		t.Fatal(err)
	}
	user, password := cred.Msg.GetCredential().GetUsername(), cred.Msg.GetPassword()
	tok, err := f.admin.Identity.CreateToken(ctx, connect.NewRequest(&v1.CreateTokenRequest{Principal: "olivia", Description: "second token"}))
	if err != nil {
		t.Fatal(err)
	}
	adminPassword := env.Server.Sandbox.AdminPassword()
	homes := secretHomes{
		adminPassword:       "sandbox/credentials",
		env.AdminToken:      "admin.token",
		f.ownerTok:          "",
		f.officerTok:        "",
		tok.Msg.GetSecret(): "",
		password:            "",
	}
	privatePaths(t, env.DataDir)
	secretsAtRest(t, env.DataDir, homes)

	// Restart: everything New built is closed, and kfake saves its state.
	env.HTTP.Close()
	env.Server.Close()
	privatePaths(t, env.DataDir)
	secretsAtRest(t, env.DataDir, homes)

	srv, err := app.New(ctx, app.Config{DataDir: env.DataDir, DatabaseURL: env.DatabaseURL, AutoMigrate: true,
		Logger:   slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		ToolsDir: apptest.ToolsDir(), Workers: 2, GrantInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("restarting meshplane: %v", err)
	}
	t.Cleanup(srv.Close)
	sb := srv.Sandbox
	bootstrap := sb.Settings().BootstrapServers
	if sb.AdminPassword() != adminPassword {
		t.Fatal("the sandbox admin password changed across the restart")
	}
	if err := scramSignIn(t, bootstrap, sandbox.AdminUsername, adminPassword); err != nil {
		t.Errorf("the admin after the restart: %v", err)
	}
	if err := scramSignIn(t, bootstrap, user, password); err != nil {
		t.Errorf("the issued credential after the restart: %v", err)
	}
	if err := scramSignIn(t, bootstrap, user, password+"x"); err == nil {
		t.Error("a wrong password signed in after the restart")
	}
	cl, err := kgo.NewClient(sb.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	topics, err := kadm.NewClient(cl).ListTopics(ctx)
	if err != nil || !slices.Contains(topics.Names(), "sales.orders.customers.v1") {
		t.Errorf("the product's topics after the restart: %v %v", topics.Names(), err)
	}

	// The restarted server changes SCRAM users as before.
	hs := httptest.NewUnstartedServer(srv.Handler)
	hs.EnableHTTP2 = true
	hs.StartTLS()
	t.Cleanup(hs.Close)
	restarted := &apptest.Env{T: t, Server: srv, HTTP: hs, AdminToken: env.AdminToken, DataDir: env.DataDir, DatabaseURL: env.DatabaseURL}
	rot, err := restarted.Clients(apptest.ProtocolConnect, env.AdminToken).Access.RotateKafkaCredential(ctx,
		connect.NewRequest(&v1.RotateKafkaCredentialRequest{Principal: "reporter"}))
	if err != nil {
		t.Fatalf("rotating the credential after the restart: %v", err)
	}
	rotated := rot.Msg.GetPassword()
	if err := scramSignIn(t, bootstrap, user, rotated); err != nil {
		t.Errorf("the rotated credential: %v", err)
	}
	if err := scramSignIn(t, bootstrap, user, password); err == nil {
		t.Error("the password replaced by rotation still signs in")
	}
	homes[rotated] = ""
	privatePaths(t, env.DataDir)
	secretsAtRest(t, env.DataDir, homes)

	hs.Close()
	srv.Close()
	privatePaths(t, env.DataDir)
	secretsAtRest(t, env.DataDir, homes)
	// No secret reaches the server's log either.
	logs := []byte(f.logs.String())
	for secret := range homes {
		if bytes.Contains(logs, []byte(secret)) {
			t.Errorf("a secret (home %q) reached the server log", homes[secret])
		}
	}
}
