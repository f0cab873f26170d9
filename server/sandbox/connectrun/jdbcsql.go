package connectrun

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/twmb/franz-go/pkg/kgo"
)

// What the JDBC sink does with a record: the table, key and columns it
// resolves, and the statements that create, alter and write the table.

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
	for backoff := 500 * time.Millisecond; ; backoff = nextBackoff(backoff) {
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
