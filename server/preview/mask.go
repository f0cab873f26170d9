package preview

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/meshplane/meshplane/server/spec"
)

// Record is one record as a viewer may see it.
type Record struct {
	Partition int32     `json:"partition"`
	Offset    int64     `json:"offset"`
	Timestamp time.Time `json:"timestamp"`
	// Key is the masked key when it is JSON, a JSON string of its base64
	// when it is not and may be shown, or null.
	Key json.RawMessage `json:"key"`
	// Value is the masked value when it is JSON, a JSON string of its
	// base64 when it is not and may be shown, or null.
	Value json.RawMessage `json:"value"`
	// Masked names the fields the viewer's masking hashed or removed.
	Masked []string `json:"masked,omitempty"`
	// Note says why a key or value is withheld, shown as base64 or
	// changed beyond its fields.
	Note string `json:"note,omitempty"`
}

// Viewer says what the caller may see.
type Viewer struct {
	// RawPII entitles the viewer to see the topic as it is.
	RawPII bool
	// Hash replaces pii values for a viewer without RawPII; nil removes
	// them instead.
	Hash func(value string) string
}

// Mask applies the viewer's masking to one record of a port with the given
// fields. It fails closed for a viewer without RawPII: besides pii (hashed or
// removed) and sensitive (removed) fields it removes fields the port does not
// list, unclassified ones, and any key or value it cannot match to fields.
//
// It understands flat JSON objects, Debezium envelopes (before and after are
// masked, the envelope's own metadata kept) and the JSON converter's
// schema-and-payload form, either around a flat object or an envelope; the
// schema is dropped rather than edited, since it may describe removed fields.
func Mask(rec RawRecord, fields []spec.Field, v Viewer) Record {
	m := newMasker(fields, v)
	out := Record{
		Partition: rec.Partition,
		Offset:    rec.Offset,
		Timestamp: rec.Timestamp,
		Key:       m.part(partKey, rec.Key),
		Value:     m.part(partValue, rec.Value),
		Masked:    m.masked,
	}
	out.Note = strings.Join(m.notes, "; ")
	return out
}

const (
	partKey   = "key"
	partValue = "value"
)

var null = json.RawMessage("null")

// envelopeMeta lists the members of a Debezium envelope besides before and
// after; they describe the change, not the row, and are kept as they are.
var envelopeMeta = map[string]bool{
	"op":          true,
	"source":      true,
	"ts_ms":       true,
	"ts_us":       true,
	"ts_ns":       true,
	"transaction": true,
}

// masker masks the parts of one record and collects what it did.
type masker struct {
	v       Viewer
	classes map[string]spec.Classification
	// open is true when the port lists fields and every one of them may be
	// seen by anyone; only then are unmatchable keys shown.
	open   bool
	masked []string
	notes  []string
}

func newMasker(fields []spec.Field, v Viewer) *masker {
	m := &masker{v: v, classes: make(map[string]spec.Classification, len(fields)), open: len(fields) > 0}
	for _, f := range fields {
		c := f.Classification
		// A name listed twice keeps its stricter classification.
		if prev, dup := m.classes[f.Name]; dup && strictness(prev) > strictness(c) {
			c = prev
		}
		m.classes[f.Name] = c
		if strictness(c) > 0 {
			m.open = false
		}
	}
	return m
}

// strictness ranks classifications: 0 may be shown, 1 may be hashed, 2 must be
// removed. Unclassified and unknown classifications are treated as sensitive.
func strictness(c spec.Classification) int {
	switch c {
	case spec.ClassNone, spec.ClassInternal:
		return 0
	case spec.ClassPII:
		return 1
	default:
		return 2
	}
}

// part masks a record's key or value.
func (m *masker) part(name string, b []byte) json.RawMessage {
	if b == nil {
		return null
	}
	// Invalid UTF-8 passes json.Valid but not every JSON reader.
	if !json.Valid(b) || !utf8.Valid(b) {
		if m.v.RawPII || (name == partKey && m.open) {
			m.note(name + " is not JSON: shown as base64")
			return base64JSON(b)
		}
		m.note(name + " is not JSON and " + m.why() + ": withheld")
		return null
	}
	if m.v.RawPII {
		return slices.Clone(b)
	}
	if out, ok := m.document(name, b); ok {
		return out
	}
	if name == partKey && m.open {
		return compact(b)
	}
	m.note(name + " is not a JSON object and " + m.why() + ": withheld")
	return null
}

// why says why a part that cannot be matched to fields is withheld.
func (m *masker) why() string {
	switch {
	case len(m.classes) == 0:
		return "the port lists no fields"
	case m.open:
		return "cannot be matched to the port's fields"
	default:
		return "the port holds classified fields"
	}
}

// document masks a JSON object in one of the understood forms; it reports
// false for anything else.
func (m *masker) document(name string, b []byte) (json.RawMessage, bool) {
	obj, ok := members(b)
	if !ok {
		return nil, false
	}
	payload, wrapped := m.wrapped(obj)
	if !wrapped {
		return m.record(obj), true
	}
	inner := null
	if !isNull(payload) {
		pobj, ok := members(payload)
		if !ok {
			return nil, false
		}
		inner = m.record(pobj)
	}
	m.note(name + " schema dropped: it may describe removed fields")
	return object([]member{{"schema", null}, {"payload", inner}}), true
}

// wrapped reports whether obj is the JSON converter's {"schema", "payload"}
// form and returns the payload. A port with fields of those names has its
// records read as flat objects.
func (m *masker) wrapped(obj []member) (json.RawMessage, bool) {
	if len(obj) != 2 || m.listed("schema") || m.listed("payload") {
		return nil, false
	}
	var schema, payload json.RawMessage
	for _, f := range obj {
		switch f.name {
		case "schema":
			schema = f.value
		case "payload":
			payload = f.value
		}
	}
	if schema == nil || payload == nil || !(isNull(schema) || schema[0] == '{') {
		return nil, false
	}
	return payload, true
}

// record masks a Debezium envelope or a flat object.
func (m *masker) record(obj []member) json.RawMessage {
	if !m.envelope(obj) {
		return m.flat(obj)
	}
	out := make([]member, 0, len(obj))
	for _, f := range obj {
		switch {
		case f.name == "before" || f.name == "after":
			if !isNull(f.value) {
				image, _ := members(f.value) // envelope checked it is an object
				f.value = m.flat(image)
			}
		case m.listed(f.name):
			// A port field named like envelope metadata keeps its
			// classification.
			v, keep := m.field(f.name, f.value)
			if !keep {
				continue
			}
			f.value = v
		}
		out = append(out, f)
	}
	return object(out)
}

// envelope reports whether obj is a Debezium change event: an op, a before or
// after image that is an object or null, and nothing but envelope metadata
// besides. A port with fields named before, after or op has its records read
// as flat objects.
func (m *masker) envelope(obj []member) bool {
	if m.listed("before") || m.listed("after") || m.listed("op") {
		return false
	}
	var op, image bool
	for _, f := range obj {
		switch {
		case f.name == "before" || f.name == "after":
			if !isNull(f.value) && f.value[0] != '{' {
				return false
			}
			image = true
		case f.name == "op":
			if f.value[0] != '"' {
				return false
			}
			op = true
		case !envelopeMeta[f.name]:
			return false
		}
	}
	return op && image
}

// flat masks each member of a row by its field's classification.
func (m *masker) flat(obj []member) json.RawMessage {
	out := make([]member, 0, len(obj))
	for _, f := range obj {
		if v, keep := m.field(f.name, f.value); keep {
			out = append(out, member{f.name, v})
		}
	}
	return object(out)
}

// field masks one field's value and reports whether to keep the field.
func (m *masker) field(name string, v json.RawMessage) (json.RawMessage, bool) {
	c, listed := m.classes[name]
	switch {
	case listed && strictness(c) == 0:
		return v, true
	case listed && c == spec.ClassPII && m.v.Hash != nil:
		m.mask(name)
		h, _ := json.Marshal(m.v.Hash(canonical(v)))
		return h, true
	default:
		m.mask(name)
		return nil, false
	}
}

func (m *masker) listed(name string) bool {
	_, ok := m.classes[name]
	return ok
}

func (m *masker) mask(name string) {
	if !slices.Contains(m.masked, name) {
		m.masked = append(m.masked, name)
	}
}

func (m *masker) note(s string) {
	m.notes = append(m.notes, s)
}

// member is one name and compact value of a JSON object, kept in order.
type member struct {
	name  string
	value json.RawMessage
}

// members splits a JSON object into its members, in order and with compact
// values; it reports false when b is not an object.
func members(b []byte) ([]member, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	var obj []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		name, ok := tok.(string)
		if !ok {
			return nil, false
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, false
		}
		obj = append(obj, member{name, compact(raw)})
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, false
	}
	return obj, true
}

// object writes members as a JSON object.
func object(obj []member) json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range obj {
		if i > 0 {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(f.name)
		b.Write(name)
		b.WriteByte(':')
		b.Write(f.value)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// canonical is the text a pii value is hashed from: a string's own text,
// any other value's compact JSON.
func canonical(v json.RawMessage) string {
	var s string
	if v[0] == '"' && json.Unmarshal(v, &s) == nil {
		return s
	}
	return string(v)
}

func compact(b []byte) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return slices.Clone(b)
	}
	return buf.Bytes()
}

func isNull(v json.RawMessage) bool {
	return string(v) == "null"
}

func base64JSON(b []byte) json.RawMessage {
	s, _ := json.Marshal(base64.StdEncoding.EncodeToString(b))
	return s
}
