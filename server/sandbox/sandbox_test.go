package sandbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/meshplane/meshplane/server/sandbox"
)

func testConfig(dir string) sandbox.Config {
	return sandbox.Config{
		DataDir:     dir,
		Logger:      slog.New(slog.DiscardHandler),
		KafkaAddr:   "127.0.0.1:0",
		ConnectAddr: "127.0.0.1:0",
	}
}

func start(t *testing.T, cfg sandbox.Config) *sandbox.Sandbox {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	sb, err := sandbox.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { sb.Close() })
	return sb
}

func ctxTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// adminClient connects as meshplane's admin with the password Start
// returned, from the outside, like any Kafka client.
func adminClient(t *testing.T, sb *sandbox.Sandbox) *kadm.Client {
	t.Helper()
	cl, err := kgo.NewClient(sb.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

// userClient connects as a SCRAM-SHA-512 user.
func userClient(t *testing.T, sb *sandbox.Sandbox, user, pass string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	opts = append([]kgo.Opt{
		kgo.SeedBrokers(sb.Settings().BootstrapServers...),
		kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha512Mechanism()),
		kgo.RequestRetries(1),
		kgo.RecordDeliveryTimeout(10 * time.Second),
	}, opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func createTopic(t *testing.T, adm *kadm.Client, topic string) {
	t.Helper()
	resp, err := adm.CreateTopic(ctxTimeout(t), 3, 3, map[string]*string{"retention.ms": kadm.StringPtr("604800000")}, topic)
	if err != nil || resp.Err != nil {
		t.Fatalf("creating topic %s: %v %v", topic, err, resp.Err)
	}
}

func createUser(t *testing.T, adm *kadm.Client, user, pass string) {
	t.Helper()
	resp, err := adm.AlterUserSCRAMs(ctxTimeout(t), nil, []kadm.UpsertSCRAM{{
		User: user, Mechanism: kadm.ScramSha512, Iterations: 4096, Password: pass,
	}})
	if err != nil {
		t.Fatalf("creating user %s: %v", user, err)
	}
	if err := resp.Error(); err != nil {
		t.Fatalf("creating user %s: %v", user, err)
	}
}

func allowWrite(t *testing.T, adm *kadm.Client, user, topic string) {
	t.Helper()
	b := kadm.NewACLs().Allow("User:" + user).AllowHosts("*").Topics(topic).
		ResourcePatternType(kadm.ACLPatternLiteral).Operations(kadm.OpWrite)
	results, err := adm.CreateACLs(ctxTimeout(t), b)
	if err != nil {
		t.Fatalf("creating ACL: %v", err)
	}
	for _, r := range results {
		if r.Err != nil {
			t.Fatalf("creating ACL: %v", r.Err)
		}
	}
}

func produce(t *testing.T, cl *kgo.Client, topic string) error {
	t.Helper()
	return cl.ProduceSync(ctxTimeout(t), &kgo.Record{Topic: topic, Value: []byte(`{"order_id":1}`)}).FirstErr()
}

func isAuthorizationError(err error) bool {
	return errors.Is(err, kerr.TopicAuthorizationFailed) || errors.Is(err, kerr.ClusterAuthorizationFailed)
}

// TestBrokerEnforcesSCRAMAndACLs proves, with real Kafka clients at the wire,
// that the admin can create topics, SCRAM users and ACLs, that another user
// is denied until an ACL grants it WRITE, and that a wrong password fails.
func TestBrokerEnforcesSCRAMAndACLs(t *testing.T) {
	t.Parallel()
	sb := start(t, testConfig(t.TempDir()))
	adm := adminClient(t, sb)

	createTopic(t, adm, "sales.orders.public.v1")
	createTopic(t, adm, "sales.payments.public.v1")
	details, err := adm.ListTopics(ctxTimeout(t), "sales.orders.public.v1")
	if err != nil || details["sales.orders.public.v1"].Err != nil || len(details["sales.orders.public.v1"].Partitions) != 3 {
		t.Fatalf("topic not visible to the admin: %v %+v", err, details)
	}
	createUser(t, adm, "svc-analytics", "analytics-pass")

	// Before any grant: signed in, but denied.
	if err := produce(t, userClient(t, sb, "svc-analytics", "analytics-pass"), "sales.orders.public.v1"); !isAuthorizationError(err) {
		t.Fatalf("produce before grant: got %v, want an authorization error", err)
	}

	allowWrite(t, adm, "svc-analytics", "sales.orders.public.v1")
	acls, err := adm.DescribeACLs(ctxTimeout(t), kadm.NewACLs().AnyResource().Allow("User:svc-analytics").AllowHosts("*").
		ResourcePatternType(kadm.ACLPatternAny).Operations(kadm.OpAny))
	if err != nil || len(acls) != 1 || len(acls[0].Described) != 1 {
		t.Fatalf("describing ACLs: %v %+v", err, acls)
	}

	cl := userClient(t, sb, "svc-analytics", "analytics-pass")
	if err := produce(t, cl, "sales.orders.public.v1"); err != nil {
		t.Fatalf("produce after grant: %v", err)
	}
	// The grant is for that topic only.
	if err := produce(t, cl, "sales.payments.public.v1"); !isAuthorizationError(err) {
		t.Fatalf("produce to an ungranted topic: got %v, want an authorization error", err)
	}

	// A wrong password fails SASL authentication, for a user and for the
	// admin's name.
	for _, user := range []string{"svc-analytics", sandbox.AdminUsername, "nobody"} {
		bad := kadm.NewClient(userClient(t, sb, user, "wrong-pass"))
		if _, err := bad.ListBrokers(ctxTimeout(t)); !isAuthenticationFailure(err) {
			t.Fatalf("%s with a wrong password: got %v, want an authentication failure", user, err)
		}
	}
}

// isAuthenticationFailure recognises a failed SASL exchange. A real broker
// answers SASL_AUTHENTICATION_FAILED; kfake closes the connection instead,
// which the client reports as EOF.
func isAuthenticationFailure(err error) bool {
	return errors.Is(err, kerr.SaslAuthenticationFailed) || errors.Is(err, io.EOF) ||
		(err != nil && strings.Contains(err.Error(), "EOF"))
}

func connectRequest(t *testing.T, sb *sandbox.Sandbox, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctxTimeout(t), method, sb.Settings().ConnectURL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func postgresSource(bootstrap string) map[string]string {
	return map[string]string{
		"connector.class":    "io.debezium.connector.postgresql.PostgresConnector",
		"tasks.max":          "1",
		"topic.prefix":       "sales.orders",
		"database.hostname":  "pg.internal",
		"database.port":      "5432",
		"database.user":      "debezium",
		"database.password":  "${env:PG_PASSWORD}",
		"database.dbname":    "sales",
		"plugin.name":        "pgoutput",
		"table.include.list": "public.orders",
	}
}

// TestRestartKeepsState proves topics, ACLs, SCRAM users, connectors and the
// admin password survive Close and Start on the same data directory.
func TestRestartKeepsState(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := testConfig(dir)

	first, err := sandbox.Start(ctxTimeout(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	password := first.AdminPassword()
	before := first.Settings()
	clusterID := before.ClusterID
	adm := adminClient(t, first)
	createTopic(t, adm, "sales.orders.public.v1")
	createUser(t, adm, "svc-analytics", "analytics-pass")
	allowWrite(t, adm, "svc-analytics", "sales.orders.public.v1")
	if code, body := connectRequest(t, first, http.MethodPost, "/connectors",
		map[string]any{"name": "sales-orders-source", "config": postgresSource("")}); code != http.StatusCreated {
		t.Fatalf("creating connector: %d %s", code, body)
	}
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := first.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	second := start(t, cfg)
	if second.AdminPassword() != password {
		t.Error("admin password changed across restart")
	}
	after := second.Settings()
	// Ports picked on first start are reused while free, so clients'
	// settings survive a restart.
	if !slices.Equal(after.BootstrapServers, before.BootstrapServers) || after.ConnectURL != before.ConnectURL {
		t.Errorf("addresses changed across restart: %v %s -> %v %s", before.BootstrapServers, before.ConnectURL, after.BootstrapServers, after.ConnectURL)
	}
	if second.Settings().ClusterID != clusterID {
		t.Errorf("cluster ID changed across restart: %s -> %s", clusterID, second.Settings().ClusterID)
	}
	adm = adminClient(t, second)
	details, err := adm.ListTopics(ctxTimeout(t), "sales.orders.public.v1")
	if err != nil || details["sales.orders.public.v1"].Err != nil || len(details["sales.orders.public.v1"].Partitions) != 3 {
		t.Fatalf("topic lost across restart: %v %+v", err, details)
	}
	rc, err := adm.DescribeTopicConfigs(ctxTimeout(t), "sales.orders.public.v1")
	if err != nil {
		t.Fatal(err)
	}
	if v, err := rc.On("sales.orders.public.v1", nil); err != nil || !hasConfig(v.Configs, "retention.ms", "604800000") {
		t.Errorf("topic config lost across restart: %v %+v", err, v)
	}
	// The user and its grant survived: it signs in and may produce.
	if err := produce(t, userClient(t, second, "svc-analytics", "analytics-pass"), "sales.orders.public.v1"); err != nil {
		t.Fatalf("produce as the persisted user: %v", err)
	}
	code, body := connectRequest(t, second, http.MethodGet, "/connectors/sales-orders-source/config", nil)
	var got map[string]string
	if err := json.Unmarshal(body, &got); code != http.StatusOK || err != nil || got["topic.prefix"] != "sales.orders" || got["name"] != "sales-orders-source" {
		t.Fatalf("connector lost across restart: %d %s", code, body)
	}

	for _, name := range []string{"credentials", "connectors.json", "listeners.json"} {
		fi, err := os.Stat(filepath.Join(dir, "sandbox", name))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v mode %v, want 0600", name, err, fi.Mode().Perm())
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "sandbox")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("sandbox dir: %v mode %v, want 0700", err, fi.Mode().Perm())
	}
}

func hasConfig(cs []kadm.Config, key, value string) bool {
	for _, c := range cs {
		if c.Key == key && c.Value != nil && *c.Value == value {
			return true
		}
	}
	return false
}

// TestSettingsEndpointHidesPassword proves GET /api/sandbox answers the
// settings, names the 0600 credentials file and never holds the password.
func TestSettingsEndpointHidesPassword(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sb := start(t, testConfig(dir))
	srv := httptest.NewServer(sb.Handler())
	t.Cleanup(srv.Close)

	resp, err := http.Get(srv.URL + "/api/sandbox")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /api/sandbox = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if strings.Contains(string(body), sb.AdminPassword()) {
		t.Fatal("GET /api/sandbox reveals the admin password")
	}
	var st sandbox.Settings
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatal(err)
	}
	if len(st.BootstrapServers) != sandbox.DefaultBrokers || st.SASLMechanism != "SCRAM-SHA-512" || st.AdminUsername != sandbox.AdminUsername ||
		!strings.HasPrefix(st.ConnectURL, "http://127.0.0.1:") || st.ClusterID == "" || len(st.ConnectorClasses) != 6 {
		t.Errorf("settings: %+v", st)
	}
	if st.CredentialsFile != filepath.Join(dir, "sandbox", "credentials") {
		t.Errorf("credentials_file = %q", st.CredentialsFile)
	}
	// The file it names holds the password, readable only by its owner.
	creds, err := os.ReadFile(st.CredentialsFile)
	if err != nil || !strings.Contains(string(creds), "sasl.password="+sb.AdminPassword()+"\n") {
		t.Errorf("credentials file lacks the password: %v", err)
	}
	if notes := strings.Join(st.Notes, " "); !strings.Contains(notes, "validate-only") || !strings.Contains(notes, "moves no data") || !strings.Contains(notes, "run in the sandbox and move data") {
		t.Errorf("notes do not say which connectors move data and which do not: %v", st.Notes)
	}

	resp, err = http.Post(srv.URL+"/api/sandbox", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /api/sandbox = %d, want 405", resp.StatusCode)
	}

	// A PostgreSQL source runs: this one cannot resolve its password, so
	// its task fails and its status says why, as a worker's would.
	if code, body := connectRequest(t, sb, http.MethodPost, "/connectors",
		map[string]any{"name": "orders", "config": postgresSource("")}); code != http.StatusCreated {
		t.Fatalf("creating connector: %d %s", code, body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, body = connectRequest(t, sb, http.MethodGet, "/connectors/orders/status", nil)
		if strings.Contains(string(body), `"state":"FAILED"`) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(string(body), `"connector":{"state":"RUNNING"`) || !strings.Contains(string(body), `"state":"FAILED"`) ||
		!strings.Contains(string(body), "environment variable PG_PASSWORD is not set") || strings.Contains(string(body), "moves no data") {
		t.Errorf("status: %s", body)
	}
}

func TestConnectBasicAuth(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t.TempDir())
	cfg.ConnectBasicAuth = true
	sb := start(t, cfg)
	if code, _ := connectRequest(t, sb, http.MethodGet, "/connectors", nil); code != http.StatusUnauthorized {
		t.Errorf("without credentials: %d", code)
	}
	req, _ := http.NewRequest(http.MethodGet, sb.Settings().ConnectURL+"/connectors", nil)
	req.SetBasicAuth(sandbox.AdminUsername, sb.AdminPassword())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("with admin credentials: %d", resp.StatusCode)
	}
	if sb.Settings().ConnectUsername != sandbox.AdminUsername {
		t.Errorf("connect_username = %q", sb.Settings().ConnectUsername)
	}
}

func TestMissingCredentialsWithExistingStateIsReported(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sb, err := sandbox.Start(ctxTimeout(t), testConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	sb.Close()
	if err := os.Remove(filepath.Join(dir, "sandbox", "credentials")); err != nil {
		t.Fatal(err)
	}
	_, err = sandbox.Start(ctxTimeout(t), testConfig(dir))
	if err == nil || !strings.Contains(err.Error(), "credentials file") || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("Start without credentials but with broker state: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	good := testConfig(t.TempDir())
	if err := good.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	for name, mutate := range map[string]func(*sandbox.Config){
		"no data dir":           func(c *sandbox.Config) { c.DataDir = "" },
		"no logger":             func(c *sandbox.Config) { c.Logger = nil },
		"kafka on every iface":  func(c *sandbox.Config) { c.KafkaAddr = "0.0.0.0:9092" },
		"kafka without host":    func(c *sandbox.Config) { c.KafkaAddr = ":9092" },
		"connect not host:port": func(c *sandbox.Config) { c.ConnectAddr = "localhost" },
		"ports overflow":        func(c *sandbox.Config) { c.KafkaAddr = "127.0.0.1:65534" },
		"too many brokers":      func(c *sandbox.Config) { c.Brokers = 9 },
	} {
		c := good
		mutate(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestAdvertisesSASLHandshakeV0 proves the broker lists SaslHandshake from
// version 0 as real brokers do, which librdkafka-based clients (kcat) need
// before they will authenticate.
func TestAdvertisesSASLHandshakeV0(t *testing.T) {
	t.Parallel()
	sb := start(t, testConfig(t.TempDir()))
	cl, err := kgo.NewClient(sb.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	req := kmsg.NewPtrApiVersionsRequest()
	req.ClientSoftwareName, req.ClientSoftwareVersion = "test", "1"
	resp, err := req.RequestWith(ctxTimeout(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, k := range resp.ApiKeys {
		if k.ApiKey == int16(kmsg.SASLHandshake) {
			found = true
			if k.MinVersion != 0 || k.MaxVersion < 1 {
				t.Errorf("SaslHandshake advertised as %d-%d, want 0-1", k.MinVersion, k.MaxVersion)
			}
		}
	}
	if !found || len(resp.ApiKeys) < 40 {
		t.Errorf("ApiVersions lists %d keys, SaslHandshake found: %v", len(resp.ApiKeys), found)
	}
}
