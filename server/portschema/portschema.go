// Package portschema writes the schema of an output port's records as
// consumers receive them: a JSON Schema of the Debezium change events on
// the topic, whose before and after are the port's row, and an Avro schema
// of that row. Masking is applied: a hashed, masked or truncated field is a
// string, a dropped one is absent, so the schema is what arrives.
package portschema

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/meshplane/meshplane/server/spec"
)

// Formats a schema is written in.
const (
	FormatJSONSchema = "json-schema"
	FormatAvro       = "avro"
)

// Port is a port's major to describe.
type Port struct {
	Domain, Product, Name string
	Major                 int
	Description           string
	Fields                []spec.Field
	// Actions are the masking policy's action for each field at the topic
	// (allow, hash, mask, truncate, drop); a field without one is dropped,
	// as the connector would drop it.
	Actions map[string]string
}

func (p Port) topic() string { return spec.TopicName(p.Domain, p.Product, p.Name, p.Major) }

// field is a field as it arrives: its type after masking, or absent.
func (p Port) arrives(f spec.Field) (spec.FieldType, string, bool) {
	switch a := p.Actions[f.Name]; a {
	case "allow":
		return f.Type, "", true
	case "hash", "mask", "truncate":
		return spec.TypeString, a, true
	}
	return "", "", false
}

// JSONSchema is the JSON Schema (2020-12) of the topic's record values.
func JSONSchema(p Port) ([]byte, error) {
	props := map[string]any{}
	var required []string
	var keys []string
	for _, f := range p.Fields {
		t, masked, ok := p.arrives(f)
		if !ok {
			continue
		}
		s := jsonType(t)
		desc := f.Description
		if masked != "" {
			desc = strings.TrimSpace(fmt.Sprintf("%s (%s: %s by the masking policy; declared %s)", desc, f.Classification, masked, f.Type))
		}
		if desc != "" {
			s["description"] = desc
		}
		if f.Classification != "" {
			s["x-classification"] = string(f.Classification)
		}
		if f.Nullable {
			s = map[string]any{"anyOf": []any{s, map[string]any{"type": "null"}}}
		} else {
			required = append(required, f.Name)
		}
		if f.Key {
			keys = append(keys, f.Name)
		}
		props[f.Name] = s
	}
	// Other properties are allowed: an optional field added later is a
	// compatible change, and must not fail readers of this schema.
	row := map[string]any{"type": "object", "properties": props, "required": nonNil(required)}
	if len(keys) > 0 {
		row["x-key"] = keys
	}
	nullableRow := map[string]any{"anyOf": []any{map[string]any{"$ref": "#/$defs/row"}, map[string]any{"type": "null"}}}
	doc := map[string]any{
		"$schema":     "https://json-schema.org/draft/2020-12/schema",
		"$id":         fmt.Sprintf("urn:meshplane:%s:schema", p.topic()),
		"title":       p.topic(),
		"description": strings.TrimSpace(p.Description + "\nEach record is a Debezium change event: before and after are the row (after masking), op says what happened (c create, u update, d delete, r snapshot read)."),
		"type":        "object",
		"properties": map[string]any{
			"before": nullableRow,
			"after":  nullableRow,
			"op":     map[string]any{"enum": []string{"c", "u", "d", "r"}},
			"ts_ms":  map[string]any{"type": "integer"},
			"source": map[string]any{"type": "object", "description": "Debezium's source metadata (connector, database, table, position)."},
		},
		"required": []string{"op"},
		"$defs":    map[string]any{"row": row},
	}
	return json.MarshalIndent(doc, "", "  ")
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// jsonType is how the Kafka Connect JSON converter writes a Debezium value
// of a field type (Debezium's defaults: decimals as base64 bytes, dates as
// days since the epoch, timestamps as microseconds).
func jsonType(t spec.FieldType) map[string]any {
	switch t {
	case spec.TypeInt32:
		return map[string]any{"type": "integer", "minimum": -2147483648, "maximum": 2147483647}
	case spec.TypeInt64:
		return map[string]any{"type": "integer"}
	case spec.TypeFloat, spec.TypeDouble:
		return map[string]any{"type": "number"}
	case spec.TypeBoolean:
		return map[string]any{"type": "boolean"}
	case spec.TypeBytes:
		return map[string]any{"type": "string", "contentEncoding": "base64"}
	case spec.TypeDecimal:
		return map[string]any{"type": "string", "contentEncoding": "base64", "description": "the unscaled value, big-endian two's complement"}
	case spec.TypeDate:
		return map[string]any{"type": "integer", "description": "days since 1970-01-01"}
	case spec.TypeTimestamp:
		return map[string]any{"type": "integer", "description": "microseconds since 1970-01-01T00:00:00Z"}
	case spec.TypeJSON:
		return map[string]any{"type": "string", "contentMediaType": "application/json"}
	}
	return map[string]any{"type": "string"}
}

// Avro is the Avro schema of the port's row, as before and after carry it.
func Avro(p Port) ([]byte, error) {
	var fields []any
	for _, f := range p.Fields {
		t, masked, ok := p.arrives(f)
		if !ok {
			continue
		}
		var typ any = avroType(t)
		field := map[string]any{"name": f.Name}
		if f.Nullable {
			typ = []any{"null", typ}
			field["default"] = nil
		}
		field["type"] = typ
		doc := f.Description
		if masked != "" {
			doc = strings.TrimSpace(fmt.Sprintf("%s (%s: %s by the masking policy; declared %s)", doc, f.Classification, masked, f.Type))
		}
		if doc != "" {
			field["doc"] = doc
		}
		fields = append(fields, field)
	}
	if fields == nil {
		fields = []any{}
	}
	ns := strings.NewReplacer("-", "_").Replace(p.Domain + "." + p.Product)
	return json.MarshalIndent(map[string]any{
		"type": "record", "name": avroName(p.Name) + "V" + fmt.Sprint(p.Major), "namespace": ns,
		"doc":    strings.TrimSpace(p.topic() + ": the row a change event's before and after carry, after masking. " + p.Description),
		"fields": fields,
	}, "", "  ")
}

func avroName(s string) string {
	var b strings.Builder
	up := true
	for _, r := range s {
		if r == '-' || r == '_' {
			up = true
			continue
		}
		if up {
			b.WriteString(strings.ToUpper(string(r)))
			up = false
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func avroType(t spec.FieldType) any {
	switch t {
	case spec.TypeInt32:
		return "int"
	case spec.TypeInt64:
		return "long"
	case spec.TypeFloat:
		return "float"
	case spec.TypeDouble:
		return "double"
	case spec.TypeBoolean:
		return "boolean"
	case spec.TypeBytes:
		return "bytes"
	case spec.TypeDecimal:
		// The spec declares no precision and scale: the value is Debezium's
		// unscaled big-endian two's complement, its scale in the record's
		// Connect schema.
		return "bytes"
	case spec.TypeDate:
		return map[string]any{"type": "int", "logicalType": "date"}
	case spec.TypeTimestamp:
		return map[string]any{"type": "long", "logicalType": "timestamp-micros"}
	}
	return "string"
}
