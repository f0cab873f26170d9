package connectrun

import (
	"encoding/json"
	"testing"
)

// Records the JSON converter wrote decode the same whether their schema was
// seen before (the fast path) or not, and malformed ones are refused either
// way.
func TestDecodeSeenAndUnseenSchemas(t *testing.T) {
	s := &Schema{Type: TypeStruct, Name: "t.Value", Fields: []*Schema{{Type: TypeInt64, Field: "id"}, {Type: TypeString, Optional: true, Field: "email"}}}
	rec := EncodeWith(mustJSON(t, s), NewStruct(s).Set("id", int64(7)).Set("email", "a\"b\u2028\x01é"))
	for i := range 3 { // first decode caches the schema, later ones take the fast path
		e, err := Decode(rec)
		if err != nil {
			t.Fatalf("decode %d: %v", i, err)
		}
		if e.Schema.Name != "t.Value" || len(e.Schema.Fields) != 2 {
			t.Fatalf("decode %d: schema %+v", i, e.Schema)
		}
		var p map[string]any
		if err := json.Unmarshal(e.Payload, &p); err != nil || p["email"] != "a\"b\u2028\x01é" || p["id"] != float64(7) {
			t.Fatalf("decode %d: payload %s (%v)", i, e.Payload, err)
		}
	}
	schemaText := `{"schema":` + string(mustJSON(t, s)) + `,"payload":`
	for _, bad := range []string{
		schemaText + `x}`,               // a payload that is not JSON
		schemaText + `{"id":1}`,         // cut short
		schemaText + `{"id":1}},"x":2}`, // more after the object
		`not json`,
		`{"neither":1}`,
	} {
		if e, err := Decode([]byte(bad)); err == nil {
			t.Errorf("Decode(%q) = %+v, want an error", bad, e)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
