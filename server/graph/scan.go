package graph

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/lexer"
)

// Limits on a query document, checked by scanQuery before gqlgen parses it.
// gqlparser's validation compares every pair of fields that share a response
// path (OverlappingFieldsCanBeMerged) and every pair of fragments spread into
// one selection set, so its cost grows with the square of what these count;
// the limits keep the worst document they admit to a few milliseconds of
// validation while leaving room for the largest query a client needs, the
// full introspection query (240 selections, 15 deep, 10 wide, no repeats).
const (
	// MaxQueryBytes bounds the query text: room for thirty introspection
	// queries, far less than the 4 MiB bodies that took minutes to validate.
	MaxQueryBytes = 32 << 10
	// MaxQueryTokens bounds the lexical tokens (names, punctuation, values)
	// of the query text, comments aside.
	MaxQueryTokens = 10_000
	// MaxSelections bounds the fields, fragment spreads and inline fragments
	// of the document, every fragment counted each time it is spread.
	MaxSelections = 500
	// MaxSelectionSetWidth bounds the fields one selection set gathers,
	// its fragments merged in.
	MaxSelectionSetWidth = 100
	// MaxAliases bounds the aliased fields, fragments expanded.
	MaxAliases = 100
	// MaxRepeatedFields bounds the fields that repeat the response path of
	// an earlier field of their operation (`{ a a }`, or `{ a { b } ...F }`
	// with F selecting `a { b }`): each repeat is compared with every other
	// at its path, which is what makes validation quadratic.
	MaxRepeatedFields = 100
	// MaxDepth bounds how deep fields nest, fragments expanded.
	MaxDepth = 20
	// MaxFragments bounds the fragment definitions of the document.
	MaxFragments = 50
	// MaxOperations bounds the operations of the document; gqlgen validates
	// every one, whichever is run.
	MaxOperations = 10
)

// overLimit refuses a value found above a limit on the query.
func overLimit(code, limit string, found, max int64, format string) *refusal {
	return &refusal{status: http.StatusBadRequest, code: code, limit: limit, max: max, found: found,
		message: fmt.Sprintf(format, countText(found), max)}
}

// countText writes a count, saturated counts as a lower bound.
func countText(n int64) string {
	if n >= saturated {
		return fmt.Sprintf("more than %d", int64(saturated))
	}
	return fmt.Sprint(n)
}

// saturated caps expanded counts: a fragment spread twice in each of fifty
// nested fragments expands to 2^50 fields, which is counted as this many.
const saturated = 1 << 40

func add(a, b int64) int64 { return min(a+b, saturated) }

// queryShape is what scanQuery learns of a document that passes.
type queryShape struct {
	// mutation reports whether the operation to run is a mutation.
	mutation bool
}

// selSet is one selection set as the scan sees it.
type selSet struct {
	fields  []fieldSel
	spreads []string
	inline  []*selSet
}

// fieldSel is one field: its response name, whether aliased, its selections.
type fieldSel struct {
	name  string
	alias bool
	sub   *selSet
}

type operation struct {
	kind, name string
	set        *selSet
}

type fragment struct {
	set *selSet
	// state is 1 while the fragment is measured, 2 once m holds its measures.
	state int
	m     measures
}

// scanner reads a query with gqlparser's lexer, once, building only the
// outline the limits need: selection sets, fields, aliases and spreads.
// Arguments, variable definitions and directives are skipped by counting
// parentheses; values are never built.
type scanner struct {
	lx     lexer.Lexer
	src    string
	tok    lexer.Token
	tokens int64
	// Byte offset of rune offset runeAt, to find a string token's source.
	runeAt, byteAt int
	ops            []operation
	frags          map[string]*fragment
	fragOrder      []string // fragment names as defined, first definitions only
	fragCount      int64
	spread         map[string]bool
}

// scanQuery checks a query document against the limits above in time linear
// in its length, before gqlgen parses and validates it. It refuses what it
// cannot read with GRAPHQL_PARSE_FAILED and leaves every other mistake (an
// unknown field or fragment, a wrong argument) to gqlgen's validation.
func scanQuery(query, operationName string) (queryShape, *refusal) {
	if len(query) > MaxQueryBytes {
		return queryShape{}, overLimit(CodeQueryTooLarge, "queryBytes", int64(len(query)), MaxQueryBytes,
			"query is %s bytes, more than the limit of %d")
	}
	s := &scanner{lx: lexer.New(&ast.Source{Input: query}), src: query, frags: map[string]*fragment{}, spread: map[string]bool{}}
	if r := s.next(); r != nil {
		return queryShape{}, r
	}
	if r := s.document(); r != nil {
		return queryShape{}, r
	}
	return s.measure(operationName)
}

// next reads the next token, skipping comments, counting tokens and refusing
// strings that escape UTF-16 surrogates.
func (s *scanner) next() *refusal {
	for {
		t, err := s.lx.ReadToken()
		if err != nil {
			return s.parseError(err)
		}
		if t.Kind == lexer.Comment {
			continue
		}
		s.tok = t
		if t.Kind == lexer.EOF {
			return nil
		}
		s.tokens++
		if s.tokens > MaxQueryTokens {
			return s.tooManyTokens()
		}
		if t.Kind == lexer.String && strings.ContainsRune(t.Value, utf8.RuneError) {
			return s.checkEscapes(t)
		}
		return nil
	}
}

// tooManyTokens counts the rest of the tokens, so the refusal names how many
// the query holds.
func (s *scanner) tooManyTokens() *refusal {
	for {
		t, err := s.lx.ReadToken()
		if err != nil || t.Kind == lexer.EOF {
			break
		}
		if t.Kind != lexer.Comment {
			s.tokens++
		}
	}
	return overLimit(CodeQueryTooLarge, "tokens", s.tokens, MaxQueryTokens, "query has %s tokens, more than the limit of %d")
}

// checkEscapes refuses a string whose \u escape names half of a UTF-16
// surrogate pair: gqlparser decodes each half on its own to U+FFFD, so the
// text stored would not be the text sent. A U+FFFD written as itself passes.
func (s *scanner) checkEscapes(t lexer.Token) *refusal {
	start, end := s.byteOffset(t.Pos.Start), s.byteOffset(t.Pos.End)
	raw := s.src[start:end]
	for i := 0; i+1 < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		if raw[i+1] == 'u' && i+6 <= len(raw) {
			if r, ok := hex4(raw[i+2 : i+6]); ok && r >= 0xD800 && r <= 0xDFFF {
				return &refusal{status: http.StatusBadRequest, code: CodeInvalidUTF8, loc: &t.Pos,
					message: fmt.Sprintf("query string at line %d escapes a UTF-16 surrogate (%s), which is not a character; write the character itself or pass the text in variables", t.Pos.Line, raw[i:i+6])}
			}
		}
		i++ // the escaped character
	}
	return nil
}

// byteOffset converts a rune offset of the query to a byte offset; offsets
// only grow, so the conversion is linear over the whole scan.
func (s *scanner) byteOffset(runes int) int {
	for s.runeAt < runes && s.byteAt < len(s.src) {
		_, w := utf8.DecodeRuneInString(s.src[s.byteAt:])
		s.byteAt += w
		s.runeAt++
	}
	return s.byteAt
}

func hex4(h string) (rune, bool) {
	var r rune
	for i := range 4 {
		c := h[i]
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

func (s *scanner) parseError(err error) *refusal {
	r := &refusal{status: http.StatusBadRequest, code: CodeParseFailed, message: err.Error()}
	var e *gqlerror.Error
	if errors.As(err, &e) {
		r.message = e.Message
		if len(e.Locations) > 0 {
			l := e.Locations[0]
			r.message = fmt.Sprintf("%s (line %d, column %d)", e.Message, l.Line, l.Column)
			r.loc = &ast.Position{Line: l.Line, Column: l.Column}
		}
	}
	return r
}

// unexpected refuses the current token.
func (s *scanner) unexpected(want string) *refusal {
	got := s.tok.Kind.Name()
	if s.tok.Kind == lexer.Name || s.tok.Kind == lexer.Int || s.tok.Kind == lexer.Float {
		got = fmt.Sprintf("%q", s.tok.Value)
	}
	pos := s.tok.Pos
	return &refusal{status: http.StatusBadRequest, code: CodeParseFailed, loc: &pos,
		message: fmt.Sprintf("expected %s, found %s at line %d, column %d", want, got, pos.Line, pos.Column)}
}

func (s *scanner) is(kind lexer.Type, value string) bool {
	return s.tok.Kind == kind && (value == "" || s.tok.Value == value)
}

// name reads a name.
func (s *scanner) name() (string, *refusal) {
	if s.tok.Kind != lexer.Name {
		return "", s.unexpected("a name")
	}
	v := s.tok.Value
	return v, s.next()
}

// document reads the definitions of an executable document.
func (s *scanner) document() *refusal {
	if s.tok.Kind == lexer.EOF {
		return &refusal{status: http.StatusBadRequest, code: CodeParseFailed, message: "query is empty"}
	}
	for s.tok.Kind != lexer.EOF {
		var r *refusal
		switch {
		case s.is(lexer.BraceL, ""):
			var set *selSet
			set, r = s.selectionSet(1)
			s.ops = append(s.ops, operation{kind: "query", set: set})
		case s.is(lexer.Name, "query"), s.is(lexer.Name, "mutation"), s.is(lexer.Name, "subscription"):
			r = s.operation()
		case s.is(lexer.Name, "fragment"):
			r = s.fragment()
		default:
			r = s.unexpected("an operation or a fragment")
		}
		if r != nil {
			return r
		}
	}
	return nil
}

func (s *scanner) operation() *refusal {
	op := operation{kind: s.tok.Value}
	if r := s.next(); r != nil {
		return r
	}
	if s.tok.Kind == lexer.Name {
		op.name = s.tok.Value
		if r := s.next(); r != nil {
			return r
		}
	}
	if r := s.skipArguments(); r != nil { // variable definitions
		return r
	}
	if r := s.directives(); r != nil {
		return r
	}
	set, r := s.selectionSet(1)
	op.set = set
	s.ops = append(s.ops, op)
	return r
}

func (s *scanner) fragment() *refusal {
	if r := s.next(); r != nil {
		return r
	}
	name, r := s.name()
	if r != nil {
		return r
	}
	if r := s.skipArguments(); r != nil { // experimental fragment variables
		return r
	}
	if !s.is(lexer.Name, "on") {
		return s.unexpected(`"on"`)
	}
	if r := s.next(); r != nil {
		return r
	}
	if _, r := s.name(); r != nil {
		return r
	}
	if r := s.directives(); r != nil {
		return r
	}
	set, r := s.selectionSet(1)
	if r != nil {
		return r
	}
	s.fragCount++
	if _, dup := s.frags[name]; !dup { // gqlgen uses the first; validation refuses the rest
		s.frags[name] = &fragment{set: set}
		s.fragOrder = append(s.fragOrder, name)
	}
	return nil
}

// selectionSet reads `{ … }` whose fields are depth deep.
func (s *scanner) selectionSet(depth int64) (*selSet, *refusal) {
	if !s.is(lexer.BraceL, "") {
		return nil, s.unexpected(`"{"`)
	}
	if depth > MaxDepth {
		return nil, s.tooDeep(depth)
	}
	if r := s.next(); r != nil {
		return nil, r
	}
	set := &selSet{}
	for !s.is(lexer.BraceR, "") {
		switch s.tok.Kind {
		case lexer.Spread:
			if r := s.next(); r != nil {
				return nil, r
			}
			if s.tok.Kind == lexer.Name && s.tok.Value != "on" {
				set.spreads = append(set.spreads, s.tok.Value)
				s.spread[s.tok.Value] = true
				if r := s.next(); r != nil {
					return nil, r
				}
				if r := s.directives(); r != nil {
					return nil, r
				}
				continue
			}
			if s.is(lexer.Name, "on") {
				if r := s.next(); r != nil {
					return nil, r
				}
				if _, r := s.name(); r != nil {
					return nil, r
				}
			}
			if r := s.directives(); r != nil {
				return nil, r
			}
			inner, r := s.selectionSet(depth)
			if r != nil {
				return nil, r
			}
			set.inline = append(set.inline, inner)
		case lexer.Name:
			f := fieldSel{name: s.tok.Value}
			if r := s.next(); r != nil {
				return nil, r
			}
			if s.is(lexer.Colon, "") {
				if r := s.next(); r != nil {
					return nil, r
				}
				if _, r := s.name(); r != nil {
					return nil, r
				}
				f.alias = true
			}
			if r := s.skipArguments(); r != nil {
				return nil, r
			}
			if r := s.directives(); r != nil {
				return nil, r
			}
			if s.is(lexer.BraceL, "") {
				sub, r := s.selectionSet(depth + 1)
				if r != nil {
					return nil, r
				}
				f.sub = sub
			}
			set.fields = append(set.fields, f)
		case lexer.EOF:
			return nil, s.unexpected(`"}"`)
		default:
			return nil, s.unexpected("a field or a fragment")
		}
	}
	return set, s.next()
}

// tooDeep refuses a selection set nested deeper than MaxDepth, reading on to
// name the deepest nesting of the query.
func (s *scanner) tooDeep(depth int64) *refusal {
	deepest, parens := depth, 0
	for {
		switch s.tok.Kind {
		case lexer.ParenL:
			parens++
		case lexer.ParenR:
			parens--
		case lexer.BraceL:
			if parens == 0 {
				deepest = max(deepest, depth)
				depth++
			}
		case lexer.BraceR:
			if parens == 0 {
				depth--
			}
		}
		if s.tok.Kind == lexer.EOF {
			break
		}
		if r := s.next(); r != nil {
			if r.limit != "" {
				return r
			}
			break
		}
	}
	return overLimit(CodeQueryTooComplex, "depth", deepest, MaxDepth, "query nests fields %s deep, more than the limit of %d")
}

// skipArguments skips `( … )` when present: arguments, variable definitions
// and their values, whose braces and brackets are values, not selections.
func (s *scanner) skipArguments() *refusal {
	if !s.is(lexer.ParenL, "") {
		return nil
	}
	for open := 0; ; {
		switch s.tok.Kind {
		case lexer.ParenL:
			open++
		case lexer.ParenR:
			open--
		case lexer.EOF:
			return s.unexpected(`")"`)
		}
		if r := s.next(); r != nil {
			return r
		}
		if open == 0 {
			return nil
		}
	}
}

// directives skips `@name(…)` directives.
func (s *scanner) directives() *refusal {
	for s.is(lexer.At, "") {
		if r := s.next(); r != nil {
			return r
		}
		if _, r := s.name(); r != nil {
			return r
		}
		if r := s.skipArguments(); r != nil {
			return r
		}
	}
	return nil
}

// measure checks the document's expanded shape: every fragment counted each
// time it is spread, measured once and remembered, so a fragment spread a
// million times costs as much to measure as one spread once.
func (s *scanner) measure(operationName string) (queryShape, *refusal) {
	var shape queryShape
	if n := int64(len(s.ops)); n > MaxOperations {
		return shape, overLimit(CodeQueryTooComplex, "operations", n, MaxOperations, "query has %s operations, more than the limit of %d")
	}
	if s.fragCount > MaxFragments {
		return shape, overLimit(CodeQueryTooComplex, "fragments", s.fragCount, MaxFragments, "query has %s fragments, more than the limit of %d")
	}
	for i, op := range s.ops {
		if op.name == operationName || (operationName == "" && len(s.ops) == 1) {
			shape.mutation = s.ops[i].kind == "mutation"
		}
	}
	// Validation checks operations and every fragment definition on its own;
	// a fragment spread somewhere is checked within what spreads it.
	roots := make([]*selSet, 0, len(s.ops))
	for _, op := range s.ops {
		roots = append(roots, op.set)
	}
	for _, name := range s.fragOrder {
		if !s.spread[name] {
			roots = append(roots, s.frags[name].set)
		}
	}
	var total, aliases, depth, width int64
	for _, set := range roots {
		m, r := s.measureSet(set, nil)
		if r != nil {
			return shape, r
		}
		total, aliases = add(total, m.size), add(aliases, m.aliases)
		depth, width = max(depth, m.depth), max(width, m.maxWidth)
	}
	// Fragments in a cycle are measured from wherever the cycle is entered,
	// so a cycle no root reaches is still refused.
	for _, name := range s.fragOrder {
		if f := s.frags[name]; f.state == 0 {
			if _, r := s.measureFragment(name, f, nil); r != nil {
				return shape, r
			}
		}
	}
	switch {
	case total > MaxSelections:
		return shape, overLimit(CodeQueryTooComplex, "selections", total, MaxSelections,
			"query has %s selections (fields and fragments, each fragment counted every time it is spread), more than the limit of %d")
	case aliases > MaxAliases:
		return shape, overLimit(CodeQueryTooComplex, "aliases", aliases, MaxAliases,
			"query has %s aliases (each fragment counted every time it is spread), more than the limit of %d")
	case depth > MaxDepth:
		return shape, overLimit(CodeQueryTooComplex, "depth", depth, MaxDepth,
			"query nests fields %s deep (fragments expanded), more than the limit of %d")
	case width > MaxSelectionSetWidth:
		return shape, overLimit(CodeQueryTooComplex, "selectionSetWidth", width, MaxSelectionSetWidth,
			"a selection set of the query gathers %s fields (its fragments merged in), more than the limit of %d")
	}
	// Now that the expansion is known to be small, walk it to count fields
	// repeating a response path.
	var repeats int64
	for _, set := range roots {
		repeats += s.repeats(set, 0, map[pathKey]int{})
	}
	if repeats > MaxRepeatedFields {
		return shape, overLimit(CodeQueryTooComplex, "repeatedFields", repeats, MaxRepeatedFields,
			"query repeats the response path of an earlier field %s times (fragments merged), more than the limit of %d")
	}
	return shape, nil
}

// measures is a selection set's expanded shape.
type measures struct {
	size, aliases, depth int64
	// width counts the fields the set gathers with its fragments merged in;
	// maxWidth is the widest set within, itself included.
	width, maxWidth int64
}

// measureSet measures a selection set; path lists the fragments being
// measured, to name a cycle.
func (s *scanner) measureSet(set *selSet, path []string) (measures, *refusal) {
	var m measures
	for _, f := range set.fields {
		m.size, m.width = add(m.size, 1), add(m.width, 1)
		if f.alias {
			m.aliases = add(m.aliases, 1)
		}
		m.depth = max(m.depth, 1)
		if f.sub != nil {
			sub, r := s.measureSet(f.sub, path)
			if r != nil {
				return m, r
			}
			m.size, m.aliases = add(m.size, sub.size), add(m.aliases, sub.aliases)
			m.depth = max(m.depth, add(sub.depth, 1))
			m.maxWidth = max(m.maxWidth, sub.maxWidth)
		}
	}
	for _, in := range set.inline {
		sub, r := s.measureSet(in, path)
		if r != nil {
			return m, r
		}
		m.size, m.aliases = add(m.size, add(sub.size, 1)), add(m.aliases, sub.aliases)
		m.depth, m.width, m.maxWidth = max(m.depth, sub.depth), add(m.width, sub.width), max(m.maxWidth, sub.maxWidth)
	}
	for _, name := range set.spreads {
		m.size = add(m.size, 1)
		f, ok := s.frags[name]
		if !ok {
			continue // unknown: validation says so
		}
		sub, r := s.measureFragment(name, f, path)
		if r != nil {
			return m, r
		}
		m.size, m.aliases = add(m.size, sub.size), add(m.aliases, sub.aliases)
		m.depth, m.width, m.maxWidth = max(m.depth, sub.depth), add(m.width, sub.width), max(m.maxWidth, sub.maxWidth)
	}
	m.maxWidth = max(m.maxWidth, m.width)
	return m, nil
}

func (s *scanner) measureFragment(name string, f *fragment, path []string) (measures, *refusal) {
	switch f.state {
	case 2:
		return f.m, nil
	case 1:
		cycle := append(slices.Clone(path[slices.Index(path, name):]), name)
		return measures{}, &refusal{status: http.StatusBadRequest, code: CodeValidationFailed,
			message: fmt.Sprintf("fragment %q spreads itself (%s)", name, strings.Join(cycle, " → "))}
	}
	f.state = 1
	m, r := s.measureSet(f.set, append(path, name))
	if r != nil {
		return m, r
	}
	f.state, f.m = 2, m
	return m, nil
}

// pathKey names a response path: the id of its parent path and its last name.
type pathKey struct {
	parent int
	name   string
}

// repeats counts the fields of set, fragments expanded, whose response path
// an earlier field of the same root already has; paths numbers the paths
// seen, the root's being 0.
func (s *scanner) repeats(set *selSet, parent int, paths map[pathKey]int) int64 {
	var n int64
	for _, f := range set.fields {
		k := pathKey{parent, f.name}
		id, seen := paths[k]
		if seen {
			n++
		} else {
			id = len(paths) + 1
			paths[k] = id
		}
		if f.sub != nil {
			n += s.repeats(f.sub, id, paths)
		}
	}
	for _, in := range set.inline {
		n += s.repeats(in, parent, paths)
	}
	for _, name := range set.spreads {
		if f, ok := s.frags[name]; ok {
			n += s.repeats(f.set, parent, paths)
		}
	}
	return n
}
