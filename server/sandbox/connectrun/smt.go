package connectrun

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The Single Message Transforms a sink task runs on each consumed record
// before the connector sees it, as Kafka Connect's TransformationChain does:
// in the order `transforms` lists them, each skipped when its predicate
// (negated or not) says so, a nil result dropping the record. Only the
// transformations and predicates below run; any other class stops the task.
//
// Values follow Kafka Connect's data model as the JSON converter produces it
// (see toConnectValue): nil, bool, int64 for every integer type, float64 for
// float and double, string, []byte for bytes (a Decimal's unscaled value
// included), *Struct, and json.RawMessage for arrays and maps. A masked
// Decimal is a decimalString.

// Transformation and predicate classes the sandbox runs.
const (
	kafkaTransformsPrefix = "org.apache.kafka.connect.transforms."
	kafkaPredicatesPrefix = "org.apache.kafka.connect.transforms.predicates."

	extractNewRecordStateClass = "io.debezium.transforms.ExtractNewRecordState"
	replaceFieldKeyClass       = kafkaTransformsPrefix + "ReplaceField$Key"
	replaceFieldValueClass     = kafkaTransformsPrefix + "ReplaceField$Value"
	maskFieldKeyClass          = kafkaTransformsPrefix + "MaskField$Key"
	maskFieldValueClass        = kafkaTransformsPrefix + "MaskField$Value"

	recordIsTombstoneClass = kafkaPredicatesPrefix + "RecordIsTombstone"
	topicNameMatchesClass  = kafkaPredicatesPrefix + "TopicNameMatches"
	hasHeaderKeyClass      = kafkaPredicatesPrefix + "HasHeaderKey"
)

// Java exception classes transformation failures carry.
const (
	dataExceptionClass          = "org.apache.kafka.connect.errors.DataException"
	schemaBuilderExceptionClass = "org.apache.kafka.connect.errors.SchemaBuilderException"
	illegalArgumentClass        = "java.lang.IllegalArgumentException"
)

// Logical schema names the transformations and the sink treat specially.
const (
	decimalSchema          = "org.apache.kafka.connect.data.Decimal"
	connectDateSchema      = "org.apache.kafka.connect.data.Date"
	connectTimeSchema      = "org.apache.kafka.connect.data.Time"
	connectTimestampSchema = "org.apache.kafka.connect.data.Timestamp"
)

// sinkRecord is a consumed record as the worker hands it to the
// transformations and then to the connector: its coordinates, and its key
// and value converted to Kafka Connect data with their schemas.
type sinkRecord struct {
	Topic     string
	Partition int32
	Offset    int64
	Timestamp time.Time
	Headers   []kgo.RecordHeader

	KeySchema   *Schema
	Key         any
	ValueSchema *Schema
	Value       any
}

// withValue returns a copy of r with another value.
func (r *sinkRecord) withValue(s *Schema, v any) *sinkRecord {
	c := *r
	c.ValueSchema, c.Value = s, v
	return &c
}

// withKey returns a copy of r with another key.
func (r *sinkRecord) withKey(s *Schema, v any) *sinkRecord {
	c := *r
	c.KeySchema, c.Key = s, v
	return &c
}

// decimalString is a Decimal value given as decimal text, as MaskField
// leaves one (a BigDecimal of its own scale).
type decimalString string

// smtError is a transformation's failure, with the Java exception class the
// transformation throws, for the dead letter queue's headers.
type smtError struct {
	exception string
	msg       string
}

func (e *smtError) Error() string { return e.msg }

// smtDataError is a DataException.
func smtDataError(format string, args ...any) error {
	return &smtError{exception: dataExceptionClass, msg: fmt.Sprintf(format, args...)}
}

// smt is one configured Transformation.
type smt interface {
	apply(r *sinkRecord) (*sinkRecord, error)
}

// smtPredicate is one configured Predicate.
type smtPredicate interface {
	test(r *sinkRecord) bool
}

// smtStep is a transformation as the chain runs it.
type smtStep struct {
	alias  string
	class  string
	t      smt
	pred   smtPredicate // nil: the transformation always applies
	negate bool
}

// smtChain is the connector's transformations in order.
type smtChain []smtStep

// apply runs the chain on r. A nil record means a transformation dropped it;
// on failure, the failing step is returned with the error.
func (c smtChain) apply(r *sinkRecord) (*sinkRecord, *smtStep, error) {
	for i := range c {
		s := &c[i]
		if s.pred != nil && s.negate == s.pred.test(r) {
			continue
		}
		out, err := s.t.apply(r)
		if err != nil {
			return nil, s, err
		}
		if out == nil {
			return nil, nil, nil
		}
		r = out
	}
	return r, nil, nil
}

// newSMTChain builds the chain the connector's `transforms` and
// `predicates` settings describe, refusing classes the sandbox does not run.
func newSMTChain(config map[string]string) (smtChain, error) {
	preds := map[string]smtPredicate{}
	for _, name := range splitConfigList(config["predicates"]) {
		if _, dup := preds[name]; dup {
			continue
		}
		prefix := "predicates." + name + "."
		class := strings.TrimSpace(config[prefix+"type"])
		p, err := newSMTPredicate(resolveSMTClass(class), settingsUnder(config, prefix))
		if err != nil {
			return nil, fmt.Errorf("predicate %s: %w", name, err)
		}
		preds[name] = p
	}
	var chain smtChain
	seen := map[string]bool{}
	for _, alias := range splitConfigList(config["transforms"]) {
		if seen[alias] {
			continue
		}
		seen[alias] = true
		prefix := "transforms." + alias + "."
		class := resolveSMTClass(strings.TrimSpace(config[prefix+"type"]))
		settings := settingsUnder(config, prefix)
		t, err := newSMT(class, settings)
		if err != nil {
			return nil, fmt.Errorf("transform %s: %w", alias, err)
		}
		step := smtStep{alias: alias, class: class, t: t}
		if name := strings.TrimSpace(settings["predicate"]); name != "" {
			p, ok := preds[name]
			if !ok {
				return nil, fmt.Errorf("transform %s: transforms.%s.predicate names the predicate %q, which 'predicates' does not list", alias, alias, name)
			}
			step.pred = p
			neg, err := parseConfigBool(settings, "negate", false)
			if err != nil {
				return nil, fmt.Errorf("transform %s: %w", alias, err)
			}
			step.negate = neg
		}
		chain = append(chain, step)
	}
	return chain, nil
}

// resolveSMTClass maps the aliases a worker accepts for the classes run here
// (a unique simple name) to the full class name.
func resolveSMTClass(class string) string {
	switch class {
	case "ExtractNewRecordState":
		return extractNewRecordStateClass
	case "RecordIsTombstone":
		return recordIsTombstoneClass
	case "TopicNameMatches":
		return topicNameMatchesClass
	case "HasHeaderKey":
		return hasHeaderKeyClass
	}
	return class
}

// newSMT configures the transformation class with its settings.
func newSMT(class string, settings map[string]string) (smt, error) {
	switch class {
	case "":
		return nil, errors.New("its type is not set")
	case extractNewRecordStateClass:
		return newExtractNewRecordState(settings)
	case replaceFieldKeyClass, replaceFieldValueClass:
		return newReplaceField(settings, class == replaceFieldKeyClass)
	case maskFieldKeyClass, maskFieldValueClass:
		return newMaskField(settings, class == maskFieldKeyClass)
	}
	return nil, fmt.Errorf("transform %s is not run by the sandbox (it runs %s)", class, strings.Join([]string{
		extractNewRecordStateClass, replaceFieldValueClass, replaceFieldKeyClass, maskFieldValueClass, maskFieldKeyClass}, ", "))
}

// newSMTPredicate configures the predicate class with its settings.
func newSMTPredicate(class string, settings map[string]string) (smtPredicate, error) {
	switch class {
	case "":
		return nil, errors.New("its type is not set")
	case recordIsTombstoneClass:
		return recordIsTombstone{}, nil
	case topicNameMatchesClass:
		pattern, ok := settings["pattern"]
		if !ok {
			return nil, errors.New(`Missing required configuration "pattern" which has no default value.`)
		}
		re, err := regexp.Compile(`^(?:` + pattern + `)$`)
		if err != nil || pattern == "" {
			return nil, fmt.Errorf("Invalid value for configuration pattern: entry must be a valid regular expression")
		}
		return topicNameMatches{re}, nil
	case hasHeaderKeyClass:
		name := settings["name"]
		if name == "" {
			return nil, errors.New(`Missing required configuration "name" which has no default value.`)
		}
		return hasHeaderKey{name}, nil
	}
	return nil, fmt.Errorf("predicate %s is not run by the sandbox (it runs %s, %s, %s)", class,
		recordIsTombstoneClass, topicNameMatchesClass, hasHeaderKeyClass)
}

// settingsUnder returns the settings under prefix, with the prefix removed.
func settingsUnder(config map[string]string, prefix string) map[string]string {
	out := map[string]string{}
	for k, v := range config {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			out[rest] = v
		}
	}
	return out
}

// splitConfigList splits a Kafka LIST setting: comma-separated, entries trimmed,
// empty entries dropped.
func splitConfigList(s string) []string {
	var out []string
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// parseConfigBool reads a BOOLEAN setting as ConfigDef does.
func parseConfigBool(settings map[string]string, key string, dflt bool) (bool, error) {
	v, ok := settings[key]
	if !ok {
		return dflt, nil
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("Invalid value for configuration %s: Expected value to be either true or false", key)
}

// javaClassName is the Java class of a Connect value of schema s, as
// Requirements.nullSafeClassName names it.
func javaClassName(s *Schema, v any) string {
	if v == nil {
		return "null"
	}
	if s != nil {
		switch s.Name {
		case decimalSchema:
			return "java.math.BigDecimal"
		case connectDateSchema, connectTimeSchema, connectTimestampSchema:
			return "java.util.Date"
		}
		switch s.Type {
		case TypeInt8:
			return "java.lang.Byte"
		case TypeInt16:
			return "java.lang.Short"
		case TypeInt32:
			return "java.lang.Integer"
		case TypeInt64:
			return "java.lang.Long"
		case TypeFloat32:
			return "java.lang.Float"
		case TypeFloat64:
			return "java.lang.Double"
		case TypeBoolean:
			return "java.lang.Boolean"
		case TypeString:
			return "java.lang.String"
		case TypeBytes:
			return "[B"
		case TypeStruct:
			return "org.apache.kafka.connect.data.Struct"
		case "array":
			return "java.util.ArrayList"
		case "map":
			return "java.util.HashMap"
		}
	}
	return fmt.Sprintf("%T", v)
}

// requireConnectStruct is Requirements.requireStruct.
func requireConnectStruct(s *Schema, v any, purpose string) (*Struct, error) {
	st, ok := v.(*Struct)
	if !ok || st == nil {
		return nil, smtDataError("Only Struct objects supported for [%s], found: %s", purpose, javaClassName(s, v))
	}
	return st, nil
}

// copySchemaBasics is SchemaUtil.copySchemaBasics into a struct builder: the
// name, version and parameters, without the fields (and, as in Kafka,
// without the optional flag).
func copySchemaBasics(s *Schema) *Schema {
	out := &Schema{Type: TypeStruct, Name: s.Name, Version: s.Version}
	if s.Parameters != nil {
		out.Parameters = make(map[string]string, len(s.Parameters))
		for k, v := range s.Parameters {
			out.Parameters[k] = v
		}
	}
	return out
}

// addSchemaField appends a field to a struct schema being built, refusing a
// duplicate name as SchemaBuilder.field does.
func addSchemaField(s *Schema, name string, field *Schema) error {
	if s.FieldNamed(name) != nil {
		return &smtError{exception: schemaBuilderExceptionClass,
			msg: "Cannot create field because of field name duplication " + name}
	}
	s.Fields = append(s.Fields, field.withField(name))
	return nil
}

// asRecordSchema returns s as a record's own schema rather than a struct's field.
func asRecordSchema(s *Schema) *Schema {
	if s == nil || s.Field == "" {
		return s
	}
	return s.withField("")
}

// --- io.debezium.transforms.ExtractNewRecordState ---

// Delete and tombstone handling modes of ExtractNewRecordState
// (delete.tombstone.handling.mode).
const (
	deleteModeDrop                 = "drop"
	deleteModeTombstone            = "tombstone"
	deleteModeRewrite              = "rewrite"
	deleteModeRewriteWithTombstone = "rewrite-with-tombstone"
	deleteModeToTombstone          = "delete-to-tombstone"
)

// extractNewRecordState is Debezium's ExtractNewRecordState (3.x): it
// replaces a change event's envelope with its `after` state, handling
// deletes, tombstones and truncates as delete.tombstone.handling.mode says,
// and adds the envelope fields add.fields lists. add.headers,
// drop.fields.header.name and replace.null.with.default are not applied.
type extractNewRecordState struct {
	mode    string
	fields  []addedField
	routeBy string
}

func newExtractNewRecordState(settings map[string]string) (*extractNewRecordState, error) {
	x := &extractNewRecordState{mode: deleteModeTombstone}
	if v, ok := settings["delete.tombstone.handling.mode"]; ok {
		x.mode = strings.ToLower(strings.TrimSpace(v))
		switch x.mode {
		case deleteModeDrop, deleteModeTombstone, deleteModeRewrite, deleteModeRewriteWithTombstone, deleteModeToTombstone:
		default:
			return nil, fmt.Errorf("The 'delete.tombstone.handling.mode' value is invalid: Value must be one of %s",
				strings.Join([]string{deleteModeDrop, deleteModeTombstone, deleteModeRewrite, deleteModeRewriteWithTombstone, deleteModeToTombstone}, ", "))
		}
	}
	prefix := "__"
	if v, ok := settings["add.fields.prefix"]; ok {
		prefix = v
	}
	for _, f := range splitConfigList(settings["add.fields"]) {
		ref, err := parseAddedField(prefix, f)
		if err != nil {
			return nil, err
		}
		x.fields = append(x.fields, ref)
	}
	x.routeBy = strings.TrimSpace(settings["route.by.field"])
	return x, nil
}

// apply is ExtractNewRecordState.doApply.
func (x *extractNewRecordState) apply(r *sinkRecord) (*sinkRecord, error) {
	if r.Value == nil {
		if x.mode == deleteModeRewriteWithTombstone {
			return r, nil
		}
		return nil, nil // tombstones are dropped in every other mode
	}
	if r.ValueSchema == nil || r.ValueSchema.Name == "" || !strings.HasSuffix(r.ValueSchema.Name, ".Envelope") {
		return r, nil // not a change event: passed on unchanged
	}
	env, err := requireConnectStruct(r.ValueSchema, r.Value, "field extraction")
	if err != nil {
		return nil, err
	}
	afterSchema, beforeSchema := env.Schema.FieldNamed("after"), env.Schema.FieldNamed("before")
	if afterSchema == nil {
		return nil, &smtError{exception: illegalArgumentClass, msg: "Unknown field: after"}
	}
	after, _ := env.Get("after").(*Struct)
	if after == nil {
		var before *Struct
		if beforeSchema != nil {
			before, _ = env.Get("before").(*Struct)
		}
		if before == nil {
			return nil, nil // a truncate: dropped
		}
		var out *sinkRecord
		switch x.mode {
		case deleteModeDrop:
			return nil, nil
		case deleteModeTombstone:
			// A null value that keeps its schema, which the JDBC sink reads as
			// a delete, unlike a real tombstone.
			out = r.withValue(asRecordSchema(afterSchema), nil)
		case deleteModeToTombstone:
			out = r.withValue(nil, nil)
		default:
			s, v, err := insertStaticField(before, "__deleted", "true")
			if err != nil {
				return nil, err
			}
			out = r.withValue(s, v)
		}
		if x.routeBy != "" {
			if out, err = x.route(out, before); err != nil {
				return nil, err
			}
		}
		if out.Value != nil {
			return x.addFields(env, out)
		}
		return out, nil
	}
	st := &Struct{Schema: asRecordSchema(after.Schema), Values: after.Values}
	out := r.withValue(st.Schema, st)
	if x.mode == deleteModeRewrite || x.mode == deleteModeRewriteWithTombstone {
		s, v, err := insertStaticField(st, "__deleted", "false")
		if err != nil {
			return nil, err
		}
		out = r.withValue(s, v)
	}
	if x.routeBy != "" {
		if out, err = x.route(out, out.Value.(*Struct)); err != nil {
			return nil, err
		}
	}
	return x.addFields(env, out)
}

// route sets the record's topic from the route.by.field field of row.
func (x *extractNewRecordState) route(r *sinkRecord, row *Struct) (*sinkRecord, error) {
	f := row.Schema.FieldNamed(x.routeBy)
	if f == nil {
		return nil, smtDataError("%s is not a valid field name", x.routeBy)
	}
	v := row.Get(x.routeBy)
	topic, ok := v.(string)
	if v != nil && (!ok || f.Type != TypeString) {
		return nil, smtDataError("Field '%s' is not of type STRING", x.routeBy)
	}
	if strings.TrimSpace(topic) == "" {
		return r, nil
	}
	c := *r
	c.Topic = topic
	return &c, nil
}

// addFields adds the add.fields envelope fields to the extracted row.
func (x *extractNewRecordState) addFields(env *Struct, r *sinkRecord) (*sinkRecord, error) {
	if len(x.fields) == 0 {
		return r, nil
	}
	row, err := requireConnectStruct(r.ValueSchema, r.Value, "source field insertion")
	if err != nil {
		return nil, err
	}
	schema := copySchemaBasics(row.Schema)
	schema.Fields = append([]*Schema(nil), row.Schema.Fields...)
	values := append([]any(nil), row.Values...)
	for _, ref := range x.fields {
		fs, err := ref.schema(env.Schema)
		if err != nil {
			return nil, err
		}
		if fs == nil {
			continue
		}
		if err := addSchemaField(schema, ref.newField, fs); err != nil {
			return nil, err
		}
		values = append(values, ref.value(env))
	}
	return r.withValue(schema, &Struct{Schema: schema, Values: values}), nil
}

// insertStaticField is InsertField$Value with static.field and
// static.value: the row with one more optional string field.
func insertStaticField(row *Struct, name, value string) (*Schema, *Struct, error) {
	schema := copySchemaBasics(row.Schema)
	schema.Fields = append([]*Schema(nil), row.Schema.Fields...)
	if err := addSchemaField(schema, name, &Schema{Type: TypeString, Optional: true}); err != nil {
		return nil, nil, err
	}
	values := append(append([]any(nil), row.Values...), value)
	return schema, &Struct{Schema: schema, Values: values}, nil
}

// addedField is one add.fields entry: a field of the envelope ("op",
// "ts_ms") or of one of its structs ("source.ts_ms", or "table" for
// source.table), and the name it gets in the row.
type addedField struct {
	parent   string // "" for the envelope itself
	field    string
	newField string
}

func parseAddedField(prefix, spec string) (addedField, error) {
	parts := strings.Split(spec, ":")
	for len(parts) > 1 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	splits := strings.Split(parts[0], ".")
	var ref addedField
	if len(splits) == 1 {
		ref.field = splits[0]
		switch ref.field {
		case "id", "total_order", "data_collection_order":
			ref.parent = "transaction"
		case "op", "ts_ms", "ts_us", "ts_ns":
		case "updateDescription":
			ref.parent = "updateDescription"
		default:
			ref.parent = "source"
		}
	} else {
		ref.parent, ref.field = splits[0], splits[1]
	}
	switch len(parts) {
	case 1:
		if len(splits) == 1 {
			ref.newField = prefix + ref.field
		} else {
			ref.newField = prefix + ref.parent + "_" + ref.field
		}
	case 2:
		ref.newField = prefix + parts[1]
	default:
		return ref, fmt.Errorf("Unexpected field name: %s", spec)
	}
	return ref, nil
}

// schema returns the added field's schema (the source field's, made
// optional), or nil when the envelope has no such field.
func (f addedField) schema(env *Schema) (*Schema, error) {
	parent := env
	if f.parent != "" {
		if parent = env.FieldNamed(f.parent); parent == nil {
			return nil, &smtError{exception: "java.lang.NullPointerException",
				msg: fmt.Sprintf("the change event has no %s field to take %s from", f.parent, f.field)}
		}
	}
	field := parent.FieldNamed(f.field)
	if field == nil {
		if field = env.FieldNamed(f.field); field == nil {
			return nil, nil
		}
	}
	c := *field
	c.Optional = true
	return &c, nil
}

// value returns the added field's value in the envelope.
func (f addedField) value(env *Struct) any {
	parent := env
	if f.parent != "" {
		parent, _ = env.Get(f.parent).(*Struct)
		if parent == nil {
			return nil
		}
	}
	if parent.Schema.FieldNamed(f.field) != nil {
		return parent.Get(f.field)
	}
	return env.Get(f.field)
}

// --- org.apache.kafka.connect.transforms.ReplaceField ---

// replaceField is ReplaceField$Key or $Value (Apache Kafka 4.x): it keeps
// the fields include lists (all when empty) minus those exclude lists, and
// renames fields as renames maps them.
type replaceField struct {
	key              bool
	exclude, include map[string]bool
	renames, reverse map[string]string
}

func newReplaceField(settings map[string]string, key bool) (*replaceField, error) {
	rf := &replaceField{key: key, exclude: map[string]bool{}, include: map[string]bool{},
		renames: map[string]string{}, reverse: map[string]string{}}
	for _, f := range splitConfigList(settings["exclude"]) {
		rf.exclude[f] = true
	}
	for _, f := range splitConfigList(settings["include"]) {
		rf.include[f] = true
	}
	for _, m := range splitConfigList(settings["renames"]) {
		parts := strings.Split(m, ":")
		for len(parts) > 0 && parts[len(parts)-1] == "" {
			parts = parts[:len(parts)-1]
		}
		if len(parts) != 2 {
			return nil, fmt.Errorf("Invalid value for configuration renames: Invalid rename mapping: %s", m)
		}
		rf.renames[parts[0]] = parts[1]
		rf.reverse[parts[1]] = parts[0]
	}
	return rf, nil
}

func (rf *replaceField) keep(name string) bool {
	return !rf.exclude[name] && (len(rf.include) == 0 || rf.include[name])
}

func (rf *replaceField) renamed(name string) string {
	if n, ok := rf.renames[name]; ok {
		return n
	}
	return name
}

func (rf *replaceField) apply(r *sinkRecord) (*sinkRecord, error) {
	s, v := r.ValueSchema, r.Value
	if rf.key {
		s, v = r.KeySchema, r.Key
	}
	if v == nil {
		return r, nil
	}
	if s == nil {
		return nil, smtDataError("Only Map objects supported in absence of schema for [field replacement], found: %s", javaClassName(nil, v))
	}
	st, err := requireConnectStruct(s, v, "field replacement")
	if err != nil {
		return nil, err
	}
	schema := copySchemaBasics(st.Schema)
	var values []any
	for i, f := range st.Schema.Fields {
		if !rf.keep(f.Field) {
			continue
		}
		if err := addSchemaField(schema, rf.renamed(f.Field), f); err != nil {
			return nil, err
		}
		values = append(values, st.Values[i])
	}
	out := &Struct{Schema: schema, Values: values}
	if rf.key {
		return r.withKey(schema, out), nil
	}
	return r.withValue(schema, out), nil
}

// --- org.apache.kafka.connect.transforms.MaskField ---

// maskField is MaskField$Key or $Value (Apache Kafka 3.9/4.x): the listed
// fields get the "null value" of their Java type (0, false, "", the epoch
// for dates, an empty list or map) or the replacement converted to it. A
// masked field keeps its schema; a bytes or struct field cannot be masked
// and fails the record, as in Kafka.
type maskField struct {
	key         bool
	fields      map[string]bool
	replacement *string
}

func newMaskField(settings map[string]string, key bool) (*maskField, error) {
	raw, ok := settings["fields"]
	if !ok {
		return nil, errors.New(`Missing required configuration "fields" which has no default value.`)
	}
	list := splitConfigList(raw)
	if len(list) == 0 {
		return nil, errors.New("Invalid value [] for configuration fields: Empty list")
	}
	mf := &maskField{key: key, fields: map[string]bool{}}
	for _, f := range list {
		mf.fields[f] = true
	}
	if rep, ok := settings["replacement"]; ok {
		if strings.TrimSpace(rep) == "" {
			return nil, errors.New("Invalid value for configuration replacement: String must be non-empty")
		}
		mf.replacement = &rep
	}
	return mf, nil
}

func (mf *maskField) apply(r *sinkRecord) (*sinkRecord, error) {
	s, v := r.ValueSchema, r.Value
	if mf.key {
		s, v = r.KeySchema, r.Key
	}
	if s == nil {
		return nil, smtDataError("Only Map objects supported in absence of schema for [mask fields], found: %s", javaClassName(nil, v))
	}
	st, err := requireConnectStruct(s, v, "mask fields")
	if err != nil {
		return nil, err
	}
	values := make([]any, len(st.Values))
	for i, f := range st.Schema.Fields {
		values[i] = st.Values[i]
		if mf.fields[f.Field] {
			if values[i], err = mf.mask(f, st.Values[i]); err != nil {
				return nil, err
			}
		}
	}
	out := &Struct{Schema: st.Schema, Values: values}
	if mf.key {
		return r.withKey(s, out), nil
	}
	return r.withValue(s, out), nil
}

// mask returns the masked value of a field of schema s.
func (mf *maskField) mask(s *Schema, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	class := javaClassName(s, v)
	if mf.replacement == nil {
		switch {
		case s.Name == decimalSchema:
			return decimalString("0"), nil
		case s.Name == connectDateSchema || s.Name == connectTimeSchema || s.Name == connectTimestampSchema:
			return int64(0), nil
		}
		switch s.Type {
		case TypeInt8, TypeInt16, TypeInt32, TypeInt64:
			return int64(0), nil
		case TypeFloat32, TypeFloat64:
			return float64(0), nil
		case TypeBoolean:
			return false, nil
		case TypeString:
			return "", nil
		case "array":
			return json.RawMessage("[]"), nil
		case "map":
			return json.RawMessage("{}"), nil
		}
		return nil, smtDataError("Cannot mask value of type: class %s", class)
	}
	rep := *mf.replacement
	if s.Name == decimalSchema {
		if !bigDecimalSyntax.MatchString(strings.TrimSpace(rep)) {
			return nil, smtDataError("Unable to convert %s (class java.lang.String) to number", rep)
		}
		return decimalString(strings.TrimSpace(rep)), nil
	}
	switch s.Name {
	case connectDateSchema, connectTimeSchema, connectTimestampSchema:
		return nil, smtDataError("Cannot mask value of type class %s with custom replacement.", class)
	}
	switch s.Type {
	case TypeInt8, TypeInt16, TypeInt32, TypeInt64:
		n, err := strconv.ParseInt(strings.TrimSpace(rep), 10, connectIntBits[s.Type])
		if err != nil {
			return nil, smtDataError("Unable to convert %s (class java.lang.String) to number", rep)
		}
		return n, nil
	case TypeFloat32, TypeFloat64:
		f, err := strconv.ParseFloat(strings.TrimSpace(rep), 64)
		if err != nil {
			return nil, smtDataError("Unable to convert %s (class java.lang.String) to number", rep)
		}
		return f, nil
	case TypeString:
		return rep, nil
	}
	return nil, smtDataError("Cannot mask value of type class %s with custom replacement.", class)
}

// connectIntBits is the width of each Connect integer type.
var connectIntBits = map[string]int{TypeInt8: 8, TypeInt16: 16, TypeInt32: 32, TypeInt64: 64}

// bigDecimalSyntax matches what BigDecimal's string constructor accepts.
var bigDecimalSyntax = regexp.MustCompile(`^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$`)

// --- predicates ---

// recordIsTombstone is the RecordIsTombstone predicate: the value is null.
type recordIsTombstone struct{}

func (recordIsTombstone) test(r *sinkRecord) bool { return r.Value == nil }

// topicNameMatches is the TopicNameMatches predicate: the whole topic name
// matches pattern.
type topicNameMatches struct{ re *regexp.Regexp }

func (p topicNameMatches) test(r *sinkRecord) bool { return p.re.MatchString(r.Topic) }

// hasHeaderKey is the HasHeaderKey predicate: a header named name exists.
type hasHeaderKey struct{ name string }

func (p hasHeaderKey) test(r *sinkRecord) bool {
	return slices.ContainsFunc(r.Headers, func(h kgo.RecordHeader) bool { return h.Key == p.name })
}
