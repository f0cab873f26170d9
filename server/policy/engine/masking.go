package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/meshplane/meshplane/server/spec"
)

// Action is what happens to a field's values on their way out.
type Action string

const (
	ActionAllow    Action = "allow"    // values pass unchanged
	ActionHash     Action = "hash"     // values are replaced by a salted hash
	ActionMask     Action = "mask"     // values are replaced by a run of '*'
	ActionTruncate Action = "truncate" // values keep their first characters
	ActionDrop     Action = "drop"     // the field is removed
)

// Actions lists every action, least strict first.
var Actions = []Action{ActionAllow, ActionTruncate, ActionHash, ActionMask, ActionDrop}

// Strictness ranks an action: drop > mask > hash > truncate > allow. An
// unknown action ranks -1.
func Strictness(a Action) int {
	switch a {
	case ActionAllow:
		return 0
	case ActionTruncate:
		return 1
	case ActionHash:
		return 2
	case ActionMask:
		return 3
	case ActionDrop:
		return 4
	}
	return -1
}

// Stricter reports whether a reveals less than b.
func (a Action) Stricter(b Action) bool { return Strictness(a) > Strictness(b) }

// Hash algorithms a policy may ask for.
var HashAlgorithms = []string{"SHA-256", "SHA-384", "SHA-512"}

// Bounds of the actions' parameters.
const (
	MaxMaskChars      = 255
	MaxTruncateLength = 65535
	maxReason         = 512
)

// saltRe matches a salt's name: a reference the connector resolves, never
// the secret itself.
var saltRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Decision says what happens to one field's values at the topic (Sink "")
// or, on top of that, at one sink.
type Decision struct {
	Port, Field    string
	Sink           string // "" for the topic itself (the source connector); else a sink name
	Classification spec.Classification
	Action         Action
	Algorithm      string // hash: SHA-256, SHA-384 or SHA-512
	Salt           string // hash: the salt's name, never its value
	Chars          int    // mask: how many '*' replace the value (1..255)
	Length         int    // truncate: characters kept (1..65535)
	Reason         string // why, when the policy says
	Fallback       bool   // meshplane decided, not the policy
}

// Masking is the masking policy's decisions for a product: one per field
// for the topic, plus one per field and sink where a sink must be stricter
// than the topic, sorted by Port, Field and Sink.
type Masking struct {
	Decisions   []Decision
	Version     string // the policy set's version
	InputDigest string // hex SHA-256 of the input's canonical JSON
	Duration    time.Duration
	Err         error // set when meshplane overrode the policy, failing closed
	// Cached is set when this policy version had already decided the same input.
	Cached bool
}

// For returns the decision in force for a field at a sink ("" for the
// topic): the sink's own when it has one, else the topic's.
func (m Masking) For(port, field, sink string) (Decision, bool) {
	lookup := func(sink string) (Decision, bool) {
		i, ok := slices.BinarySearchFunc(m.Decisions, fieldKey{port, field}, func(d Decision, k fieldKey) int {
			return cmp.Or(cmp.Compare(d.Port, k.port), cmp.Compare(d.Field, k.field), cmp.Compare(d.Sink, sink))
		})
		if !ok {
			return Decision{}, false
		}
		return m.Decisions[i], true
	}
	if sink != "" {
		if d, ok := lookup(sink); ok {
			return d, true
		}
	}
	return lookup("")
}

type fieldKey struct{ port, field string }

var (
	kField     = ast.StringTerm("field")
	kSink      = ast.StringTerm("sink")
	kParams    = ast.StringTerm("params")
	kReason    = ast.StringTerm("reason")
	kAlgorithm = ast.StringTerm("algorithm")
	kSalt      = ast.StringTerm("salt")
	kChars     = ast.StringTerm("chars")
	kLength    = ast.StringTerm("length")
)

// Mask evaluates the masking policy for p. It fails closed: a pii,
// sensitive or unclassified field the policy makes no valid decision for
// is dropped, and so is any field the policy makes an invalid decision
// for; a field classified none or internal without a decision is published
// as it is. When the policy times out, errs or returns something other
// than a set of decisions, every field is decided that way. Decisions
// meshplane made in the policy's place have Fallback set, and Err says what
// went wrong.
func (s *Set) Mask(ctx context.Context, p Product) Masking {
	start := time.Now()
	m := Masking{InputDigest: inputDigest(p, nil, false)}
	if s == nil {
		m.Err = errors.New("no policy set is loaded")
		m.Decisions = fallback(p, m.Err)
		m.Duration = time.Since(start)
		return m
	}
	m.Version = s.version
	if err := ctx.Err(); err == nil {
		if hit, ok := s.masked.get(m.InputDigest); ok {
			hit.Decisions = slices.Clone(hit.Decisions)
			hit.Cached, hit.Duration = true, time.Since(start)
			return hit
		}
	}
	t, err := s.eval(ctx, s.masking, MaskingQuery, MaskingInput(p))
	if err == nil {
		m.Decisions, err = decide(p, t)
	}
	if err != nil && m.Decisions == nil {
		m.Decisions = fallback(p, err)
	}
	m.Err = err
	m.Duration = time.Since(start)
	if err == nil {
		s.masked.put(m.InputDigest, m)
		m.Decisions = slices.Clone(m.Decisions)
	}
	return m
}

// needsDecision reports whether a field must not be published unless the
// policy says how: pii and sensitive fields, and unclassified ones, which
// may be either.
func needsDecision(c spec.Classification) bool {
	return c != spec.ClassNone && c != spec.ClassInternal
}

// fallback decides every field of p in the policy's place.
func fallback(p Product, err error) []Decision {
	reason := "meshplane failed closed: " + err.Error()
	fields := fieldsOf(p)
	ds := make([]Decision, len(fields))
	for i, f := range fields {
		ds[i] = Decision{Port: f.port, Field: f.field, Classification: f.class, Action: ActionAllow, Reason: reason, Fallback: true}
		if needsDecision(f.class) {
			ds[i].Action = ActionDrop
		}
	}
	return ds
}

// productField is one field of a product and what the policy decided for it.
type productField struct {
	fieldKey
	class   spec.Classification
	topic   *Decision  // the strictest valid decision for the topic
	sinks   []Decision // the strictest valid decision per sink
	invalid string     // why a decision for the field was rejected
}

// fieldsOf lists p's fields sorted by port and field name, each once:
// the order decisions are reported in.
func fieldsOf(p Product) []productField {
	n := 0
	for _, port := range p.Spec.Ports {
		n += len(port.Fields)
	}
	fs := make([]productField, 0, n)
	for _, port := range p.Spec.Ports {
		for _, f := range port.Fields {
			fs = append(fs, productField{fieldKey: fieldKey{port.Name, f.Name}, class: f.Classification})
		}
	}
	slices.SortFunc(fs, func(a, b productField) int { return compareKeys(a.fieldKey, b.fieldKey) })
	return slices.CompactFunc(fs, func(a, b productField) bool { return a.fieldKey == b.fieldKey })
}

func compareKeys(a, b fieldKey) int {
	return cmp.Or(cmp.Compare(a.port, b.port), cmp.Compare(a.field, b.field))
}

// find returns the index of the field named by k, or -1.
func find(fs []productField, k fieldKey) int {
	i, ok := slices.BinarySearchFunc(fs, k, func(f productField, k fieldKey) int { return compareKeys(f.fieldKey, k) })
	if !ok {
		return -1
	}
	return i
}

// decide turns the policy's decision set into one decision per field and
// the sink decisions stricter than it. It returns nil decisions when the
// result cannot be used at all.
func decide(p Product, t *ast.Term) ([]Decision, error) {
	set, ok := t.Value.(ast.Set)
	if !ok {
		return nil, fmt.Errorf("%w: decisions is %s, not a set", ErrMalformed, ast.ValueName(t.Value))
	}
	fields := fieldsOf(p)
	var delivers map[string]map[string]bool // sink → ports it delivers
	if len(p.Spec.Sinks) > 0 {
		delivers = make(map[string]map[string]bool, len(p.Spec.Sinks))
		for _, sink := range p.Spec.Sinks {
			ports := map[string]bool{}
			for _, port := range p.Spec.Ports {
				if len(sink.Ports) == 0 || slices.Contains(sink.Ports, port.Name) {
					ports[port.Name] = true
				}
			}
			delivers[sink.Name] = ports
		}
	}

	var problems []string
	unusable := false
	set.Foreach(func(e *ast.Term) {
		d, i, err := parseDecision(e, fields, delivers)
		switch {
		case err != nil && i < 0:
			problems = append(problems, err.Error())
			unusable = true
		case err != nil:
			problems = append(problems, err.Error())
			if f := &fields[i]; f.invalid == "" {
				f.invalid = err.Error()
			}
		case d.Sink == "":
			f := &fields[i]
			if f.topic == nil {
				f.topic = &d
			} else {
				*f.topic = stricterDecision(*f.topic, d)
			}
		default:
			f := &fields[i]
			j := slices.IndexFunc(f.sinks, func(x Decision) bool { return x.Sink == d.Sink })
			if j < 0 {
				f.sinks = append(f.sinks, d)
			} else {
				f.sinks[j] = stricterDecision(f.sinks[j], d)
			}
		}
	})
	var err error
	if len(problems) > 0 {
		slices.Sort(problems)
		err = fmt.Errorf("%w: %d of %d decisions are invalid; the first: %s", ErrMalformed, len(problems), set.Len(), problems[0])
	}
	if unusable {
		return nil, err
	}

	out := make([]Decision, 0, len(fields))
	for i := range fields {
		f := &fields[i]
		var d Decision
		switch {
		case f.invalid != "":
			out = append(out, Decision{Port: f.port, Field: f.field, Classification: f.class, Action: ActionDrop,
				Reason: "meshplane failed closed: the masking policy made an invalid decision: " + f.invalid, Fallback: true})
			continue
		case f.topic != nil:
			d = *f.topic
		case needsDecision(f.class):
			d = Decision{Port: f.port, Field: f.field, Action: ActionDrop, Fallback: true,
				Reason: "meshplane failed closed: the masking policy made no decision for this " + classWord(f.class) + " field"}
		default:
			d = Decision{Port: f.port, Field: f.field, Action: ActionAllow}
		}
		d.Classification = f.class
		out = append(out, d)
		slices.SortFunc(f.sinks, func(a, b Decision) int { return cmp.Compare(a.Sink, b.Sink) })
		for _, sd := range f.sinks {
			if sd.Action.Stricter(d.Action) {
				sd.Classification = f.class
				out = append(out, sd)
			}
		}
	}
	return out, err
}

func classWord(c spec.Classification) string {
	if c == spec.ClassUnclassified {
		return "unclassified"
	}
	return string(c)
}

// stricterDecision keeps the stricter of two decisions for the same place;
// between equally strict ones it keeps the shorter truncation, else the
// one ordered first, so the outcome does not depend on evaluation order.
func stricterDecision(a, b Decision) Decision {
	if a.Action == "" {
		return b
	}
	if sa, sb := Strictness(a.Action), Strictness(b.Action); sa != sb {
		if sb > sa {
			return b
		}
		return a
	}
	if a.Action == ActionTruncate && a.Length != b.Length {
		if b.Length < a.Length {
			return b
		}
		return a
	}
	if cmp.Or(cmp.Compare(b.Algorithm, a.Algorithm), cmp.Compare(b.Salt, a.Salt), cmp.Compare(b.Chars, a.Chars), cmp.Compare(b.Reason, a.Reason)) < 0 {
		return b
	}
	return a
}

// parseDecision reads one entry of the decision set and returns it with
// the index of the field it names, or -1 when it names none, so an invalid
// entry can be held against that field alone.
func parseDecision(e *ast.Term, fields []productField, delivers map[string]map[string]bool) (d Decision, i int, err error) {
	o, ok := e.Value.(ast.Object)
	if !ok {
		return d, -1, fmt.Errorf("%s is %s, not an object", short(e), ast.ValueName(e.Value))
	}
	port, okp := stringAt(o, kPort)
	field, okf := stringAt(o, kField)
	if !okp || !okf {
		return d, -1, fmt.Errorf("%s lacks a string port and field", short(e))
	}
	d.Port, d.Field = port, field
	if i = find(fields, fieldKey{port, field}); i < 0 {
		return d, -1, fmt.Errorf("%s names no field of the product", short(e))
	}
	var params ast.Object
	var bad string
	o.Until(func(k, v *ast.Term) bool {
		switch {
		case k.Equal(kPort), k.Equal(kField):
		case k.Equal(kSink):
			s, ok := v.Value.(ast.String)
			if !ok {
				bad = "sink is not a string"
			}
			d.Sink = string(s)
		case k.Equal(kAction):
			s, ok := v.Value.(ast.String)
			if !ok || Strictness(Action(s)) < 0 {
				bad = fmt.Sprintf("unknown action %s (want allow, hash, mask, truncate or drop)", v)
			}
			d.Action = Action(s)
		case k.Equal(kParams):
			if params, ok = v.Value.(ast.Object); !ok {
				bad = "params is not an object"
			}
		case k.Equal(kReason):
			s, ok := v.Value.(ast.String)
			if !ok {
				bad = "reason is not a string"
			}
			d.Reason = truncateRunes(string(s), maxReason)
		default:
			bad = fmt.Sprintf("unknown key %s", k)
		}
		return bad != ""
	})
	switch {
	case bad != "":
	case d.Action == "":
		bad = "no action"
	case d.Sink != "" && delivers[d.Sink] == nil:
		bad = fmt.Sprintf("unknown sink %q", d.Sink)
	case d.Sink != "" && !delivers[d.Sink][d.Port]:
		bad = fmt.Sprintf("sink %q does not deliver port %q", d.Sink, d.Port)
	default:
		bad = readParams(&d, params)
	}
	if bad != "" {
		return d, i, fmt.Errorf("decision for %s.%s: %s", port, field, bad)
	}
	return d, i, nil
}

// paramKeys lists the parameters each action takes.
var paramKeys = map[Action][]*ast.Term{
	ActionHash:     {kAlgorithm, kSalt},
	ActionMask:     {kChars},
	ActionTruncate: {kLength},
}

// readParams checks params against the action and copies them into d; it
// returns what is wrong, or "".
func readParams(d *Decision, params ast.Object) string {
	want := paramKeys[d.Action]
	if params != nil {
		var extra string
		params.Until(func(k, _ *ast.Term) bool {
			if !slices.ContainsFunc(want, k.Equal) {
				extra = fmt.Sprintf("%s takes no parameter %s", d.Action, k)
			}
			return extra != ""
		})
		if extra != "" {
			return extra
		}
	}
	get := func(k *ast.Term) *ast.Term {
		if params == nil {
			return nil
		}
		return params.Get(k)
	}
	switch d.Action {
	case ActionHash:
		alg, _ := stringTerm(get(kAlgorithm))
		if !slices.Contains(HashAlgorithms, alg) {
			return "hash needs params.algorithm SHA-256, SHA-384 or SHA-512"
		}
		salt, _ := stringTerm(get(kSalt))
		if !saltRe.MatchString(salt) {
			return "hash needs params.salt, the name of a salt (^[A-Za-z0-9_-]{1,64}$), never its value"
		}
		d.Algorithm, d.Salt = alg, salt
	case ActionMask:
		n, ok := intTerm(get(kChars))
		if !ok || n < 1 || n > MaxMaskChars {
			return fmt.Sprintf("mask needs params.chars, an integer from 1 to %d", MaxMaskChars)
		}
		d.Chars = n
	case ActionTruncate:
		n, ok := intTerm(get(kLength))
		if !ok || n < 1 || n > MaxTruncateLength {
			return fmt.Sprintf("truncate needs params.length, an integer from 1 to %d", MaxTruncateLength)
		}
		d.Length = n
	}
	return ""
}

func stringTerm(t *ast.Term) (string, bool) {
	if t == nil {
		return "", false
	}
	s, ok := t.Value.(ast.String)
	return string(s), ok
}

func intTerm(t *ast.Term) (int, bool) {
	if t == nil {
		return 0, false
	}
	n, ok := t.Value.(ast.Number)
	if !ok {
		return 0, false
	}
	return n.Int()
}

func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return strings.TrimSpace(s) + "…"
}
