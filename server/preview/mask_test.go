package preview_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/meshplane/meshplane/server/preview"
	"github.com/meshplane/meshplane/server/spec"
)

// customerFields is the port used throughout: one field of every
// classification, including an unclassified one.
var customerFields = []spec.Field{
	{Name: "id", Type: spec.TypeInt64, Classification: spec.ClassNone},
	{Name: "country", Type: spec.TypeString, Classification: spec.ClassInternal},
	{Name: "email", Type: spec.TypeString, Classification: spec.ClassPII},
	{Name: "phone", Type: spec.TypeJSON, Classification: spec.ClassPII},
	{Name: "ssn", Type: spec.TypeString, Classification: spec.ClassSensitive},
	{Name: "remark", Type: spec.TypeString, Classification: spec.ClassUnclassified},
}

// openFields is a port whose fields anyone may see.
var openFields = []spec.Field{
	{Name: "id", Type: spec.TypeInt64, Classification: spec.ClassNone},
	{Name: "country", Type: spec.TypeString, Classification: spec.ClassInternal},
}

// secrets are raw values a viewer without RawPII must never see: pii,
// sensitive, unclassified and unlisted ("card") field values.
var secrets = []string{
	"alice@example.com", "old@example.com", "612345678", "123-45-6789",
	"call after 6pm", "4111111111111111",
}

const (
	row    = `{"id":1,"country":"NL","email":"alice@example.com","phone":{"cc":"+31", "n":"612345678"},"ssn":"123-45-6789","remark":"call after 6pm","card":"4111111111111111"}`
	oldRow = `{"id":1,"country":"DE","email":"old@example.com","ssn":"123-45-6789"}`
	source = `{"connector":"postgresql","db":"shop","schema":"public","table":"customers","lsn":24023128}`
	schema = `{"type":"struct","name":"shop.public.customers.Value","optional":false,"fields":[` +
		`{"field":"id","type":"int64","optional":false},` +
		`{"field":"email","type":"string","optional":true,"default":"alice@example.com"},` +
		`{"field":"card","type":"string","optional":true,"doc":"4111111111111111"}]}`
)

var (
	created = `{"before":null,"after":` + row + `,"op":"c","source":` + source + `,"ts_ms":1700000000000}`
	updated = `{"before":` + oldRow + `,"after":` + row + `,"op":"u","source":` + source + `,"ts_ms":1700000000001,"transaction":null}`
	deleted = `{"before":` + oldRow + `,"after":null,"op":"d","source":` + source + `,"ts_ms":1700000000002}`
	nonJSON = "alice@example.com|123-45-6789|4111111111111111"
)

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:8])
}

// maskedRow is row as a viewer without RawPII sees it.
func maskedRow(withHash bool) string {
	if !withHash {
		return `{"id":1,"country":"NL"}`
	}
	return fmt.Sprintf(`{"id":1,"country":"NL","email":%q,"phone":%q}`, hash("alice@example.com"), hash(`{"cc":"+31","n":"612345678"}`))
}

func maskedOldRow(withHash bool) string {
	if !withHash {
		return `{"id":1,"country":"DE"}`
	}
	return fmt.Sprintf(`{"id":1,"country":"DE","email":%q}`, hash("old@example.com"))
}

var (
	rowMasked    = []string{"email", "phone", "ssn", "remark", "card"}
	oldRowMasked = []string{"email", "ssn"}
)

type maskCase struct {
	name  string
	value []byte
	// want returns the value a viewer without RawPII sees, with or without
	// a hash function.
	want   func(withHash bool) string
	masked []string
	note   string // for a viewer without RawPII
}

func maskCases() []maskCase {
	return []maskCase{
		{
			name:   "flat object",
			value:  []byte(row),
			want:   maskedRow,
			masked: rowMasked,
		},
		{
			name:  "debezium create",
			value: []byte(created),
			want: func(h bool) string {
				return `{"before":null,"after":` + maskedRow(h) + `,"op":"c","source":` + source + `,"ts_ms":1700000000000}`
			},
			masked: rowMasked,
		},
		{
			name:  "debezium update",
			value: []byte(updated),
			want: func(h bool) string {
				return `{"before":` + maskedOldRow(h) + `,"after":` + maskedRow(h) + `,"op":"u","source":` + source + `,"ts_ms":1700000000001,"transaction":null}`
			},
			masked: []string{"email", "ssn", "phone", "remark", "card"},
		},
		{
			name:  "debezium delete",
			value: []byte(deleted),
			want: func(h bool) string {
				return `{"before":` + maskedOldRow(h) + `,"after":null,"op":"d","source":` + source + `,"ts_ms":1700000000002}`
			},
			masked: oldRowMasked,
		},
		{
			name:   "schema and flat payload",
			value:  []byte(`{"schema":` + schema + `,"payload":` + row + `}`),
			want:   func(h bool) string { return `{"schema":null,"payload":` + maskedRow(h) + `}` },
			masked: rowMasked,
			note:   "value schema dropped: it may describe removed fields",
		},
		{
			name:  "schema and envelope payload",
			value: []byte(`{"payload":` + updated + `,"schema":` + schema + `}`),
			want: func(h bool) string {
				return `{"schema":null,"payload":{"before":` + maskedOldRow(h) + `,"after":` + maskedRow(h) + `,"op":"u","source":` + source + `,"ts_ms":1700000000001,"transaction":null}}`
			},
			masked: []string{"email", "ssn", "phone", "remark", "card"},
			note:   "value schema dropped: it may describe removed fields",
		},
		{
			name:  "schema and null payload",
			value: []byte(`{"schema":null,"payload":null}`),
			want:  func(bool) string { return `{"schema":null,"payload":null}` },
			note:  "value schema dropped: it may describe removed fields",
		},
		{
			name:  "tombstone",
			value: nil,
			want:  func(bool) string { return `null` },
		},
		{
			name:  "not JSON",
			value: []byte(nonJSON),
			want:  func(bool) string { return `null` },
			note:  "value is not JSON and the port holds classified fields: withheld",
		},
		{
			name:  "invalid UTF-8 in JSON",
			value: []byte("{\"id\":1,\"email\":\"alice@example.com\xff\"}"),
			want:  func(bool) string { return `null` },
			note:  "value is not JSON and the port holds classified fields: withheld",
		},
		{
			name:  "bare JSON string",
			value: []byte(`"alice@example.com"`),
			want:  func(bool) string { return `null` },
			note:  "value is not a JSON object and the port holds classified fields: withheld",
		},
		{
			name:  "JSON array",
			value: []byte(`[` + row + `]`),
			want:  func(bool) string { return `null` },
			note:  "value is not a JSON object and the port holds classified fields: withheld",
		},
		{
			name:   "envelope look-alike with a stray member is a flat object",
			value:  []byte(`{"before":null,"after":` + row + `,"op":"c","card":"4111111111111111"}`),
			want:   func(bool) string { return `{}` },
			masked: []string{"before", "after", "op", "card"},
		},
	}
}

// TestMaskViewerWithoutRawPII checks every value shape, with and without a
// hash function: exact output, the fields reported as masked, and that no
// raw pii, sensitive, unclassified or unlisted value appears anywhere in the
// record as a door would encode it.
func TestMaskViewerWithoutRawPII(t *testing.T) {
	t.Parallel()
	for _, tc := range maskCases() {
		for _, withHash := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/hash=%v", tc.name, withHash), func(t *testing.T) {
				t.Parallel()
				v := preview.Viewer{}
				if withHash {
					v.Hash = hash
				}
				raw := preview.RawRecord{Partition: 2, Offset: 7, Timestamp: time.UnixMilli(1700000000000), Key: []byte(`{"id":1}`), Value: tc.value}
				got := preview.Mask(raw, customerFields, v)

				if string(got.Value) != tc.want(withHash) {
					t.Errorf("value:\n got %s\nwant %s", got.Value, tc.want(withHash))
				}
				if string(got.Key) != `{"id":1}` {
					t.Errorf("key = %s, want {\"id\":1}", got.Key)
				}
				if !slices.Equal(got.Masked, tc.masked) {
					t.Errorf("masked = %q, want %q", got.Masked, tc.masked)
				}
				if got.Note != tc.note {
					t.Errorf("note = %q, want %q", got.Note, tc.note)
				}
				if got.Partition != 2 || got.Offset != 7 || !got.Timestamp.Equal(raw.Timestamp) {
					t.Errorf("position = %d/%d/%v, want 2/7/%v", got.Partition, got.Offset, got.Timestamp, raw.Timestamp)
				}
				assertNoSecrets(t, got, tc.value)
			})
		}
	}
}

// TestMaskViewerWithRawPII checks that an entitled viewer sees JSON exactly
// as stored and anything else as base64.
func TestMaskViewerWithRawPII(t *testing.T) {
	t.Parallel()
	for _, tc := range maskCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			raw := preview.RawRecord{Key: []byte("customer-1"), Value: tc.value}
			got := preview.Mask(raw, customerFields, preview.Viewer{RawPII: true, Hash: hash})

			want, note := string(tc.value), "key is not JSON: shown as base64"
			switch {
			case tc.value == nil:
				want = "null"
			case !json.Valid(tc.value) || !utf8.Valid(tc.value):
				want = `"` + base64.StdEncoding.EncodeToString(tc.value) + `"`
				note += "; value is not JSON: shown as base64"
			}
			if string(got.Value) != want {
				t.Errorf("value:\n got %s\nwant %s", got.Value, want)
			}
			if wantKey := `"` + base64.StdEncoding.EncodeToString([]byte("customer-1")) + `"`; string(got.Key) != wantKey {
				t.Errorf("key = %s, want %s", got.Key, wantKey)
			}
			if got.Masked != nil {
				t.Errorf("masked = %q, want none", got.Masked)
			}
			if got.Note != note {
				t.Errorf("note = %q, want %q", got.Note, note)
			}
			if _, err := json.Marshal(got); err != nil {
				t.Errorf("encoding record: %v", err)
			}
		})
	}
}

// TestMaskKeys checks that keys are masked like values, and that a key which
// cannot be matched to fields is shown only when the port has nothing to hide.
func TestMaskKeys(t *testing.T) {
	t.Parallel()
	b64 := func(s string) string { return `"` + base64.StdEncoding.EncodeToString([]byte(s)) + `"` }
	cases := []struct {
		name   string
		fields []spec.Field
		key    []byte
		want   string
		masked []string
		note   string
		// shown is true when the port lets the raw key be seen.
		shown bool
	}{
		{name: "id object", fields: customerFields, key: []byte(`{"id": 1}`), want: `{"id":1}`},
		{
			name: "pii object", fields: customerFields, key: []byte(`{"email":"alice@example.com","id":1}`),
			want: fmt.Sprintf(`{"email":%q,"id":1}`, hash("alice@example.com")), masked: []string{"email"},
		},
		{
			name: "unlisted member", fields: customerFields, key: []byte(`{"card":"4111111111111111"}`),
			want: `{}`, masked: []string{"card"},
		},
		{
			name: "schema and payload", fields: customerFields,
			key:  []byte(`{"schema":{"type":"struct","fields":[{"field":"id","type":"int64"}]},"payload":{"id":1}}`),
			want: `{"schema":null,"payload":{"id":1}}`, note: "key schema dropped: it may describe removed fields",
		},
		{name: "tombstone key", fields: customerFields, key: nil, want: `null`},
		{
			name: "not JSON, classified port", fields: customerFields, key: []byte("alice@example.com"),
			want: `null`, note: "key is not JSON and the port holds classified fields: withheld",
		},
		{
			name: "bare JSON, classified port", fields: customerFields, key: []byte(`"alice@example.com"`),
			want: `null`, note: "key is not a JSON object and the port holds classified fields: withheld",
		},
		{
			name: "not JSON, open port", fields: openFields, key: []byte("customer-1"),
			want: b64("customer-1"), note: "key is not JSON: shown as base64", shown: true,
		},
		{name: "bare JSON, open port", fields: openFields, key: []byte(` 42 `), want: `42`, shown: true},
		{
			name: "not JSON, port without fields", fields: nil, key: []byte("customer-1"),
			want: `null`, note: "key is not JSON and the port lists no fields: withheld",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := preview.Mask(preview.RawRecord{Key: tc.key}, tc.fields, preview.Viewer{Hash: hash})
			if string(got.Key) != tc.want {
				t.Errorf("key:\n got %s\nwant %s", got.Key, tc.want)
			}
			if string(got.Value) != "null" {
				t.Errorf("value = %s, want null", got.Value)
			}
			if !slices.Equal(got.Masked, tc.masked) {
				t.Errorf("masked = %q, want %q", got.Masked, tc.masked)
			}
			if got.Note != tc.note {
				t.Errorf("note = %q, want %q", got.Note, tc.note)
			}
			if !tc.shown {
				assertNoSecrets(t, got, tc.key)
			}
		})
	}
}

// TestMaskPortShapes checks masking rules that depend on the port's fields
// rather than on the record.
func TestMaskPortShapes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		fields []spec.Field
		value  string
		want   string
		masked []string
		note   string
	}{
		{
			name: "port without fields removes every member", fields: nil,
			value: row, want: `{}`, masked: []string{"id", "country", "email", "phone", "ssn", "remark", "card"},
		},
		{
			name: "port without fields withholds non-JSON", fields: nil,
			value: "plain text", want: `null`, note: "value is not JSON and the port lists no fields: withheld",
		},
		{
			name: "open port still withholds non-JSON", fields: openFields,
			value: "plain text", want: `null`, note: "value is not JSON and cannot be matched to the port's fields: withheld",
		},
		{
			name: "a name listed twice keeps the stricter classification",
			fields: []spec.Field{
				{Name: "id", Classification: spec.ClassNone},
				{Name: "email", Classification: spec.ClassNone},
				{Name: "email", Classification: spec.ClassSensitive},
				{Name: "email", Classification: spec.ClassPII},
			},
			value: `{"id":1,"email":"alice@example.com"}`, want: `{"id":1}`, masked: []string{"email"},
		},
		{
			name: "an unknown classification is treated as sensitive",
			fields: []spec.Field{
				{Name: "id", Classification: spec.ClassNone},
				{Name: "email", Classification: "secret"},
			},
			value: `{"id":1,"email":"alice@example.com"}`, want: `{"id":1}`, masked: []string{"email"},
		},
		{
			name: "envelope metadata named by a port field keeps its classification",
			fields: append(slices.Clone(customerFields),
				spec.Field{Name: "source", Classification: spec.ClassSensitive}),
			value: created, want: `{"before":null,"after":` + maskedRow(false) + `,"op":"c","ts_ms":1700000000000}`,
			masked: []string{"email", "phone", "ssn", "remark", "card", "source"},
		},
		{
			name: "a port with an op field reads envelopes as flat objects",
			fields: append(slices.Clone(customerFields),
				spec.Field{Name: "op", Classification: spec.ClassNone}),
			value: created, want: `{"op":"c"}`,
			masked: []string{"before", "after", "source", "ts_ms"},
		},
		{
			name: "a port with a payload field reads the converter's form as a flat object",
			fields: []spec.Field{
				{Name: "payload", Classification: spec.ClassPII},
				{Name: "schema", Classification: spec.ClassNone},
			},
			value: `{"schema":"v1","payload":{"email":"alice@example.com"}}`,
			want:  `{"schema":"v1"}`, masked: []string{"payload"},
		},
		{
			name: "payload that is not an object is withheld", fields: customerFields,
			value: `{"schema":{"type":"string"},"payload":"alice@example.com"}`, want: `null`,
			note: "value is not a JSON object and the port holds classified fields: withheld",
		},
		{
			name: "a member repeated is masked every time", fields: customerFields,
			value: `{"email":"alice@example.com","id":1,"email":"old@example.com"}`, want: `{"id":1}`, masked: []string{"email"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := preview.Mask(preview.RawRecord{Value: []byte(tc.value)}, tc.fields, preview.Viewer{})
			if string(got.Value) != tc.want {
				t.Errorf("value:\n got %s\nwant %s", got.Value, tc.want)
			}
			if !slices.Equal(got.Masked, tc.masked) {
				t.Errorf("masked = %q, want %q", got.Masked, tc.masked)
			}
			if got.Note != tc.note {
				t.Errorf("note = %q, want %q", got.Note, tc.note)
			}
			assertNoSecrets(t, got, []byte(tc.value))
		})
	}
}

// assertNoSecrets fails if the record, encoded as a door would, holds any
// raw secret or the base64 of the raw input.
func assertNoSecrets(t *testing.T, rec preview.Record, input []byte) {
	t.Helper()
	out, err := json.Marshal(rec)
	if err != nil {
		t.Fatalf("encoding record: %v", err)
	}
	for _, s := range secrets {
		if bytes.Contains(out, []byte(s)) {
			t.Errorf("output holds raw %q: %s", s, out)
		}
	}
	if len(input) > 0 && bytes.Contains(out, []byte(base64.StdEncoding.EncodeToString(input))) {
		t.Errorf("output holds the raw input as base64: %s", out)
	}
}

// fuzzSecret is planted in every classified position of fuzzed records.
const fuzzSecret = "planted-secret-9f41c2"

// FuzzMask feeds arbitrary bytes as key and value. Mask must not panic and
// must always produce JSON; and once the fuzzed JSON has the secret planted
// in classified fields of every record position (top level, payload, before,
// after), a viewer without RawPII must never see it.
func FuzzMask(f *testing.F) {
	for _, tc := range maskCases() {
		f.Add(tc.value)
	}
	f.Add([]byte(`{"schema":null,"payload":` + deleted + `}`))
	f.Add([]byte(`{"a":{"b":{"c":[1,2,{"email":"x"}]}}}`))
	f.Add([]byte(`{"email":"\u0061lice@example.com","ssn":"\ud83d\ude00"}`))
	f.Add([]byte(``))
	f.Add([]byte(`{}`))

	masking := []preview.Viewer{{}, {Hash: hash}, {Hash: func(string) string { return "" }}}
	all := append(slices.Clone(masking), preview.Viewer{RawPII: true})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, v := range all {
			for _, fields := range [][]spec.Field{customerFields, openFields, nil} {
				got := preview.Mask(preview.RawRecord{Key: b, Value: b}, fields, v)
				if !json.Valid(got.Key) || !json.Valid(got.Value) {
					t.Fatalf("not JSON: key %q value %q", got.Key, got.Value)
				}
			}
		}
		planted, ok := plant(b)
		if !ok {
			return
		}
		for _, planted := range planted {
			for _, v := range masking {
				got := preview.Mask(preview.RawRecord{Key: planted, Value: planted}, customerFields, v)
				out, err := json.Marshal(got)
				if err != nil {
					t.Fatalf("encoding record: %v", err)
				}
				if bytes.Contains(out, []byte(fuzzSecret)) {
					t.Fatalf("secret visible\n in: %s\nout: %s", planted, out)
				}
			}
		}
	})
}

// plant returns b with the fuzz secret set as every classified field of one
// record position at a time. It reports false when b is not a JSON object or
// already holds the secret, perhaps escaped, where it may be legitimately shown.
func plant(b []byte) ([][]byte, bool) {
	var doc map[string]any
	if json.Unmarshal(b, &doc) != nil || doc == nil {
		return nil, false
	}
	if canon, err := json.Marshal(doc); err != nil || bytes.Contains(canon, []byte(fuzzSecret)) {
		return nil, false
	}
	var out [][]byte
	for _, path := range [][]string{nil, {"payload"}, {"before"}, {"after"}, {"payload", "before"}, {"payload", "after"}} {
		var copied map[string]any
		_ = json.Unmarshal(b, &copied)
		target := copied
		for _, p := range path {
			next, ok := target[p].(map[string]any)
			if !ok {
				target = nil
				break
			}
			target = next
		}
		if target == nil {
			continue
		}
		for _, name := range []string{"email", "phone", "ssn", "remark", "card"} {
			target[name] = fuzzSecret
		}
		target["nested"] = map[string]any{"ssn": fuzzSecret}
		planted, err := json.Marshal(copied)
		if err != nil {
			continue
		}
		out = append(out, planted)
	}
	return out, true
}
