package connectrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/meshplane/meshplane/server/sandbox/internal/atomicfile"
)

// DebeziumVersion is the connector version change events name in their
// source block.
const DebeziumVersion = "3.6.1.Final"

// unavailablePlaceholder is what Debezium writes for a TOASTed value an
// update left unchanged (unavailable.value.placeholder's default).
const unavailablePlaceholder = "__debezium_unavailable_value"

// flushInterval is how often the source flushes its producer and confirms
// the flushed position to the replication slot (a worker's
// offset.flush.interval.ms, 60 s by default, is far longer).
const flushInterval = 250 * time.Millisecond

// pgSettings are the PostgreSQL connector settings the sandbox honours.
type pgSettings struct {
	prefix          string
	slot            string
	publication     string
	autocreate      string
	snapshotMode    string
	heartbeat       time.Duration
	heartbeatPrefix string
	tombstones      bool
	skipped         map[string]bool
	dropSlotOnStop  bool
	typeOpts        typeOptions
	filters         filters
	mappers         []mapper
	keyRules        []keyColumnRule
	routers         []regexRouter
	placeholder     string
	connURL         string
	replicationURL  string
}

func parsePGSettings(cfg map[string]string) (pgSettings, error) {
	s := pgSettings{
		prefix:          strings.TrimSpace(cfg["topic.prefix"]),
		slot:            orDefault(cfg["slot.name"], "debezium"),
		publication:     orDefault(cfg["publication.name"], "dbz_publication"),
		autocreate:      orDefault(cfg["publication.autocreate.mode"], "all_tables"),
		snapshotMode:    orDefault(cfg["snapshot.mode"], "initial"),
		heartbeatPrefix: orDefault(cfg["topic.heartbeat.prefix"], "__debezium-heartbeat"),
		tombstones:      orDefault(cfg["tombstones.on.delete"], "true") == "true",
		dropSlotOnStop:  orDefault(cfg["slot.drop.on.stop"], "false") == "true",
		placeholder:     orDefault(cfg["unavailable.value.placeholder"], unavailablePlaceholder),
		typeOpts: typeOptions{
			decimal: orDefault(cfg["decimal.handling.mode"], "precise"),
			binary:  orDefault(cfg["binary.handling.mode"], "bytes"),
		},
		skipped: map[string]bool{},
	}
	if s.prefix == "" {
		return s, errors.New("setting topic.prefix is required")
	}
	if p := orDefault(cfg["plugin.name"], "pgoutput"); p != "pgoutput" {
		return s, fmt.Errorf("setting plugin.name: the sandbox decodes pgoutput only, not %s", p)
	}
	if ms, err := strconv.Atoi(orDefault(cfg["heartbeat.interval.ms"], "0")); err == nil && ms > 0 {
		s.heartbeat = time.Duration(ms) * time.Millisecond
	}
	for _, op := range strings.Split(orDefault(cfg["skipped.operations"], "t"), ",") {
		if op = strings.TrimSpace(op); op != "" && op != "none" {
			s.skipped[op] = true
		}
	}
	var err error
	if s.filters, err = parseFilters(cfg); err != nil {
		return s, err
	}
	if s.mappers, err = parseMappers(cfg); err != nil {
		return s, err
	}
	if s.keyRules, err = parseKeyColumns(cfg["message.key.columns"]); err != nil {
		return s, err
	}
	if s.routers, err = sourceTransforms(cfg); err != nil {
		return s, err
	}
	port := orDefault(cfg["database.port"], "5432")
	u := url.URL{
		Scheme: "postgres",
		User:   url.UserPassword(cfg["database.user"], cfg["database.password"]),
		Host:   strings.TrimSpace(cfg["database.hostname"]) + ":" + strings.TrimSpace(port),
		Path:   "/" + strings.TrimSpace(cfg["database.dbname"]),
	}
	q := url.Values{}
	q.Set("sslmode", orDefault(cfg["database.sslmode"], "prefer"))
	q.Set("application_name", "meshplane-sandbox-debezium")
	q.Set("connect_timeout", "10")
	u.RawQuery = q.Encode()
	s.connURL = u.String()
	q.Set("replication", "database")
	u.RawQuery = q.Encode()
	s.replicationURL = u.String()
	return s, nil
}

func orDefault(v, def string) string {
	if v = strings.TrimSpace(v); v == "" {
		return def
	}
	return v
}

// offsets are the source's committed position: the sandbox's stand-in for
// the record a worker keeps in its offsets topic.
type offsets struct {
	SnapshotCompleted bool   `json:"snapshot_completed"`
	LSN               uint64 `json:"lsn"`
	Slot              string `json:"slot"`
	// System and Database identify the cluster (its system identifier) and
	// the database the offsets were taken from.
	System   string `json:"system"`
	Database string `json:"database"`
}

func (t *Task) offsetsPath() string { return filepath.Join(t.StateDir, "offsets.json") }

func (t *Task) readOffsets() (offsets, error) {
	var o offsets
	data, err := os.ReadFile(t.offsetsPath())
	if errors.Is(err, os.ErrNotExist) {
		return o, nil
	}
	if err != nil {
		return o, fmt.Errorf("reading the connector's offsets: %w", err)
	}
	if err := json.Unmarshal(data, &o); err != nil {
		return o, fmt.Errorf("reading the connector's offsets: %w", err)
	}
	return o, nil
}

func (t *Task) writeOffsets(o offsets) error {
	data, _ := json.Marshal(o)
	if err := atomicfile.Write(t.offsetsPath(), data, 0o600); err != nil {
		return fmt.Errorf("saving the connector's offsets: %w", err)
	}
	return nil
}

// pgSource is one run of the PostgreSQL source connector.
type pgSource struct {
	t   *Task
	s   pgSettings
	cl  *kgo.Client
	db  *pgx.Conn
	rep *pgconn.PgConn

	tables map[uint32]*table

	produceMu  sync.Mutex
	produceErr error

	// marks are positions waiting for the broker to acknowledge the
	// records produced before them, oldest first; records count against
	// open until a commit closes it.
	markMu sync.Mutex
	marks  []*mark
	open   *mark
	// slotConfirmed is the slot's confirmed position when streaming began.
	slotConfirmed pglogrepl.LSN
	// offsetsSaved is when the offsets file was last written, and saved
	// the position it holds.
	offsetsSaved time.Time
	saved        uint64

	// Streaming position.
	inTxn      bool
	txID       int64
	commitTime time.Time
	lastCommit pglogrepl.LSN
	processed  pglogrepl.LSN // everything up to here is produced
	confirmed  pglogrepl.LSN // flushed to Kafka and confirmed to the slot
	serverEnd  pglogrepl.LSN
	offsets    offsets
}

// runPostgresSource runs io.debezium.connector.postgresql.PostgresConnector:
// it makes sure the publication and the replication slot exist, takes the
// initial snapshot the snapshot mode asks for, then streams changes from
// the slot with pgoutput, writing change events as the JSON converter does.
// The position confirmed to the slot only ever covers events the broker has
// acknowledged, so a restart resumes without losing any (and may repeat a
// few, as Debezium may).
//
// A lost database connection (a restarted server, a terminated session) is
// retried with backoff, the run staying RUNNING with the error as its trace;
// the slot makes the next attempt resume where the last one was confirmed.
func runPostgresSource(ctx context.Context, t *Task) error {
	s, err := parsePGSettings(t.Config)
	if err != nil {
		return err
	}
	backoff := time.Second
	for {
		err := runPostgresSourceOnce(ctx, t, s)
		if err == nil || ctx.Err() != nil {
			return nil
		}
		if !isPGConnectionError(err) && !isSlotActive(err) {
			return err
		}
		t.Log.Warn("source lost its database connection; retrying", "err", err, "in", backoff)
		t.Retrying(err)
		if !sleepCtx(ctx, backoff) {
			return nil
		}
		backoff = nextBackoff(backoff)
	}
}

// runPostgresSourceOnce is one attempt: connect, publication, slot,
// snapshot when needed, stream.
func runPostgresSourceOnce(ctx context.Context, t *Task, s pgSettings) error {
	var err error
	src := &pgSource{t: t, s: s, tables: map[uint32]*table{}}
	defer src.close()
	opts := append(slices.Clone(t.Kafka),
		kgo.ProducerLinger(0),
		kgo.RecordDeliveryTimeout(30*time.Second),
		kgo.ProducerBatchCompression(kgo.NoCompression()),
	)
	if src.cl, err = kgo.NewClient(opts...); err != nil {
		return fmt.Errorf("creating the producer: %w", err)
	}
	if src.offsets, err = t.readOffsets(); err != nil {
		return err
	}
	if err := src.connect(ctx); err != nil {
		return err
	}
	sys, err := pglogrepl.IdentifySystem(ctx, src.rep)
	if err != nil {
		return fmt.Errorf("identifying the source database: %w", err)
	}
	if err := src.ensurePublication(ctx); err != nil {
		return err
	}
	created, snapshotName, consistent, err := src.ensureSlot(ctx)
	if err != nil {
		return err
	}
	here := offsets{Slot: s.slot, System: sys.SystemID, Database: t.Config["database.dbname"]}
	if src.offsets.Slot != here.Slot || src.offsets.System != here.System || src.offsets.Database != here.Database {
		// Offsets of another slot, database or cluster (one recreated
		// under the same name, say) say nothing about this one.
		src.offsets = here
	}
	if src.needsSnapshot(created) {
		if err := src.snapshot(ctx, snapshotName, consistent); err != nil {
			return err
		}
	}
	if s.snapshotMode == "initial_only" {
		// The snapshot is all this mode takes; the task idles until stopped.
		src.t.Behind("wal_bytes", 0)
		<-ctx.Done()
		return nil
	}
	err = src.stream(ctx)
	if ctx.Err() != nil && s.dropSlotOnStop {
		src.dropSlot()
	}
	return err
}

func (src *pgSource) close() {
	if src.cl != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = src.cl.Flush(ctx)
		cancel()
		src.cl.Close()
	}
	if src.db != nil {
		src.db.Close(context.Background())
	}
	if src.rep != nil {
		src.rep.Close(context.Background())
	}
}

// sessionParams make the server's text output the forms convert reads.
var sessionParams = map[string]string{
	"DateStyle":          "ISO, YMD",
	"TimeZone":           "UTC",
	"IntervalStyle":      "postgres",
	"extra_float_digits": "3",
	"bytea_output":       "hex",
}

func (src *pgSource) connect(ctx context.Context) error {
	cfg, err := pgx.ParseConfig(src.s.connURL)
	if err != nil {
		return fmt.Errorf("database connection settings: %v", redact(err))
	}
	for k, v := range sessionParams {
		cfg.RuntimeParams[k] = v
	}
	if src.db, err = pgx.ConnectConfig(ctx, cfg); err != nil {
		return fmt.Errorf("connecting to the source database: %w", err)
	}
	var level string
	if err := src.db.QueryRow(ctx, "SHOW wal_level").Scan(&level); err != nil {
		return fmt.Errorf("reading wal_level: %w", err)
	}
	if level != "logical" {
		return fmt.Errorf("the source database's wal_level is %s; logical decoding needs wal_level=logical", level)
	}
	rcfg, err := pgconn.ParseConfig(src.s.replicationURL)
	if err != nil {
		return fmt.Errorf("database connection settings: %v", redact(err))
	}
	for k, v := range sessionParams {
		rcfg.RuntimeParams[k] = v
	}
	if src.rep, err = pgconn.ConnectConfig(ctx, rcfg); err != nil {
		return fmt.Errorf("opening the replication connection: %w", err)
	}
	return nil
}

// redact keeps a connection-string parse error from quoting the string.
func redact(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "cannot parse"); i >= 0 {
		return "the connection settings cannot be parsed"
	}
	return msg
}

// capturedTables lists the tables the filters select, sorted.
func (src *pgSource) capturedTables(ctx context.Context) ([][2]string, error) {
	rows, err := src.db.Query(ctx, `SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
		ORDER BY 1, 2`)
	if err != nil {
		return nil, fmt.Errorf("listing tables: %w", err)
	}
	var out [][2]string
	for rows.Next() {
		var schema, name string
		if err := rows.Scan(&schema, &name); err != nil {
			return nil, err
		}
		if src.s.filters.table(schema, name) {
			out = append(out, [2]string{schema, name})
		}
	}
	return out, rows.Err()
}

// ensurePublication creates the publication as publication.autocreate.mode
// says; in filtered mode an existing publication's tables are set to the
// captured ones, as Debezium does when the filters change.
func (src *pgSource) ensurePublication(ctx context.Context) error {
	var exists bool
	if err := src.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1)`, src.s.publication).Scan(&exists); err != nil {
		return fmt.Errorf("looking up publication %s: %w", src.s.publication, err)
	}
	pub := pgx.Identifier{src.s.publication}.Sanitize()
	switch src.s.autocreate {
	case "disabled":
		if !exists {
			return fmt.Errorf("publication %s does not exist and publication.autocreate.mode is disabled", src.s.publication)
		}
		return nil
	case "all_tables":
		if !exists {
			_, err := src.db.Exec(ctx, "CREATE PUBLICATION "+pub+" FOR ALL TABLES")
			return wrap("creating publication "+src.s.publication, err)
		}
		return nil
	case "no_tables":
		if !exists {
			_, err := src.db.Exec(ctx, "CREATE PUBLICATION "+pub)
			return wrap("creating publication "+src.s.publication, err)
		}
		return nil
	case "filtered":
	default:
		return fmt.Errorf("setting publication.autocreate.mode: unknown mode %q", src.s.autocreate)
	}
	tables, err := src.capturedTables(ctx)
	if err != nil {
		return err
	}
	if len(tables) == 0 {
		return fmt.Errorf("no table of database %s matches table.include.list; a filtered publication needs at least one", src.t.Config["database.dbname"])
	}
	list := make([]string, len(tables))
	for i, tb := range tables {
		list[i] = pgx.Identifier{tb[0], tb[1]}.Sanitize()
	}
	verb := "CREATE PUBLICATION " + pub + " FOR TABLE "
	if exists {
		verb = "ALTER PUBLICATION " + pub + " SET TABLE "
	}
	_, err = src.db.Exec(ctx, verb+strings.Join(list, ", "))
	return wrap("setting the tables of publication "+src.s.publication, err)
}

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

// ensureSlot creates the replication slot when it is missing, exporting a
// snapshot consistent with the slot's start.
func (src *pgSource) ensureSlot(ctx context.Context) (created bool, snapshot string, consistent pglogrepl.LSN, err error) {
	var plugin string
	err = src.db.QueryRow(ctx, `SELECT plugin FROM pg_replication_slots WHERE slot_name = $1`, src.s.slot).Scan(&plugin)
	switch {
	case err == nil:
		if plugin != "pgoutput" {
			return false, "", 0, fmt.Errorf("replication slot %s exists with plugin %s, not pgoutput", src.s.slot, plugin)
		}
		return false, "", 0, nil
	case !errors.Is(err, pgx.ErrNoRows):
		return false, "", 0, fmt.Errorf("looking up replication slot %s: %w", src.s.slot, err)
	}
	res, err := pglogrepl.CreateReplicationSlot(ctx, src.rep, pgx.Identifier{src.s.slot}.Sanitize(), "pgoutput",
		pglogrepl.CreateReplicationSlotOptions{Mode: pglogrepl.LogicalReplication, SnapshotAction: "EXPORT_SNAPSHOT"})
	if err != nil {
		return false, "", 0, fmt.Errorf("creating replication slot %s: %w", src.s.slot, err)
	}
	lsn, err := pglogrepl.ParseLSN(res.ConsistentPoint)
	if err != nil {
		return false, "", 0, fmt.Errorf("creating replication slot %s: %w", src.s.slot, err)
	}
	src.t.Log.Info("created replication slot", "slot", src.s.slot, "consistent_point", res.ConsistentPoint)
	return true, res.SnapshotName, lsn, nil
}

func (src *pgSource) dropSlot() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if src.db == nil || src.db.IsClosed() {
		return
	}
	// The replication connection holds the slot until it closes.
	if src.rep != nil {
		src.rep.Close(ctx)
		src.rep = nil
	}
	// The slot stays active for a moment after its session ends.
	for {
		_, err := src.db.Exec(ctx, `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1`, src.s.slot)
		if err == nil {
			src.t.Log.Info("dropped replication slot (slot.drop.on.stop)", "slot", src.s.slot)
			return
		}
		if !isSlotActive(err) || !sleepCtx(ctx, 100*time.Millisecond) {
			src.t.Log.Warn("dropping the replication slot failed", "slot", src.s.slot, "err", err)
			return
		}
	}
}

// needsSnapshot applies snapshot.mode: initial and initial_only snapshot
// until one completed; always on every start; when_needed also when the
// slot had to be created again; no_data (never) not at all.
func (src *pgSource) needsSnapshot(slotCreated bool) bool {
	switch src.s.snapshotMode {
	case "always":
		return true
	case "no_data", "never":
		return false
	case "when_needed":
		return slotCreated || !src.offsets.SnapshotCompleted
	default:
		return !src.offsets.SnapshotCompleted
	}
}

// snapshot reads every captured table in one repeatable-read transaction,
// on the slot's exported snapshot when it was just created, and writes each
// row as a read event (op r).
func (src *pgSource) snapshot(ctx context.Context, exported string, consistent pglogrepl.LSN) error {
	tx, err := src.db.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("starting the snapshot: %w", err)
	}
	defer tx.Rollback(context.Background())
	if exported != "" {
		if _, err := tx.Exec(ctx, "SET TRANSACTION SNAPSHOT '"+strings.ReplaceAll(exported, "'", "''")+"'"); err != nil {
			return fmt.Errorf("starting the snapshot: %w", err)
		}
	}
	var txID int64
	var lsn pglogrepl.LSN
	if err := tx.QueryRow(ctx, `SELECT txid_current()::bigint, pg_current_wal_lsn()`).Scan(&txID, &lsn); err != nil {
		// A read-only transaction has no transaction ID of its own.
		txID = 0
	}
	if consistent != 0 {
		lsn = consistent
	}
	tables, err := src.capturedTables(ctx)
	if err != nil {
		return err
	}
	started := time.Now()
	src.t.Log.Info("snapshot started", "tables", len(tables))
	// One row is held back so the markers Debezium puts in
	// source.snapshot (first, first_in_data_collection,
	// last_in_data_collection, last) can be set.
	type heldRow struct {
		info         *table
		vals         []*string
		firstInTable bool
	}
	var held *heldRow
	total := 0
	emit := func(lastInTable, lastOverall bool) error {
		if held == nil {
			return nil
		}
		marker := "true"
		switch {
		case lastOverall:
			marker = "last"
		case total == 0:
			marker = "first"
		case lastInTable:
			marker = "last_in_data_collection"
		case held.firstInTable:
			marker = "first_in_data_collection"
		}
		rec, err := src.event(held.info, "r", nil, held.vals, nil, marker, started, txID, lsn, 0)
		if err != nil {
			return err
		}
		total++
		return src.produce(ctx, rec)
	}
	for _, tb := range tables {
		info, err := src.tableInfo(ctx, tx, tb[0], tb[1])
		if err != nil {
			return err
		}
		cols := make([]string, len(info.cols))
		for i, c := range info.cols {
			cols[i] = pgx.Identifier{c.name}.Sanitize() + "::text"
		}
		rows, err := tx.Query(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM "+pgx.Identifier{tb[0], tb[1]}.Sanitize())
		if err != nil {
			return fmt.Errorf("snapshotting %s.%s: %w", tb[0], tb[1], err)
		}
		firstInTable := true
		for rows.Next() {
			raw := rows.RawValues()
			vals := make([]*string, len(raw))
			for i, b := range raw {
				if b != nil {
					v := string(b)
					vals[i] = &v
				}
			}
			if held != nil {
				if err := emit(held.info != info, false); err != nil {
					rows.Close()
					return err
				}
			}
			held = &heldRow{info: info, vals: vals, firstInTable: firstInTable}
			firstInTable = false
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("snapshotting %s.%s: %w", tb[0], tb[1], err)
		}
	}
	if err := emit(true, true); err != nil {
		return err
	}
	if err := src.cl.Flush(ctx); err != nil {
		return fmt.Errorf("writing the snapshot: %w", err)
	}
	if err := src.producedErr(); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("ending the snapshot: %w", err)
	}
	src.offsets.SnapshotCompleted = true
	if err := src.t.writeOffsets(src.offsets); err != nil {
		return err
	}
	src.t.Log.Info("snapshot completed", "tables", len(tables), "records", total, "took", time.Since(started).Round(time.Millisecond))
	return nil
}

// produce writes rec asynchronously; the first failure fails the task at
// the next check.
func (src *pgSource) produce(ctx context.Context, rec *kgo.Record) error {
	if err := src.producedErr(); err != nil {
		return err
	}
	m := src.openMark()
	m.pending.Add(1)
	src.cl.Produce(ctx, rec, func(r *kgo.Record, err error) {
		if err != nil {
			// The mark stays pending for good: no position at or after
			// this record is ever confirmed.
			src.produceMu.Lock()
			if src.produceErr == nil {
				src.produceErr = fmt.Errorf("writing to topic %s: %w", r.Topic, err)
			}
			src.produceMu.Unlock()
			return
		}
		m.pending.Add(-1)
		src.t.Wrote(1)
		src.t.UsedTopic(r.Topic)
	})
	return nil
}

// mark is a stream position and how many records produced before it the
// broker has yet to acknowledge.
type mark struct {
	lsn     pglogrepl.LSN
	pending atomic.Int64
}

func (src *pgSource) openMark() *mark {
	src.markMu.Lock()
	defer src.markMu.Unlock()
	if src.open == nil {
		src.open = &mark{}
	}
	return src.open
}

// reached closes the open mark at lsn: once the records counted against
// it (and every earlier mark's) are acknowledged, lsn may be confirmed.
func (src *pgSource) reached(lsn pglogrepl.LSN) {
	src.markMu.Lock()
	defer src.markMu.Unlock()
	m := src.open
	if m == nil {
		m = &mark{}
	}
	m.lsn = lsn
	src.marks = append(src.marks, m)
	src.open = nil
}

// acknowledged returns the furthest position whose records, and all
// before them, the broker acknowledged; 0 when none is new.
func (src *pgSource) acknowledged() pglogrepl.LSN {
	src.markMu.Lock()
	defer src.markMu.Unlock()
	var pos pglogrepl.LSN
	i := 0
	for ; i < len(src.marks) && src.marks[i].pending.Load() == 0; i++ {
		pos = src.marks[i].lsn
	}
	src.marks = src.marks[i:]
	return pos
}

func (src *pgSource) producedErr() error {
	src.produceMu.Lock()
	defer src.produceMu.Unlock()
	return src.produceErr
}

// topic routes a record's topic through the connector's RegexRouters.
func (src *pgSource) topic(name string) string {
	for _, r := range src.s.routers {
		name = r.route(name)
	}
	return name
}
