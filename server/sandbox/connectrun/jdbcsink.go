package connectrun

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

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
	for backoff := 500 * time.Millisecond; ; backoff = nextBackoff(backoff) {
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
		s.t.UsedTopic(kr.Topic)
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
