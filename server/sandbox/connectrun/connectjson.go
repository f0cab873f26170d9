package connectrun

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"unicode/utf8"
)

// Schema is a Kafka Connect schema as the JSON converter writes it
// (org.apache.kafka.connect.json.JsonConverter.asJsonSchema), with the
// members in the converter's order.
type Schema struct {
	Type       string            `json:"type"`
	Fields     []*Schema         `json:"fields,omitempty"`
	Optional   bool              `json:"optional"`
	Name       string            `json:"name,omitempty"`
	Version    int               `json:"version,omitempty"`
	Parameters map[string]string `json:"parameters,omitempty"`
	// Field is the field's name when the schema is one of a struct's fields.
	Field string `json:"field,omitempty"`
}

// Connect schema types.
const (
	TypeInt8    = "int8"
	TypeInt16   = "int16"
	TypeInt32   = "int32"
	TypeInt64   = "int64"
	TypeFloat32 = "float"
	TypeFloat64 = "double"
	TypeBoolean = "boolean"
	TypeString  = "string"
	TypeBytes   = "bytes"
	TypeStruct  = "struct"
)

// FieldNamed returns the struct field called name, or nil.
func (s *Schema) FieldNamed(name string) *Schema {
	if s == nil {
		return nil
	}
	for _, f := range s.Fields {
		if f.Field == name {
			return f
		}
	}
	return nil
}

// withField returns a copy of s as the struct field called name.
func (s Schema) withField(name string) *Schema {
	s.Field = name
	return &s
}

// Struct is a struct value: its schema and one value per field, in the
// schema's order. Values are nil, bool, int64, float64, string, []byte
// (written as base64, as the JSON converter writes bytes), *Struct or a
// json.RawMessage.
type Struct struct {
	Schema *Schema
	Values []any
}

// NewStruct returns an empty struct of schema s.
func NewStruct(s *Schema) *Struct { return &Struct{Schema: s, Values: make([]any, len(s.Fields))} }

// Set sets the field called name; it panics on a name the schema lacks,
// which is a programming error.
func (st *Struct) Set(name string, v any) *Struct {
	for i, f := range st.Schema.Fields {
		if f.Field == name {
			st.Values[i] = v
			return st
		}
	}
	panic(fmt.Sprintf("connectrun: struct %s has no field %q", st.Schema.Name, name))
}

// Get returns the value of the field called name, or nil.
func (st *Struct) Get(name string) any {
	for i, f := range st.Schema.Fields {
		if f.Field == name {
			return st.Values[i]
		}
	}
	return nil
}

// MarshalJSON writes the fields in the schema's order.
func (st *Struct) MarshalJSON() ([]byte, error) { return st.appendJSON(nil), nil }

// appendJSON appends the struct as JSON, fields in the schema's order.
// Change events are written at thousands a second, so values are written
// directly rather than through reflection.
func (st *Struct) appendJSON(b []byte) []byte {
	b = append(b, '{')
	for i, f := range st.Schema.Fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, f.Field)
		b = append(b, ':')
		b = appendJSONValue(b, st.Values[i])
	}
	return append(b, '}')
}

func appendJSONValue(b []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		return strconv.AppendBool(b, v)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case string:
		return appendJSONString(b, v)
	case []byte:
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, v)
		return append(b, '"')
	case *Struct:
		if v == nil {
			return append(b, "null"...)
		}
		return v.appendJSON(b)
	case json.RawMessage:
		return append(b, v...)
	}
	// Floats and anything rarer: as encoding/json writes them.
	out, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, out...)
}

// appendJSONString appends s as a JSON string, escaping what JSON requires
// (quotes, backslashes, control characters) and replacing invalid UTF-8.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// Envelope is a record key or value as the JSON converter writes it with
// schemas.enable=true: {"schema": …, "payload": …}.
type Envelope struct {
	Schema  *Schema         `json:"schema"`
	Payload json.RawMessage `json:"payload"`
}

// Encode writes v under schema s as the JSON converter does.
func Encode(s *Schema, v any) ([]byte, error) {
	schema, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	return EncodeWith(schema, v), nil
}

// EncodeWith writes v under a schema already encoded, for writers that
// encode one schema once for many records.
func EncodeWith(schema []byte, v any) []byte {
	b := make([]byte, 0, len(schema)+512)
	b = append(b, `{"schema":`...)
	b = append(b, schema...)
	b = append(b, `,"payload":`...)
	b = appendJSONValue(b, v)
	return append(b, '}')
}

// Decode reads a record key or value the JSON converter wrote. A nil or
// empty input is a null (a tombstone's value, a keyless record's key). The
// schema is shared with other records that carry the same schema text and
// must not be changed.
func Decode(data []byte) (*Envelope, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	if e := schemas.fast(data); e != nil {
		return e, nil
	}
	var raw struct {
		Schema  json.RawMessage `json:"schema"`
		Payload json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("not a JSON converter record with schemas enabled: %w", err)
	}
	if raw.Schema == nil && raw.Payload == nil {
		return nil, fmt.Errorf("not a JSON converter record with schemas enabled: no schema and payload members")
	}
	e := &Envelope{Payload: raw.Payload}
	if len(raw.Schema) > 0 && string(raw.Schema) != "null" {
		var err error
		if e.Schema, err = schemas.get(raw.Schema); err != nil {
			return nil, fmt.Errorf("not a JSON converter record with schemas enabled: %w", err)
		}
	}
	return e, nil
}

// schemaCache keeps decoded schemas by their text: every record of a table
// carries the same schema, and decoding it is most of decoding a record.
type schemaCache struct {
	mu sync.Mutex
	m  map[string]*Schema
	// recent are the texts of the schemas decoded last, newest first.
	recent [][]byte
}

// recentSchemas is how many schema texts the fast path compares.
const recentSchemas = 8

// schemaCacheMax bounds the cache; when full it starts over.
const schemaCacheMax = 512

var schemas = &schemaCache{m: map[string]*Schema{}}

// fast reads a record laid out exactly as the JSON converter writes it,
// {"schema":S,"payload":P}, whose S is a schema seen before: only P is
// checked, since S's text is known. It returns nil for anything else.
func (c *schemaCache) fast(data []byte) *Envelope {
	const head, mid = `{"schema":`, `,"payload":`
	if !bytes.HasPrefix(data, []byte(head)) || data[len(data)-1] != '}' {
		return nil
	}
	rest := data[len(head):]
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, raw := range c.recent {
		if bytes.HasPrefix(rest, raw) && bytes.HasPrefix(rest[len(raw):], []byte(mid)) {
			payload := rest[len(raw)+len(mid) : len(rest)-1]
			if !json.Valid(payload) {
				return nil
			}
			return &Envelope{Schema: c.m[string(raw)], Payload: payload}
		}
	}
	return nil
}

func (c *schemaCache) get(raw []byte) (*Schema, error) {
	c.mu.Lock()
	s, ok := c.m[string(raw)]
	c.mu.Unlock()
	if ok {
		return s, nil
	}
	s = new(Schema)
	if err := json.Unmarshal(raw, s); err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) >= schemaCacheMax {
		clear(c.m)
		c.recent = nil
	}
	c.m[string(raw)] = s
	c.recent = append([][]byte{bytes.Clone(raw)}, c.recent[:min(len(c.recent), recentSchemas-1)]...)
	c.mu.Unlock()
	return s, nil
}
