package connectrun

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The JDBC sink's tests run against a real PostgreSQL server
// (MESHPLANE_TEST_POSTGRES, a fresh database per test) and an in-process
// kfake broker, producing records shaped exactly as Debezium's PostgreSQL
// connector writes them with the JSON converter.

// sinkHarness is one test's broker, database and clients.
type sinkHarness struct {
	t        *testing.T
	cluster  *kfake.Cluster
	cl       *kgo.Client
	adm      *kadm.Client
	db       *pgxpool.Pool
	jdbcURL  string
	user     string
	password string
	log      *slog.Logger
}

// newSinkHarness starts a broker and creates a database; it skips the test
// when MESHPLANE_TEST_POSTGRES is not set.
func newSinkHarness(t *testing.T) *sinkHarness {
	t.Helper()
	base := os.Getenv("MESHPLANE_TEST_POSTGRES")
	if base == "" {
		t.Skip("MESHPLANE_TEST_POSTGRES is not set; the JDBC sink's tests need a PostgreSQL server")
	}
	h := &sinkHarness{t: t, log: sinkTestLogger(t)}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	name := "sink_" + strings.ToLower(rand.Text()[:10])
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		admin.Close(ctx)
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	if h.db, err = pgxpool.New(ctx, u.String()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.db.Close)
	h.user = u.User.Username()
	h.password, _ = u.User.Password()
	h.jdbcURL = "jdbc:postgresql://" + u.Host + "/" + name
	if u.RawQuery != "" {
		h.jdbcURL += "?" + u.RawQuery
	}

	if h.cluster, err = kfake.NewCluster(kfake.NumBrokers(1)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.cluster.Close)
	if h.cl, err = kgo.NewClient(kgo.SeedBrokers(h.cluster.ListenAddrs()...)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.cl.Close)
	h.adm = kadm.NewClient(h.cl)
	return h
}

// sinkTestLogger logs to the test until it ends.
func sinkTestLogger(t *testing.T) *slog.Logger {
	w := &sinkLogWriter{t: t}
	t.Cleanup(w.close)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type sinkLogWriter struct {
	mu     sync.Mutex
	t      *testing.T
	closed bool
}

func (w *sinkLogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (w *sinkLogWriter) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
}

// createTopic creates a topic with one partition.
func (h *sinkHarness) createTopic(topics ...string) {
	h.t.Helper()
	resp, err := h.adm.CreateTopics(context.Background(), 1, 1, nil, topics...)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		h.t.Fatal(err)
	}
}

// produce writes records in order and returns their offsets.
func (h *sinkHarness) produce(recs ...*kgo.Record) []int64 {
	h.t.Helper()
	var offsets []int64
	for _, r := range recs {
		res := h.cl.ProduceSync(context.Background(), r)
		if err := res.FirstErr(); err != nil {
			h.t.Fatal(err)
		}
		offsets = append(offsets, res[0].Record.Offset)
	}
	return offsets
}

// config is a JDBC sink configuration for the test database, with extra
// settings on top.
func (h *sinkHarness) config(topics string, extra map[string]string) map[string]string {
	c := map[string]string{
		"connector.class":     JDBCSink,
		"tasks.max":           "1",
		"topics":              topics,
		"connection.url":      h.jdbcURL,
		"connection.username": h.user,
		"connection.password": h.password,
		"schema.evolution":    "basic",
	}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

// sinkRun is a running sink task.
type sinkRun struct {
	task   *Task
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

// start runs a sink task named name; the test's cleanup stops it.
func (h *sinkHarness) start(name string, config map[string]string) *sinkRun {
	task := &Task{Name: name, Config: config, Kafka: []kgo.Opt{kgo.SeedBrokers(h.cluster.ListenAddrs()...)},
		Log: h.log.With("connector", name), StateDir: h.t.TempDir(), run: &run{}}
	return startSinkTask(h.t, task)
}

func startSinkTask(t *testing.T, task *Task) *sinkRun {
	ctx, cancel := context.WithCancel(context.Background())
	r := &sinkRun{task: task, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- runJDBCSink(ctx, task) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels the task and returns what it returned.
func (r *sinkRun) stop(t *testing.T) error {
	r.once.Do(func() {
		r.cancel()
		select {
		case r.err = <-r.done:
		case <-time.After(15 * time.Second):
			t.Error("the sink task did not stop")
		}
	})
	return r.err
}

// failed waits for the task to return on its own, and returns its error.
func (r *sinkRun) failed(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.once.Do(func() { r.err = err })
		if err == nil {
			t.Fatal("the sink task stopped without an error")
		}
		return err
	case <-time.After(8 * time.Second):
		t.Fatal("the sink task did not fail")
	}
	return nil
}

// running fails the test if the task has returned.
func (r *sinkRun) running(t *testing.T) {
	t.Helper()
	select {
	case err := <-r.done:
		t.Fatalf("the sink task stopped: %v", err)
	default:
	}
}

// eventually polls cond until it holds, failing the test after a deadline
// with cond's last explanation.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(8 * time.Second)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s", what, why)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitWritten waits until the task has written n records (rows inserted,
// updated or deleted).
func waitWritten(t *testing.T, r *sinkRun, n int64) {
	t.Helper()
	eventually(t, "records written", func() (bool, string) {
		select {
		case err := <-r.done:
			r.once.Do(func() { r.err = err })
			t.Fatalf("the sink task stopped: %v", err)
		default:
		}
		got := r.task.records.Load()
		return got == n, fmt.Sprintf("%d written, want %d", got, n)
	})
}

// committed returns the group's committed offset for partition 0 of topic,
// or -1.
func (h *sinkHarness) committed(group, topic string) int64 {
	h.t.Helper()
	offs, err := h.adm.FetchOffsets(context.Background(), group)
	if err != nil {
		return -1
	}
	if o, ok := offs.Lookup(topic, 0); ok && o.Err == nil {
		return o.At
	}
	return -1
}

func (h *sinkHarness) waitCommitted(group, topic string, want int64) {
	h.t.Helper()
	eventually(h.t, "committed offset", func() (bool, string) {
		got := h.committed(group, topic)
		return got == want, fmt.Sprintf("group %s committed %d on %s, want %d", group, got, topic, want)
	})
}

func (h *sinkHarness) exec(sql string, args ...any) {
	h.t.Helper()
	if _, err := h.db.Exec(context.Background(), sql, args...); err != nil {
		h.t.Fatalf("%s: %v", sql, err)
	}
}

// strings queries one text column.
func (h *sinkHarness) strings(sql string, args ...any) []string {
	h.t.Helper()
	rows, err := h.db.Query(context.Background(), sql, args...)
	if err != nil {
		h.t.Fatalf("%s: %v", sql, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		h.t.Fatalf("%s: %v", sql, err)
	}
	return out
}

// columns returns a table's columns as "name type nullability", in order.
func (h *sinkHarness) columns(table string) []string {
	h.t.Helper()
	return h.strings(`SELECT a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
		FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
		pgx.Identifier{table}.Sanitize())
}

func (h *sinkHarness) primaryKey(table string) []string {
	h.t.Helper()
	return h.strings(`SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
		WHERE i.indrelid = to_regclass($1) AND i.indisprimary ORDER BY a.attnum`, pgx.Identifier{table}.Sanitize())
}

// --- Debezium PostgreSQL change events, as the JSON converter writes them ---

// dbzTable builds change events of one captured table.
type dbzTable struct {
	table string
	row   *Schema // the table's Value schema
	key   *Schema // the table's Key schema
	env   *Schema // the Envelope schema
}

// The source block the PostgreSQL source writes.
var dbzSourceSchema = &sourceSchema

var dbzTransactionSchema = &transactionSchema

// customersRow is public.customers as Debezium describes it.
func customersRow() []*Schema {
	return []*Schema{
		{Type: TypeInt32, Field: "id"},
		{Type: TypeString, Optional: true, Field: "name"},
		{Type: TypeString, Optional: true, Field: "email"},
		{Type: TypeBytes, Optional: true, Name: decimalSchema, Version: 1,
			Parameters: map[string]string{"scale": "2", "connect.decimal.precision": "10"}, Field: "balance"},
		{Type: TypeInt32, Optional: true, Name: "io.debezium.time.Date", Version: 1, Field: "born"},
		{Type: TypeString, Optional: true, Name: "io.debezium.time.ZonedTimestamp", Version: 1, Field: "updated_at"},
		{Type: TypeInt64, Optional: true, Name: "io.debezium.time.MicroTimestamp", Version: 1, Field: "seen_at"},
		{Type: TypeString, Optional: true, Name: "io.debezium.data.Json", Version: 1, Field: "prefs"},
		{Type: TypeString, Optional: true, Name: "io.debezium.data.Uuid", Version: 1, Field: "ref"},
		{Type: TypeBoolean, Optional: true, Field: "active"},
		{Type: TypeFloat64, Optional: true, Field: "score"},
		{Type: TypeBytes, Optional: true, Field: "photo"},
	}
}

func newDBZTable(server, table string, fields []*Schema, keyFields ...string) *dbzTable {
	prefix := server + ".public." + table
	d := &dbzTable{table: table}
	d.row = &Schema{Type: TypeStruct, Optional: true, Name: prefix + ".Value", Fields: fields}
	d.key = &Schema{Type: TypeStruct, Name: prefix + ".Key"}
	for _, k := range keyFields {
		d.key.Fields = append(d.key.Fields, d.row.FieldNamed(k))
	}
	d.env = &Schema{Type: TypeStruct, Name: prefix + ".Envelope", Version: 2, Fields: []*Schema{
		d.row.withField("before"),
		d.row.withField("after"),
		dbzSourceSchema.withField("source"),
		dbzTransactionSchema.withField("transaction"),
		{Type: TypeString, Field: "op"},
		{Type: TypeInt64, Optional: true, Field: "ts_ms"},
		{Type: TypeInt64, Optional: true, Field: "ts_us"},
		{Type: TypeInt64, Optional: true, Field: "ts_ns"},
	}}
	return d
}

// structOf builds a struct of schema s from named values.
func structOf(s *Schema, vals map[string]any) *Struct {
	st := NewStruct(s)
	for k, v := range vals {
		st.Set(k, v)
	}
	return st
}

// event is a change event record: op c, u, r or d, with the row's before
// and after states (nil when absent).
func (d *dbzTable) event(topic, op string, before, after map[string]any) *kgo.Record {
	row := after
	if row == nil {
		row = before
	}
	var key *Struct // a truncate has no key
	if row != nil {
		key = structOf(d.key, map[string]any{})
		for _, f := range d.key.Fields {
			key.Set(f.Field, row[f.Field])
		}
	}
	env := NewStruct(d.env)
	if before != nil {
		env.Set("before", structOf(d.row.withField("before"), before))
	}
	if after != nil {
		env.Set("after", structOf(d.row.withField("after"), after))
	}
	snapshot := "false"
	if op == "r" {
		snapshot = "true"
	}
	env.Set("source", structOf(dbzSourceSchema, map[string]any{
		"version": "3.6.1.Final", "connector": "postgresql", "name": "shop", "ts_ms": int64(1767225600000),
		"snapshot": snapshot, "db": "shop", "sequence": `["24023928","24023984"]`, "ts_us": int64(1767225600000000),
		"ts_ns": int64(1767225600000000000), "schema": "public", "table": d.table, "txId": int64(742), "lsn": int64(24023984),
	}))
	env.Set("op", op)
	env.Set("ts_ms", int64(1767225600123))
	var k []byte
	if key != nil {
		var err error
		if k, err = Encode(d.key, key); err != nil {
			panic(err)
		}
	}
	v, err := Encode(d.env, env)
	if err != nil {
		panic(err)
	}
	return &kgo.Record{Topic: topic, Key: k, Value: v}
}

// tombstone is the tombstone Debezium writes after a delete.
func (d *dbzTable) tombstone(topic string, keyVals map[string]any) *kgo.Record {
	k, err := Encode(d.key, structOf(d.key, keyVals))
	if err != nil {
		panic(err)
	}
	return &kgo.Record{Topic: topic, Key: k}
}

// flat is a record as ExtractNewRecordState leaves it, for sinks fed by
// other pipelines: the row itself, with its key.
func (d *dbzTable) flat(topic string, vals map[string]any) *kgo.Record {
	key := NewStruct(d.key)
	for _, f := range d.key.Fields {
		key.Set(f.Field, vals[f.Field])
	}
	k, err := Encode(d.key, key)
	if err != nil {
		panic(err)
	}
	row := &Schema{Type: TypeStruct, Name: d.row.Name, Fields: d.row.Fields}
	v, err := Encode(row, structOf(row, vals))
	if err != nil {
		panic(err)
	}
	return &kgo.Record{Topic: topic, Key: k, Value: v}
}

// ada and grace are customers rows.
func customer(id int64, name, email string) map[string]any {
	return map[string]any{
		"id": id, "name": name, "email": email,
		"balance":    []byte{0x04, 0xd2}, // 12.34
		"born":       int64(-3653),       // 1960-01-01
		"updated_at": "2026-01-02T03:04:05.123456Z",
		"seen_at":    int64(1767225600123456), // 2026-01-01 00:00:00.123456
		"prefs":      `{"theme":"dark"}`,
		"ref":        "6f1c0a52-1c8e-4a3f-9d55-3f5c9c1d2e7b",
		"active":     true,
		"score":      0.5,
	}
}

// --- tests ---

func TestJDBCSinkUpsertsUpdatesAndDeletes(t *testing.T) {
	t.Parallel()
	h := newSinkHarness(t)
	const topic = "shop.public.customers"
	h.createTopic(topic)
	d := newDBZTable("shop", "customers", customersRow(), "id")
	offsets := h.produce(
		d.event(topic, "r", nil, customer(1, "Ada", "ada@example.com")),
		d.event(topic, "c", nil, customer(2, "Grace", "grace@example.com")),
		d.event(topic, "u", customer(1, "Ada", "ada@example.com"), customer(1, "Ada Lovelace", "ada@example.com")),
		d.event(topic, "d", customer(2, "Grace", "grace@example.com"), nil),
		d.tombstone(topic, map[string]any{"id": int64(2)}),
		d.event(topic, "c", nil, customer(3, "Edsger", "edsger@example.com")),
		d.tombstone(topic, map[string]any{"id": int64(3)}),
	)
	r := h.start("customers-sink", h.config(topic, map[string]string{
		"insert.mode":      "upsert",
		"primary.key.mode": "record_key",
		"delete.enabled":   "true",
	}))
	waitWritten(t, r, 7)
	h.waitCommitted("connect-customers-sink", topic, offsets[len(offsets)-1]+1)

	const table = "shop_public_customers"
	if got, want := h.columns(table), []string{
		"id integer not null",
		"name text",
		"email text",
		"balance numeric(10,2)",
		"born date",
		"updated_at timestamp(6) with time zone",
		"seen_at timestamp(6) without time zone",
		"prefs json",
		"ref uuid",
		"active boolean",
		"score double precision",
		"photo bytea",
	}; !slices.Equal(got, want) {
		t.Errorf("columns:\n got %q\nwant %q", got, want)
	}
	if got := h.primaryKey(table); !slices.Equal(got, []string{"id"}) {
		t.Errorf("primary key: %q", got)
	}
	got := h.strings(`SELECT concat_ws('|', id, name, email, balance, born, updated_at AT TIME ZONE 'UTC', seen_at, prefs, ref, active, score)
		FROM shop_public_customers ORDER BY id`)
	want := []string{"1|Ada Lovelace|ada@example.com|12.34|1960-01-01|2026-01-02 03:04:05.123456|2026-01-01 00:00:00.123456|" +
		`{"theme":"dark"}|6f1c0a52-1c8e-4a3f-9d55-3f5c9c1d2e7b|t|0.5`}
	if !slices.Equal(got, want) {
		t.Errorf("rows:\n got %q\nwant %q", got, want)
	}
	eventually(t, "lag", func() (bool, string) {
		l := r.task.lag()
		return l != nil && l.Unit == "records" && l.Behind == 0, fmt.Sprintf("lag %+v", l)
	})
}

func TestJDBCSinkKeepsRowsWhenDeletesAreDisabled(t *testing.T) {
	t.Parallel()
	h := newSinkHarness(t)
	const topic = "shop.public.customers"
	h.createTopic(topic)
	d := newDBZTable("shop", "customers", customersRow(), "id")
	offsets := h.produce(
		d.event(topic, "c", nil, customer(1, "Ada", "ada@example.com")),
		d.event(topic, "c", nil, customer(2, "Grace", "grace@example.com")),
		d.event(topic, "d", customer(2, "Grace", "grace@example.com"), nil),
		d.tombstone(topic, map[string]any{"id": int64(2)}),
		d.tombstone(topic, map[string]any{"id": int64(1)}),
	)
	r := h.start("customers-sink", h.config(topic, map[string]string{
		"insert.mode":      "upsert",
		"primary.key.mode": "record_key",
	}))
	h.waitCommitted("connect-customers-sink", topic, offsets[len(offsets)-1]+1)
	if got := r.task.records.Load(); got != 2 {
		t.Errorf("%d records written, want 2", got)
	}
	if got := h.strings(`SELECT name FROM shop_public_customers ORDER BY id`); !slices.Equal(got, []string{"Ada", "Grace"}) {
		t.Errorf("rows: %q", got)
	}
}

// The chain meshplane's module configures: unwrap the change event, drop a
// column, mask another, skipping the mask for tombstones.
func TestJDBCSinkRunsTheModuleTransformChain(t *testing.T) {
	t.Parallel()
	h := newSinkHarness(t)
	const topic = "shop.public.customers"
	h.createTopic(topic)
	d := newDBZTable("shop", "customers", customersRow(), "id")
	h.produce(
		d.event(topic, "c", nil, customer(1, "Ada", "ada@example.com")),
		d.event(topic, "c", nil, customer(2, "Grace", "grace@example.com")),
		d.event(topic, "u", customer(1, "Ada", "ada@example.com"), customer(1, "Ada Lovelace", "ada@lovelace.org")),
	)
	r := h.start("customers-sink", h.config(topic, map[string]string{
		"insert.mode":            "upsert",
		"primary.key.mode":       "record_key",
		"delete.enabled":         "true",
		"transforms":             "unwrap,dropfields,maskfields",
		"transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
		"transforms.unwrap.delete.tombstone.handling.mode": "delete-to-tombstone",
		"transforms.dropfields.type":                       "org.apache.kafka.connect.transforms.ReplaceField$Value",
		"transforms.dropfields.exclude":                    "email",
		"transforms.maskfields.type":                       "org.apache.kafka.connect.transforms.MaskField$Value",
		"transforms.maskfields.fields":                     "name",
		"transforms.maskfields.predicate":                  "tombstone",
		"transforms.maskfields.negate":                     "true",
		"predicates":                                       "tombstone",
		"predicates.tombstone.type":                        "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
	}))
	waitWritten(t, r, 3)
	for _, c := range h.columns("shop_public_customers") {
		if strings.HasPrefix(c, "email ") {
			t.Errorf("the excluded column exists: %s", c)
		}
	}
	got := h.strings(`SELECT concat_ws('|', id, '"' || name || '"', balance) FROM shop_public_customers ORDER BY id`)
	if want := []string{`1|""|12.34`, `2|""|12.34`}; !slices.Equal(got, want) {
		t.Errorf("rows: got %q, want %q", got, want)
	}

	// Unwrap turns the delete into a plain tombstone and drops the source's
	// own: the connector deletes the row by key and adds no column, so the
	// excluded email never appears.
	offsets := h.produce(
		d.event(topic, "d", customer(2, "Grace", "grace@example.com"), nil),
		d.tombstone(topic, map[string]any{"id": int64(2)}),
	)
	waitWritten(t, r, 4)
	h.waitCommitted("connect-customers-sink", topic, offsets[1]+1)
	got = h.strings(`SELECT concat_ws('|', id, '"' || name || '"') FROM shop_public_customers ORDER BY id`)
	if want := []string{`1|""`}; !slices.Equal(got, want) {
		t.Errorf("rows: got %q, want %q", got, want)
	}
	for _, c := range h.columns("shop_public_customers") {
		if strings.HasPrefix(c, "email ") {
			t.Errorf("the excluded column appeared with the delete: %s", c)
		}
	}
}

// Names come from topics, fields, settings and data: they are always quoted
// and can never change the statements.
func TestJDBCSinkQuotesHostileNames(t *testing.T) {
	t.Parallel()
	h := newSinkHarness(t)
	h.exec(`CREATE TABLE sentinel (id int)`)
	const quoted, folded = "shop.public.odd-names", "shop.public.MixedCase"
	h.createTopic(quoted, folded)
	hostileField := `we"ird; DROP TABLE sentinel; --`
	d := newDBZTable("shop", "odd", []*Schema{
		{Type: TypeInt32, Field: "Id"},
		{Type: TypeString, Optional: true, Field: hostileField},
		{Type: TypeString, Optional: true, Field: "select"},
	}, "Id")
	h.produce(
		d.flat(quoted, map[string]any{"Id": int64(1), hostileField: `x'); DROP TABLE sentinel; --`, "select": "s"}),
		d.flat(folded, map[string]any{"Id": int64(2), hostileField: "y", "select": "t"}),
	)
	// A quoted part may hold anything; an unquoted one anything but
	// whitespace and dots, as Debezium parses collection names.
	a := h.start("quoted", h.config(quoted, map[string]string{
		"insert.mode": "upsert", "primary.key.mode": "record_key", "quote.identifiers": "true",
		"collection.name.format": `"evil""; DROP TABLE sentinel; --${topic}"`,
	}))
	b := h.start("folded", h.config(folded, map[string]string{
		"insert.mode": "upsert", "primary.key.mode": "record_key",
		"collection.name.format": `Evil";DROP/**/TABLE/**/sentinel;--${topic}`,
	}))
	waitWritten(t, a, 1)
	waitWritten(t, b, 1)

	quotedTable := `evil"; DROP TABLE sentinel; --shop_public_odd-names`
	if got, want := h.columns(quotedTable), []string{"Id integer not null", hostileField + " text", "select text"}; !slices.Equal(got, want) {
		t.Errorf("quoted columns: got %q, want %q", got, want)
	}
	got := h.strings(`SELECT ` + pgx.Identifier{hostileField}.Sanitize() + ` FROM ` + pgx.Identifier{quotedTable}.Sanitize())
	if want := []string{`x'); DROP TABLE sentinel; --`}; !slices.Equal(got, want) {
		t.Errorf("quoted rows: got %q, want %q", got, want)
	}
	foldedTable := `evil";drop/**/table/**/sentinel;--shop_public_mixedcase`
	if got, want := h.columns(foldedTable), []string{"id integer not null", strings.ToLower(hostileField) + " text", "select text"}; !slices.Equal(got, want) {
		t.Errorf("folded columns: got %q, want %q", got, want)
	}
	if got := h.strings(`SELECT to_regclass('sentinel')::text`); !slices.Equal(got, []string{"sentinel"}) {
		t.Errorf("the sentinel table is gone: %q", got)
	}
}

func TestJDBCSinkDeadLettersBadRecords(t *testing.T) {
	t.Parallel()
	h := newSinkHarness(t)
	const topic, dlq = "shop.public.customers", "customers-dlq"
	h.createTopic(topic)
	h.exec(`CREATE TABLE customers (id integer PRIMARY KEY, name text CHECK (name <> 'reject'), email text, balance numeric(10,2),
		born date, updated_at timestamptz, seen_at timestamp, prefs json, ref uuid, active boolean, score double precision, photo bytea)`)
	d := newDBZTable("shop", "customers", customersRow(), "id")
	withPhoto := customer(3, "Pic", "pic@example.com")
	withPhoto["photo"] = []byte{0xff, 0xd8}
	bad := &kgo.Record{Topic: topic, Key: []byte(`{"schema":{"type":"int32","optional":false},"payload":4}`), Value: []byte("not json"),
		Headers: []kgo.RecordHeader{{Key: "origin", Value: []byte("test")}}}
	offsets := h.produce(
		d.event(topic, "c", nil, customer(1, "Ada", "ada@example.com")),
		bad,
		d.event(topic, "c", nil, withPhoto),
		d.event(topic, "c", nil, customer(5, "reject", "r@example.com")),
		d.event(topic, "c", nil, customer(6, "Grace", "grace@example.com")),
	)
	r := h.start("customers-sink", h.config(topic, map[string]string{
		"insert.mode":                                   "upsert",
		"primary.key.mode":                              "record_key",
		"collection.name.format":                        "customers",
		"transforms":                                    "unwrap,mask",
		"transforms.unwrap.type":                        "io.debezium.transforms.ExtractNewRecordState",
		"transforms.unwrap.add.fields":                  "op",
		"transforms.mask.type":                          "org.apache.kafka.connect.transforms.MaskField$Value",
		"transforms.mask.fields":                        "photo",
		"errors.tolerance":                              "all",
		"errors.deadletterqueue.topic.name":             dlq,
		"errors.deadletterqueue.context.headers.enable": "true",
	}))
	h.waitCommitted("connect-customers-sink", topic, offsets[len(offsets)-1]+1)
	r.running(t)
	if got := h.strings(`SELECT id || ':' || name FROM customers ORDER BY id`); !slices.Equal(got, []string{"1:Ada", "6:Grace"}) {
		t.Errorf("rows: %q", got)
	}

	dead := readDeadLetters(t, h, dlq, 3)
	wantStages := []struct {
		offset          int64
		stage, class    string
		exception, text string
	}{
		{offsets[1], "VALUE_CONVERTER", jsonConverterClass, dataExceptionClass, "Converting byte[] to Kafka Connect data failed"},
		{offsets[2], "TRANSFORMATION", maskFieldValueClass, dataExceptionClass, "Cannot mask value of type: class [B"},
		{offsets[3], "TASK_PUT", jdbcSinkTaskClass, connectExceptionClass, "violates check constraint"},
	}
	for i, w := range wantStages {
		rec := dead[i]
		hd := map[string]string{}
		for _, x := range rec.Headers {
			hd[x.Key] = string(x.Value)
		}
		for k, v := range map[string]string{
			"__connect.errors.topic":                topic,
			"__connect.errors.partition":            "0",
			"__connect.errors.offset":               fmt.Sprint(w.offset),
			"__connect.errors.connector.name":       "customers-sink",
			"__connect.errors.task.id":              "0",
			"__connect.errors.stage":                w.stage,
			"__connect.errors.class.name":           w.class,
			"__connect.errors.exception.class.name": w.exception,
		} {
			if hd[k] != v {
				t.Errorf("dead letter %d: header %s = %q, want %q", i, k, hd[k], v)
			}
		}
		if !strings.Contains(hd["__connect.errors.exception.message"], w.text) {
			t.Errorf("dead letter %d: message %q lacks %q", i, hd["__connect.errors.exception.message"], w.text)
		}
	}
	if string(dead[0].Value) != "not json" || string(dead[0].Key) != string(bad.Key) || dead[0].Headers[0].Key != "origin" {
		t.Errorf("the dead letter is not the original record: %q %q %v", dead[0].Key, dead[0].Value, dead[0].Headers)
	}
}

// readDeadLetters reads the first n records of the dead letter queue.
func readDeadLetters(t *testing.T, h *sinkHarness, topic string, n int) []*kgo.Record {
	t.Helper()
	cl := topicReader(t, h.cluster, topic)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		f := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d dead letters, want %d", len(out), n)
		}
		out = append(out, f.Records()...)
	}
	return out
}

func TestJDBCSinkFailsWithoutErrorTolerance(t *testing.T) {
	t.Parallel()
	h := newSinkHarness(t)
	const converterTopic, dbTopic = "shop.public.converter", "shop.public.db"
	h.createTopic(converterTopic, dbTopic)
	d := newDBZTable("shop", "customers", customersRow(), "id")
	h.exec(`CREATE TABLE rejecting (id integer PRIMARY KEY, name text NOT NULL)`)

	badOffset := h.produce(
		d.event(converterTopic, "c", nil, customer(1, "Ada", "ada@example.com")),
		&kgo.Record{Topic: converterTopic, Value: []byte(`{"payload":{"id":1}}`)},
	)[1]
	a := h.start("converter", h.config(converterTopic, map[string]string{"insert.mode": "upsert", "primary.key.mode": "record_key"}))
	err := a.failed(t)
	if !strings.Contains(err.Error(), "Tolerance exceeded in error handler") || !strings.Contains(err.Error(), "VALUE_CONVERTER") {
		t.Errorf("error: %v", err)
	}
	if got := h.committed("connect-converter", converterTopic); got > badOffset {
		t.Errorf("the failed record's offset was committed: %d", got)
	}

	rejected := customer(2, "", "grace@example.com")
	rejected["name"] = nil
	badOffset = h.produce(
		d.event(dbTopic, "c", nil, customer(1, "Ada", "ada@example.com")),
		d.event(dbTopic, "c", nil, rejected),
	)[1]
	b := h.start("db", h.config(dbTopic, map[string]string{
		"insert.mode": "upsert", "primary.key.mode": "record_key", "collection.name.format": "rejecting",
		"field.include.list": "id,name",
	}))
	err = b.failed(t)
	if !strings.Contains(err.Error(), "JDBC sink connector failure") || !strings.Contains(err.Error(), "not-null") {
		t.Errorf("error: %v", err)
	}
	if strings.Contains(err.Error(), h.password) && h.password != "" {
		t.Errorf("the error carries the password: %v", err)
	}
	if got := h.committed("connect-db", dbTopic); got > badOffset {
		t.Errorf("the failed record's offset was committed: %d", got)
	}
}

func TestJDBCSinkResumesFromCommittedOffsets(t *testing.T) {
	t.Parallel()
	h := newSinkHarness(t)
	const topic = "shop.public.customers"
	h.createTopic(topic)
	d := newDBZTable("shop", "customers", customersRow(), "id")
	// insert.mode=insert: a record written twice would fail on the key.
	cfg := h.config(topic, map[string]string{"insert.mode": "insert", "primary.key.mode": "record_key"})
	var offsets []int64
	for i := int64(1); i <= 3; i++ {
		offsets = append(offsets, h.produce(d.event(topic, "c", nil, customer(i, fmt.Sprint("c", i), "")))...)
	}
	first := h.start("customers-sink", cfg)
	waitWritten(t, first, 3)
	h.waitCommitted("connect-customers-sink", topic, offsets[2]+1)
	if err := first.stop(t); err != nil {
		t.Fatalf("stopping: %v", err)
	}
	for i := int64(4); i <= 6; i++ {
		offsets = append(offsets, h.produce(d.event(topic, "c", nil, customer(i, fmt.Sprint("c", i), "")))...)
	}
	second := h.start("customers-sink", cfg)
	waitWritten(t, second, 3)
	h.waitCommitted("connect-customers-sink", topic, offsets[5]+1)
	if got := h.strings(`SELECT string_agg(name, ',' ORDER BY id) FROM shop_public_customers`); !slices.Equal(got, []string{"c1,c2,c3,c4,c5,c6"}) {
		t.Errorf("rows: %q", got)
	}
}

// The group's offsets move only once the rows they cover are committed:
// while the table is locked, the record is consumed but not committed, and
// the task reports it as lag.
func TestJDBCSinkCommitsOffsetsAfterTheDatabase(t *testing.T) {
	t.Parallel()
	h := newSinkHarness(t)
	const topic = "shop.public.customers"
	h.createTopic(topic)
	d := newDBZTable("shop", "customers", customersRow(), "id")
	first := h.produce(d.event(topic, "c", nil, customer(1, "Ada", "")))[0]
	r := h.start("customers-sink", h.config(topic, map[string]string{"insert.mode": "upsert", "primary.key.mode": "record_key"}))
	waitWritten(t, r, 1)
	h.waitCommitted("connect-customers-sink", topic, first+1)

	ctx := context.Background()
	lock, err := h.db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback(ctx)
	if _, err := lock.Exec(ctx, `LOCK TABLE shop_public_customers IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	second := h.produce(d.event(topic, "c", nil, customer(2, "Grace", "")))[0]
	eventually(t, "the sink waiting on the lock", func() (bool, string) {
		n := h.strings(`SELECT count(*)::text FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)
		return n[0] != "0", "no session waits on a lock"
	})
	eventually(t, "lag while blocked", func() (bool, string) {
		l := r.task.lag()
		return l != nil && l.Behind == 1, fmt.Sprintf("lag %+v", l)
	})
	if got := h.committed("connect-customers-sink", topic); got != first+1 {
		t.Errorf("committed %d before the database committed the row, want %d", got, first+1)
	}
	if err := lock.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	waitWritten(t, r, 2)
	h.waitCommitted("connect-customers-sink", topic, second+1)
	eventually(t, "lag", func() (bool, string) {
		l := r.task.lag()
		return l != nil && l.Behind == 0, fmt.Sprintf("lag %+v", l)
	})
}

// A connection lost in the middle of a write is retried, not fatal.
func TestJDBCSinkSurvivesALostConnection(t *testing.T) {
	t.Parallel()
	h := newSinkHarness(t)
	const topic = "shop.public.customers"
	h.createTopic(topic)
	d := newDBZTable("shop", "customers", customersRow(), "id")
	h.produce(d.event(topic, "c", nil, customer(1, "Ada", "")))
	r := h.start("customers-sink", h.config(topic, map[string]string{"insert.mode": "insert", "primary.key.mode": "record_key"}))
	waitWritten(t, r, 1)

	ctx := context.Background()
	lock, err := h.db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback(ctx)
	if _, err := lock.Exec(ctx, `LOCK TABLE shop_public_customers IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	second := h.produce(d.event(topic, "c", nil, customer(2, "Grace", "")))[0]
	var pid []string
	eventually(t, "the sink waiting on the lock", func() (bool, string) {
		pid = h.strings(`SELECT pid::text FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)
		return len(pid) == 1, fmt.Sprintf("sessions waiting: %q", pid)
	})
	h.exec(`SELECT pg_terminate_backend($1::int)`, pid[0])
	if err := lock.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	waitWritten(t, r, 2)
	h.waitCommitted("connect-customers-sink", topic, second+1)
	r.task.run.mu.Lock()
	state, trace := r.task.run.state, r.task.run.trace
	r.task.run.mu.Unlock()
	if state != "RUNNING" || trace != "" {
		t.Errorf("state %s, trace %q", state, trace)
	}
	if got := h.strings(`SELECT string_agg(name, ',' ORDER BY id) FROM shop_public_customers`); !slices.Equal(got, []string{"Ada,Grace"}) {
		t.Errorf("rows: %q", got)
	}
}

func TestJDBCSinkSchemaEvolution(t *testing.T) {
	t.Parallel()
	h := newSinkHarness(t)
	const missing, evolving = "shop.public.missing", "shop.public.evolving"
	h.createTopic(missing, evolving)
	v1 := newDBZTable("shop", "evolving", []*Schema{
		{Type: TypeInt64, Field: "id"},
		{Type: TypeString, Field: "name"},
	}, "id")
	v2 := newDBZTable("shop", "evolving", []*Schema{
		{Type: TypeInt64, Field: "id"},
		{Type: TypeString, Field: "name"},
		{Type: TypeInt16, Optional: true, Field: "age"},
	}, "id")

	h.produce(v1.event(missing, "c", nil, map[string]any{"id": int64(1), "name": "Ada"}))
	a := h.start("none", h.config(missing, map[string]string{
		"insert.mode": "upsert", "primary.key.mode": "record_key", "schema.evolution": "none",
	}))
	if err := a.failed(t); !strings.Contains(err.Error(), "schema evolution is disabled") {
		t.Errorf("error: %v", err)
	}

	h.produce(
		v1.event(evolving, "c", nil, map[string]any{"id": int64(1), "name": "Ada"}),
		v2.event(evolving, "c", nil, map[string]any{"id": int64(2), "name": "Grace", "age": int64(85)}),
	)
	b := h.start("basic", h.config(evolving, map[string]string{
		"insert.mode": "upsert", "primary.key.mode": "record_key", "schema.evolution": "basic",
	}))
	waitWritten(t, b, 2)
	if got, want := h.columns("shop_public_evolving"), []string{"id bigint not null", "name text not null", "age smallint"}; !slices.Equal(got, want) {
		t.Errorf("columns: got %q, want %q", got, want)
	}
	if got := h.strings(`SELECT concat_ws('|', id, name, age) FROM shop_public_evolving ORDER BY id`); !slices.Equal(got, []string{"1|Ada", "2|Grace|85"}) {
		t.Errorf("rows: %q", got)
	}
}

func TestJDBCSinkPrimaryKeyModesAndFieldFilters(t *testing.T) {
	t.Parallel()
	h := newSinkHarness(t)
	const kafkaTopic, valueTopic = "shop.public.kafka", "shop.public.value"
	h.createTopic(kafkaTopic, valueTopic)
	d := newDBZTable("shop", "customers", customersRow(), "id")
	h.produce(
		d.event(kafkaTopic, "c", nil, customer(1, "Ada", "ada@example.com")),
		d.event(kafkaTopic, "u", nil, customer(1, "Ada L", "ada@example.com")),
		d.event(valueTopic, "c", nil, customer(1, "Ada", "ada@example.com")),
		d.event(valueTopic, "u", nil, customer(1, "Ada L", "ada@example.com")),
	)
	a := h.start("kafka", h.config(kafkaTopic, map[string]string{
		"primary.key.mode": "kafka", "transforms": "unwrap", "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
		"field.include.list": "name," + kafkaTopic + ":id",
	}))
	b := h.start("value", h.config(valueTopic, map[string]string{
		"insert.mode": "upsert", "primary.key.mode": "record_value", "primary.key.fields": "id",
		"transforms": "unwrap", "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
		"field.exclude.list": valueTopic + ":email,balance,born,updated_at,seen_at,prefs,ref,active,score,photo",
	}))
	waitWritten(t, a, 2)
	waitWritten(t, b, 2)
	if got, want := h.columns("shop_public_kafka"), []string{"__connect_topic text not null", "__connect_partition integer not null",
		"__connect_offset bigint not null", "id integer not null", "name text"}; !slices.Equal(got, want) {
		t.Errorf("kafka columns: got %q, want %q", got, want)
	}
	if got := h.primaryKey("shop_public_kafka"); !slices.Equal(got, []string{"__connect_topic", "__connect_partition", "__connect_offset"}) {
		t.Errorf("kafka primary key: %q", got)
	}
	if got := h.strings(`SELECT concat_ws('|', __connect_offset, id, name) FROM shop_public_kafka ORDER BY 1`); !slices.Equal(got, []string{"0|1|Ada", "1|1|Ada L"}) {
		t.Errorf("kafka rows: %q", got)
	}
	if got, want := h.columns("shop_public_value"), []string{"id integer not null", "name text"}; !slices.Equal(got, want) {
		t.Errorf("record_value columns: got %q, want %q", got, want)
	}
	if got := h.strings(`SELECT concat_ws('|', id, name) FROM shop_public_value`); !slices.Equal(got, []string{"1|Ada L"}) {
		t.Errorf("record_value rows: %q", got)
	}
}

// A stopped database is waited for, with the reason in the task's trace.
func TestJDBCSinkRetriesAnUnreachableDatabase(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	task := &Task{Name: "unreachable", Config: map[string]string{
		"connector.class":     JDBCSink,
		"topics":              "t",
		"connection.url":      "jdbc:postgresql://" + addr + "/shop?connectTimeout=2",
		"connection.username": "sink",
		"connection.password": "s3cret-pw",
	}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), StateDir: t.TempDir(), run: &run{}}
	r := startSinkTask(t, task)
	eventually(t, "retrying", func() (bool, string) {
		task.run.mu.Lock()
		defer task.run.mu.Unlock()
		return strings.HasPrefix(task.run.trace, "retrying: connecting to PostgreSQL"), fmt.Sprintf("trace %q", task.run.trace)
	})
	task.run.mu.Lock()
	trace := task.run.trace
	task.run.mu.Unlock()
	if strings.Contains(trace, "s3cret-pw") {
		t.Errorf("the trace carries the password: %s", trace)
	}
	r.running(t)
	if err := r.stop(t); err != nil {
		t.Errorf("stopping: %v", err)
	}
}

func TestJDBCSinkWritesToPostgreSQLOnly(t *testing.T) {
	t.Parallel()
	for _, u := range []string{
		"jdbc:mysql://db:3306/shop?user=root&password=s3cret-pw",
		"jdbc:sqlserver://db:1433;databaseName=shop;password=s3cret-pw",
		"jdbc:oracle:thin:@db:1521/shop",
		"postgres://db/shop?password=s3cret-pw",
	} {
		task := &Task{Name: "other", Config: map[string]string{
			"connector.class": JDBCSink, "topics": "t", "connection.url": u, "connection.username": "sink", "connection.password": "s3cret-pw",
		}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), StateDir: t.TempDir(), run: &run{}}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := runJDBCSink(ctx, task)
		cancel()
		if err == nil || !strings.Contains(err.Error(), "writes to PostgreSQL only") {
			t.Errorf("%s: error %v", strings.SplitN(u, ":", 3)[1], err)
		} else if strings.Contains(err.Error(), "s3cret-pw") {
			t.Errorf("the error carries the password: %v", err)
		}
	}
}

func TestJDBCSinkRefusesConfigurations(t *testing.T) {
	t.Parallel()
	base := map[string]string{"topics": "t", "connection.url": "jdbc:postgresql://db/shop", "connection.username": "u"}
	for _, tc := range []struct {
		extra map[string]string
		want  string
	}{
		{map[string]string{"delete.enabled": "true"}, "'primary.key.mode' option must be set to 'record_key'"},
		{map[string]string{"insert.mode": "upsert"}, "please define 'primary.key.mode'"},
		{map[string]string{"field.include.list": "a", "field.exclude.list": "b"}, "Cannot define both"},
		{map[string]string{"primary.key.mode": "record_header"}, "record_header is not run"},
		{map[string]string{"topics": ""}, "Must configure one of topics or topics.regex"},
		{map[string]string{"value.converter": "io.confluent.connect.avro.AvroConverter"}, "value.converter"},
		{map[string]string{"transforms": "x", "transforms.x.type": "org.apache.kafka.connect.transforms.Flatten$Value"}, "transform org.apache.kafka.connect.transforms.Flatten$Value is not run by the sandbox"},
		{map[string]string{"errors.deadletterqueue.topic.name": "t"}, "may not be included"},
	} {
		c := map[string]string{}
		for k, v := range base {
			c[k] = v
		}
		for k, v := range tc.extra {
			c[k] = v
		}
		task := &Task{Name: "refused", Config: c, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), run: &run{}}
		err := runJDBCSink(context.Background(), task)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.extra, err, tc.want)
		}
	}
}

func TestJDBCSinkParsesPgJDBCURLs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url, want, user, password string
	}{
		{"jdbc:postgresql://db:5433/shop", "postgres://db:5433/shop?connect_timeout=10&sslmode=prefer", "", ""},
		{"jdbc:postgresql://db/shop?sslmode=disable&currentSchema=sales&ApplicationName=sink&user=u&password=p",
			"postgres://db/shop?application_name=sink&connect_timeout=10&search_path=sales&sslmode=disable", "u", "p"},
		{"jdbc:postgresql://h1:5432,h2:5433/shop?ssl=true&targetServerType=primary&connectTimeout=3",
			"postgres://h1:5432,h2:5433/shop?connect_timeout=3&sslmode=verify-full&target_session_attrs=primary", "", ""},
		{"jdbc:postgresql:shop", "postgres://localhost:5432/shop?connect_timeout=10&sslmode=prefer", "", ""},
		{"jdbc:postgresql://[::1]:5432/my%20db", "postgres://[::1]:5432/my%20db?connect_timeout=10&sslmode=prefer", "", ""},
	} {
		got, err := parseJDBCURL(tc.url)
		if err != nil {
			t.Errorf("%s: %v", tc.url, err)
			continue
		}
		if got.connString != tc.want || got.user != tc.user || got.password != tc.password {
			t.Errorf("%s:\n got %s %q %q\nwant %s %q %q", tc.url, got.connString, got.user, got.password, tc.want, tc.user, tc.password)
		}
	}
	pc, err := sinkPoolConfig(map[string]string{"connection.url": "jdbc:postgresql://db/shop?user=u&password=p",
		"connection.username": "sink", "connection.password": "pw"})
	if err != nil {
		t.Fatal(err)
	}
	if pc.ConnConfig.User != "sink" || pc.ConnConfig.Password != "pw" || pc.ConnConfig.Database != "shop" || pc.MaxConns != 1 {
		t.Errorf("pool config: user %q database %q max %d", pc.ConnConfig.User, pc.ConnConfig.Database, pc.MaxConns)
	}
}

func TestJDBCSinkRendersValues(t *testing.T) {
	t.Parallel()
	dec := func(scale string) *Schema {
		return &Schema{Type: TypeBytes, Name: decimalSchema, Parameters: map[string]string{"scale": scale}}
	}
	for _, tc := range []struct {
		schema *Schema
		value  any
		want   any
	}{
		{dec("2"), []byte{0x04, 0xd2}, "12.34"},
		{dec("2"), []byte{0xfb, 0x2e}, "-12.34"},
		{dec("4"), []byte{0x01}, "0.0001"},
		{dec("0"), []byte{0x00}, "0"},
		{dec("-2"), []byte{0x05}, "500"},
		{dec("2"), decimalString("7.5"), "7.5"},
		{&Schema{Type: TypeStruct, Name: "io.debezium.data.VariableScaleDecimal", Fields: []*Schema{{Type: TypeInt32, Field: "scale"}, {Type: TypeBytes, Field: "value"}}},
			&Struct{Schema: &Schema{Fields: []*Schema{{Field: "scale"}, {Field: "value"}}}, Values: []any{int64(3), []byte{0x30, 0x39}}}, "12.345"},
		{&Schema{Type: TypeInt32, Name: "io.debezium.time.Date"}, int64(0), "1970-01-01"},
		{&Schema{Type: TypeInt32, Name: "io.debezium.time.Date"}, int64(-719163), "0001-12-31 BC"},
		{&Schema{Type: TypeInt64, Name: "io.debezium.time.MicroTimestamp"}, int64(1500), "1970-01-01 00:00:00.001500"},
		{&Schema{Type: TypeInt64, Name: "io.debezium.time.Timestamp"}, int64(-1), "1969-12-31 23:59:59.999000"},
		{&Schema{Type: TypeInt64, Name: "io.debezium.time.MicroTime"}, int64(3723000004), "01:02:03.000004"},
		{&Schema{Type: TypeInt64, Name: "io.debezium.time.MicroDuration"}, int64(1500000), "1500000 microseconds"},
		{&Schema{Type: TypeFloat32}, float64(float32(0.1)), "0.1"},
		{&Schema{Type: TypeBytes}, []byte{0xde, 0xad}, `\xdead`},
		{&Schema{Type: TypeBoolean}, false, "false"},
		{&Schema{Type: TypeString}, nil, nil},
	} {
		got, err := sinkSQLValue(tc.schema, tc.value)
		if err != nil || got != tc.want {
			t.Errorf("%s %v: got %v (%v), want %v", tc.schema.Name, tc.value, got, err, tc.want)
		}
	}
	if _, err := sinkSQLValue(&Schema{Type: "array"}, json.RawMessage("[1]")); err == nil {
		t.Error("an array value was rendered")
	}
}

// The converter refuses what JsonConverter refuses, as a DataException.
func TestJDBCSinkConvertsJSON(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{`not json`, "Converting byte[] to Kafka Connect data failed"},
		{`{"payload":{"id":1}}`, "has no schema"},
		{`{"schema":{"type":"int32","optional":false},"payload":null}`, "Invalid null value for required INT32 field"},
		{`{"schema":{"type":"int16","optional":false},"payload":70000}`, "Invalid value 70000"},
		{`{"schema":{"type":"struct","fields":[{"type":"string","optional":false,"field":"a"}],"optional":false},"payload":{"a":1}}`, "Invalid JSON for a STRING field"},
	} {
		_, _, err := jsonToConnect([]byte(tc.in))
		var se *smtError
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.As(err, &se) || se.exception != dataExceptionClass {
			t.Errorf("%s: error %v, want %q", tc.in, err, tc.want)
		}
	}
	s, v, err := jsonToConnect([]byte(`{"schema":{"type":"struct","fields":[{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"1"},"field":"d"},{"type":"array","optional":true,"field":"xs"}],"optional":false},"payload":{"d":"AQ==","xs":[1,2]}}`))
	if err != nil {
		t.Fatal(err)
	}
	st := v.(*Struct)
	if s.Type != TypeStruct || string(st.Get("d").([]byte)) != "\x01" || string(st.Get("xs").(json.RawMessage)) != "[1,2]" {
		t.Errorf("converted %#v", st.Values)
	}
}
