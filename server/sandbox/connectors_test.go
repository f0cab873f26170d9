package sandbox_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/meshplane/meshplane/server/app/apptest"
	"github.com/meshplane/meshplane/server/sandbox"
)

// TestConnectorsWriteAsTheirOwnPrincipal runs a PostgreSQL source in the
// sandbox: without an ACL its task fails with the broker's authorization
// error, with the ACL a plan would create it streams after a restart, and
// its events reach the topic. Needs MESHPLANE_TEST_POSTGRES (wal_level=logical).
func TestConnectorsWriteAsTheirOwnPrincipal(t *testing.T) {
	base := os.Getenv(apptest.PostgresEnv)
	if base == "" {
		t.Skipf("%s is not set", apptest.PostgresEnv)
	}
	ctx := context.Background()
	u, err := url.Parse(apptest.NewPostgresDatabase(t, base))
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	db, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	sb := start(t, testConfig(t.TempDir()))
	t.Cleanup(func() { db.Close(ctx) })
	if _, err := db.Exec(ctx, `CREATE TABLE orders (id int PRIMARY KEY, total int)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `INSERT INTO orders VALUES (1, 10)`); err != nil {
		t.Fatal(err)
	}
	adm := adminClient(t, sb)
	const topic = "sales.orders.orders.v1"
	createTopic(t, adm, topic)

	password, _ := u.User.Password()
	cfg := map[string]string{
		"connector.class":              "io.debezium.connector.postgresql.PostgresConnector",
		"tasks.max":                    "1",
		"topic.prefix":                 "sales.orders",
		"database.hostname":            u.Hostname(),
		"database.port":                u.Port(),
		"database.user":                u.User.Username(),
		"database.password":            password,
		"database.dbname":              name,
		"database.sslmode":             "disable",
		"plugin.name":                  "pgoutput",
		"slot.name":                    name,
		"publication.name":             name,
		"publication.autocreate.mode":  "filtered",
		"table.include.list":           `public\.orders`,
		"transforms":                   "route",
		"transforms.route.type":        "org.apache.kafka.connect.transforms.RegexRouter",
		"transforms.route.regex":       `sales\.orders\.public\.orders`,
		"transforms.route.replacement": topic,
	}
	const connector = "sales.orders.source"
	if code, body := connectRequest(t, sb, http.MethodPost, "/connectors", map[string]any{"name": connector, "config": cfg}); code != http.StatusCreated {
		t.Fatalf("creating the connector: %d %s", code, body)
	}
	status := func(want string) string {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			_, body := connectRequest(t, sb, http.MethodGet, "/connectors/"+connector+"/status", nil)
			if strings.Contains(string(body), want) || time.Now().After(deadline) {
				return string(body)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// No ACL: the broker refuses the connector's principal.
	if body := status(`"state":"FAILED"`); !strings.Contains(body, `"state":"FAILED"`) || !strings.Contains(body, "TOPIC_AUTHORIZATION_FAILED") {
		t.Fatalf("without an ACL: %s", body)
	}

	// The ACL a plan creates for the source, then a restart.
	acl := kadm.NewACLs().Allow("User:"+connector).AllowHosts("*").Topics(topic).
		ResourcePatternType(kadm.ACLPatternLiteral).Operations(kadm.OpWrite, kadm.OpDescribe)
	if res, err := adm.CreateACLs(ctxTimeout(t), acl); err != nil || res[0].Err != nil {
		t.Fatalf("creating the ACL: %v %v", err, res)
	}
	if code, body := connectRequest(t, sb, http.MethodPost, "/connectors/"+connector+"/restart", nil); code != http.StatusNoContent {
		t.Fatalf("restarting: %d %s", code, body)
	}
	// The failed run never finished its snapshot, so the restart takes it
	// again (op r); a row written once it streams is a create (op c).
	if body := status(`"lag"`); !strings.Contains(body, `"state":"RUNNING"`) || strings.Contains(body, "FAILED") {
		t.Fatalf("with the ACL: %s", body)
	}
	if _, err := db.Exec(ctx, `INSERT INTO orders VALUES (2, 20)`); err != nil {
		t.Fatal(err)
	}
	if _, body := connectRequest(t, sb, http.MethodGet, "/connectors/"+connector+"/topics", nil); !strings.Contains(string(body), `"topics":["`+topic+`"]`) {
		t.Errorf("active topics: %s", body)
	}
	cl, err := kgo.NewClient(append(sb.ClientOptions(), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var values []string
	for len(values) < 2 && rctx.Err() == nil {
		cl.PollFetches(rctx).EachRecord(func(r *kgo.Record) { values = append(values, string(r.Value)) })
	}
	if len(values) < 2 || !strings.Contains(strings.Join(values, "\n"), `"op":"r"`) || !strings.Contains(strings.Join(values, "\n"), `"op":"c"`) {
		t.Fatalf("events on %s: %q", topic, values)
	}
}

// TestConnectorsCannotTakeOverPrincipals: a connector named like the admin,
// or like a principal that already has credentials (a service account), does
// not get them: its task fails, saying why, and the principal's password
// still works.
func TestConnectorsCannotTakeOverPrincipals(t *testing.T) {
	t.Setenv("PG_PASSWORD", "unused")
	sb := start(t, testConfig(t.TempDir()))
	adm := adminClient(t, sb)
	createUser(t, adm, "sales.reporter", "reporter-password")
	for name, want := range map[string]string{
		"sales.reporter":      "already has credentials that are not a connector's",
		sandbox.AdminUsername: "the broker's superuser",
	} {
		if code, body := connectRequest(t, sb, http.MethodPost, "/connectors", map[string]any{"name": name, "config": postgresSource("")}); code != http.StatusCreated {
			t.Fatalf("creating %s: %d %s", name, code, body)
		}
		deadline := time.Now().Add(10 * time.Second)
		var body []byte
		for time.Now().Before(deadline) {
			_, body = connectRequest(t, sb, http.MethodGet, "/connectors/"+name+"/status", nil)
			if strings.Contains(string(body), `"state":"FAILED"`) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if !strings.Contains(string(body), want) {
			t.Errorf("%s: status %s, want a trace saying %q", name, body, want)
		}
	}
	cl := userClient(t, sb, "sales.reporter", "reporter-password")
	if err := cl.Ping(ctxTimeout(t)); err != nil {
		t.Errorf("the service account's password no longer works: %v", err)
	}
	if _, err := adm.ListTopics(ctxTimeout(t)); err != nil {
		t.Errorf("the admin's password no longer works: %v", err)
	}
}
