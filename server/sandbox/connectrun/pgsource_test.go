package connectrun

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/meshplane/meshplane/server/sandbox/connectemu"
)

// testDB is a database of its own on the test server.
type testDB struct {
	url              string
	host, port, name string
	user, password   string
	conn             *pgx.Conn
}

// newTestDB creates a fresh database on MESHPLANE_TEST_POSTGRES (which must
// run with wal_level=logical), dropped with its slots at cleanup.
func newTestDB(t testing.TB) *testDB {
	t.Helper()
	base := os.Getenv("MESHPLANE_TEST_POSTGRES")
	if base == "" {
		t.Skip("MESHPLANE_TEST_POSTGRES is not set; the data-moving connectors need a PostgreSQL server")
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	name := "cdc_" + strings.ToLower(rand.Text()[:10])
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(base)
	u.Path = "/" + name
	db := &testDB{url: u.String(), host: u.Hostname(), port: u.Port(), name: name, user: u.User.Username()}
	db.password, _ = u.User.Password()
	if db.conn, err = pgx.Connect(ctx, db.url); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.conn.Close(ctx)
		dropSlots(ctx, admin, name)
		_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		admin.Close(ctx)
	})
	return db
}

// dropSlots drops database's replication slots, ending the sessions that
// hold them; a slot stays active for a moment after its session ends.
func dropSlots(ctx context.Context, admin *pgx.Conn, database string) {
	for range 50 {
		var left int
		_, _ = admin.Exec(ctx, `SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE database = $1 AND active_pid IS NOT NULL`, database)
		_, _ = admin.Exec(ctx, `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active`, database)
		if err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_replication_slots WHERE database = $1`, database).Scan(&left); err != nil || left == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (db *testDB) exec(t testing.TB, sql string, args ...any) {
	t.Helper()
	if _, err := db.conn.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// sourceConfig is a PostgreSQL source configuration as meshplane's module
// renders it, for the table public.customers routed to topic.
func (db *testDB) sourceConfig(topic string) map[string]string {
	return map[string]string{
		"name":                          "shop.customers.source",
		"connector.class":               PostgresSource,
		"tasks.max":                     "1",
		"database.hostname":             db.host,
		"database.port":                 db.port,
		"database.user":                 db.user,
		"database.password":             db.password,
		"database.dbname":               db.name,
		"database.sslmode":              "disable",
		"topic.prefix":                  "shop.customers",
		"plugin.name":                   "pgoutput",
		"slot.name":                     "slot_" + db.name,
		"publication.name":              "slot_" + db.name,
		"publication.autocreate.mode":   "filtered",
		"table.include.list":            `public\.customers`,
		"snapshot.mode":                 "initial",
		"heartbeat.interval.ms":         "200",
		"topic.heartbeat.prefix":        "__debezium-heartbeat",
		"transforms":                    "route0",
		"transforms.route0.type":        "org.apache.kafka.connect.transforms.RegexRouter",
		"transforms.route0.regex":       `shop\.customers\.public\.customers`,
		"transforms.route0.replacement": topic,
	}
}

// testBroker is an in-process broker creating topics on first use.
func testBroker(t testing.TB) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// runSource starts cfg's source on a broker of its own and waits until it
// streams.
func runSource(t testing.TB, cfg map[string]string) (*kfake.Cluster, *Runner) {
	t.Helper()
	broker := testBroker(t)
	r := testRunner(t, broker)
	r.Start(cfg["name"], cfg)
	waitRunning(t, r, cfg["name"])
	return broker, r
}

func testRunner(t testing.TB, c *kfake.Cluster) *Runner {
	t.Helper()
	r, err := New(Config{
		Logger:   slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo})),
		StateDir: t.TempDir(),
		Kafka: func(context.Context, string) ([]kgo.Opt, error) {
			return []kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...), kgo.AllowAutoTopicCreation()}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// event is a decoded change event record.
type event struct {
	Key       map[string]any
	Op        string
	Before    map[string]any
	After     map[string]any
	Source    map[string]any
	Tombstone bool
	schema    *Schema
}

// readTopic reads topic from the start until want records arrived.
func readTopic(t testing.TB, c *kfake.Cluster, topic string, want int) []event {
	t.Helper()
	cl := topicReader(t, c, topic)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out []event
	for len(out) < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("topic %s: %d records of %d arrived: %+v", topic, len(out), want, out)
		}
		fs.EachRecord(func(r *kgo.Record) { out = append(out, decodeEvent(t, r)) })
	}
	return out
}

func decodeEvent(t testing.TB, r *kgo.Record) event {
	t.Helper()
	var ev event
	if r.Key != nil {
		var k struct {
			Payload map[string]any `json:"payload"`
		}
		if err := json.Unmarshal(r.Key, &k); err != nil {
			t.Fatalf("key %s: %v", r.Key, err)
		}
		ev.Key = k.Payload
	}
	if r.Value == nil {
		ev.Tombstone = true
		return ev
	}
	var v struct {
		Schema  *Schema `json:"schema"`
		Payload struct {
			Op     string         `json:"op"`
			Before map[string]any `json:"before"`
			After  map[string]any `json:"after"`
			Source map[string]any `json:"source"`
		} `json:"payload"`
	}
	if err := json.Unmarshal(r.Value, &v); err != nil {
		t.Fatalf("value %s: %v", r.Value, err)
	}
	ev.Op, ev.Before, ev.After, ev.Source, ev.schema = v.Payload.Op, v.Payload.Before, v.Payload.After, v.Payload.Source, v.Schema
	return ev
}

func waitRunning(t testing.TB, r *Runner, name string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		st := r.Status(name)
		if st.State == "FAILED" {
			t.Fatalf("connector failed: %s", st.Trace)
		}
		if st.State == "RUNNING" && st.Lag != nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("connector %s did not start streaming: %+v", name, r.Status(name))
}

func sha256Hex(salt, v string) string {
	h := sha256.Sum256([]byte(salt + v))
	return hex.EncodeToString(h[:])
}

// Debezium's own test vectors for column.mask.hash.v2 (MaskStringsTest):
// SHA-256 and MD5 of the salt "salt" followed by the value.
func TestHashV2MatchesDebeziumVectors(t *testing.T) {
	for _, tc := range []struct{ algo, in, want string }{
		{"SHA-256", "hello", "cd31b3b98ece60cb739c0bf770b2de892ae0ad133f645513c3d83f08757a843a"},
		{"SHA-256", "world", "e84ac3142870113ddc6710c06f76421befc8e8ca6de64e98d2993ed8d41f4085"},
		{"MD5", "hello", "06decc8b095724f80103712c235586be"},
		{"MD5", "world", "172c8e95398cc72ab5358ead6981e7e5"},
	} {
		m := &mapper{kind: "hash", algo: tc.algo, salt: []byte("salt")}
		c := &pgColumn{character: true, length: -1}
		if got := m.apply(c, tc.in); got != tc.want {
			t.Errorf("%s(%q) = %v, want %s", tc.algo, tc.in, got, tc.want)
		}
	}
	// A hash is cut to a bounded column's length; null stays null.
	m := &mapper{kind: "hash", algo: "SHA-256", salt: []byte("salt")}
	if got := m.apply(&pgColumn{character: true, length: 10}, "hello"); got != "cd31b3b98e" {
		t.Errorf("hash into varchar(10) = %v", got)
	}
	if got := m.apply(&pgColumn{character: true, length: -1}, nil); got != nil {
		t.Errorf("hash of null = %v, want null", got)
	}
	// A mask replaces null too (MaskingValueConverter).
	if got := (&mapper{kind: "mask", n: 5}).apply(&pgColumn{character: true}, nil); got != "*****" {
		t.Errorf("mask of null = %v", got)
	}
	// Truncation counts UTF-16 code units, as Java does.
	if got := (&mapper{kind: "truncate", n: 3}).apply(&pgColumn{character: true}, "añb€c"); got != "añb" {
		t.Errorf("truncate = %v", got)
	}
}

func TestMapperOrderAndPatterns(t *testing.T) {
	rules, err := parseMappers(map[string]string{
		"column.mask.hash.v2.SHA-256.with.salt.s1": `public\.t\.a`,
		"column.mask.with.3.chars":                 `PUBLIC\.T\.A,public\.t\.b`,
		"column.truncate.to.2.chars":               `public\.t\.c`,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Masks come before hashes: a column named by both is masked. Patterns
	// are case-insensitive and anchored.
	if m := mapperFor(rules, "public", "t", "a"); m == nil || m.kind != "mask" {
		t.Errorf("public.t.a: %+v, want the mask (first matching rule)", m)
	}
	if m := mapperFor(rules, "public", "t", "c"); m == nil || m.kind != "truncate" {
		t.Errorf("public.t.c: %+v", m)
	}
	if m := mapperFor(rules, "public", "t", "ab"); m != nil {
		t.Errorf("public.t.ab matched %+v; patterns are anchored", m)
	}
	if _, err := parseMappers(map[string]string{"column.mask.hash.SHA-256.with.salt.x": "a"}); err == nil {
		t.Error("version 1 hashing was accepted; the sandbox cannot reproduce it")
	}
	// Masks act on character columns only.
	if (&mapper{kind: "mask"}).applies(&pgColumn{character: false}) {
		t.Error("a mask applies to a non-character column")
	}
}

func TestPostgresSourceWritesDebeziumEvents(t *testing.T) {
	db := newTestDB(t)
	db.exec(t, `CREATE TABLE customers (id int PRIMARY KEY, email text NOT NULL, name varchar(10), ssn text, notes text, score numeric(6,2), born date, seen timestamptz, secret text)`)
	db.exec(t, `INSERT INTO customers VALUES (1, 'ann@example.com', 'Ann Smiths', '111-22-3333', 'n1', 12.5, '1990-02-03', '2024-01-02 03:04:05.123456+00', 's1'), (2, 'bob@example.com', NULL, NULL, 'n2', -3.25, NULL, NULL, 's2')`)
	cfg := db.sourceConfig("shop.customers.v1")
	cfg["column.include.list"] = `public\.customers\.id,public\.customers\.email,public\.customers\.name,public\.customers\.ssn,public\.customers\.score,public\.customers\.born,public\.customers\.seen`
	cfg["column.mask.hash.v2.SHA-256.with.salt.pepper"] = `public\.customers\.email`
	cfg["column.mask.with.4.chars"] = `public\.customers\.ssn`
	cfg["column.truncate.to.3.chars"] = `public\.customers\.name`
	cfg["message.key.columns"] = `public\.customers:id`
	broker, r := runSource(t, cfg)

	db.exec(t, `INSERT INTO customers VALUES (3, 'cy@example.com', 'Cy', '999-88-7777', 'n3', 0, NULL, NULL, 's3')`)
	db.exec(t, `UPDATE customers SET email = 'ann@new.example.com' WHERE id = 1`)
	db.exec(t, `DELETE FROM customers WHERE id = 2`)
	evs := readTopic(t, broker, "shop.customers.v1", 6)

	if evs[0].Op != "r" || evs[1].Op != "r" || evs[0].Source["snapshot"] != "first" || evs[1].Source["snapshot"] != "last" {
		t.Fatalf("snapshot events: %+v %+v", evs[0], evs[1])
	}
	ann := evs[0].After
	if ann["email"] != sha256Hex("pepper", "ann@example.com") {
		t.Errorf("email = %v, want the hash of the salt and the value", ann["email"])
	}
	if ann["ssn"] != "****" || ann["name"] != "Ann" {
		t.Errorf("ssn, name = %v, %v", ann["ssn"], ann["name"])
	}
	for _, f := range []string{"notes", "secret"} {
		if _, ok := ann[f]; ok {
			t.Errorf("undeclared column %s is in the event", f)
		}
		if evs[0].schema.FieldNamed("after").FieldNamed(f) != nil {
			t.Errorf("undeclared column %s is in the schema", f)
		}
	}
	if ann["born"] != float64(7338) || ann["seen"] != "2024-01-02T03:04:05.123456Z" || ann["score"] != "BOI=" {
		t.Errorf("born, seen, score = %v, %v, %v", ann["born"], ann["seen"], ann["score"])
	}
	if evs[1].After["ssn"] != "****" || evs[1].After["name"] != nil {
		t.Errorf("a mask replaces null, truncation keeps it: %+v", evs[1].After)
	}
	if fmt.Sprint(evs[0].Key) != "map[id:1]" {
		t.Errorf("key = %v", evs[0].Key)
	}
	ins, upd, del, tomb := evs[2], evs[3], evs[4], evs[5]
	if ins.Op != "c" || ins.After["email"] != sha256Hex("pepper", "cy@example.com") || ins.Source["snapshot"] != "false" || ins.Source["txId"] == nil {
		t.Errorf("insert: %+v", ins)
	}
	if upd.Op != "u" || upd.Before != nil || upd.After["email"] != sha256Hex("pepper", "ann@new.example.com") {
		t.Errorf("update: %+v", upd)
	}
	// The old tuple holds the key only: NOT NULL columns get their type's
	// fallback (hashed like any value), nullable ones null, as in Debezium.
	if del.Op != "d" || del.After != nil || fmt.Sprint(del.Key) != "map[id:2]" || del.Before["id"] != float64(2) ||
		del.Before["email"] != sha256Hex("pepper", "") || del.Before["name"] != nil {
		t.Errorf("delete: %+v", del)
	}
	if !tomb.Tombstone || fmt.Sprint(tomb.Key) != "map[id:2]" {
		t.Errorf("tombstone: %+v", tomb)
	}
	for _, ev := range evs {
		if ev.Source != nil && (ev.Source["connector"] != "postgresql" || ev.Source["name"] != "shop.customers" || ev.Source["table"] != "customers" || ev.Source["schema"] != "public") {
			t.Errorf("source block: %+v", ev.Source)
		}
	}
	hb := readTopic(t, broker, "__debezium-heartbeat.shop.customers", 1)
	if fmt.Sprint(hb[0].Key) != "map[serverName:shop.customers]" {
		t.Errorf("heartbeat key = %v", hb[0].Key)
	}
	st := r.Status(cfg["name"])
	if st.State != "RUNNING" || st.Lag == nil || st.Lag.Unit != "wal_bytes" || st.Lag.Records < 6 {
		t.Errorf("status = %+v %+v", st, st.Lag)
	}
}

func TestPostgresSourceFailsWithATrace(t *testing.T) {
	db := newTestDB(t)
	broker := testBroker(t)
	r := testRunner(t, broker)
	cfg := db.sourceConfig("shop.customers.v1")
	cfg["database.password"] = "${vault:secret/db:password}"
	r.Start(cfg["name"], cfg)
	deadline := time.Now().Add(10 * time.Second)
	var st connectemu.RunStatus
	for time.Now().Before(deadline) {
		if st = r.Status(cfg["name"]); st.State == "FAILED" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st.State != "FAILED" || !strings.Contains(st.Trace, `config provider "vault" is not available`) {
		t.Fatalf("status = %+v", st)
	}
	// A table the filters do not find fails the connector, named.
	cfg = db.sourceConfig("t")
	r.Start(cfg["name"], cfg)
	for time.Now().Before(deadline) {
		if st = r.Status(cfg["name"]); st.State == "FAILED" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st.State != "FAILED" || !strings.Contains(st.Trace, "no table of database") {
		t.Fatalf("status = %+v", st)
	}
}

// crashChildEnv, when set, makes the test binary run one source connector
// until it is killed (see TestPostgresSourceSurvivesAKill).
const crashChildEnv = "MESHPLANE_CONNECTRUN_CRASH_CHILD"

// TestPostgresSourceSurvivesAKill runs the source in a child process, kills
// it with SIGKILL while rows are being written, starts it again and checks
// that every row reached the topic: the slot was only ever told about
// positions the broker had acknowledged.
func TestPostgresSourceSurvivesAKill(t *testing.T) {
	if spec := os.Getenv(crashChildEnv); spec != "" {
		runCrashChild(spec)
		return
	}
	db := newTestDB(t)
	db.exec(t, `CREATE TABLE customers (id int PRIMARY KEY, email text)`)
	broker := testBroker(t)
	stateDir := t.TempDir()
	cfg := db.sourceConfig("shop.customers.v1")
	spec, _ := json.Marshal(crashSpec{Brokers: broker.ListenAddrs(), StateDir: stateDir, Config: cfg})

	ctx, stop := context.WithCancel(context.Background())
	written := make(chan int, 1)
	go func() {
		conn, err := pgx.Connect(ctx, db.url)
		if err != nil {
			written <- 0
			return
		}
		defer conn.Close(context.Background())
		n := 0
		for ctx.Err() == nil {
			if _, err := conn.Exec(ctx, `INSERT INTO customers VALUES ($1, $2)`, n, fmt.Sprintf("c%d@example.com", n)); err != nil {
				break
			}
			n++
			time.Sleep(2 * time.Millisecond)
		}
		written <- n
	}()

	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestPostgresSourceSurvivesAKill$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+string(spec))
		cmd.Stderr = testWriter{t}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	child := start()
	// Let it snapshot and stream for a while, then kill it mid-stream.
	readTopic(t, broker, "shop.customers.v1", 200)
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	time.Sleep(300 * time.Millisecond) // rows keep arriving while it is down
	child = start()
	defer func() {
		_ = child.Process.Signal(syscall.SIGKILL)
		_ = child.Wait()
	}()
	time.Sleep(500 * time.Millisecond)
	stop()
	n := <-written
	if n < 300 {
		t.Fatalf("only %d rows were written", n)
	}
	// Every row arrives; some may arrive twice (at-least-once).
	seen := map[int]bool{}
	cl := topicReader(t, broker, "shop.customers.v1")
	rctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	records := 0
	for len(seen) < n && rctx.Err() == nil {
		cl.PollFetches(rctx).EachRecord(func(r *kgo.Record) {
			ev := decodeEvent(t, r)
			if ev.After != nil {
				seen[int(ev.After["id"].(float64))] = true
				records++
			}
		})
	}
	for i := range n {
		if !seen[i] {
			t.Errorf("row %d never reached the topic", i)
		}
	}
	t.Logf("%d rows written, %d events read (%d repeated after the kill)", n, records, records-len(seen))
}

type crashSpec struct {
	Brokers  []string
	StateDir string
	Config   map[string]string
}

func runCrashChild(raw string) {
	var spec crashSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		panic(err)
	}
	r, err := New(Config{
		Logger:   slog.New(slog.NewTextHandler(os.Stderr, nil)),
		StateDir: spec.StateDir,
		Kafka: func(context.Context, string) ([]kgo.Opt, error) {
			return []kgo.Opt{kgo.SeedBrokers(spec.Brokers...), kgo.AllowAutoTopicCreation()}, nil
		},
	})
	if err != nil {
		panic(err)
	}
	r.Start(spec.Config["name"], spec.Config)
	for {
		if st := r.Status(spec.Config["name"]); st.State == "FAILED" {
			fmt.Fprintln(os.Stderr, "child connector failed:", st.Trace)
			os.Exit(1)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestStopHandlesTheSlotAsConfigured: a stopped source keeps its slot (and
// so its position) unless slot.drop.on.stop says otherwise.
func TestStopHandlesTheSlotAsConfigured(t *testing.T) {
	db := newTestDB(t)
	db.exec(t, `CREATE TABLE customers (id int PRIMARY KEY, email text)`)
	broker := testBroker(t)
	r := testRunner(t, broker)
	slots := func() int {
		var n int
		if err := db.conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_replication_slots WHERE database = current_database()`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	cfg := db.sourceConfig("shop.customers.v1")
	r.Start(cfg["name"], cfg)
	waitRunning(t, r, cfg["name"])
	r.stopWait(cfg["name"])
	if n := slots(); n != 1 {
		t.Fatalf("%d slots after deleting a connector with slot.drop.on.stop=false, want 1", n)
	}
	if st := r.Status(cfg["name"]); st.State != "UNASSIGNED" {
		t.Errorf("a deleted connector reports %+v", st)
	}
	cfg["slot.drop.on.stop"] = "true"
	r.Start(cfg["name"], cfg)
	waitRunning(t, r, cfg["name"])
	r.stopWait(cfg["name"])
	if n := slots(); n != 0 {
		t.Fatalf("%d slots after stopping a connector with slot.drop.on.stop=true, want 0", n)
	}
}

// TestPostgresSourceReconnects: a terminated replication session is
// retried, and rows written meanwhile arrive.
func TestPostgresSourceReconnects(t *testing.T) {
	db := newTestDB(t)
	db.exec(t, `CREATE TABLE customers (id int PRIMARY KEY, email text)`)
	cfg := db.sourceConfig("shop.customers.v1")
	// A publication name PostgreSQL would fold and split if it were not
	// quoted (slot names are [a-z0-9_] only).
	cfg["publication.name"] = `Pub "x", y`
	broker, r := runSource(t, cfg)
	db.exec(t, `INSERT INTO customers VALUES (1, 'a@example.com')`)
	readTopic(t, broker, "shop.customers.v1", 1)
	db.exec(t, `SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE database = current_database()`)
	db.exec(t, `INSERT INTO customers VALUES (2, 'b@example.com')`)
	// Row 1 may come again (at-least-once) if the session ended before
	// its position was confirmed; row 2 must come.
	cl := topicReader(t, broker, "shop.customers.v1")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for seen := false; !seen; {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("row 2 never arrived after the reconnect: %+v", r.Status(cfg["name"]))
		}
		fs.EachRecord(func(rec *kgo.Record) { seen = seen || decodeEvent(t, rec).After["id"] == float64(2) })
	}
	if st := r.Status(cfg["name"]); st.State != "RUNNING" {
		t.Errorf("status after the reconnect: %+v", st)
	}
}

// TestPostgresSourceFollowsSchemaChanges: rows written before and after a
// column was added, while the connector was stopped, are read back each
// with the columns it had, as pgoutput describes them.
func TestPostgresSourceFollowsSchemaChanges(t *testing.T) {
	db := newTestDB(t)
	db.exec(t, `CREATE TABLE customers (id int PRIMARY KEY, email text)`)
	cfg := db.sourceConfig("shop.customers.v1")
	broker, r := runSource(t, cfg)
	r.stopWait(cfg["name"])
	db.exec(t, `INSERT INTO customers VALUES (1, 'a@example.com')`)
	db.exec(t, `ALTER TABLE customers ADD COLUMN city text NOT NULL DEFAULT 'Oslo'`)
	db.exec(t, `INSERT INTO customers VALUES (2, 'b@example.com', 'Lima')`)
	r.Start(cfg["name"], cfg)
	evs := readTopic(t, broker, "shop.customers.v1", 2)
	if _, ok := evs[0].After["city"]; ok || evs[0].After["id"] != float64(1) {
		t.Errorf("the row written before the column existed: %+v", evs[0].After)
	}
	if evs[1].After["city"] != "Lima" || evs[1].schema.FieldNamed("after").FieldNamed("city").Optional {
		t.Errorf("the row written after: %+v (city NOT NULL, so required)", evs[1].After)
	}
	if st := r.Status(cfg["name"]); st.State != "RUNNING" {
		t.Errorf("status: %+v", st)
	}
}

// TestPostgresSourceKeepsToItsTables: with a publication for all tables,
// changes of tables the filters leave out are not written anywhere.
func TestPostgresSourceKeepsToItsTables(t *testing.T) {
	db := newTestDB(t)
	db.exec(t, `CREATE TABLE customers (id int PRIMARY KEY, email text)`)
	db.exec(t, `CREATE TABLE secrets (id int PRIMARY KEY, pin text)`)
	cfg := db.sourceConfig("shop.customers.v1")
	cfg["publication.autocreate.mode"] = "all_tables"
	broker, r := runSource(t, cfg)
	db.exec(t, `INSERT INTO secrets VALUES (1, '0000')`)
	db.exec(t, `INSERT INTO customers VALUES (1, 'a@example.com')`)
	readTopic(t, broker, "shop.customers.v1", 1)
	adm := kadm.NewClient(kgoClient(t, broker))
	topics, err := adm.ListTopics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range topics.Names() {
		if strings.Contains(name, "secrets") {
			t.Errorf("a change of a table the filters leave out was written to %s", name)
		}
	}
	if st := r.Status(cfg["name"]); st.State != "RUNNING" {
		t.Errorf("status: %+v", st)
	}
}

// kgoClient is a client of the test broker c, closed when the test ends.
func kgoClient(t testing.TB, c *kfake.Cluster, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// topicReader consumes topic from its start.
func topicReader(t testing.TB, c *kfake.Cluster, topic string) *kgo.Client {
	t.Helper()
	return kgoClient(t, c, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
}
