package spec_test

import (
	"bytes"
	"encoding/json"
	"net/url"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/meshplane/meshplane/server/errs"
	"github.com/meshplane/meshplane/server/spec"
)

var (
	topicRe = regexp.MustCompile(`^[a-z][a-z0-9-]{1,62}\.[a-z][a-z0-9-]{1,62}\.[a-z][a-z0-9-]{1,62}\.v[0-9]{1,3}$`)
	// Terraform identifiers: a letter or underscore, then letters, digits, underscores and dashes.
	terraformIdentRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)
	// Kafka topic names: at most 249 of these characters.
	kafkaTopicRe = regexp.MustCompile(`^[A-Za-z0-9._-]{1,249}$`)
	secretRefRe  = regexp.MustCompile(`^(env|file|vault):`)
)

// mustMarshal encodes v as JSON for seeds.
func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzValidateProduct decodes a product the way the catalog stores it (JSON),
// names it as a create request would, normalizes and validates it. It must
// never panic, and whatever passes validation must be safe to render into
// generated configuration (Terraform, Kafka Connect properties, topic names).
func FuzzValidateProduct(f *testing.F) {
	valid := baseline()
	f.Add(mustMarshal(f, valid), "sales", "orders")
	f.Add(mustMarshal(f, valid), "${var.x}", "orders")
	f.Add(mustMarshal(f, valid), "sales", "Orders")
	f.Add(mustMarshal(f, valid), "a", "orders")

	hostile := baseline()
	hostile.Ports[0].Name = `a"; drop`
	hostile.Ports[1].Fields[0].Name = "../etc"
	hostile.Labels["${var.x}"] = "\n"
	hostile.Sinks[2].JDBC.URL = "jdbc:postgresql://u:p@h/db"
	hostile.Sinks[1].S3.Prefix = "/../x"
	f.Add(mustMarshal(f, hostile), "sales", "orders")

	// Values that once passed validation although a driver would read a
	// password from them, or a renderer would meet a line break.
	urls := baseline()
	urls.Sinks[2].JDBC.URL = "jdbc:mysql://h:3306/db?user=u&pass%77ord=x"
	urls.Sinks[3].Elasticsearch.URL = "https://search\u2028:9200"
	f.Add(mustMarshal(f, urls), "sales", "orders")

	minimal := spec.Product{
		Owner:  "o",
		Source: spec.Source{Kind: spec.SourceMySQL, Host: "::1", Port: 3306, Database: "d", Tables: []string{"d.t"}, Username: "u", SecretRef: "env:P"},
		Ports:  []spec.OutputPort{{Name: "t1", Fields: []spec.Field{{Name: "_", Type: spec.TypeJSON}}}},
	}
	f.Add(mustMarshal(f, minimal), "d1", "p1")
	f.Add([]byte(`{}`), "sales", "orders")
	f.Add([]byte(`{"ports":[{"name":"x","fields":[{"name":"y","type":"string"}]}],"sinks":[{"s3":{},"jdbc":{}},{}]}`), "ab", "cd")
	f.Add([]byte(`{"labels":{"":"","a":"${x}"},"source":{"tables":[".","a.b.c","a.b","a.b"]},"ports":[{"majorVersion":-1,"retentionMs":-1,"partitions":1025}]}`), "ab", "cd")

	f.Fuzz(func(t *testing.T, data []byte, domain, name string) {
		var p spec.Product
		if err := json.Unmarshal(data, &p); err != nil {
			return
		}
		// As CreateDataProduct does.
		var v errs.Violations
		spec.CheckName(&v, "domain", domain)
		spec.CheckName(&v, "name", name)
		if v.Len() == 0 {
			p.Normalize(domain, name)
		}
		p.Validate(&v, "spec")

		for _, fv := range v.List() {
			if fv.Message == "" || !(fv.Path == "domain" || fv.Path == "name" || strings.HasPrefix(fv.Path, "spec.")) {
				t.Fatalf("malformed violation %+v", fv)
			}
		}
		// Validation is a pure function of the product.
		var specOnly []errs.FieldViolation
		for _, fv := range v.List() {
			if strings.HasPrefix(fv.Path, "spec.") {
				specOnly = append(specOnly, fv)
			}
		}
		var again errs.Violations
		p.Validate(&again, "spec")
		if !slices.Equal(again.List(), specOnly) {
			t.Fatalf("second Validate reported %v, first %v", again.List(), specOnly)
		}
		if v.Len() > 0 {
			return
		}
		checkSafe(t, &p, domain, name)

		// What is valid survives the store's JSON round trip unchanged and valid.
		stored, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("marshal a valid product: %v", err)
		}
		var back spec.Product
		if err := json.Unmarshal(stored, &back); err != nil {
			t.Fatalf("unmarshal a stored product: %v", err)
		}
		back.Normalize(domain, name)
		var vb errs.Violations
		back.Validate(&vb, "spec")
		if vb.Len() != 0 {
			t.Fatalf("stored product no longer valid: %v", vb.List())
		}
		if restored := mustMarshal(t, back); !bytes.Equal(restored, stored) {
			t.Fatalf("round trip changed the product:\n%s\n%s", stored, restored)
		}
	})
}

// checkSafe asserts what Validate guarantees about a product it accepted.
func checkSafe(t *testing.T, p *spec.Product, domain, name string) {
	t.Helper()
	for _, n := range []string{domain, name} {
		if !spec.ValidName(n) {
			t.Fatalf("invalid name %q accepted", n)
		}
	}
	tables := map[string]bool{}
	for _, tb := range p.Source.Tables {
		if strings.Count(tb, ".") != 1 || tables[tb] {
			t.Fatalf("table %q accepted", tb)
		}
		tables[tb] = true
	}
	if p.Source.Port < 1 || p.Source.Port > 65535 {
		t.Fatalf("source port %d accepted", p.Source.Port)
	}
	ports := map[string]bool{}
	for _, port := range p.Ports {
		if !spec.ValidName(port.Name) || ports[port.Name] {
			t.Fatalf("port name %q accepted", port.Name)
		}
		ports[port.Name] = true
		if !topicRe.MatchString(port.Topic) || len(port.Topic) > 249 || !kafkaTopicRe.MatchString(port.Topic) {
			t.Fatalf("topic %q accepted", port.Topic)
		}
		if want := spec.TopicName(domain, name, port.Name, port.MajorVersion); port.Topic != want {
			t.Fatalf("topic %q, want %q", port.Topic, want)
		}
		if port.Partitions < 1 || port.Partitions > spec.MaxPartitions || port.MajorVersion < 1 || port.MajorVersion > spec.MaxMajorVersion ||
			port.RetentionMs != -1 && (port.RetentionMs < spec.MinRetentionMs || port.RetentionMs > spec.MaxRetentionMs) {
			t.Fatalf("port %+v accepted", port)
		}
		if !tables[port.Table] {
			t.Fatalf("port table %q is not a source table", port.Table)
		}
		fields := map[string]bool{}
		for _, fl := range port.Fields {
			key := strings.ToLower(fl.Name)
			if fields[key] || !slices.Contains(spec.FieldTypes, fl.Type) {
				t.Fatalf("field %+v accepted", fl)
			}
			fields[key] = true
		}
	}
	sinks := map[string]bool{}
	for _, s := range p.Sinks {
		if !spec.ValidName(s.Name) || sinks[s.Name] || s.Kind() == "" {
			t.Fatalf("sink %+v accepted", s)
		}
		sinks[s.Name] = true
		for _, sp := range s.Ports {
			if !ports[sp] {
				t.Fatalf("sink %q delivers unknown port %q", s.Name, sp)
			}
		}
		if s.Elasticsearch != nil && s.Elasticsearch.IndexPrefix != "" && !spec.ValidName(s.Elasticsearch.IndexPrefix) {
			t.Fatalf("index prefix %q accepted", s.Elasticsearch.IndexPrefix)
		}
		if j := s.JDBC; j != nil {
			if j.DeleteEnabled && j.InsertMode == "insert" {
				t.Fatal("deleteEnabled accepted with insert mode")
			}
			checkURLSafe(t, j.URL)
			dec, _ := url.PathUnescape(j.URL)
			for _, hook := range []string{"socketfactory", "sslfactory", "localinfile", "autodeserialize", "interceptor", "jndi"} {
				if strings.Contains(strings.ToLower(j.URL+" "+dec), hook) {
					t.Fatalf("jdbc url %q accepted with driver property %s", j.URL, hook)
				}
			}
		}
		if es := s.Elasticsearch; es != nil {
			checkURLSafe(t, es.URL)
		}
		if s.S3 != nil && (strings.HasPrefix(s.S3.Prefix, "/") || strings.Contains(s.S3.Prefix, "..")) {
			t.Fatalf("s3 prefix %q accepted", s.S3.Prefix)
		}
	}
	walkStrings(reflect.ValueOf(*p), "spec", func(path, field, s string) {
		switch {
		case field == "Description":
			checkFreeText(t, path, s)
		case strings.HasSuffix(field, "Ref"):
			if s != "" && (!secretRefRe.MatchString(s) || strings.Contains(s, "..")) {
				t.Fatalf("%s: secret reference %q accepted", path, s)
			}
			checkConfigString(t, path, s, "")
		case field == "Prefix":
			// S3 object keys may use the characters AWS calls safe, quote included.
			checkConfigString(t, path, s, "'")
		default:
			checkConfigString(t, path, s, "")
		}
	})
}

// checkFreeText asserts what descriptions are guaranteed: valid UTF-8 of at
// most MaxDescription runes and no control characters but tab and line breaks.
// Quotes, braces and "${" are allowed: renderers must escape descriptions.
func checkFreeText(t *testing.T, path, s string) {
	t.Helper()
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > spec.MaxDescription {
		t.Fatalf("%s: description %q accepted", path, s)
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r' {
			t.Fatalf("%s: control character %U accepted in %q", path, r, s)
		}
	}
}

// checkConfigString asserts what every other string is guaranteed: printable
// ASCII without spaces, quotes, backslashes, backticks or braces, so it cannot
// end a quoted value, start an interpolation or break a line in generated
// configuration. extra lists the characters a field may use beyond that.
func checkConfigString(t *testing.T, path, s, extra string) {
	t.Helper()
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '!' || c > '~' || strings.IndexByte("\"'`\\{}", c) >= 0 && strings.IndexByte(extra, c) < 0 {
			t.Fatalf("%s: byte %#02x accepted in %q", path, c, s)
		}
	}
}

func checkURLSafe(t *testing.T, raw string) {
	t.Helper()
	u, err := url.Parse(strings.TrimPrefix(raw, "jdbc:"))
	if err != nil || u.User != nil || u.Host == "" {
		t.Fatalf("url %q accepted (%v)", raw, err)
	}
	dec, err := url.PathUnescape(raw)
	if err != nil {
		t.Fatalf("url %q accepted with bad escapes", raw)
	}
	for _, s := range []string{raw, dec} {
		if strings.Contains(strings.ToLower(s), "password") {
			t.Fatalf("url %q accepted with a password", raw)
		}
	}
}

// walkStrings calls fn for every string in v — struct fields, slice elements,
// map keys and values — with its path and the name of the struct field holding it.
func walkStrings(v reflect.Value, path string, fn func(path, field, s string)) {
	var walk func(v reflect.Value, path, field string)
	walk = func(v reflect.Value, path, field string) {
		switch v.Kind() {
		case reflect.String:
			fn(path, field, v.String())
		case reflect.Pointer:
			if !v.IsNil() {
				walk(v.Elem(), path, field)
			}
		case reflect.Struct:
			for i := range v.NumField() {
				sf := v.Type().Field(i)
				walk(v.Field(i), path+"."+sf.Name, sf.Name)
			}
		case reflect.Slice:
			for i := range v.Len() {
				walk(v.Index(i), path+"[]", field)
			}
		case reflect.Map:
			iter := v.MapRange()
			for iter.Next() {
				walk(iter.Key(), path+"{key}", field)
				walk(iter.Value(), path+"{value}", field)
			}
		case reflect.Bool, reflect.Int, reflect.Int64:
		default:
			panic("walkStrings: unexpected kind " + v.Kind().String() + " at " + path)
		}
	}
	walk(v, path, "")
}

// FuzzCheckName checks that names that pass are safe as file names,
// Terraform identifiers and Kafka topic components, and that CheckName and
// ValidName agree.
func FuzzCheckName(f *testing.F) {
	for _, s := range []string{"orders", "a-", "ab", `a"; drop`, "../etc", "${var.x}", "Orders", "ordérs", "a\x00b",
		"a" + strings.Repeat("b", 62), "a" + strings.Repeat("b", 63), ".", "..", "con", "-rf"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var v errs.Violations
		spec.CheckName(&v, "metadata.name", s)
		ok := spec.ValidName(s)
		if ok != (v.Len() == 0) {
			t.Fatalf("ValidName(%q) = %v but CheckName reported %v", s, ok, v.List())
		}
		if !ok {
			if v.Len() != 1 || v.List()[0].Path != "metadata.name" || v.List()[0].Message == "" {
				t.Fatalf("CheckName(%q) reported %v", s, v.List())
			}
			return
		}
		if len(s) < 2 || len(s) > 63 {
			t.Fatalf("name of %d bytes accepted", len(s))
		}
		if !terraformIdentRe.MatchString(s) || !kafkaTopicRe.MatchString(s) || strings.Contains(s, ".") {
			t.Fatalf("%q is not an identifier", s)
		}
		if filepath.Base(s) != s || filepath.Clean(s) != s || !filepath.IsLocal(s) || strings.ContainsAny(s, `/\:*?"<>|`) ||
			strings.HasPrefix(s, "-") || strings.ToLower(s) != s {
			t.Fatalf("%q is not a safe file name", s)
		}
	})
}
