package portschema

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/meshplane/meshplane/server/spec"
)

func port() Port {
	return Port{Domain: "sales", Product: "orders", Name: "customers", Major: 2, Description: "Customers.",
		Fields: []spec.Field{
			{Name: "customer_id", Type: spec.TypeInt64, Classification: spec.ClassNone, Key: true},
			{Name: "email", Type: spec.TypeString, Nullable: true, Classification: spec.ClassPII},
			{Name: "ssn", Type: spec.TypeString, Classification: spec.ClassSensitive},
			{Name: "born", Type: spec.TypeDate, Nullable: true, Classification: spec.ClassPII},
			{Name: "score", Type: spec.TypeInt32, Classification: spec.ClassInternal},
			{Name: "unjudged", Type: spec.TypeString, Classification: spec.ClassInternal},
		},
		Actions: map[string]string{"customer_id": "allow", "email": "hash", "ssn": "drop", "born": "mask", "score": "allow"},
	}
}

// TestJSONSchema: the schema describes change events whose rows hold the
// fields as they arrive — masked ones as strings, dropped and undecided
// ones absent — and refuses what cannot arrive; fields added later, as a
// compatible change, pass.
func TestJSONSchema(t *testing.T) {
	b, err := JSONSchema(port())
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("s.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("s.json")
	if err != nil {
		t.Fatal(err)
	}
	check := func(event string, ok bool) {
		t.Helper()
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(event))
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(v); (err == nil) != ok {
			t.Errorf("%s: valid=%v, want %v (%v)", event, err == nil, ok, err)
		}
	}
	check(`{"op":"c","ts_ms":1,"before":null,"after":{"customer_id":1,"email":"9f86d081","born":"****","score":3}}`, true)
	check(`{"op":"u","before":{"customer_id":1,"email":null,"born":null,"score":3},"after":{"customer_id":1,"email":null,"born":null,"score":4}}`, true)
	check(`{"op":"d","before":{"customer_id":1,"score":3},"after":null}`, true)
	check(`{"op":"c","after":{"customer_id":1,"score":3,"phone":"x"}}`, true) // a field added later, compatibly
	check(`{"op":"c","after":{"customer_id":"1","score":3}}`, false)          // wrong type
	check(`{"op":"c","after":{"customer_id":1,"score":3000000000}}`, false)   // int32 out of range
	check(`{"op":"c","after":{"email":"x","score":3}}`, false)                // required key missing
	check(`{"op":"x","after":null}`, false)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	row := m["$defs"].(map[string]any)["row"].(map[string]any)
	if !strings.Contains(row["properties"].(map[string]any)["email"].(map[string]any)["anyOf"].([]any)[0].(map[string]any)["description"].(string), "pii: hash by the masking policy") {
		t.Errorf("the email says nothing of its masking: %v", row["properties"])
	}
}

// TestAvro: the row as an Avro record, masked fields as strings, nullable
// ones as unions with null first and a null default.
func TestAvro(t *testing.T) {
	b, err := Avro(port())
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Type, Name, Namespace string
		Fields                []struct {
			Name    string
			Type    any
			Default any
		}
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Type != "record" || rec.Name != "CustomersV2" || rec.Namespace != "sales.orders" || len(rec.Fields) != 4 {
		t.Fatalf("record: %s", b)
	}
	types := map[string]string{}
	for _, f := range rec.Fields {
		tb, _ := json.Marshal(f.Type)
		types[f.Name] = string(tb)
	}
	for name, want := range map[string]string{"customer_id": `"long"`, "email": `["null","string"]`, "born": `["null","string"]`, "score": `"int"`} {
		if types[name] != want {
			t.Errorf("%s: %s, want %s", name, types[name], want)
		}
	}
}

func TestDroppedFieldsAreNotDescribed(t *testing.T) {
	b, err := JSONSchema(port())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{`"ssn"`, `"unjudged"`} {
		if strings.Contains(string(b), name) {
			t.Errorf("the schema describes %s, which never arrives", name)
		}
	}
}
