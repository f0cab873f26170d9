package connectrun

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// smtEvent returns a change event of shop.public.customers as the JSON
// converter hands it to the transformations.
func smtEvent(t *testing.T, op string, before, after map[string]any) *sinkRecord {
	t.Helper()
	d := newDBZTable("shop", "customers", customersRow(), "id")
	kr := d.event("shop.public.customers", op, before, after)
	return smtConvert(t, kr)
}

func smtConvert(t *testing.T, kr *kgo.Record) *sinkRecord {
	t.Helper()
	r := &sinkRecord{Topic: kr.Topic, Headers: kr.Headers}
	var err error
	if r.KeySchema, r.Key, err = jsonToConnect(kr.Key); err != nil {
		t.Fatal(err)
	}
	if r.ValueSchema, r.Value, err = jsonToConnect(kr.Value); err != nil {
		t.Fatal(err)
	}
	return r
}

func smtChainOf(t *testing.T, config map[string]string) smtChain {
	t.Helper()
	c, err := newSMTChain(config)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func smtApply(t *testing.T, c smtChain, r *sinkRecord) *sinkRecord {
	t.Helper()
	out, _, err := c.apply(r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// fieldNames lists a struct schema's fields.
func fieldNames(s *Schema) []string {
	var out []string
	for _, f := range s.Fields {
		out = append(out, f.Field)
	}
	return out
}

func unwrapConfig(extra map[string]string) map[string]string {
	c := map[string]string{"transforms": "unwrap", "transforms.unwrap.type": extractNewRecordStateClass}
	for k, v := range extra {
		c["transforms.unwrap."+k] = v
	}
	return c
}

func TestSMTExtractNewRecordStateModes(t *testing.T) {
	t.Parallel()
	ada := customer(1, "Ada", "ada@example.com")
	create := smtEvent(t, "c", nil, ada)
	del := smtEvent(t, "d", ada, nil)
	tombstone := smtConvert(t, newDBZTable("shop", "customers", customersRow(), "id").tombstone("shop.public.customers", map[string]any{"id": int64(1)}))
	truncate := smtEvent(t, "t", nil, nil)

	type result struct {
		dropped      bool
		schema       bool // a value schema
		value        bool // a value
		deleted      string
		schemaFields int
	}
	rowFields := len(customersRow())
	for mode, want := range map[string][4]result{
		// create, delete, tombstone, truncate
		"":                       {{schema: true, value: true, schemaFields: rowFields}, {schema: true, schemaFields: rowFields}, {dropped: true}, {dropped: true}},
		"tombstone":              {{schema: true, value: true, schemaFields: rowFields}, {schema: true, schemaFields: rowFields}, {dropped: true}, {dropped: true}},
		"drop":                   {{schema: true, value: true, schemaFields: rowFields}, {dropped: true}, {dropped: true}, {dropped: true}},
		"delete-to-tombstone":    {{schema: true, value: true, schemaFields: rowFields}, {}, {dropped: true}, {dropped: true}},
		"rewrite":                {{schema: true, value: true, deleted: "false", schemaFields: rowFields + 1}, {schema: true, value: true, deleted: "true", schemaFields: rowFields + 1}, {dropped: true}, {dropped: true}},
		"rewrite-with-tombstone": {{schema: true, value: true, deleted: "false", schemaFields: rowFields + 1}, {schema: true, value: true, deleted: "true", schemaFields: rowFields + 1}, {}, {dropped: true}},
	} {
		extra := map[string]string{}
		if mode != "" {
			extra["delete.tombstone.handling.mode"] = mode
		}
		c := smtChainOf(t, unwrapConfig(extra))
		for i, in := range []*sinkRecord{create, del, tombstone, truncate} {
			out := smtApply(t, c, in)
			w := want[i]
			if (out == nil) != w.dropped {
				t.Errorf("mode %q, input %d: dropped %v, want %v", mode, i, out == nil, w.dropped)
				continue
			}
			if out == nil {
				continue
			}
			if (out.ValueSchema != nil) != w.schema || (out.Value != nil) != w.value {
				t.Errorf("mode %q, input %d: schema %v value %v, want %v %v", mode, i, out.ValueSchema != nil, out.Value != nil, w.schema, w.value)
				continue
			}
			if out.ValueSchema != nil {
				if len(out.ValueSchema.Fields) != w.schemaFields || out.ValueSchema.Name != "shop.public.customers.Value" || out.ValueSchema.Field != "" {
					t.Errorf("mode %q, input %d: schema %s %q %v", mode, i, out.ValueSchema.Name, out.ValueSchema.Field, fieldNames(out.ValueSchema))
				}
			}
			if st, ok := out.Value.(*Struct); ok {
				if got := st.Get("name"); got != "Ada" {
					t.Errorf("mode %q, input %d: name %v", mode, i, got)
				}
				if got, _ := st.Get("__deleted").(string); got != w.deleted {
					t.Errorf("mode %q, input %d: __deleted %q, want %q", mode, i, got, w.deleted)
				}
			}
			if out.Key == nil && in.Key != nil {
				t.Errorf("mode %q, input %d: the key was lost", mode, i)
			}
		}
	}
	// A record that is not a change event passes unchanged.
	flat := smtConvert(t, newDBZTable("shop", "customers", customersRow(), "id").flat("t", ada))
	if out := smtApply(t, smtChainOf(t, unwrapConfig(nil)), flat); out != flat {
		t.Error("a flat record was changed")
	}
	if _, err := newSMTChain(unwrapConfig(map[string]string{"delete.tombstone.handling.mode": "none"})); err == nil {
		t.Error("an unknown mode was accepted")
	}
}

func TestSMTExtractNewRecordStateAddsFieldsAndRoutes(t *testing.T) {
	t.Parallel()
	c := smtChainOf(t, unwrapConfig(map[string]string{
		"add.fields":     "op,source.ts_ms,table,lsn:LSN,id",
		"route.by.field": "name",
	}))
	out := smtApply(t, c, smtEvent(t, "u", nil, customer(1, "routed", "")))
	st := out.Value.(*Struct)
	names := fieldNames(out.ValueSchema)
	if want := []string{"__op", "__source_ts_ms", "__table", "__LSN", "__id"}; !slices.Equal(names[len(names)-5:], want) {
		t.Errorf("fields %q", names)
	}
	for k, v := range map[string]any{"__op": "u", "__source_ts_ms": int64(1767225600000), "__table": "customers", "__LSN": int64(24023984), "__id": nil} {
		if got := st.Get(k); got != v {
			t.Errorf("%s = %v, want %v", k, got, v)
		}
	}
	for _, f := range out.ValueSchema.Fields[len(names)-5:] {
		if !f.Optional {
			t.Errorf("added field %s is not optional", f.Field)
		}
	}
	if out.Topic != "routed" {
		t.Errorf("topic %q", out.Topic)
	}
	// A custom prefix, and a field name clash.
	c = smtChainOf(t, unwrapConfig(map[string]string{"add.fields": "op", "add.fields.prefix": ""}))
	if out := smtApply(t, c, smtEvent(t, "c", nil, customer(1, "a", ""))); out.Value.(*Struct).Get("op") != "c" {
		t.Errorf("op without prefix: %v", out.Value)
	}
	c = smtChainOf(t, unwrapConfig(map[string]string{"add.fields": "op:name", "add.fields.prefix": ""}))
	if _, _, err := c.apply(smtEvent(t, "c", nil, customer(1, "a", ""))); err == nil || !strings.Contains(err.Error(), "duplication name") {
		t.Errorf("a clashing field: %v", err)
	}
}

func TestSMTReplaceField(t *testing.T) {
	t.Parallel()
	in := smtConvert(t, newDBZTable("shop", "customers", customersRow(), "id").flat("t", customer(1, "Ada", "ada@example.com")))
	for _, tc := range []struct {
		settings map[string]string
		want     []string
	}{
		{map[string]string{"exclude": "email, photo"}, []string{"id", "name", "balance", "born", "updated_at", "seen_at", "prefs", "ref", "active", "score"}},
		{map[string]string{"include": "id,name,email", "exclude": "email"}, []string{"id", "name"}},
		{map[string]string{"include": "id,name", "renames": "name:full_name,nope:x"}, []string{"id", "full_name"}},
	} {
		config := map[string]string{"transforms": "rf", "transforms.rf.type": replaceFieldValueClass}
		for k, v := range tc.settings {
			config["transforms.rf."+k] = v
		}
		out := smtApply(t, smtChainOf(t, config), in)
		if got := fieldNames(out.ValueSchema); !slices.Equal(got, tc.want) {
			t.Errorf("%v: fields %q, want %q", tc.settings, got, tc.want)
		}
		st := out.Value.(*Struct)
		if st.Get("id") != int64(1) || out.ValueSchema.Name != in.ValueSchema.Name {
			t.Errorf("%v: value %v, schema name %q", tc.settings, st.Values, out.ValueSchema.Name)
		}
		if slices.Contains(tc.want, "full_name") && st.Get("full_name") != "Ada" {
			t.Errorf("renamed value %v", st.Get("full_name"))
		}
		if in.Value.(*Struct).Get("email") != "ada@example.com" {
			t.Error("the input record was changed")
		}
	}
	// The key variant; a null value passes unchanged.
	c := smtChainOf(t, map[string]string{"transforms": "rf", "transforms.rf.type": replaceFieldKeyClass, "transforms.rf.renames": "id:customer_id"})
	out := smtApply(t, c, in)
	if got := fieldNames(out.KeySchema); !slices.Equal(got, []string{"customer_id"}) || out.Key.(*Struct).Get("customer_id") != int64(1) {
		t.Errorf("key fields %q", got)
	}
	null := in.withValue(in.ValueSchema, nil)
	c = smtChainOf(t, map[string]string{"transforms": "rf", "transforms.rf.type": replaceFieldValueClass, "transforms.rf.exclude": "email"})
	if out := smtApply(t, c, null); out != null {
		t.Error("a null value was changed")
	}
	if _, err := newSMTChain(map[string]string{"transforms": "rf", "transforms.rf.type": replaceFieldValueClass, "transforms.rf.renames": "a:b:c"}); err == nil {
		t.Error("a bad rename was accepted")
	}
}

func TestSMTMaskField(t *testing.T) {
	t.Parallel()
	schema := &Schema{Type: TypeStruct, Name: "row", Fields: []*Schema{
		{Type: TypeInt8, Optional: true, Field: "i8"},
		{Type: TypeInt64, Optional: true, Field: "i64"},
		{Type: TypeFloat32, Optional: true, Field: "f"},
		{Type: TypeBoolean, Optional: true, Field: "b"},
		{Type: TypeString, Optional: true, Field: "s"},
		{Type: TypeBytes, Optional: true, Name: decimalSchema, Parameters: map[string]string{"scale": "2"}, Field: "dec"},
		{Type: TypeInt32, Optional: true, Name: connectDateSchema, Field: "date"},
		{Type: TypeInt32, Optional: true, Name: "io.debezium.time.Date", Field: "dbzdate"},
		{Type: "array", Optional: true, Field: "arr"},
		{Type: TypeString, Optional: true, Field: "nil"},
		{Type: TypeBytes, Optional: true, Field: "raw"},
		{Type: TypeString, Optional: true, Field: "kept"},
	}}
	row := structOf(schema, map[string]any{"i8": int64(7), "i64": int64(9), "f": 1.5, "b": true, "s": "secret", "dec": []byte{0x04, 0xd2},
		"date": int64(100), "dbzdate": int64(100), "arr": json.RawMessage("[1]"), "raw": []byte{1}, "kept": "k"})
	in := &sinkRecord{Topic: "t", ValueSchema: schema, Value: row}
	mask := func(settings map[string]string) (*sinkRecord, error) {
		config := map[string]string{"transforms": "m", "transforms.m.type": maskFieldValueClass}
		for k, v := range settings {
			config["transforms.m."+k] = v
		}
		out, _, err := smtChainOf(t, config).apply(in)
		return out, err
	}
	out, err := mask(map[string]string{"fields": "i8,i64,f,b,s,dec,date,dbzdate,arr,nil"})
	if err != nil {
		t.Fatal(err)
	}
	st := out.Value.(*Struct)
	for k, v := range map[string]any{"i8": int64(0), "i64": int64(0), "f": float64(0), "b": false, "s": "", "dec": decimalString("0"),
		"date": int64(0), "dbzdate": int64(0), "nil": nil, "kept": "k"} {
		if got := st.Get(k); got != v {
			t.Errorf("%s = %#v, want %#v", k, got, v)
		}
	}
	if string(st.Get("arr").(json.RawMessage)) != "[]" {
		t.Errorf("arr = %s", st.Get("arr"))
	}
	if out.ValueSchema != schema {
		t.Error("masking changed the schema")
	}

	out, err = mask(map[string]string{"fields": "i64,s,dec,f", "replacement": "42"})
	if err != nil {
		t.Fatal(err)
	}
	st = out.Value.(*Struct)
	for k, v := range map[string]any{"i64": int64(42), "s": "42", "dec": decimalString("42"), "f": float64(42)} {
		if got := st.Get(k); got != v {
			t.Errorf("replacement: %s = %#v, want %#v", k, got, v)
		}
	}

	for _, tc := range []struct {
		settings map[string]string
		want     string
	}{
		{map[string]string{"fields": "raw"}, "Cannot mask value of type: class [B"},
		{map[string]string{"fields": "b", "replacement": "x"}, "Cannot mask value of type class java.lang.Boolean with custom replacement."},
		{map[string]string{"fields": "i8", "replacement": "300"}, "Unable to convert 300"},
		{map[string]string{"fields": "date", "replacement": "1"}, "class java.util.Date with custom replacement"},
	} {
		_, err := mask(tc.settings)
		var se *smtError
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.As(err, &se) || se.exception != dataExceptionClass {
			t.Errorf("%v: error %v, want %q", tc.settings, err, tc.want)
		}
	}
	// A null value cannot be masked: that is what the tombstone predicate
	// is for.
	c := smtChainOf(t, map[string]string{"transforms": "m", "transforms.m.type": maskFieldValueClass, "transforms.m.fields": "s"})
	if _, _, err := c.apply(in.withValue(schema, nil)); err == nil || !strings.Contains(err.Error(), "Only Struct objects supported for [mask fields], found: null") {
		t.Errorf("null value: %v", err)
	}
	for _, settings := range []map[string]string{{}, {"fields": ""}, {"fields": "a", "replacement": ""}} {
		config := map[string]string{"transforms": "m", "transforms.m.type": maskFieldValueClass}
		for k, v := range settings {
			config["transforms.m."+k] = v
		}
		if _, err := newSMTChain(config); err == nil {
			t.Errorf("%v: accepted", settings)
		}
	}
}

func TestSMTPredicates(t *testing.T) {
	t.Parallel()
	schema := &Schema{Type: TypeStruct, Fields: []*Schema{{Type: TypeString, Optional: true, Field: "s"}}}
	rec := func(topic string, value any, headers ...string) *sinkRecord {
		r := &sinkRecord{Topic: topic, ValueSchema: schema, Value: value}
		for _, h := range headers {
			r.Headers = append(r.Headers, kgo.RecordHeader{Key: h})
		}
		return r
	}
	row := func() *Struct { return structOf(schema, map[string]any{"s": "secret"}) }
	c := smtChainOf(t, map[string]string{
		"transforms":                "a,b,c",
		"transforms.a.type":         maskFieldValueClass,
		"transforms.a.fields":       "s",
		"transforms.a.predicate":    "tombstone",
		"transforms.a.negate":       "true",
		"transforms.b.type":         maskFieldValueClass,
		"transforms.b.fields":       "s",
		"transforms.b.replacement":  "orders",
		"transforms.b.predicate":    "orders",
		"transforms.c.type":         maskFieldValueClass,
		"transforms.c.fields":       "s",
		"transforms.c.replacement":  "flagged",
		"transforms.c.predicate":    "flagged",
		"predicates":                "tombstone,orders,flagged",
		"predicates.tombstone.type": "RecordIsTombstone",
		"predicates.orders.type":    topicNameMatchesClass,
		"predicates.orders.pattern": "shop\\..*orders",
		"predicates.flagged.type":   hasHeaderKeyClass,
		"predicates.flagged.name":   "flag",
	})
	for _, tc := range []struct {
		in   *sinkRecord
		want any
	}{
		{rec("shop.customers", row()), ""},
		{rec("shop.public.orders", row()), "orders"},
		{rec("shop.public.orders.archive", row()), ""}, // the whole name must match
		{rec("shop.customers", row(), "flag"), "flagged"},
		{rec("shop.customers", nil), nil}, // a tombstone skips the masks
	} {
		out := smtApply(t, c, tc.in)
		var got any
		if st, ok := out.Value.(*Struct); ok {
			got = st.Get("s")
		}
		if got != tc.want {
			t.Errorf("%s %v: got %v, want %v", tc.in.Topic, tc.in.Headers, got, tc.want)
		}
	}
}

func TestSMTChainRefusesWhatItDoesNotRun(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		config map[string]string
		want   string
	}{
		{map[string]string{"transforms": "route", "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter"},
			"transform org.apache.kafka.connect.transforms.RegexRouter is not run by the sandbox"},
		{map[string]string{"transforms": "x"}, "its type is not set"},
		{map[string]string{"transforms": "m", "transforms.m.type": maskFieldValueClass, "transforms.m.fields": "a", "transforms.m.predicate": "p"},
			"which 'predicates' does not list"},
		{map[string]string{"predicates": "p", "predicates.p.type": "org.apache.kafka.connect.transforms.predicates.Nope"}, "predicate org.apache.kafka.connect.transforms.predicates.Nope is not run"},
		{map[string]string{"predicates": "p", "predicates.p.type": topicNameMatchesClass}, `Missing required configuration "pattern"`},
		{map[string]string{"predicates": "p", "predicates.p.type": topicNameMatchesClass, "predicates.p.pattern": "("}, "valid regular expression"},
		{map[string]string{"transforms": "m", "transforms.m.type": maskFieldValueClass, "transforms.m.fields": "a", "transforms.m.predicate": "p",
			"transforms.m.negate": "maybe", "predicates": "p", "predicates.p.type": recordIsTombstoneClass}, "Expected value to be either true or false"},
	} {
		_, err := newSMTChain(tc.config)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.config, err, tc.want)
		}
	}
	if c := smtChainOf(t, map[string]string{}); len(c) != 0 {
		t.Errorf("an empty chain has %d steps", len(c))
	}
}
