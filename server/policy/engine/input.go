package engine

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/meshplane/meshplane/server/spec"
)

// Product is what policies judge: a data product's identity and spec, and
// the environment it is judged for.
type Product struct {
	Domain, Name, Lifecycle string
	Spec                    spec.Product
	// Environment is where the product is about to be provisioned; zero
	// when a catalog write is judged, which targets no environment.
	Environment Environment
}

// Environment is what policies see as input.environment: the name of the
// environment a product is provisioned into and its parameters (e.g.
// maxRetentionMs, rawPII, allowedSinkKinds). Name is "" for catalog writes.
type Environment struct {
	Name       string
	Parameters map[string]any
}

// term builds input.environment: {"name": N, "parameters": {…}}.
func (e Environment) term() *ast.Term {
	params := ast.NewObject()
	if len(e.Parameters) > 0 {
		// Through JSON, so numbers are written as JSON writes them (a whole
		// float64 without an exponent) and policies format them as such.
		if b, err := json.Marshal(e.Parameters); err == nil {
			if v, err := ast.ValueFromReader(bytes.NewReader(b)); err == nil {
				if o, ok := v.(ast.Object); ok {
					params = o
				}
			}
		}
	}
	return ast.ObjectTerm(ast.Item(kName, ast.StringTerm(e.Name)), ast.Item(kParameters, ast.NewTerm(params)))
}

// Object keys of the input documents, built once.
var (
	kProduct        = ast.StringTerm("product")
	kMasking        = ast.StringTerm("masking")
	kDomain         = ast.StringTerm("domain")
	kName           = ast.StringTerm("name")
	kLifecycle      = ast.StringTerm("lifecycle")
	kDescription    = ast.StringTerm("description")
	kOwner          = ast.StringTerm("owner")
	kLabels         = ast.StringTerm("labels")
	kSource         = ast.StringTerm("source")
	kKind           = ast.StringTerm("kind")
	kHost           = ast.StringTerm("host")
	kPort           = ast.StringTerm("port")
	kDatabase       = ast.StringTerm("database")
	kTables         = ast.StringTerm("tables")
	kUsername       = ast.StringTerm("username")
	kSecretRef      = ast.StringTerm("secretRef")
	kSecretRefs     = ast.StringTerm("secretRefs")
	kRef            = ast.StringTerm("ref")
	kPorts          = ast.StringTerm("ports")
	kTopic          = ast.StringTerm("topic")
	kMajorVersion   = ast.StringTerm("majorVersion")
	kPartitions     = ast.StringTerm("partitions")
	kRetentionMs    = ast.StringTerm("retentionMs")
	kCleanupPolicy  = ast.StringTerm("cleanupPolicy")
	kTable          = ast.StringTerm("table")
	kFields         = ast.StringTerm("fields")
	kType           = ast.StringTerm("type")
	kNullable       = ast.StringTerm("nullable")
	kClassification = ast.StringTerm("classification")
	kTags           = ast.StringTerm("tags")
	kKey            = ast.StringTerm("key")
	kSinks          = ast.StringTerm("sinks")
	kAction         = ast.StringTerm("action")
	kEnvironment    = ast.StringTerm("environment")
	kParameters     = ast.StringTerm("parameters")
)

// MaskingInput returns the input document the masking policy evaluates
// for p: {"product": P, "environment": E}.
func MaskingInput(p Product) *ast.Term {
	return ast.ObjectTerm(ast.Item(kProduct, productTerm(p)), ast.Item(kEnvironment, p.Environment.term()))
}

// AdmissionInput returns the input document the admission policy
// evaluates for p with the masking decisions made for it:
// {"product": P, "masking": M, "environment": E}.
func AdmissionInput(p Product, masking []Decision) *ast.Term {
	return ast.ObjectTerm(ast.Item(kProduct, productTerm(p)), ast.Item(kMasking, maskingTerm(masking)),
		ast.Item(kEnvironment, p.Environment.term()))
}

// productTerm builds the document policies see as input.product. It is
// spelled out rather than derived from spec's JSON tags so that renaming a
// Go field cannot silently change what policies read; policies/rego/README.md
// documents the same shape.
func productTerm(p Product) *ast.Term {
	s := p.Spec
	labels := make([][2]*ast.Term, 0, len(s.Labels))
	for k, v := range s.Labels {
		labels = append(labels, ast.Item(ast.StringTerm(k), ast.StringTerm(v)))
	}
	ports := make([]*ast.Term, len(s.Ports))
	names := make([]*ast.Term, len(s.Ports))
	for i, port := range s.Ports {
		names[i] = ast.StringTerm(port.Name)
		ports[i] = portTerm(port, names[i])
	}
	sinks := make([]*ast.Term, len(s.Sinks))
	for i, sink := range s.Sinks {
		delivered := names
		if len(sink.Ports) > 0 {
			delivered = strTerms(sink.Ports)
		}
		sinks[i] = ast.ObjectTerm(
			ast.Item(kName, ast.StringTerm(sink.Name)),
			ast.Item(kKind, ast.StringTerm(string(sink.Kind()))),
			ast.Item(kPorts, ast.ArrayTerm(delivered...)),
		)
	}
	refs := s.SecretRefs("spec")
	secretRefs := make([]*ast.Term, len(refs))
	for i, ref := range refs {
		secretRefs[i] = ast.ObjectTerm(ast.Item(kPath, ast.StringTerm(ref.Path)), ast.Item(kRef, ast.StringTerm(ref.Ref)))
	}
	src := s.Source
	return ast.ObjectTerm(
		ast.Item(kDomain, ast.StringTerm(p.Domain)),
		ast.Item(kName, ast.StringTerm(p.Name)),
		ast.Item(kLifecycle, ast.StringTerm(p.Lifecycle)),
		ast.Item(kDescription, ast.StringTerm(s.Description)),
		ast.Item(kOwner, ast.StringTerm(s.Owner)),
		ast.Item(kLabels, ast.ObjectTerm(labels...)),
		ast.Item(kSource, ast.ObjectTerm(
			ast.Item(kKind, ast.StringTerm(string(src.Kind))),
			ast.Item(kHost, ast.StringTerm(src.Host)),
			ast.Item(kPort, ast.InternedTerm(src.Port)),
			ast.Item(kDatabase, ast.StringTerm(src.Database)),
			ast.Item(kTables, ast.ArrayTerm(strTerms(src.Tables)...)),
			ast.Item(kUsername, ast.StringTerm(src.Username)),
			ast.Item(kSecretRef, ast.StringTerm(src.SecretRef)),
		)),
		ast.Item(kPorts, ast.ArrayTerm(ports...)),
		ast.Item(kSecretRefs, ast.ArrayTerm(secretRefs...)),
		ast.Item(kSinks, ast.ArrayTerm(sinks...)),
	)
}

func portTerm(port spec.OutputPort, name *ast.Term) *ast.Term {
	fields := make([]*ast.Term, len(port.Fields))
	for i, f := range port.Fields {
		fields[i] = ast.ObjectTerm(
			ast.Item(kName, ast.StringTerm(f.Name)),
			ast.Item(kType, term(typeTerms, f.Type)),
			ast.Item(kNullable, ast.InternedTerm(f.Nullable)),
			ast.Item(kDescription, ast.InternedTerm(f.Description)),
			ast.Item(kClassification, term(classTerms, f.Classification)),
			ast.Item(kTags, tagsTerm(f.Tags)),
			ast.Item(kKey, ast.InternedTerm(f.Key)),
		)
	}
	return ast.ObjectTerm(
		ast.Item(kName, name),
		ast.Item(kDescription, ast.StringTerm(port.Description)),
		ast.Item(kTopic, ast.StringTerm(port.Topic)),
		ast.Item(kMajorVersion, ast.InternedTerm(port.MajorVersion)),
		ast.Item(kPartitions, ast.InternedTerm(port.Partitions)),
		ast.Item(kRetentionMs, ast.InternedTerm(port.RetentionMs)),
		ast.Item(kCleanupPolicy, ast.StringTerm(string(port.CleanupPolicy))),
		ast.Item(kTable, ast.StringTerm(port.Table)),
		ast.Item(kFields, ast.ArrayTerm(fields...)),
	)
}

// Terms for the values most fields share, built once; evaluation never
// modifies its input, so sharing them is safe.
var (
	classTerms = termsOf(spec.ClassUnclassified, spec.ClassNone, spec.ClassInternal, spec.ClassPII, spec.ClassSensitive)
	typeTerms  = termsOf(spec.FieldTypes...)
	noTags     = ast.ArrayTerm()
)

func termsOf[S ~string](values ...S) map[S]*ast.Term {
	m := make(map[S]*ast.Term, len(values))
	for _, v := range values {
		m[v] = ast.StringTerm(string(v))
	}
	return m
}

func term[S ~string](shared map[S]*ast.Term, v S) *ast.Term {
	if t, ok := shared[v]; ok {
		return t
	}
	return ast.StringTerm(string(v))
}

func tagsTerm(tags []string) *ast.Term {
	if len(tags) == 0 {
		return noTags
	}
	return ast.ArrayTerm(strTerms(tags)...)
}

func strTerms(ss []string) []*ast.Term {
	ts := make([]*ast.Term, len(ss))
	for i, s := range ss {
		ts[i] = ast.StringTerm(s)
	}
	return ts
}

// maskingTerm builds input.masking from decisions: port → field →
// {"action", "sinks": {sink → action}}. A sink receives what the topic
// holds, so its action is the stricter of its own and the topic's; a field
// without a decision for the topic has no "action".
func maskingTerm(decisions []Decision) *ast.Term {
	type entry struct {
		topic Action
		sinks map[string]Action
	}
	type key struct{ port, field string }
	entries := map[key]*entry{}
	var order []key
	for _, d := range decisions {
		k := key{d.Port, d.Field}
		e := entries[k]
		if e == nil {
			e = &entry{sinks: map[string]Action{}}
			entries[k] = e
			order = append(order, k)
		}
		if d.Sink == "" {
			e.topic = strictest(e.topic, d.Action)
		} else {
			e.sinks[d.Sink] = strictest(e.sinks[d.Sink], d.Action)
		}
	}
	ports := map[string][][2]*ast.Term{}
	var portOrder []string
	for _, k := range order {
		e := entries[k]
		sinks := make([][2]*ast.Term, 0, len(e.sinks))
		for name, a := range e.sinks {
			sinks = append(sinks, ast.Item(ast.StringTerm(name), ast.StringTerm(string(strictest(a, e.topic)))))
		}
		items := [][2]*ast.Term{ast.Item(kSinks, ast.ObjectTerm(sinks...))}
		if e.topic != "" {
			items = append(items, ast.Item(kAction, ast.StringTerm(string(e.topic))))
		}
		if _, ok := ports[k.port]; !ok {
			portOrder = append(portOrder, k.port)
		}
		ports[k.port] = append(ports[k.port], ast.Item(ast.StringTerm(k.field), ast.ObjectTerm(items...)))
	}
	out := make([][2]*ast.Term, 0, len(ports))
	for _, p := range portOrder {
		out = append(out, ast.Item(ast.StringTerm(p), ast.ObjectTerm(ports[p]...)))
	}
	return ast.ObjectTerm(out...)
}

// maskingJSON appends M as canonical JSON, the same document maskingTerm
// builds, so a cached admission can be found without building terms.
func maskingJSON(b []byte, decisions []Decision) []byte {
	type entry struct {
		topic Action
		sinks map[string]Action
	}
	ports := map[string]map[string]*entry{}
	for _, d := range decisions {
		fields := ports[d.Port]
		if fields == nil {
			fields = map[string]*entry{}
			ports[d.Port] = fields
		}
		e := fields[d.Field]
		if e == nil {
			e = &entry{sinks: map[string]Action{}}
			fields[d.Field] = e
		}
		if d.Sink == "" {
			e.topic = strictest(e.topic, d.Action)
		} else {
			e.sinks[d.Sink] = strictest(e.sinks[d.Sink], d.Action)
		}
	}
	b = append(b, '{')
	for i, port := range slices.Sorted(maps.Keys(ports)) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, port)
		b = append(b, ':', '{')
		fields := ports[port]
		for j, field := range slices.Sorted(maps.Keys(fields)) {
			if j > 0 {
				b = append(b, ',')
			}
			e := fields[field]
			b = appendString(b, field)
			b = append(b, ':', '{')
			if e.topic != "" {
				b = append(b, `"action":`...)
				b = appendString(b, string(e.topic))
				b = append(b, ',')
			}
			b = append(b, `"sinks":{`...)
			for k, sink := range slices.Sorted(maps.Keys(e.sinks)) {
				if k > 0 {
					b = append(b, ',')
				}
				b = appendString(b, sink)
				b = append(b, ':')
				b = appendString(b, string(strictest(e.sinks[sink], e.topic)))
			}
			b = append(b, '}', '}')
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// strictest returns the stricter of two actions; "" counts as no decision.
func strictest(a, b Action) Action {
	if a == "" || b.Stricter(a) {
		return b
	}
	return a
}

// productJSON appends P as canonical JSON, the same document productTerm
// builds, written straight from the spec because walking the terms costs
// more than the evaluation of a small product. Keys are written sorted.
func productJSON(b []byte, p Product) []byte {
	s := p.Spec
	b = append(b, `{"description":`...)
	b = appendString(b, s.Description)
	b = append(b, `,"domain":`...)
	b = appendString(b, p.Domain)
	b = append(b, `,"labels":{`...)
	keys := make([]string, 0, len(s.Labels))
	for k := range s.Labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = appendString(b, s.Labels[k])
	}
	b = append(b, `},"lifecycle":`...)
	b = appendString(b, p.Lifecycle)
	b = append(b, `,"name":`...)
	b = appendString(b, p.Name)
	b = append(b, `,"owner":`...)
	b = appendString(b, s.Owner)
	b = append(b, `,"ports":[`...)
	for i, port := range s.Ports {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"cleanupPolicy":`...)
		b = appendString(b, string(port.CleanupPolicy))
		b = append(b, `,"description":`...)
		b = appendString(b, port.Description)
		b = append(b, `,"fields":[`...)
		for j, f := range port.Fields {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"classification":`...)
			b = appendString(b, string(f.Classification))
			b = append(b, `,"description":`...)
			b = appendString(b, f.Description)
			b = append(b, `,"key":`...)
			b = strconv.AppendBool(b, f.Key)
			b = append(b, `,"name":`...)
			b = appendString(b, f.Name)
			b = append(b, `,"nullable":`...)
			b = strconv.AppendBool(b, f.Nullable)
			b = append(b, `,"tags":`...)
			b = appendStrings(b, f.Tags)
			b = append(b, `,"type":`...)
			b = appendString(b, string(f.Type))
			b = append(b, '}')
		}
		b = append(b, `],"majorVersion":`...)
		b = strconv.AppendInt(b, int64(port.MajorVersion), 10)
		b = append(b, `,"name":`...)
		b = appendString(b, port.Name)
		b = append(b, `,"partitions":`...)
		b = strconv.AppendInt(b, int64(port.Partitions), 10)
		b = append(b, `,"retentionMs":`...)
		b = strconv.AppendInt(b, port.RetentionMs, 10)
		b = append(b, `,"table":`...)
		b = appendString(b, port.Table)
		b = append(b, `,"topic":`...)
		b = appendString(b, port.Topic)
		b = append(b, '}')
	}
	b = append(b, `],"secretRefs":[`...)
	for i, ref := range s.SecretRefs("spec") {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"path":`...)
		b = appendString(b, ref.Path)
		b = append(b, `,"ref":`...)
		b = appendString(b, ref.Ref)
		b = append(b, '}')
	}
	b = append(b, `],"sinks":[`...)
	for i, sink := range s.Sinks {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"kind":`...)
		b = appendString(b, string(sink.Kind()))
		b = append(b, `,"name":`...)
		b = appendString(b, sink.Name)
		b = append(b, `,"ports":`...)
		if len(sink.Ports) > 0 {
			b = appendStrings(b, sink.Ports)
		} else {
			b = append(b, '[')
			for j, port := range s.Ports {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendString(b, port.Name)
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	src := s.Source
	b = append(b, `],"source":{"database":`...)
	b = appendString(b, src.Database)
	b = append(b, `,"host":`...)
	b = appendString(b, src.Host)
	b = append(b, `,"kind":`...)
	b = appendString(b, string(src.Kind))
	b = append(b, `,"port":`...)
	b = strconv.AppendInt(b, int64(src.Port), 10)
	b = append(b, `,"secretRef":`...)
	b = appendString(b, src.SecretRef)
	b = append(b, `,"tables":`...)
	b = appendStrings(b, src.Tables)
	b = append(b, `,"username":`...)
	b = appendString(b, src.Username)
	return append(b, `}}`...)
}

func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// inputDigest is the hex SHA-256 of an input document's canonical JSON
// (object keys sorted, no insignificant white space):
// {"masking": M, "product": P}, or {"product": P} when masking is nil.
func inputDigest(p Product, masking []Decision, withMasking bool) string {
	b := make([]byte, 0, 1024+256*fieldCount(p))
	b = append(b, `{"environment":`...)
	b = appendCanonical(b, p.Environment.term().Value)
	b = append(b, ',')
	if withMasking {
		b = append(b, `"masking":`...)
		b = maskingJSON(b, masking)
		b = append(b, ',')
	}
	b = append(b, `"product":`...)
	b = productJSON(b, p)
	b = append(b, '}')
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func fieldCount(p Product) int {
	n := 0
	for _, port := range p.Spec.Ports {
		n += len(port.Fields)
	}
	return n
}

// CanonicalJSON returns v as canonical JSON: object keys sorted, no
// insignificant white space, sets written as sorted arrays. InputDigest
// is the SHA-256 of the input document in this form.
func CanonicalJSON(v ast.Value) []byte { return appendCanonical(nil, v) }

func appendCanonical(b []byte, v ast.Value) []byte {
	switch v := v.(type) {
	case ast.Null:
		return append(b, "null"...)
	case ast.Boolean:
		if v {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	case ast.Number:
		return append(b, v...)
	case ast.String:
		return appendString(b, string(v))
	case *ast.Array:
		b = append(b, '[')
		for i := range v.Len() {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendCanonical(b, v.Elem(i).Value)
		}
		return append(b, ']')
	case ast.Set:
		// Sets are not JSON; their sorted elements stand in as an array.
		return appendCanonical(b, v.Sorted())
	case ast.Object:
		keys := v.Keys()
		slices.SortFunc(keys, func(x, y *ast.Term) int { return ast.Compare(x.Value, y.Value) })
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			if s, ok := k.Value.(ast.String); ok {
				b = appendString(b, string(s))
			} else {
				b = appendString(b, k.Value.String())
			}
			b = append(b, ':')
			b = appendCanonical(b, v.Get(k).Value)
		}
		return append(b, '}')
	default:
		return appendString(b, v.String())
	}
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, as encoding/json would without
// HTML escaping: invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, `\u202`...)
			b = append(b, hexDigits[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
