package connectrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/twmb/franz-go/pkg/kgo"
)

// table is a captured table as change events describe it.
type table struct {
	schema, name string
	// cols are every column of the table, in its order; value lists the
	// indexes of the columns in the value, key those in the key.
	cols  []*pgColumn
	value []int
	key   []int
	// topic is the topic the table's events go to, after routing.
	topic                          string
	keySchema, rowSchema, envelope *Schema
	// keyJSON and envelopeJSON are the schemas as written in each record.
	keyJSON, envelopeJSON []byte
}

// querier runs catalog queries inside or outside a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// errNoTable reports a table the catalog does not have (or that has no
// columns).
var errNoTable = errors.New("no such table, or one without columns")

// catalogColumn is a column as the catalog describes it now.
type catalogColumn struct {
	name    string
	oid     uint32
	typmod  int32
	notNull bool
	// pkPos is the column's position in the primary key, 0 when not in it.
	pkPos int
}

// catalogColumns reads a table's columns, nullability and primary key.
func catalogColumns(ctx context.Context, q querier, schema, name string) ([]catalogColumn, error) {
	rows, err := q.Query(ctx, `SELECT a.attname, a.atttypid, a.atttypmod, a.attnotnull,
			COALESCE(array_position(i.indkey::int2[], a.attnum), 0)
		FROM pg_attribute a
		JOIN pg_class c ON c.oid = a.attrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
		WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
		ORDER BY a.attnum`, schema, name)
	if err != nil {
		return nil, fmt.Errorf("reading the columns of %s.%s: %w", schema, name, err)
	}
	defer rows.Close()
	var out []catalogColumn
	for rows.Next() {
		var c catalogColumn
		if err := rows.Scan(&c.name, &c.oid, &c.typmod, &c.notNull, &c.pkPos); err != nil {
			return nil, fmt.Errorf("reading the columns of %s.%s: %w", schema, name, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the columns of %s.%s: %w", schema, name, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %s.%s", errNoTable, schema, name)
	}
	return out, nil
}

// tableInfo describes a table as the catalog has it now (for the snapshot).
func (src *pgSource) tableInfo(ctx context.Context, q querier, schema, name string) (*table, error) {
	cols, err := catalogColumns(ctx, q, schema, name)
	if err != nil {
		return nil, err
	}
	tb := &table{schema: schema, name: name}
	for _, c := range cols {
		tb.cols = append(tb.cols, newColumn(c.name, c.oid, c.typmod, c.notNull, src.s.typeOpts))
	}
	if err := src.build(tb, primaryKey(cols)); err != nil {
		return nil, err
	}
	return tb, nil
}

// relationTable describes a table as a pgoutput Relation message does: the
// columns the changes that follow carry, which may be fewer or other than
// the catalog's now (a column added or dropped since). Nullability and the
// primary key, which the message lacks, come from the catalog by name; a
// column the catalog no longer has is nullable.
func (src *pgSource) relationTable(ctx context.Context, m *pglogrepl.RelationMessage) (*table, error) {
	cols, err := catalogColumns(ctx, src.db, m.Namespace, m.RelationName)
	if errors.Is(err, errNoTable) {
		// Dropped or renamed since this part of the WAL was written: the
		// message's own columns, all nullable, keyed on the replica
		// identity's columns.
		for i, c := range m.Columns {
			pos := 0
			if c.Flags&1 != 0 {
				pos = i + 1
			}
			cols = append(cols, catalogColumn{name: c.Name, pkPos: pos})
		}
	} else if err != nil {
		return nil, err
	}
	now := map[string]catalogColumn{}
	for _, c := range cols {
		now[c.name] = c
	}
	tb := &table{schema: m.Namespace, name: m.RelationName}
	var present []catalogColumn
	for _, rc := range m.Columns {
		c := now[rc.Name]
		tb.cols = append(tb.cols, newColumn(rc.Name, rc.DataType, rc.TypeModifier, c.notNull, src.s.typeOpts))
		present = append(present, catalogColumn{name: rc.Name, pkPos: c.pkPos})
	}
	if err := src.build(tb, primaryKey(present)); err != nil {
		return nil, err
	}
	return tb, nil
}

// primaryKey lists the primary key's columns in key order.
func primaryKey(cols []catalogColumn) []string {
	var key []catalogColumn
	for _, c := range cols {
		if c.pkPos > 0 {
			key = append(key, c)
		}
	}
	slices.SortFunc(key, func(a, b catalogColumn) int { return a.pkPos - b.pkPos })
	out := make([]string, len(key))
	for i, c := range key {
		out[i] = c.name
	}
	return out
}

// build derives the table's value and key columns and its schemas.
func (src *pgSource) build(tb *table, primary []string) error {
	for i, c := range tb.cols {
		if src.s.filters.column(tb.schema, tb.name, c.name) {
			tb.value = append(tb.value, i)
		}
		if m := mapperFor(src.s.mappers, tb.schema, tb.name, c.name); m.applies(c) {
			c.mapper = m
		}
	}
	for _, k := range keyFor(src.s.keyRules, tb.schema, tb.name, primary) {
		idx := -1
		for i, c := range tb.cols {
			if c.name == k {
				idx = i
			}
		}
		if idx < 0 {
			return fmt.Errorf("setting message.key.columns: table %s.%s has no column %s", tb.schema, tb.name, k)
		}
		tb.key = append(tb.key, idx)
	}
	base := src.s.prefix + "." + tb.schema + "." + tb.name
	tb.topic = src.topic(base)
	tb.rowSchema = &Schema{Type: TypeStruct, Optional: true, Name: base + ".Value"}
	for _, i := range tb.value {
		c := tb.cols[i]
		f := c.schema.withField(c.name)
		if c.mapper != nil {
			k, v := c.mapper.schemaParameter()
			f.Parameters = map[string]string{}
			for pk, pv := range c.schema.Parameters {
				f.Parameters[pk] = pv
			}
			f.Parameters[k] = v
		}
		tb.rowSchema.Fields = append(tb.rowSchema.Fields, f)
	}
	if len(tb.key) > 0 {
		tb.keySchema = &Schema{Type: TypeStruct, Name: base + ".Key"}
		for _, i := range tb.key {
			c := tb.cols[i]
			f := c.schema.withField(c.name)
			// Key columns are required whatever their nullability, as in
			// Debezium's key schemas built from primary keys.
			f.Optional = false
			tb.keySchema.Fields = append(tb.keySchema.Fields, f)
		}
	}
	tb.envelope = &Schema{Type: TypeStruct, Name: base + ".Envelope", Version: 2, Fields: []*Schema{
		tb.rowSchema.withField("before"),
		tb.rowSchema.withField("after"),
		sourceSchema.withField("source"),
		transactionSchema.withField("transaction"),
		{Type: TypeString, Field: "op"},
		{Type: TypeInt64, Optional: true, Field: "ts_ms"},
		{Type: TypeInt64, Optional: true, Field: "ts_us"},
		{Type: TypeInt64, Optional: true, Field: "ts_ns"},
	}}
	var err error
	if tb.envelopeJSON, err = json.Marshal(tb.envelope); err != nil {
		return err
	}
	if tb.keySchema != nil {
		if tb.keyJSON, err = json.Marshal(tb.keySchema); err != nil {
			return err
		}
	}
	return nil
}

// sourceSchema is io.debezium.connector.postgresql.Source.
var sourceSchema = Schema{Type: TypeStruct, Name: "io.debezium.connector.postgresql.Source", Fields: []*Schema{
	{Type: TypeString, Field: "version"},
	{Type: TypeString, Field: "connector"},
	{Type: TypeString, Field: "name"},
	{Type: TypeInt64, Field: "ts_ms"},
	{Type: TypeString, Optional: true, Name: "io.debezium.data.Enum", Version: 1,
		Parameters: map[string]string{"allowed": "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},
		Field:      "snapshot"},
	{Type: TypeString, Field: "db"},
	{Type: TypeString, Optional: true, Field: "sequence"},
	{Type: TypeInt64, Optional: true, Field: "ts_us"},
	{Type: TypeInt64, Optional: true, Field: "ts_ns"},
	{Type: TypeString, Field: "schema"},
	{Type: TypeString, Field: "table"},
	{Type: TypeInt64, Optional: true, Field: "txId"},
	{Type: TypeInt64, Optional: true, Field: "lsn"},
	{Type: TypeInt64, Optional: true, Field: "xmin"},
}}

// transactionSchema is Debezium's event.block (provide.transaction.metadata
// is off, so it is always null).
var transactionSchema = Schema{Type: TypeStruct, Optional: true, Name: "event.block", Version: 1, Fields: []*Schema{
	{Type: TypeString, Field: "id"},
	{Type: TypeInt64, Field: "total_order"},
	{Type: TypeInt64, Field: "data_collection_order"},
}}

var (
	heartbeatKeySchema = &Schema{Type: TypeStruct, Name: "io.debezium.connector.common.ServerNameKey", Fields: []*Schema{
		{Type: TypeString, Field: "serverName"},
	}}
	heartbeatValueSchema = &Schema{Type: TypeStruct, Name: "io.debezium.connector.common.Heartbeat", Fields: []*Schema{
		{Type: TypeInt64, Field: "ts_ms"},
	}}
)

// row builds the value struct of a row given as text values (nil for
// NULL), applying the column mappers. unchanged marks TOASTed values an
// update did not send.
func (src *pgSource) row(tb *table, vals []*string, unchanged []bool) (*Struct, error) {
	st := NewStruct(tb.rowSchema)
	for j, i := range tb.value {
		c := tb.cols[i]
		var v any
		switch {
		case i < len(unchanged) && unchanged[i]:
			v = src.unavailable(c)
		case i < len(vals) && vals[i] != nil:
			var err error
			if v, err = c.convert(*vals[i], src.s.typeOpts); err != nil {
				return nil, fmt.Errorf("column %s.%s.%s: %w", tb.schema, tb.name, c.name, err)
			}
		case c.notNull:
			// A NOT NULL column the old tuple does not carry (a delete
			// under REPLICA IDENTITY DEFAULT sends the key only): Debezium
			// writes its type's fallback value, not null.
			v = c.fallback()
		}
		if c.mapper != nil {
			v = c.mapper.apply(c, v)
		}
		st.Values[j] = v
	}
	return st, nil
}

// unavailable is the placeholder for an unchanged TOASTed value: the
// placeholder text for strings and JSON, its bytes for bytea; Debezium
// writes placeholders for arrays too, where the sandbox writes null.
func (src *pgSource) unavailable(c *pgColumn) any {
	switch c.schema.Type {
	case TypeString:
		return src.s.placeholder
	case TypeBytes:
		return []byte(src.s.placeholder)
	}
	return nil
}

// key builds the key struct from a row's text values; mappers do not apply
// to keys, as in Debezium. It is nil for a table without key columns, or
// when the row lacks a key value (an old tuple holding the replica
// identity only).
func (src *pgSource) key(tb *table, vals []*string) (*Struct, error) {
	if tb.keySchema == nil {
		return nil, nil
	}
	st := NewStruct(tb.keySchema)
	for j, i := range tb.key {
		if i >= len(vals) || vals[i] == nil {
			return nil, nil
		}
		v, err := tb.cols[i].convert(*vals[i], src.s.typeOpts)
		if err != nil {
			return nil, fmt.Errorf("key column %s.%s.%s: %w", tb.schema, tb.name, tb.cols[i].name, err)
		}
		st.Values[j] = v
	}
	return st, nil
}

// event builds one change event record. before and after are text rows,
// either may be nil; unchanged marks TOASTed values an update did not send.
func (src *pgSource) event(tb *table, op string, before, after []*string, unchanged []bool, snapshot string, ts time.Time, txID int64, lsn, lastCommit pglogrepl.LSN) (*kgo.Record, error) {
	env := NewStruct(tb.envelope)
	keyRow := after
	if keyRow == nil {
		keyRow = before
	}
	if before != nil {
		b, err := src.row(tb, before, nil)
		if err != nil {
			return nil, err
		}
		env.Set("before", b)
	}
	if after != nil {
		a, err := src.row(tb, after, unchanged)
		if err != nil {
			return nil, err
		}
		env.Set("after", a)
	}
	now := time.Now()
	source := NewStruct(&sourceSchema)
	source.Set("version", DebeziumVersion).
		Set("connector", "postgresql").
		Set("name", src.s.prefix).
		Set("ts_ms", ts.UnixMilli()).
		Set("snapshot", snapshot).
		Set("db", src.t.Config["database.dbname"]).
		Set("ts_us", ts.UnixMicro()).
		Set("ts_ns", ts.UnixNano()).
		Set("schema", tb.schema).
		Set("table", tb.name).
		Set("lsn", int64(lsn))
	if txID > 0 {
		source.Set("txId", txID)
	}
	seq, _ := json.Marshal([]*string{lsnString(lastCommit), lsnString(lsn)})
	source.Set("sequence", string(seq))
	env.Set("source", source).
		Set("op", op).
		Set("ts_ms", now.UnixMilli()).
		Set("ts_us", now.UnixMicro()).
		Set("ts_ns", now.UnixNano())
	rec := &kgo.Record{Topic: tb.topic, Value: EncodeWith(tb.envelopeJSON, env)}
	k, err := src.key(tb, keyRow)
	if err != nil {
		return nil, err
	}
	if k != nil {
		rec.Key = EncodeWith(tb.keyJSON, k)
	}
	return rec, nil
}

func lsnString(l pglogrepl.LSN) *string {
	if l == 0 {
		return nil
	}
	s := strconv.FormatUint(uint64(l), 10)
	return &s
}

// stream reads changes from the slot until ctx ends. It starts from the
// slot's own confirmed position: only positions whose records the broker
// acknowledged are ever confirmed after it.
func (src *pgSource) stream(ctx context.Context) error {
	var flushed pglogrepl.LSN
	if err := src.db.QueryRow(ctx, `SELECT coalesce(confirmed_flush_lsn, '0/0') FROM pg_replication_slots WHERE slot_name = $1`, src.s.slot).Scan(&flushed); err != nil {
		return fmt.Errorf("reading the position of slot %s: %w", src.s.slot, err)
	}
	src.slotConfirmed = flushed
	err := pglogrepl.StartReplication(ctx, src.rep, pgx.Identifier{src.s.slot}.Sanitize(), 0, pglogrepl.StartReplicationOptions{
		Mode: pglogrepl.LogicalReplication,
		PluginArgs: []string{
			"proto_version '1'",
			"publication_names '" + strings.ReplaceAll(pgx.Identifier{src.s.publication}.Sanitize(), "'", "''") + "'",
		},
	})
	if err != nil {
		return fmt.Errorf("starting replication from slot %s: %w", src.s.slot, err)
	}
	src.confirmed = src.slotConfirmed
	src.processed = src.confirmed
	src.t.Log.Info("streaming changes", "slot", src.s.slot, "publication", src.s.publication, "from", src.confirmed)
	src.t.Behind("wal_bytes", 0)
	src.t.Retrying(nil)
	nextFlush := time.Now().Add(flushInterval)
	var nextHeartbeat time.Time
	if src.s.heartbeat > 0 {
		nextHeartbeat = time.Now().Add(src.s.heartbeat)
	}
	for {
		if err := src.producedErr(); err != nil {
			return err
		}
		now := time.Now()
		if !nextHeartbeat.IsZero() && !now.Before(nextHeartbeat) {
			if err := src.heartbeatRecord(ctx); err != nil {
				return err
			}
			nextHeartbeat = now.Add(src.s.heartbeat)
		}
		if !now.Before(nextFlush) {
			if err := src.flush(ctx, false); err != nil {
				return err
			}
			nextFlush = time.Now().Add(flushInterval)
		}
		deadline := nextFlush
		if !nextHeartbeat.IsZero() && nextHeartbeat.Before(deadline) {
			deadline = nextHeartbeat
		}
		rctx, cancel := context.WithDeadline(ctx, deadline)
		msg, err := src.rep.ReceiveMessage(rctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				src.finalFlush()
				return nil
			}
			if pgconn.Timeout(err) {
				continue
			}
			return fmt.Errorf("receiving changes: %w", err)
		}
		switch m := msg.(type) {
		case *pgproto3.ErrorResponse:
			return fmt.Errorf("replication stream: %w", pgconn.ErrorResponseToPgError(m))
		case *pgproto3.CopyData:
			if len(m.Data) == 0 {
				continue
			}
			switch m.Data[0] {
			case pglogrepl.PrimaryKeepaliveMessageByteID:
				ka, err := pglogrepl.ParsePrimaryKeepaliveMessage(m.Data[1:])
				if err != nil {
					return fmt.Errorf("replication stream: %w", err)
				}
				src.serverEnd = max(src.serverEnd, ka.ServerWALEnd)
				if !src.inTxn && ka.ServerWALEnd > src.processed {
					// Everything before the server's sent position was
					// received and produced.
					src.processed = ka.ServerWALEnd
					src.reached(ka.ServerWALEnd)
				}
				if ka.ReplyRequested {
					nextFlush = time.Now()
				}
			case pglogrepl.XLogDataByteID:
				xld, err := pglogrepl.ParseXLogData(m.Data[1:])
				if err != nil {
					return fmt.Errorf("replication stream: %w", err)
				}
				src.serverEnd = max(src.serverEnd, xld.ServerWALEnd)
				if err := src.handle(ctx, xld); err != nil {
					return err
				}
			}
		}
	}
}

// handle decodes one pgoutput message and writes its events.
func (src *pgSource) handle(ctx context.Context, xld pglogrepl.XLogData) error {
	msg, err := pglogrepl.Parse(xld.WALData)
	if err != nil {
		return fmt.Errorf("decoding pgoutput: %w", err)
	}
	switch m := msg.(type) {
	case *pglogrepl.RelationMessage:
		// pgoutput describes a table before its first change in a session
		// and again whenever its columns changed.
		// A publication for all tables (or one made by hand) sends tables
		// the filters leave out: their changes are skipped.
		if !src.s.filters.table(m.Namespace, m.RelationName) {
			src.tables[m.RelationID] = nil
			return nil
		}
		tb, err := src.relationTable(ctx, m)
		if err != nil {
			return err
		}
		src.tables[m.RelationID] = tb
	case *pglogrepl.BeginMessage:
		src.inTxn = true
		src.txID = int64(m.Xid)
		src.commitTime = m.CommitTime
	case *pglogrepl.CommitMessage:
		src.inTxn = false
		src.lastCommit = m.CommitLSN
		src.processed = max(src.processed, m.TransactionEndLSN)
		src.reached(m.TransactionEndLSN)
	case *pglogrepl.InsertMessage:
		return src.change(ctx, m.RelationID, "c", 0, nil, m.Tuple, xld.WALStart)
	case *pglogrepl.UpdateMessage:
		return src.change(ctx, m.RelationID, "u", m.OldTupleType, m.OldTuple, m.NewTuple, xld.WALStart)
	case *pglogrepl.DeleteMessage:
		return src.change(ctx, m.RelationID, "d", m.OldTupleType, m.OldTuple, nil, xld.WALStart)
	case *pglogrepl.TruncateMessage:
		// skipped.operations includes t by default; the sandbox does not
		// write truncate events.
	}
	return nil
}

// tuple turns pgoutput tuple data into text values and unchanged-TOAST marks.
func tuple(td *pglogrepl.TupleData) ([]*string, []bool) {
	if td == nil {
		return nil, nil
	}
	vals := make([]*string, len(td.Columns))
	unchanged := make([]bool, len(td.Columns))
	for i, c := range td.Columns {
		switch c.DataType {
		case pglogrepl.TupleDataTypeText, pglogrepl.TupleDataTypeBinary:
			v := string(c.Data)
			vals[i] = &v
		case pglogrepl.TupleDataTypeToast:
			unchanged[i] = true
		}
	}
	return vals, unchanged
}

// change writes the events of one row change. A key change on update is a
// delete of the old key (with its tombstone) and a create of the new one,
// as Debezium writes it.
//
// oldType is pgoutput's kind of old tuple: 'K' holds the replica identity's
// key columns only (the others null), 'O' the whole old row (REPLICA
// IDENTITY FULL).
func (src *pgSource) change(ctx context.Context, rel uint32, op string, oldType uint8, oldTD, newTD *pglogrepl.TupleData, lsn pglogrepl.LSN) error {
	tb, described := src.tables[rel]
	if !described {
		return fmt.Errorf("pgoutput sent a change for relation %d before describing it", rel)
	}
	if tb == nil {
		return nil // a table the filters leave out
	}
	if src.s.skipped[op] {
		return nil
	}
	before, _ := tuple(oldTD)
	after, unchanged := tuple(newTD)
	emit := func(op string, before, after []*string, unchanged []bool) error {
		rec, err := src.event(tb, op, before, after, unchanged, "false", src.commitTime, src.txID, lsn, src.lastCommit)
		if err != nil {
			return err
		}
		return src.produce(ctx, rec)
	}
	tombstone := func(row []*string) error {
		if !src.s.tombstones {
			return nil
		}
		k, err := src.key(tb, row)
		if err != nil {
			return err
		}
		rec := &kgo.Record{Topic: tb.topic}
		if k != nil {
			rec.Key = EncodeWith(tb.keyJSON, k)
		}
		return src.produce(ctx, rec)
	}
	switch op {
	case "d":
		if err := emit("d", before, nil, nil); err != nil {
			return err
		}
		return tombstone(before)
	case "u":
		if before != nil && !src.skipped("d") && !src.skipped("c") {
			oldKey, err := src.key(tb, before)
			if err != nil {
				return err
			}
			newKey, err := src.key(tb, after)
			if err != nil {
				return err
			}
			if oldKey != nil && newKey != nil && !sameValues(oldKey, newKey) {
				if err := emit("d", before, nil, nil); err != nil {
					return err
				}
				if err := tombstone(before); err != nil {
					return err
				}
				return emit("c", nil, after, unchanged)
			}
		}
		// Only a whole old row is an update's before; without REPLICA
		// IDENTITY FULL, before is null, as in Debezium.
		if oldType != pglogrepl.UpdateMessageTupleTypeOld {
			before = nil
		}
		return emit("u", before, after, unchanged)
	}
	return emit(op, nil, after, unchanged)
}

func (src *pgSource) skipped(op string) bool { return src.s.skipped[op] }

func sameValues(a, b *Struct) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// heartbeatRecord writes a heartbeat, as Debezium does every
// heartbeat.interval.ms, to <topic.heartbeat.prefix>.<topic.prefix>.
func (src *pgSource) heartbeatRecord(ctx context.Context) error {
	key, err := Encode(heartbeatKeySchema, NewStruct(heartbeatKeySchema).Set("serverName", src.s.prefix))
	if err != nil {
		return err
	}
	value, err := Encode(heartbeatValueSchema, NewStruct(heartbeatValueSchema).Set("ts_ms", time.Now().UnixMilli()))
	if err != nil {
		return err
	}
	topic := src.topic(src.s.heartbeatPrefix + "." + src.s.prefix)
	return src.produce(ctx, &kgo.Record{Topic: topic, Key: key, Value: value})
}

// offsetsEvery bounds how often the offsets file is written while
// streaming: the slot's confirmed position is what a restart resumes from,
// the file only remembers it for people and for the snapshot's state.
const offsetsEvery = 5 * time.Second

// flush confirms to the slot the furthest position whose change events the
// broker acknowledged, without waiting for records still in flight; final
// waits for them first.
func (src *pgSource) flush(ctx context.Context, final bool) error {
	if final {
		if err := src.cl.Flush(ctx); err != nil {
			return fmt.Errorf("writing change events: %w", err)
		}
	}
	pos := src.acknowledged()
	if err := src.producedErr(); err != nil {
		return err
	}
	if pos > src.confirmed {
		src.confirmed = pos
		src.offsets.LSN = uint64(pos)
	}
	if pglogrepl.LSN(src.saved) != src.confirmed && (final || time.Since(src.offsetsSaved) >= offsetsEvery) {
		if err := src.t.writeOffsets(src.offsets); err != nil {
			return err
		}
		src.offsetsSaved = time.Now()
		src.saved = src.offsets.LSN
	}
	behind := int64(0)
	if src.serverEnd > src.confirmed {
		behind = int64(src.serverEnd - src.confirmed)
	}
	src.t.Behind("wal_bytes", behind)
	if src.rep == nil {
		return nil
	}
	err := pglogrepl.SendStandbyStatusUpdate(ctx, src.rep, pglogrepl.StandbyStatusUpdate{
		WALWritePosition: src.confirmed,
		WALFlushPosition: src.confirmed,
		WALApplyPosition: src.confirmed,
	})
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("confirming position %s to slot %s: %w", src.confirmed, src.s.slot, err)
	}
	return nil
}

// finalFlush confirms what was written before the task stops.
func (src *pgSource) finalFlush() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := src.flush(ctx, true); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		src.t.Log.Warn("confirming the last position failed; the next start repeats the changes since the previous one", "err", err)
	}
}
