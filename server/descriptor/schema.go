package descriptor

import (
	"encoding/json"
	"reflect"
	"strings"

	"github.com/meshplane/meshplane/server/spec"
)

// SchemaID is where the descriptor format's JSON Schema is published.
const SchemaID = "https://meshplane.dev/schemas/descriptor/v1.json"

// enums are the values a string type of the spec may take.
var enums = map[reflect.Type][]string{
	reflect.TypeFor[spec.Lifecycle]():      strs(spec.Lifecycles),
	reflect.TypeFor[spec.FieldType]():      strs(spec.FieldTypes),
	reflect.TypeFor[spec.SourceKind]():     {string(spec.SourcePostgres), string(spec.SourceMySQL)},
	reflect.TypeFor[spec.CleanupPolicy]():  {string(spec.CleanupDelete), string(spec.CleanupCompact), string(spec.CleanupCompactDelete)},
	reflect.TypeFor[spec.Classification](): {string(spec.ClassNone), string(spec.ClassInternal), string(spec.ClassPII), string(spec.ClassSensitive)},
}

func strs[T ~string](in []T) []string {
	out := make([]string, len(in))
	for i, v := range in {
		out[i] = string(v)
	}
	return out
}

// Schema returns the JSON Schema (2020-12) of one descriptor document,
// derived from the types Parse decodes into, so editors check what
// meshplane reads.
func Schema() []byte {
	s := schemaOf(reflect.TypeFor[Document]())
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	s["$id"] = SchemaID
	s["title"] = "meshplane data product descriptor"
	props := s["properties"].(map[string]any)
	props["apiVersion"] = map[string]any{"const": APIVersion}
	props["kind"] = map[string]any{"const": Kind}
	meta := props["metadata"].(map[string]any)
	meta["required"] = []string{"domain", "name"}
	for _, k := range []string{"domain", "name"} {
		meta["properties"].(map[string]any)[k] = map[string]any{"type": "string", "pattern": "^[a-z][a-z0-9-]{1,62}$"}
	}
	s["required"] = []string{"apiVersion", "kind", "metadata", "spec"}
	sink := props["spec"].(map[string]any)["properties"].(map[string]any)["sinks"].(map[string]any)["items"].(map[string]any)
	sink["oneOf"] = []any{
		map[string]any{"required": []string{"bigquery"}}, map[string]any{"required": []string{"s3"}},
		map[string]any{"required": []string{"jdbc"}}, map[string]any{"required": []string{"elasticsearch"}},
	}
	b, _ := json.MarshalIndent(s, "", "  ")
	return append(b, '\n')
}

func schemaOf(t reflect.Type) map[string]any {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if vals, ok := enums[t]; ok {
		return map[string]any{"type": "string", "enum": vals}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int32, reflect.Int64:
		return map[string]any{"type": "integer"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem())}
	case reflect.Struct:
		props := map[string]any{}
		addFields(t, props)
		return map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	}
	return map[string]any{}
}

// addFields adds t's fields under their YAML (or JSON) names; inlined
// structs add theirs, derived fields none.
func addFields(t reflect.Type, props map[string]any) {
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		tag, ok := f.Tag.Lookup("yaml")
		if !ok {
			tag = f.Tag.Get("json")
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			addFields(f.Type, props)
			continue
		}
		if name == "" {
			name = f.Name
		}
		if t == reflect.TypeFor[spec.OutputPort]() && (name == "topic" || name == "retained" || name == "baseMajor") {
			continue // derived or kept by meshplane
		}
		props[name] = schemaOf(f.Type)
	}
}
