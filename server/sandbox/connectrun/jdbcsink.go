package connectrun

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The JDBC sink: Debezium's io.debezium.connector.jdbc.JdbcSinkConnector
// (3.x) as one sink task writing into PostgreSQL. It consumes its topics in
// the consumer group connect-<name> as a worker's sink task does, converts
// each record with the JSON converter (schemas enabled), runs the
// connector's transformations (smt.go), and then does what the connector
// does with the record: resolves the table (collection.name.format), the
// key columns (primary.key.mode) and the other columns (field.include.list,
// field.exclude.list), creates or alters the table (schema.evolution), and
// inserts, upserts, updates or deletes the row (insert.mode,
// delete.enabled). A poll's records are written in one transaction; the
// group's offsets are committed only after it commits.
//
// Records that fail to convert or transform follow the worker's
// errors.tolerance and dead letter queue settings. Rows the database
// rejects follow them too, which the connector itself does not do (it
// fails the task whatever errors.tolerance says). Losing the database
// connection is retried, not fatal.

// Kafka Connect's processing stages and the classes the dead letter queue
// headers name.
const (
	stageKeyConverter   = "KEY_CONVERTER"
	stageValueConverter = "VALUE_CONVERTER"
	stageTransformation = "TRANSFORMATION"
	stageTaskPut        = "TASK_PUT"

	jsonConverterClass    = "org.apache.kafka.connect.json.JsonConverter"
	jdbcSinkTaskClass     = "io.debezium.connector.jdbc.JdbcSinkConnectorTask"
	connectExceptionClass = "org.apache.kafka.connect.errors.ConnectException"
)

// Primary key modes, insert modes and schema evolution modes.
const (
	pkNone        = "none"
	pkKafka       = "kafka"
	pkRecordKey   = "record_key"
	pkRecordValue = "record_value"

	insertInsert = "insert"
	insertUpsert = "upsert"
	insertUpdate = "update"

	evolutionNone  = "none"
	evolutionBasic = "basic"
)

// runJDBCSink runs the JDBC sink task until ctx ends (nil) or it fails.
func runJDBCSink(ctx context.Context, t *Task) error {
	cfg, err := parseSinkConfig(t.Config)
	if err != nil {
		return err
	}
	chain, err := newSMTChain(t.Config)
	if err != nil {
		return err
	}
	poolCfg, err := sinkPoolConfig(t.Config)
	if err != nil {
		return err
	}
	pool, err := pgxpool.NewWithConfig(ctx, poolCfg)
	if err != nil {
		return fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	defer pool.Close()

	s := &jdbcSink{t: t, cfg: cfg, chain: chain, pool: pool, group: "connect-" + t.Name}
	if up, err := s.waitForDatabase(ctx); err != nil || !up {
		return err
	}

	cl, err := kgo.NewClient(s.kafkaOpts()...)
	if err != nil {
		return fmt.Errorf("creating the connector's consumer: %w", err)
	}
	adm := kadm.NewClient(cl)
	s.cl = cl
	lagCtx, stopLag := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		stopLag()
		wg.Wait()
		cl.CloseAllowingRebalance()
	}()
	if cfg.dlqTopic != "" {
		s.createDeadLetterTopic(ctx, adm)
	}
	wg.Go(func() { s.trackLag(lagCtx, adm) })

	for {
		fetches := cl.PollRecords(ctx, cfg.batchSize)
		if ctx.Err() != nil || fetches.IsClientClosed() {
			return nil
		}
		if err := s.fetchErrors(fetches); err != nil {
			return err
		}
		if recs := fetches.Records(); len(recs) > 0 {
			if err := s.process(ctx, recs); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
		cl.AllowRebalance()
	}
}

// jdbcSink is one running JDBC sink task.
type jdbcSink struct {
	t     *Task
	cfg   *sinkConfig
	chain smtChain
	pool  *pgxpool.Pool
	cl    *kgo.Client
	group string
}

// --- configuration ---

// sinkConfig is the part of the connector's configuration the task reads.
type sinkConfig struct {
	topics          []string
	topicsRegex     *regexp.Regexp
	insertMode      string
	deleteEnabled   bool
	truncateEnabled bool
	pkMode          string
	pkFields        map[string]bool
	evolution       string
	quote           bool
	batchSize       int
	nameFormat      string
	filter          fieldFilter
	tolerateAll     bool
	dlqTopic        string
	dlqHeaders      bool
}

// parseSinkConfig reads and checks the settings as the worker and
// JdbcSinkConnectorConfig do. Errors name settings, not their values.
func parseSinkConfig(c map[string]string) (*sinkConfig, error) {
	cfg := &sinkConfig{}
	var err error
	bools := []struct {
		key  string
		dflt bool
		dst  *bool
	}{
		{"delete.enabled", false, &cfg.deleteEnabled},
		{"truncate.enabled", false, &cfg.truncateEnabled},
		{"quote.identifiers", false, &cfg.quote},
		{"errors.deadletterqueue.context.headers.enable", false, &cfg.dlqHeaders},
	}
	for _, b := range bools {
		if *b.dst, err = parseConfigBool(c, b.key, b.dflt); err != nil {
			return nil, err
		}
	}
	enums := []struct {
		key, dflt string
		allowed   []string
		dst       *string
	}{
		{"insert.mode", insertInsert, []string{insertInsert, insertUpsert, insertUpdate}, &cfg.insertMode},
		{"primary.key.mode", pkNone, []string{pkNone, pkKafka, pkRecordKey, pkRecordValue, "record_header"}, &cfg.pkMode},
		{"schema.evolution", evolutionNone, []string{evolutionNone, evolutionBasic}, &cfg.evolution},
	}
	for _, e := range enums {
		v := strings.ToLower(strings.TrimSpace(c[e.key]))
		if v == "" {
			v = e.dflt
		}
		if !slices.Contains(e.allowed, v) {
			return nil, fmt.Errorf("invalid %s: must be one of %s", e.key, strings.Join(e.allowed, ", "))
		}
		*e.dst = v
	}
	if cfg.pkMode == "record_header" {
		return nil, errors.New("primary.key.mode record_header is not run by the sandbox's JDBC sink (none, kafka, record_key and record_value are)")
	}
	if cfg.deleteEnabled && cfg.pkMode != pkRecordKey {
		return nil, errors.New("When 'delete.enabled' is set to 'true', the 'primary.key.mode' option must be set to 'record_key'.")
	}
	if cfg.insertMode == insertUpsert && strings.TrimSpace(c["primary.key.mode"]) == "" {
		return nil, errors.New("When using UPSERT, please define 'primary.key.mode'.")
	}
	if fields := splitConfigList(c["primary.key.fields"]); len(fields) > 0 {
		cfg.pkFields = map[string]bool{}
		for _, f := range fields {
			cfg.pkFields[f] = true
		}
	}

	cfg.batchSize = 500
	if v := strings.TrimSpace(c["batch.size"]); v != "" {
		if cfg.batchSize, err = strconv.Atoi(v); err != nil || cfg.batchSize <= 0 {
			return nil, errors.New("invalid batch.size: must be a positive integer")
		}
	}
	cfg.nameFormat = "${topic}"
	if v, ok := c["collection.name.format"]; ok && strings.TrimSpace(v) != "" {
		cfg.nameFormat = v
	}
	for key, dflt := range map[string]string{
		"collection.naming.strategy": "io.debezium.sink.naming.DefaultCollectionNamingStrategy",
		"column.naming.strategy":     "io.debezium.connector.jdbc.naming.DefaultColumnNamingStrategy",
	} {
		if v := strings.TrimSpace(c[key]); v != "" && v != dflt {
			return nil, fmt.Errorf("%s: only %s is run by the sandbox's JDBC sink", key, dflt)
		}
	}

	include, exclude := strings.TrimSpace(c["field.include.list"]), strings.TrimSpace(c["field.exclude.list"])
	switch {
	case include != "" && exclude != "":
		return nil, errors.New("Cannot define both field.exclude.list and field.include.list. Please specify only one.")
	case exclude != "":
		cfg.filter = newFieldFilter(exclude, false)
	case include != "":
		cfg.filter = newFieldFilter(include, true)
	}

	cfg.topics = splitConfigList(c["topics"])
	regex := strings.TrimSpace(c["topics.regex"])
	switch {
	case len(cfg.topics) > 0 && regex != "":
		return nil, errors.New("topics and topics.regex are mutually exclusive options, but both are set")
	case len(cfg.topics) == 0 && regex == "":
		return nil, errors.New("Must configure one of topics or topics.regex")
	case regex != "":
		if cfg.topicsRegex, err = regexp.Compile(`^(?:` + regex + `)$`); err != nil {
			return nil, fmt.Errorf("invalid topics.regex: %w", err)
		}
	}

	switch strings.ToLower(strings.TrimSpace(c["errors.tolerance"])) {
	case "", "none":
	case "all":
		cfg.tolerateAll = true
	default:
		return nil, errors.New("invalid errors.tolerance: must be one of none, all")
	}
	cfg.dlqTopic = strings.TrimSpace(c["errors.deadletterqueue.topic.name"])
	if cfg.dlqTopic != "" && (slices.Contains(cfg.topics, cfg.dlqTopic) || cfg.topicsRegex != nil && cfg.topicsRegex.MatchString(cfg.dlqTopic)) {
		return nil, fmt.Errorf("The DLQ topic '%s' may not be included in the list of topics ('topics' or 'topics.regex') to consume", cfg.dlqTopic)
	}

	for _, side := range []string{"key", "value"} {
		conv := strings.TrimSpace(c[side+".converter"])
		if conv != "" && conv != jsonConverterClass && conv != "JsonConverter" {
			return nil, fmt.Errorf("%s.converter: the sandbox's JDBC sink reads records the JSON converter (%s) wrote", side, jsonConverterClass)
		}
		if v := strings.TrimSpace(c[side+".converter.schemas.enable"]); strings.EqualFold(v, "false") {
			return nil, fmt.Errorf("%s.converter.schemas.enable: the sandbox's JDBC sink reads JSON converter records with schemas enabled", side)
		}
	}
	return cfg, nil
}

// fieldFilter is Debezium's FieldFilterFactory filter: entries are `field`
// or `topic:field`; an include filter keeps the fields an entry matches, an
// exclude filter drops them. The zero filter keeps every field.
type fieldFilter struct {
	entries [][]string
	include bool
}

func newFieldFilter(list string, include bool) fieldFilter {
	f := fieldFilter{include: include}
	for _, e := range strings.Split(list, ",") {
		parts := strings.Split(strings.TrimSpace(e), ":")
		for len(parts) > 1 && parts[len(parts)-1] == "" {
			parts = parts[:len(parts)-1]
		}
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		f.entries = append(f.entries, parts)
	}
	return f
}

func (f fieldFilter) matches(topic, field string) bool {
	if f.entries == nil {
		return true
	}
	field = strings.TrimSpace(field)
	for _, p := range f.entries {
		if len(p) == 1 && p[0] == field || len(p) == 2 && p[0] == strings.TrimSpace(topic) && p[1] == field {
			return f.include
		}
	}
	return !f.include
}

// sinkPoolConfig turns connection.url (a PgJDBC URL), connection.username and
// connection.password into a one-connection pool configuration. Errors never
// carry the URL, which may hold a password.
func sinkPoolConfig(c map[string]string) (*pgxpool.Config, error) {
	target, err := parseJDBCURL(c["connection.url"])
	if err != nil {
		return nil, err
	}
	pc, err := pgxpool.ParseConfig(target.connString)
	if err != nil {
		return nil, fmt.Errorf("connection.url: %w", err)
	}
	if u := strings.TrimSpace(c["connection.username"]); u != "" {
		target.user = u
	}
	if p, ok := c["connection.password"]; ok && p != "" {
		target.password = p
	}
	pc.ConnConfig.User = target.user
	pc.ConnConfig.Password = target.password
	pc.MaxConns = 1
	pc.MinConns = 0
	return pc, nil
}

// jdbcTarget is a parsed PgJDBC URL.
type jdbcTarget struct {
	connString     string // a postgres:// URL without credentials
	user, password string // from the URL's query, if any
}

// parseJDBCURL parses jdbc:postgresql://host[:port][,host[:port]…]/database?…
// (or jdbc:postgresql:database) as PgJDBC does, keeping the properties pgx
// shares with it: sslmode (and ssl=true), sslrootcert, sslcert, sslkey,
// connectTimeout, ApplicationName, currentSchema, options,
// targetServerType, user and password.
func parseJDBCURL(raw string) (*jdbcTarget, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, errors.New("connection.url is not set")
	}
	rest, ok := strings.CutPrefix(raw, "jdbc:")
	if !ok {
		return nil, errors.New("connection.url is not a JDBC URL; the sandbox's JDBC sink writes to PostgreSQL only (jdbc:postgresql://host:port/database)")
	}
	sub, rest, _ := strings.Cut(rest, ":")
	if sub != "postgresql" {
		return nil, fmt.Errorf("connection.url is a jdbc:%s URL; the sandbox's JDBC sink writes to PostgreSQL only (jdbc:postgresql://host:port/database)", strings.ToLower(sub))
	}
	rest, query, _ := strings.Cut(rest, "?")
	hosts, db := "localhost:5432", ""
	if h, ok := strings.CutPrefix(rest, "//"); ok {
		h, db, _ = strings.Cut(h, "/")
		if h != "" {
			hosts = h
		}
	} else {
		db = strings.TrimPrefix(rest, "/")
	}
	if d, err := url.PathUnescape(db); err == nil {
		db = d
	}
	props, err := url.ParseQuery(query)
	if err != nil {
		return nil, errors.New("connection.url: its properties (after '?') cannot be parsed")
	}
	q := url.Values{}
	switch mode := props.Get("sslmode"); {
	case mode != "":
		q.Set("sslmode", mode)
	case strings.EqualFold(props.Get("ssl"), "true"):
		q.Set("sslmode", "verify-full")
	default:
		q.Set("sslmode", "prefer")
	}
	for jdbc, pg := range map[string]string{
		"sslrootcert": "sslrootcert", "sslcert": "sslcert", "sslkey": "sslkey",
		"ApplicationName": "application_name", "currentSchema": "search_path", "options": "options",
	} {
		if v := props.Get(jdbc); v != "" {
			q.Set(pg, v)
		}
	}
	q.Set("connect_timeout", "10")
	if v := props.Get("connectTimeout"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			q.Set("connect_timeout", strconv.Itoa(n))
		}
	}
	switch strings.ToLower(props.Get("targetServerType")) {
	case "primary", "master":
		q.Set("target_session_attrs", "primary")
	case "secondary", "slave":
		q.Set("target_session_attrs", "standby")
	case "prefersecondary", "preferslave":
		q.Set("target_session_attrs", "prefer-standby")
	}
	u := url.URL{Scheme: "postgres", Host: hosts, Path: "/" + db, RawQuery: q.Encode()}
	return &jdbcTarget{connString: u.String(), user: props.Get("user"), password: props.Get("password")}, nil
}

// kafkaOpts are the consumer's options: the connector's principal, then a
// sink task's consumer (group connect-<name>, from the earliest offset, no
// automatic commits).
func (s *jdbcSink) kafkaOpts() []kgo.Opt {
	opts := []kgo.Opt{kgo.ClientID("connector-consumer-" + s.t.Name + "-0")}
	opts = append(opts, s.t.Kafka...)
	opts = append(opts,
		kgo.ConsumerGroup(s.group),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.FetchMaxWait(500*time.Millisecond),
		// The dead letter queue producer needs no idempotent-write grant.
		kgo.DisableIdempotentWrite(),
	)
	if s.cfg.topicsRegex != nil {
		return append(opts, kgo.ConsumeRegex(), kgo.ConsumeTopics(s.cfg.topicsRegex.String()))
	}
	return append(opts, kgo.ConsumeTopics(s.cfg.topics...))
}

// fetchErrors fails the task on errors a worker's consumer cannot get past
// (authorization) and logs the others, which the client retries.
func (s *jdbcSink) fetchErrors(f kgo.Fetches) error {
	for _, fe := range f.Errors() {
		if errors.Is(fe.Err, context.Canceled) {
			continue
		}
		if errors.Is(fe.Err, kerr.TopicAuthorizationFailed) || errors.Is(fe.Err, kerr.GroupAuthorizationFailed) ||
			errors.Is(fe.Err, kerr.ClusterAuthorizationFailed) || errors.Is(fe.Err, kerr.SaslAuthenticationFailed) {
			if fe.Topic != "" {
				return fmt.Errorf("consuming %s as the connector's principal: %w", fe.Topic, fe.Err)
			}
			return fmt.Errorf("consuming as the connector's principal (group %s): %w", s.group, fe.Err)
		}
		s.t.Log.Warn("consuming the sink's topics", "topic", fe.Topic, "partition", fe.Partition, "err", fe.Err)
	}
	return nil
}

// --- the database connection ---

// waitForDatabase connects, retrying while the server cannot be reached. It
// reports false when ctx ended first.
func (s *jdbcSink) waitForDatabase(ctx context.Context) (bool, error) {
	retrying := false
	for backoff := 500 * time.Millisecond; ; backoff = sinkBackoff(backoff) {
		err := s.pool.Ping(ctx)
		if ctx.Err() != nil {
			return false, nil
		}
		if err == nil {
			if retrying {
				s.t.Retrying(nil)
			}
			return true, nil
		}
		err = fmt.Errorf("connecting to PostgreSQL: %w", err)
		if !isPGConnectionError(err) {
			return false, err
		}
		retrying = true
		s.t.Retrying(err)
		s.t.Log.Warn("the sink's database is unreachable; retrying", "err", err, "in", backoff)
		if !sleepCtx(ctx, backoff) {
			return false, nil
		}
	}
}

// sinkBackoff doubles a retry delay, up to 30 seconds.
func sinkBackoff(d time.Duration) time.Duration {
	return min(2*d, 30*time.Second)
}

// sleepCtx waits d, reporting false when ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-tm.C:
		return true
	}
}

// isPGConnectionError reports whether err is the database being unreachable
// (down, restarting, the connection lost) rather than the database refusing
// what was sent, or refusing the connector's credentials.
func isPGConnectionError(err error) bool {
	if err == nil {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "57P01", "57P02", "57P03", "53300": // shutdown, crash, starting up, too many connections
			return true
		}
		return strings.HasPrefix(pgErr.Code, "08")
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &connectErr), pgconn.SafeToRetry(err), errors.As(err, &netErr):
		return true
	case errors.Is(err, context.Canceled):
		return false
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return true
	}
	return strings.Contains(err.Error(), "conn closed")
}

// --- processing a poll ---

// sinkError is a record that failed a stage, as the worker's
// ProcessingContext describes it to the dead letter queue.
type sinkError struct {
	stage     string
	class     string // the class executing the stage
	alias     string // the transformation's alias, at the TRANSFORMATION stage
	exception string // the Java exception class the stage throws
	err       error
}

// sinkFailure is a consumed record and how it failed.
type sinkFailure struct {
	rec *kgo.Record
	err *sinkError
}

// process writes one poll's records and then commits their offsets.
func (s *jdbcSink) process(ctx context.Context, recs []*kgo.Record) error {
	var changes []*sinkChange
	var failures []sinkFailure
	for _, kr := range recs {
		c, rerr := s.prepare(kr)
		if rerr != nil {
			if err := s.tolerate(kr, rerr); err != nil {
				return err
			}
			failures = append(failures, sinkFailure{kr, rerr})
			continue
		}
		if c != nil {
			changes = append(changes, c)
		}
	}
	written, rejected, err := s.writeRetrying(ctx, changes)
	if err != nil {
		return err
	}
	if written > 0 {
		s.t.Wrote(written)
	}
	s.deadLetter(ctx, append(failures, rejected...))

	commitCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if err := s.cl.CommitRecords(commitCtx, recs...); err != nil {
		// The rows are written; the next commit covers these records, or a
		// restart writes them again (at least once).
		s.t.Log.Warn("committing the sink's consumer offsets", "group", s.group, "err", err)
	}
	return nil
}

// prepare converts and transforms one record and plans its change; a nil
// change with no error means the record is skipped.
func (s *jdbcSink) prepare(kr *kgo.Record) (*sinkChange, *sinkError) {
	r := &sinkRecord{Topic: kr.Topic, Partition: kr.Partition, Offset: kr.Offset, Timestamp: kr.Timestamp, Headers: kr.Headers}
	var err error
	if r.KeySchema, r.Key, err = jsonToConnect(kr.Key); err != nil {
		return nil, &sinkError{stage: stageKeyConverter, class: jsonConverterClass, exception: dataExceptionClass, err: err}
	}
	if r.ValueSchema, r.Value, err = jsonToConnect(kr.Value); err != nil {
		return nil, &sinkError{stage: stageValueConverter, class: jsonConverterClass, exception: dataExceptionClass, err: err}
	}
	out, step, err := s.chain.apply(r)
	if err != nil {
		exception := "java.lang.RuntimeException"
		var se *smtError
		if errors.As(err, &se) {
			exception = se.exception
		}
		return nil, &sinkError{stage: stageTransformation, class: step.class, alias: step.alias, exception: exception, err: err}
	}
	if out == nil {
		return nil, nil
	}
	c, err := s.plan(out, kr)
	if err != nil {
		return nil, &sinkError{stage: stageTaskPut, class: jdbcSinkTaskClass, exception: connectExceptionClass, err: err}
	}
	return c, nil
}

// tolerate applies errors.tolerance to a failed record: an error that fails
// the task, or nil when the record is to be skipped (and dead-lettered).
func (s *jdbcSink) tolerate(kr *kgo.Record, f *sinkError) error {
	if !s.cfg.tolerateAll {
		if f.stage == stageTaskPut {
			return fmt.Errorf("JDBC sink connector failure: record %s-%d at offset %d: %w", kr.Topic, kr.Partition, kr.Offset, f.err)
		}
		what := f.class
		if f.alias != "" {
			what = "transform " + f.alias + ", " + f.class
		}
		return fmt.Errorf("Tolerance exceeded in error handler: stage %s (%s) failed on record %s-%d at offset %d: %w",
			f.stage, what, kr.Topic, kr.Partition, kr.Offset, f.err)
	}
	s.t.Log.Warn("skipping a record the sink could not process (errors.tolerance=all)",
		"topic", kr.Topic, "partition", kr.Partition, "offset", kr.Offset, "stage", f.stage, "transform", f.alias, "err", f.err)
	return nil
}

// createDeadLetterTopic creates the dead letter queue topic (one partition)
// if it is missing, as the worker does when the task starts.
func (s *jdbcSink) createDeadLetterTopic(ctx context.Context, adm *kadm.Client) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// A topic the plan created is there already; asking to create it would
	// need a Create permission the connector's principal does not have.
	if td, err := adm.ListTopics(cctx, s.cfg.dlqTopic); err == nil && td.Has(s.cfg.dlqTopic) && td[s.cfg.dlqTopic].Err == nil {
		return
	}
	resp, err := adm.CreateTopic(cctx, 1, -1, nil, s.cfg.dlqTopic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) && ctx.Err() == nil {
		s.t.Log.Warn("creating the dead letter queue topic", "topic", s.cfg.dlqTopic, "err", err)
	}
}

// deadLetter writes the original records that failed to the dead letter
// queue, with the worker's context headers when enabled. As the worker's
// reporter does, a record that cannot be written there is logged and lost.
func (s *jdbcSink) deadLetter(ctx context.Context, failures []sinkFailure) {
	if s.cfg.dlqTopic == "" || len(failures) == 0 {
		return
	}
	out := make([]*kgo.Record, 0, len(failures))
	for _, f := range failures {
		r := &kgo.Record{Topic: s.cfg.dlqTopic, Key: f.rec.Key, Value: f.rec.Value, Timestamp: f.rec.Timestamp,
			Headers: append([]kgo.RecordHeader(nil), f.rec.Headers...)}
		if s.cfg.dlqHeaders {
			msg := f.err.err.Error()
			for _, h := range [][2]string{
				{"topic", f.rec.Topic},
				{"partition", strconv.Itoa(int(f.rec.Partition))},
				{"offset", strconv.FormatInt(f.rec.Offset, 10)},
				{"connector.name", s.t.Name},
				{"task.id", "0"},
				{"stage", f.err.stage},
				{"class.name", f.err.class},
				{"exception.class.name", f.err.exception},
				{"exception.message", msg},
				{"exception.stacktrace", f.err.exception + ": " + msg},
			} {
				r.Headers = append(r.Headers, kgo.RecordHeader{Key: "__connect.errors." + h[0], Value: []byte(h[1])})
			}
		}
		out = append(out, r)
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := s.cl.ProduceSync(pctx, out...).FirstErr(); err != nil {
		s.t.Log.Error("could not produce records to the dead letter queue", "topic", s.cfg.dlqTopic, "err", err)
	}
}

// --- consumer lag ---

// trackLag reports, every second, how many records of the sink's topics are
// not yet written: the high watermarks minus the group's committed offsets
// (or the log start, where nothing is committed).
func (s *jdbcSink) trackLag(ctx context.Context, adm *kadm.Client) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		s.updateLag(ctx, adm)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// updateLag computes the lag once; it reports nothing when the broker cannot
// answer.
func (s *jdbcSink) updateLag(ctx context.Context, adm *kadm.Client) {
	topics := s.cfg.topics
	if s.cfg.topicsRegex != nil {
		details, err := adm.ListTopics(ctx)
		if err != nil {
			return
		}
		topics = nil
		for _, name := range details.Names() {
			if s.cfg.topicsRegex.MatchString(name) {
				topics = append(topics, name)
			}
		}
		if len(topics) == 0 {
			s.t.Behind("records", 0)
			return
		}
	}
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return
	}
	starts, err := adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		return
	}
	commits, err := adm.FetchOffsets(ctx, s.group)
	if err != nil {
		return
	}
	var behind int64
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil || o.Partition < 0 {
			return
		}
		var pos int64
		if so, ok := starts.Lookup(o.Topic, o.Partition); ok && so.Err == nil {
			pos = so.Offset
		}
		if c, ok := commits.Lookup(o.Topic, o.Partition); ok && c.Err == nil && c.At > pos {
			pos = c.At
		}
		if o.Offset > pos {
			behind += o.Offset - pos
		}
	})
	s.t.Behind("records", behind)
}

// --- the JSON converter ---

// jsonToConnect converts a record key or value as JsonConverter does with
// schemas enabled. A null (tombstone) gives a nil schema and value.
func jsonToConnect(data []byte) (*Schema, any, error) {
	env, err := Decode(data)
	if err != nil {
		return nil, nil, smtDataError("Converting byte[] to Kafka Connect data failed due to serialization error: %v", err)
	}
	if env == nil {
		return nil, nil, nil
	}
	if env.Schema == nil {
		return nil, nil, smtDataError("the record has no schema; the JDBC sink reads records the JSON converter wrote with schemas.enable=true")
	}
	var tree any
	if p := bytes.TrimSpace(env.Payload); len(p) > 0 {
		dec := json.NewDecoder(bytes.NewReader(p))
		dec.UseNumber()
		if err := dec.Decode(&tree); err != nil {
			return nil, nil, smtDataError("Converting byte[] to Kafka Connect data failed due to serialization error: %v", err)
		}
	}
	v, err := toConnectValue(env.Schema, tree)
	if err != nil {
		return nil, nil, err
	}
	return env.Schema, v, nil
}

// toConnectValue converts decoded JSON (UseNumber) to the Connect value of
// schema s.
func toConnectValue(s *Schema, v any) (any, error) {
	if v == nil {
		if s.Optional {
			return nil, nil
		}
		return nil, smtDataError("Invalid null value for required %s field", strings.ToUpper(s.Type))
	}
	mismatch := func() error {
		return smtDataError("Invalid JSON for a %s field: %s", strings.ToUpper(s.Type), jsonNodeType(v))
	}
	switch s.Type {
	case TypeInt8, TypeInt16, TypeInt32, TypeInt64:
		n, ok := v.(json.Number)
		if !ok {
			return nil, mismatch()
		}
		i, err := strconv.ParseInt(n.String(), 10, connectIntBits[s.Type])
		if err != nil {
			return nil, smtDataError("Invalid value %s for a %s field", n, strings.ToUpper(s.Type))
		}
		return i, nil
	case TypeFloat32, TypeFloat64:
		n, ok := v.(json.Number)
		if !ok {
			return nil, mismatch()
		}
		f, err := strconv.ParseFloat(n.String(), 64)
		if err != nil {
			return nil, smtDataError("Invalid value %s for a %s field", n, strings.ToUpper(s.Type))
		}
		return f, nil
	case TypeBoolean:
		b, ok := v.(bool)
		if !ok {
			return nil, mismatch()
		}
		return b, nil
	case TypeString:
		str, ok := v.(string)
		if !ok {
			return nil, mismatch()
		}
		return str, nil
	case TypeBytes:
		if n, ok := v.(json.Number); ok && s.Name == decimalSchema {
			return decimalString(n.String()), nil
		}
		str, ok := v.(string)
		if !ok {
			return nil, mismatch()
		}
		b, err := base64.StdEncoding.DecodeString(str)
		if err != nil {
			return nil, smtDataError("Invalid bytes field: not base64")
		}
		if s.Name == decimalSchema && len(b) == 0 {
			return nil, smtDataError("Invalid Decimal field: no unscaled value")
		}
		return b, nil
	case TypeStruct:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, smtDataError("Structs should be encoded as JSON objects, but found %s", jsonNodeType(v))
		}
		st := NewStruct(s)
		for i, f := range s.Fields {
			fv, err := toConnectValue(f, m[f.Field])
			if err != nil {
				return nil, err
			}
			st.Values[i] = fv
		}
		return st, nil
	case "array", "map":
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, smtDataError("Invalid %s field: %v", s.Type, err)
		}
		return json.RawMessage(raw), nil
	}
	return nil, smtDataError("Unknown schema type: %s", s.Type)
}

// jsonNodeType names a decoded JSON value's kind as Jackson does.
func jsonNodeType(v any) string {
	switch v.(type) {
	case map[string]any:
		return "OBJECT"
	case []any:
		return "ARRAY"
	case string:
		return "STRING"
	case json.Number:
		return "NUMBER"
	case bool:
		return "BOOLEAN"
	}
	return "NULL"
}

// --- what the connector does with a record ---

// sinkChangeKind is what a change does to its table.
type sinkChangeKind int

const (
	sinkWrite sinkChangeKind = iota
	sinkDelete
	sinkTruncate
)

// sinkColumn is one field of a record as a table column.
type sinkColumn struct {
	field  string  // the field's name in the record
	name   string  // the column's name
	schema *Schema // the field's schema
	typ    string  // the column's PostgreSQL type, for CREATE and ALTER
	key    bool
}

// sinkChange is what the connector does with one record: a statement on a
// table, and the columns the table needs for it.
type sinkChange struct {
	rec     *kgo.Record
	kind    sinkChangeKind
	table   sinkTable
	columns []sinkColumn // key columns first
	sql     string
	args    []any
	skip    bool // a truncate of a table that does not exist
}

// sinkTable is a table, schema-qualified or not, with its names as stored.
type sinkTable struct {
	schema, name string
}

func (id sinkTable) sql() string {
	if id.schema == "" {
		return pgx.Identifier{id.name}.Sanitize()
	}
	return pgx.Identifier{id.schema, id.name}.Sanitize()
}

func (id sinkTable) String() string { return id.sql() }

// sourcePlaceholder is a ${source.<field>} reference in
// collection.name.format.
var sourcePlaceholder = regexp.MustCompile(`\$\{source\.(.*?)}`)

// plan turns a transformed record into its change, following
// JdbcChangeEventSink and JdbcKafkaSinkRecord: a nil change means the
// connector skips the record.
func (s *jdbcSink) plan(r *sinkRecord, kr *kgo.Record) (*sinkChange, error) {
	if r.ValueSchema != nil && strings.Contains(r.ValueSchema.Name, "SchemaChangeValue") {
		s.t.Log.Warn("ignored a schema change event: the JDBC sink does not apply them; adjust topics to exclude the schema change topic", "topic", r.Topic)
		return nil, nil
	}
	var value *Struct
	if r.Value != nil {
		if r.ValueSchema == nil {
			return nil, errors.New("the record value has no schema")
		}
		st, ok := r.Value.(*Struct)
		if !ok {
			return nil, fmt.Errorf("the record value is a %s, not a struct", strings.ToUpper(r.ValueSchema.Type))
		}
		value = st
	}
	debezium := value != nil && (strings.HasSuffix(value.Schema.Name, ".Envelope") ||
		value.Schema.Name == "" && value.Schema.FieldNamed("op") != nil)
	var op string
	if debezium {
		op, _ = value.Get("op").(string)
	}

	table, err := s.tableFor(r, value, debezium)
	if err != nil || table == nil {
		return nil, err
	}
	c := &sinkChange{rec: kr, table: *table}
	switch {
	case op == "t":
		if !s.cfg.truncateEnabled {
			return nil, nil
		}
		c.kind = sinkTruncate
		c.sql = "TRUNCATE TABLE " + table.sql()
		return c, nil
	case op == "d" || !debezium && r.Value == nil:
		if !s.cfg.deleteEnabled {
			return nil, nil
		}
		c.kind = sinkDelete
	default:
		c.kind = sinkWrite
	}

	var payload *Struct
	switch {
	case r.ValueSchema == nil: // a tombstone
	case debezium && c.kind == sinkDelete:
		payload, _ = value.Get("before").(*Struct)
	case debezium:
		payload, _ = value.Get("after").(*Struct)
		if payload == nil {
			return nil, fmt.Errorf("the change event (op %q) has no after state to write", op)
		}
	case value != nil:
		payload = value
	case r.ValueSchema.Type == TypeStruct:
		// The null value with a schema ExtractNewRecordState leaves for a
		// delete: a row of nulls.
		payload = NewStruct(r.ValueSchema)
	}

	keys, keyVals, err := s.keyColumns(r, payload)
	if err != nil {
		return nil, err
	}
	var cols []sinkColumn
	var colVals []any
	if payload != nil {
		for i, f := range payload.Schema.Fields {
			if !s.cfg.filter.matches(r.Topic, f.Field) || hasSinkColumn(keys, f.Field) {
				continue
			}
			cols = append(cols, sinkColumn{field: f.Field, name: s.fold(f.Field), schema: f})
			colVals = append(colVals, payload.Values[i])
		}
	}
	c.columns = append(keys, cols...)
	for i := range c.columns {
		col := &c.columns[i]
		if col.typ, err = sinkColumnType(col.schema, col.key); err != nil {
			return nil, fmt.Errorf("field %s: %w", col.field, err)
		}
	}
	if err := s.statement(c, keys, keyVals, cols, colVals); err != nil {
		return nil, err
	}
	return c, nil
}

func hasSinkColumn(cols []sinkColumn, field string) bool {
	for _, c := range cols {
		if c.field == field {
			return true
		}
	}
	return false
}

// fold is the column or table name as PostgreSQL stores it: lower case
// unless quote.identifiers, as unquoted identifiers fold.
func (s *jdbcSink) fold(name string) string {
	if s.cfg.quote {
		return name
	}
	return strings.ToLower(name)
}

// tableFor resolves the record's table (DefaultCollectionNamingStrategy):
// ${topic} is the topic with dots replaced by underscores, ${source.<field>}
// a field of a change event's source block. Nil means the name cannot be
// resolved and the record is skipped.
func (s *jdbcSink) tableFor(r *sinkRecord, value *Struct, debezium bool) (*sinkTable, error) {
	name := strings.ReplaceAll(s.cfg.nameFormat, "${topic}", strings.ReplaceAll(r.Topic, ".", "_"))
	if strings.Contains(name, "${source.") {
		if !debezium {
			s.t.Log.Warn("ignored a record that is not a change event: collection.name.format needs its source block",
				"topic", r.Topic, "partition", r.Partition, "offset", r.Offset)
			return nil, nil
		}
		src, _ := value.Get("source").(*Struct)
		if src == nil {
			return nil, errors.New("the change event has no source block for collection.name.format")
		}
		var err error
		name = sourcePlaceholder.ReplaceAllStringFunc(name, func(m string) string {
			field := sourcePlaceholder.FindStringSubmatch(m)[1]
			f := src.Schema.FieldNamed(field)
			v, ok := src.Get(field).(string)
			switch {
			case f == nil:
				err = fmt.Errorf("collection.name.format: %s is not a valid field name of the source block", field)
			case f.Type != TypeString:
				err = fmt.Errorf("collection.name.format: source field %s is not of type STRING", field)
			case !ok:
				err = fmt.Errorf("collection.name.format: source field %s is null", field)
			}
			return v
		})
		if err != nil {
			return nil, err
		}
	}
	parts, err := parseCollectionName(name)
	if err != nil {
		return nil, err
	}
	for i := range parts {
		parts[i] = s.fold(parts[i])
	}
	switch len(parts) {
	case 1:
		return &sinkTable{name: parts[0]}, nil
	case 2:
		return &sinkTable{schema: parts[0], name: parts[1]}, nil
	default: // catalog.schema.table: the catalog is the database connected to
		return &sinkTable{schema: parts[1], name: parts[2]}, nil
	}
}

// parseCollectionName splits a resolved collection name into its parts
// (table, schema.table or catalog.schema.table) as Debezium's TableIdParser
// does: parts are separated by dots; a part starting with a quote (", ' or
// `) runs to the closing quote, a doubled quote standing for one; an
// unquoted part ends at whitespace, after which only a dot may follow.
func parseCollectionName(name string) ([]string, error) {
	const (
		afterSeparator = iota
		inIdentifier
		beforeSeparator
		inQuoted
	)
	invalid := func(why string) error {
		return fmt.Errorf("Failed to parse table name into TableId: %q (from collection.name.format): %s", name, why)
	}
	var parts []string
	var cur strings.Builder
	var quote rune
	state := afterSeparator
	runes := []rune(name)
	for i := 0; i < len(runes); i++ {
		c := runes[i]
		switch state {
		case afterSeparator:
			switch {
			case unicode.IsSpace(c):
			case c == '.':
				return nil, invalid("Unexpected input: .")
			case c == '"' || c == '\'' || c == '`':
				quote, state = c, inQuoted
				cur.Reset()
			default:
				cur.Reset()
				cur.WriteRune(c)
				state = inIdentifier
			}
		case inIdentifier:
			switch {
			case unicode.IsSpace(c):
				parts, state = append(parts, cur.String()), beforeSeparator
			case c == '.':
				parts, state = append(parts, cur.String()), afterSeparator
			default:
				cur.WriteRune(c)
			}
		case beforeSeparator:
			switch {
			case unicode.IsSpace(c):
			case c == '.':
				state = afterSeparator
			default:
				return nil, invalid("Unexpected input: " + string(c))
			}
		case inQuoted:
			switch {
			case c == quote && i+1 < len(runes) && runes[i+1] == quote:
				cur.WriteRune(c)
				cur.WriteRune(c)
				i++
			case c == quote:
				parts, state = append(parts, cur.String()), beforeSeparator
			default:
				cur.WriteRune(c)
			}
		}
	}
	switch state {
	case inIdentifier:
		parts = append(parts, cur.String())
	case beforeSeparator:
	default:
		return nil, invalid("Invalid identifier")
	}
	unescape := strings.NewReplacer("''", "'", `""`, `"`, "``", "`")
	for i := range parts {
		parts[i] = unescape.Replace(parts[i])
	}
	if len(parts) > 3 || slices.Contains(parts, "") {
		return nil, invalid("a table name has one to three non-empty parts")
	}
	return parts, nil
}

// keyColumns returns the record's key columns and their values as
// primary.key.mode and primary.key.fields select them.
func (s *jdbcSink) keyColumns(r *sinkRecord, payload *Struct) ([]sinkColumn, []any, error) {
	switch s.cfg.pkMode {
	case pkKafka:
		cols := []sinkColumn{
			{field: "__connect_topic", name: s.fold("__connect_topic"), schema: &Schema{Type: TypeString}, key: true},
			{field: "__connect_partition", name: s.fold("__connect_partition"), schema: &Schema{Type: TypeInt32}, key: true},
			{field: "__connect_offset", name: s.fold("__connect_offset"), schema: &Schema{Type: TypeInt64}, key: true},
		}
		return cols, []any{r.Topic, int64(r.Partition), r.Offset}, nil
	case pkRecordKey:
		if r.KeySchema == nil {
			return nil, nil, errors.New("Configured primary key mode 'record_key' cannot have null schema")
		}
		if r.KeySchema.Type != TypeStruct {
			return nil, nil, fmt.Errorf("primary key mode 'record_key' needs a struct key; the record key is a %s", strings.ToUpper(r.KeySchema.Type))
		}
		key, _ := r.Key.(*Struct)
		if key == nil {
			return nil, nil, errors.New("primary key mode 'record_key' needs a record key; the record's key is null")
		}
		cols, vals := s.filterKey(r.Topic, key)
		return cols, vals, nil
	case pkRecordValue:
		if payload == nil {
			return nil, nil, errors.New("No struct-based primary key defined for record value")
		}
		cols, vals := s.filterKey(r.Topic, payload)
		return cols, vals, nil
	}
	return nil, nil, nil
}

// filterKey picks the key fields of st: those primary.key.fields lists, or
// else those the field filter keeps.
func (s *jdbcSink) filterKey(topic string, st *Struct) ([]sinkColumn, []any) {
	var cols []sinkColumn
	var vals []any
	for i, f := range st.Schema.Fields {
		if s.cfg.pkFields != nil && !s.cfg.pkFields[f.Field] || s.cfg.pkFields == nil && !s.cfg.filter.matches(topic, f.Field) {
			continue
		}
		cols = append(cols, sinkColumn{field: f.Field, name: s.fold(f.Field), schema: f, key: true})
		vals = append(vals, st.Values[i])
	}
	return cols, vals
}

// statement builds the change's SQL (Debezium's PostgreSQL dialect, every
// identifier quoted) and its arguments.
func (s *jdbcSink) statement(c *sinkChange, keys []sinkColumn, keyVals []any, cols []sinkColumn, colVals []any) error {
	var args []any
	param := func(col sinkColumn, v any) (string, error) {
		sv, err := sinkSQLValue(col.schema, v)
		if err != nil {
			return "", fmt.Errorf("field %s: %w", col.field, err)
		}
		args = append(args, sv)
		return "$" + strconv.Itoa(len(args)), nil
	}
	assign := func(list []sinkColumn, vals []any, sep string) (string, error) {
		parts := make([]string, len(list))
		for i, col := range list {
			p, err := param(col, vals[i])
			if err != nil {
				return "", err
			}
			parts[i] = sqlIdent(col.name) + "=" + p
		}
		return strings.Join(parts, sep), nil
	}
	tbl := c.table.sql()
	switch {
	case c.kind == sinkDelete:
		if len(keys) == 0 {
			return fmt.Errorf("cannot delete from %s: the record has no key fields", tbl)
		}
		where, err := assign(keys, keyVals, " AND ")
		if err != nil {
			return err
		}
		c.sql = "DELETE FROM " + tbl + " WHERE " + where
	case s.cfg.insertMode == insertUpdate:
		if len(cols) == 0 {
			return fmt.Errorf("cannot update %s: the record has no non-key fields", tbl)
		}
		set, err := assign(cols, colVals, ", ")
		if err != nil {
			return err
		}
		c.sql = "UPDATE " + tbl + " SET " + set
		if len(keys) > 0 {
			where, err := assign(keys, keyVals, " AND ")
			if err != nil {
				return err
			}
			c.sql += " WHERE " + where
		}
	default:
		if s.cfg.insertMode == insertUpsert && len(keys) == 0 {
			return fmt.Errorf("Cannot write to table %s with no key fields defined.", tbl)
		}
		all := append(append([]sinkColumn(nil), keys...), cols...)
		vals := append(append([]any(nil), keyVals...), colVals...)
		if len(all) == 0 {
			return fmt.Errorf("cannot insert into %s: the record has no fields", tbl)
		}
		names, params := make([]string, len(all)), make([]string, len(all))
		for i, col := range all {
			p, err := param(col, vals[i])
			if err != nil {
				return err
			}
			names[i], params[i] = sqlIdent(col.name), p
		}
		c.sql = "INSERT INTO " + tbl + " (" + strings.Join(names, ",") + ") VALUES (" + strings.Join(params, ",") + ")"
		if s.cfg.insertMode == insertUpsert {
			conflict := make([]string, len(keys))
			for i, k := range keys {
				conflict[i] = sqlIdent(k.name)
			}
			c.sql += " ON CONFLICT (" + strings.Join(conflict, ",") + ")"
			if len(cols) == 0 {
				c.sql += " DO NOTHING"
			} else {
				set := make([]string, len(cols))
				for i, col := range cols {
					set[i] = sqlIdent(col.name) + "=EXCLUDED." + sqlIdent(col.name)
				}
				c.sql += " DO UPDATE SET " + strings.Join(set, ",")
			}
		}
	}
	c.args = args
	return nil
}

// sqlIdent quotes an identifier, whatever it holds.
func sqlIdent(name string) string { return pgx.Identifier{name}.Sanitize() }

// --- writing ---

// writeRetrying writes the changes, retrying with backoff while the database
// cannot be reached. It returns the rows written and the records the
// database rejected (when errors.tolerance=all).
func (s *jdbcSink) writeRetrying(ctx context.Context, changes []*sinkChange) (int, []sinkFailure, error) {
	if len(changes) == 0 {
		return 0, nil, nil
	}
	retrying := false
	for backoff := 500 * time.Millisecond; ; backoff = sinkBackoff(backoff) {
		n, rejected, err := s.write(ctx, changes)
		if err == nil || ctx.Err() != nil || !isPGConnectionError(err) {
			if retrying && err == nil {
				s.t.Retrying(nil)
			}
			return n, rejected, err
		}
		retrying = true
		err = fmt.Errorf("writing to PostgreSQL: %w", err)
		s.t.Retrying(err)
		s.t.Log.Warn("the sink's database is unreachable; retrying", "err", err, "in", backoff)
		if !sleepCtx(ctx, backoff) {
			return 0, nil, ctx.Err()
		}
	}
}

// write applies the changes in one transaction, after creating or altering
// their tables. When the database rejects a row, the transaction is rolled
// back and the changes are applied again one by one, each under a savepoint,
// to single out the rejected records.
func (s *jdbcSink) write(ctx context.Context, changes []*sinkChange) (int, []sinkFailure, error) {
	if err := s.ensureTables(ctx, changes); err != nil {
		return 0, nil, err
	}
	var active []*sinkChange
	for _, c := range changes {
		if !c.skip {
			active = append(active, c)
		}
	}
	if len(active) == 0 {
		return 0, nil, nil
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, c := range active {
			b.Queue(c.sql, c.args...)
		}
		br := tx.SendBatch(ctx, b)
		for range active {
			if _, err := br.Exec(); err != nil {
				br.Close()
				return err
			}
		}
		return br.Close()
	})
	if err == nil {
		return len(active), nil, nil
	}
	if ctx.Err() != nil || isPGConnectionError(err) {
		return 0, nil, err
	}
	var rejected []sinkFailure
	n := 0
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		for _, c := range active {
			if _, err := tx.Exec(ctx, "SAVEPOINT meshplane_record"); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, c.sql, c.args...)
			if err == nil {
				if _, err := tx.Exec(ctx, "RELEASE SAVEPOINT meshplane_record"); err != nil {
					return err
				}
				n++
				continue
			}
			if ctx.Err() != nil || isPGConnectionError(err) {
				return err
			}
			if _, rerr := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT meshplane_record"); rerr != nil {
				return rerr
			}
			f := &sinkError{stage: stageTaskPut, class: jdbcSinkTaskClass, exception: connectExceptionClass,
				err: fmt.Errorf("writing to table %s: %w", c.table, err)}
			if terr := s.tolerate(c.rec, f); terr != nil {
				return terr
			}
			rejected = append(rejected, sinkFailure{c.rec, f})
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return n, rejected, nil
}

// inTx runs fn in a transaction, committing when it succeeds.
func (s *jdbcSink) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = tx.Rollback(rctx) // a no-op once committed
	}()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// sinkTableInfo is what the sink knows of a table: whether it exists, and its
// columns' names.
type sinkTableInfo struct {
	exists  bool
	columns map[string]bool
}

// ensureTables creates the tables the changes write to and adds the columns
// they lack, as schema.evolution allows (each DDL statement in its own
// transaction, as the connector does).
func (s *jdbcSink) ensureTables(ctx context.Context, changes []*sinkChange) error {
	infos := map[sinkTable]*sinkTableInfo{}
	load := func(id sinkTable) (*sinkTableInfo, error) {
		info, err := s.readTable(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("reading table %s: %w", id, err)
		}
		infos[id] = info
		return info, nil
	}
	for _, c := range changes {
		info := infos[c.table]
		if info == nil {
			var err error
			if info, err = load(c.table); err != nil {
				return err
			}
		}
		if c.kind == sinkTruncate {
			c.skip = !info.exists
			continue
		}
		if !info.exists {
			if s.cfg.evolution == evolutionNone {
				return fmt.Errorf("Cannot create table %s because schema evolution is disabled: the table does not exist and schema.evolution is none", c.table)
			}
			err := s.createTable(ctx, c)
			var pgErr *pgconn.PgError
			if err != nil && !(errors.As(err, &pgErr) && pgErr.Code == "42P07") { // created meanwhile: alter it instead
				return fmt.Errorf("creating table %s: %w", c.table, err)
			}
			if info, err = load(c.table); err != nil {
				return err
			}
		}
		var missing []sinkColumn
		for _, col := range c.columns {
			if !info.columns[pgIdentifierName(col.name)] {
				missing = append(missing, col)
			}
		}
		if len(missing) == 0 {
			continue
		}
		for _, col := range missing {
			if !col.schema.Optional {
				return fmt.Errorf("Cannot ALTER table '%s' because field '%s' is not optional but has no default value", c.table, col.field)
			}
		}
		if s.cfg.evolution == evolutionNone {
			return fmt.Errorf("Cannot alter table %s because schema evolution is disabled: the record has fields the table lacks and schema.evolution is none", c.table)
		}
		adds := make([]string, len(missing))
		for i, col := range missing {
			adds[i] = "ADD COLUMN " + sqlIdent(col.name) + " " + col.typ + " NULL"
		}
		if _, err := s.pool.Exec(ctx, "ALTER TABLE "+c.table.sql()+" "+strings.Join(adds, ", ")); err != nil {
			return fmt.Errorf("altering table %s: %w", c.table, err)
		}
		if _, err := load(c.table); err != nil {
			return err
		}
	}
	return nil
}

// createTable creates the change's table from its columns: key columns
// first, NOT NULL and the primary key, then the others, NOT NULL unless
// optional.
func (s *jdbcSink) createTable(ctx context.Context, c *sinkChange) error {
	var defs, keys []string
	for _, col := range c.columns {
		null := " NULL"
		if col.key || !col.schema.Optional {
			null = " NOT NULL"
		}
		defs = append(defs, sqlIdent(col.name)+" "+col.typ+null)
		if col.key {
			keys = append(keys, sqlIdent(col.name))
		}
	}
	if len(keys) > 0 {
		defs = append(defs, "PRIMARY KEY("+strings.Join(keys, ", ")+")")
	}
	_, err := s.pool.Exec(ctx, "CREATE TABLE "+c.table.sql()+" ("+strings.Join(defs, ", ")+")")
	return err
}

// readTable looks the table up as the connection's search path resolves it.
func (s *jdbcSink) readTable(ctx context.Context, id sinkTable) (*sinkTableInfo, error) {
	rows, err := s.pool.Query(ctx, `SELECT r.oid IS NOT NULL, a.attname::text
		FROM (SELECT to_regclass($1) AS oid) r
		LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped`, id.sql())
	if err != nil {
		return nil, err
	}
	info := &sinkTableInfo{columns: map[string]bool{}}
	for rows.Next() {
		var name *string
		if err := rows.Scan(&info.exists, &name); err != nil {
			rows.Close()
			return nil, err
		}
		if name != nil {
			info.columns[*name] = true
		}
	}
	return info, rows.Err()
}

// pgIdentifierName is name as PostgreSQL stores an identifier: at most 63 bytes.
func pgIdentifierName(name string) string {
	const maxLen = 63
	if len(name) <= maxLen {
		return name
	}
	n := maxLen
	for n > 0 && !utf8.RuneStart(name[n]) {
		n--
	}
	return name[:n]
}

// --- types and values ---

// sinkColumnType is the PostgreSQL type the connector creates for a field of
// schema s (its PostgreSQL dialect on Hibernate's type names).
func sinkColumnType(s *Schema, key bool) (string, error) {
	switch s.Name {
	case decimalSchema:
		scale, _ := strconv.Atoi(s.Parameters["scale"])
		scale = max(scale, 0)
		if p, _ := strconv.Atoi(s.Parameters["connect.decimal.precision"]); p > 0 {
			return fmt.Sprintf("numeric(%d,%d)", min(p, 1000), scale), nil
		}
		if scale != 0 {
			return fmt.Sprintf("numeric(1000,%d)", scale), nil
		}
		return "numeric", nil
	case "io.debezium.data.VariableScaleDecimal":
		return "double precision", nil
	case "io.debezium.time.Date", connectDateSchema:
		return "date", nil
	case "io.debezium.time.Time", "io.debezium.time.MicroTime", "io.debezium.time.NanoTime", connectTimeSchema:
		return fmt.Sprintf("time(%d)", sinkTimePrecision(s)), nil
	case "io.debezium.time.Timestamp", "io.debezium.time.MicroTimestamp", "io.debezium.time.NanoTimestamp", connectTimestampSchema:
		return fmt.Sprintf("timestamp(%d)", sinkTimePrecision(s)), nil
	case "io.debezium.time.ZonedTimestamp":
		return fmt.Sprintf("timestamp(%d) with time zone", sinkTimePrecision(s)), nil
	case "io.debezium.time.ZonedTime":
		return fmt.Sprintf("time(%d) with time zone", sinkTimePrecision(s)), nil
	case "io.debezium.time.MicroDuration":
		return "interval", nil
	case "io.debezium.data.Json":
		if strings.EqualFold(s.Parameters["__debezium.source.column.type"], "JSONB") {
			return "jsonb", nil
		}
		return "json", nil
	case "io.debezium.data.Uuid":
		return "uuid", nil
	case "io.debezium.data.Xml":
		return "xml", nil
	}
	switch s.Type {
	case TypeInt8, TypeInt16:
		return "smallint", nil
	case TypeInt32:
		return "integer", nil
	case TypeInt64:
		return "bigint", nil
	case TypeFloat32:
		return "real", nil
	case TypeFloat64:
		return "double precision", nil
	case TypeBoolean:
		return "boolean", nil
	case TypeString:
		return sinkStringType(s), nil
	case TypeBytes:
		return "bytea", nil
	}
	name := s.Name
	if name == "" {
		name = "null"
	}
	return "", fmt.Errorf("Failed to resolve column type for schema: %s (%s); the sandbox's JDBC sink does not write %s fields",
		strings.ToUpper(s.Type), name, s.Type)
}

// sinkStringType is a string field's type: char(n) or varchar(n) when the source
// propagated its column type and length, text otherwise.
func sinkStringType(s *Schema) string {
	n, _ := strconv.Atoi(s.Parameters["__debezium.source.column.length"])
	switch strings.ToUpper(s.Parameters["__debezium.source.column.type"]) {
	case "CHAR", "CHARACTER", "BPCHAR", "NCHAR":
		return fmt.Sprintf("char(%d)", max(n, 1))
	case "VARCHAR", "VARCHAR2", "CHARACTER VARYING", "NVARCHAR", "NVARCHAR2":
		if n > 0 && n <= 10485760 {
			return fmt.Sprintf("varchar(%d)", n)
		}
	}
	return "text"
}

// sinkTimePrecision is a time or timestamp column's fractional digits: the
// source column's, when propagated, else 6.
func sinkTimePrecision(s *Schema) int {
	p, err := strconv.Atoi(s.Parameters["__debezium.source.column.scale"])
	if err != nil {
		p, _ = strconv.Atoi(s.Parameters["__debezium.source.column.length"])
	}
	if p > 0 && p <= 6 {
		return p
	}
	return 6
}

// sinkSQLValue is the statement argument for a value of schema s: nil or its
// PostgreSQL text form, which pgx sends as text for the server to parse as
// the column's type.
func sinkSQLValue(s *Schema, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	if d, ok := v.(decimalString); ok {
		return string(d), nil
	}
	n, isInt := v.(int64)
	switch s.Name {
	case decimalSchema:
		b, ok := v.([]byte)
		if !ok {
			return nil, errors.New("a Decimal value is not bytes")
		}
		scale, _ := strconv.Atoi(s.Parameters["scale"])
		return decimalFromUnscaled(b, scale), nil
	case "io.debezium.data.VariableScaleDecimal":
		st, ok := v.(*Struct)
		if !ok {
			return nil, errors.New("a VariableScaleDecimal value is not a struct")
		}
		scale, _ := st.Get("scale").(int64)
		b, _ := st.Get("value").([]byte)
		if len(b) == 0 {
			return nil, errors.New("a VariableScaleDecimal value has no unscaled value")
		}
		return decimalFromUnscaled(b, int(scale)), nil
	}
	if isInt {
		switch s.Name {
		case "io.debezium.time.Date", connectDateSchema:
			return sinkDate(time.Unix(n*86400, 0).UTC()), nil
		case "io.debezium.time.Time", connectTimeSchema:
			return sinkTimeOfDay(n * int64(time.Millisecond)), nil
		case "io.debezium.time.MicroTime":
			return sinkTimeOfDay(n * int64(time.Microsecond)), nil
		case "io.debezium.time.NanoTime":
			return sinkTimeOfDay(n), nil
		case "io.debezium.time.Timestamp", connectTimestampSchema:
			return sinkTimestamp(time.UnixMilli(n).UTC()), nil
		case "io.debezium.time.MicroTimestamp":
			return sinkTimestamp(time.UnixMicro(n).UTC()), nil
		case "io.debezium.time.NanoTimestamp":
			return sinkTimestamp(time.Unix(0, n).UTC()), nil
		case "io.debezium.time.MicroDuration":
			return strconv.FormatInt(n, 10) + " microseconds", nil
		}
	}
	switch x := v.(type) {
	case bool:
		return strconv.FormatBool(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		bits := 64
		if s.Type == TypeFloat32 {
			bits = 32
		}
		switch {
		case math.IsNaN(x):
			return "NaN", nil
		case math.IsInf(x, 1):
			return "Infinity", nil
		case math.IsInf(x, -1):
			return "-Infinity", nil
		}
		return strconv.FormatFloat(x, 'g', -1, bits), nil
	case string:
		return x, nil
	case []byte:
		return `\x` + hex.EncodeToString(x), nil
	}
	return nil, fmt.Errorf("the sandbox's JDBC sink does not write %s values", strings.ToUpper(s.Type))
}

// decimalFromUnscaled renders a Decimal: a big-endian two's complement unscaled
// value and a scale.
func decimalFromUnscaled(b []byte, scale int) string {
	n := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	sign := ""
	if n.Sign() < 0 {
		sign = "-"
		n.Neg(n)
	}
	digits := n.String()
	if scale <= 0 {
		if n.Sign() != 0 {
			digits += strings.Repeat("0", -scale)
		}
		return sign + digits
	}
	if len(digits) <= scale {
		digits = strings.Repeat("0", scale-len(digits)+1) + digits
	}
	return sign + digits[:len(digits)-scale] + "." + digits[len(digits)-scale:]
}

// sinkDate renders a date in PostgreSQL's input syntax (years before 1 as BC).
func sinkDate(t time.Time) string {
	y, bc := t.Year(), ""
	if y <= 0 {
		y, bc = 1-y, " BC"
	}
	return fmt.Sprintf("%04d-%02d-%02d%s", y, t.Month(), t.Day(), bc)
}

// sinkTimestamp renders a timestamp without time zone, to the microsecond.
func sinkTimestamp(t time.Time) string {
	y, bc := t.Year(), ""
	if y <= 0 {
		y, bc = 1-y, " BC"
	}
	return fmt.Sprintf("%04d-%02d-%02d %02d:%02d:%02d.%06d%s", y, t.Month(), t.Day(),
		t.Hour(), t.Minute(), t.Second(), t.Nanosecond()/1000, bc)
}

// sinkTimeOfDay renders nanoseconds since midnight as a time.
func sinkTimeOfDay(ns int64) string {
	d := time.Duration(ns)
	h := d / time.Hour
	d -= h * time.Hour
	m := d / time.Minute
	d -= m * time.Minute
	sec := d / time.Second
	d -= sec * time.Second
	return fmt.Sprintf("%02d:%02d:%02d.%06d", h, m, sec, d/time.Microsecond)
}
