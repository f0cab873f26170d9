package connectrun

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
)

// This file reproduces the parts of Debezium's relational connectors that
// decide what leaves the database: table and column filters, column mappers
// (masking and truncation) and message keys. The sandbox's differences from
// Debezium are named where they arise.

// patternList is a comma-separated list of regular expressions matched,
// case-insensitively and anchored at both ends, against a fully qualified
// name (io.debezium.function.Predicates.includes with
// Strings.setOfRegex). Debezium compiles Java regular expressions; the
// sandbox compiles them with Go's RE2 syntax, which lacks back-references,
// look-around and possessive quantifiers: a pattern using them fails the
// connector with the pattern named.
type patternList []*regexp.Regexp

func parsePatternList(setting, v string) (patternList, error) {
	var out patternList
	for _, p := range splitRegexList(v) {
		re, err := regexp.Compile(`(?i)^(?:` + p + `)$`)
		if err != nil {
			return nil, fmt.Errorf("setting %s: the pattern %q is not a regular expression the sandbox can compile: %v", setting, p, err)
		}
		out = append(out, re)
	}
	return out, nil
}

// splitRegexList splits a list of regular expressions on the commas that
// are not escaped with a backslash, as Strings.setOfRegex does.
func splitRegexList(v string) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(v); i++ {
		switch {
		case v[i] == '\\' && i+1 < len(v) && v[i+1] == ',':
			cur.WriteByte(',')
			i++
		case v[i] == ',':
			if s := strings.TrimSpace(cur.String()); s != "" {
				out = append(out, s)
			}
			cur.Reset()
		default:
			cur.WriteByte(v[i])
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}

func (l patternList) matches(name string) bool {
	for _, re := range l {
		if re.MatchString(name) {
			return true
		}
	}
	return false
}

// filters are a relational connector's include and exclude lists. Debezium
// allows either the include or the exclude list of each kind, not both; the
// emulator's validation refuses both before a connector runs.
type filters struct {
	schemaInclude, schemaExclude patternList
	tableInclude, tableExclude   patternList
	columnInclude, columnExclude patternList
}

func parseFilters(cfg map[string]string) (filters, error) {
	var f filters
	var err error
	for _, s := range []struct {
		key string
		dst *patternList
	}{
		{"schema.include.list", &f.schemaInclude},
		{"schema.exclude.list", &f.schemaExclude},
		{"table.include.list", &f.tableInclude},
		{"table.exclude.list", &f.tableExclude},
		{"column.include.list", &f.columnInclude},
		{"column.exclude.list", &f.columnExclude},
	} {
		if *s.dst, err = parsePatternList(s.key, cfg[s.key]); err != nil {
			return filters{}, err
		}
	}
	return f, nil
}

// table reports whether schema.table is captured.
func (f filters) table(schema, table string) bool {
	switch {
	case len(f.schemaInclude) > 0 && !f.schemaInclude.matches(schema):
		return false
	case f.schemaExclude.matches(schema):
		return false
	}
	id := schema + "." + table
	if len(f.tableInclude) > 0 {
		return f.tableInclude.matches(id)
	}
	return !f.tableExclude.matches(id)
}

// column reports whether schema.table.column is in the value.
func (f filters) column(schema, table, column string) bool {
	id := schema + "." + table + "." + column
	if len(f.columnInclude) > 0 {
		return f.columnInclude.matches(id)
	}
	return !f.columnExclude.matches(id)
}

// mapper is one column mapper rule: the columns it matches and what it does
// to a character column's value.
type mapper struct {
	columns patternList
	kind    string // "truncate", "mask" or "hash"
	n       int    // truncate length or mask length
	algo    string
	salt    []byte
	// v1 marks column.mask.hash (without v2), which hashes Java's
	// serialized form of the value.
	v1 bool
}

var (
	truncateKey = regexp.MustCompile(`^column\.truncate\.to\.(\d+)\.chars$`)
	maskKey     = regexp.MustCompile(`^column\.mask\.with\.(\d+)\.chars$`)
	hashV1Key   = regexp.MustCompile(`^column\.mask\.hash\.([^.]+)\.with\.salt\.(.+)$`)
	hashV2Key   = regexp.MustCompile(`^column\.mask\.hash\.v2\.([^.]+)\.with\.salt\.(.+)$`)
)

// parseMappers reads the column mappers in ColumnMappers.create's order:
// every truncation, then every mask, then hashes (v1, then v2). The first
// rule that matches a column wins, so a column named by two rules gets the
// earlier one. Within one family Debezium follows its configuration's key
// order; the sandbox takes the keys of a family in sorted order.
func parseMappers(cfg map[string]string) ([]mapper, error) {
	keys := slices.Sorted(maps.Keys(cfg))
	var out []mapper
	add := func(key string, m mapper) error {
		cols, err := parsePatternList(key, cfg[key])
		if err != nil {
			return err
		}
		m.columns = cols
		out = append(out, m)
		return nil
	}
	for _, k := range keys {
		if m := truncateKey.FindStringSubmatch(k); m != nil {
			n, err := strconv.Atoi(m[1])
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("setting %s: the length must be a positive number", k)
			}
			if err := add(k, mapper{kind: "truncate", n: n}); err != nil {
				return nil, err
			}
		}
	}
	for _, k := range keys {
		if m := maskKey.FindStringSubmatch(k); m != nil {
			n, err := strconv.Atoi(m[1])
			if err != nil || n < 0 {
				return nil, fmt.Errorf("setting %s: the length must be a number", k)
			}
			if err := add(k, mapper{kind: "mask", n: n}); err != nil {
				return nil, err
			}
		}
	}
	for _, v1 := range []bool{true, false} {
		re := hashV2Key
		if v1 {
			re = hashV1Key
		}
		for _, k := range keys {
			m := re.FindStringSubmatch(k)
			if m == nil {
				continue
			}
			if v1 {
				// The v1 pattern also reads "v2" as an algorithm name only
				// when no ".with.salt." follows it directly; that never
				// happens, so v2 keys are never taken for v1 ones.
				return nil, fmt.Errorf("setting %s: column.mask.hash (version 1) hashes Java's serialized form of each value, which the sandbox cannot reproduce; use column.mask.hash.v2", k)
			}
			if newHash(m[1]) == nil {
				return nil, fmt.Errorf("setting %s: unknown hash algorithm %q (the sandbox knows MD5, SHA-1, SHA-256, SHA-384 and SHA-512)", k, m[1])
			}
			if err := add(k, mapper{kind: "hash", algo: m[1], salt: []byte(m[2])}); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// newHash returns the java.security.MessageDigest algorithm named name.
func newHash(name string) hash.Hash {
	switch strings.ToUpper(name) {
	case "MD5":
		return md5.New()
	case "SHA-1", "SHA1", "SHA":
		return sha1.New()
	case "SHA-256":
		return sha256.New()
	case "SHA-384":
		return sha512.New384()
	case "SHA-512":
		return sha512.New()
	}
	return nil
}

// mapperFor returns the first rule matching schema.table.column, or nil.
func mapperFor(rules []mapper, schema, table, column string) *mapper {
	id := schema + "." + table + "." + column
	for i := range rules {
		if rules[i].columns.matches(id) {
			return &rules[i]
		}
	}
	return nil
}

// applies reports whether the mapper changes values of a column: masks and
// hashes act on character columns only (MaskStrings.create); truncation on
// character columns longer than its length, or of unknown length
// (TruncateStrings). Other columns pass through unchanged.
func (m *mapper) applies(c *pgColumn) bool {
	if m == nil || !c.character {
		return false
	}
	if m.kind == "truncate" {
		return c.length < 0 || c.length > m.n
	}
	return true
}

// apply maps one value. A mask replaces every value, null included
// (MaskingValueConverter); a hash leaves null as null and hex-encodes the
// digest of the salt followed by the value's UTF-8 bytes
// (HashValueConverter with HashingByteArrayStrategy.V2), then, for a column
// of known length, cuts it to that length; truncation cuts to n characters.
// Java counts characters in UTF-16 code units, and so does the sandbox.
func (m *mapper) apply(c *pgColumn, v any) any {
	switch m.kind {
	case "mask":
		return strings.Repeat("*", m.n)
	case "hash":
		s, ok := v.(string)
		if !ok {
			return v
		}
		h := newHash(m.algo)
		h.Write(m.salt)
		h.Write([]byte(s))
		out := hex.EncodeToString(h.Sum(nil))
		if c.length > 0 {
			out = cutUTF16(out, c.length)
		}
		return out
	case "truncate":
		if s, ok := v.(string); ok {
			return cutUTF16(s, m.n)
		}
	}
	return v
}

// schemaParameter is the parameter a mapper adds to its field's schema.
func (m *mapper) schemaParameter() (string, string) {
	if m.kind == "truncate" {
		return "truncateLength", strconv.Itoa(m.n)
	}
	return "masked", "true"
}

// cutUTF16 keeps the first n UTF-16 code units of s, as Java's
// String.substring(0, n) does. A surrogate pair cut in half loses its
// lone half here, where Java would keep it and its JSON writer would
// write it as an escape.
func cutUTF16(s string, n int) string {
	u := utf16.Encode([]rune(s))
	if len(u) <= n {
		return s
	}
	return string(utf16.Decode(u[:n]))
}

// keyColumns parses message.key.columns: "<table regex>:<col>,<col>;…",
// each table regex matched against schema.table (case-insensitively).
type keyColumnRule struct {
	table   *regexp.Regexp
	columns []string
}

func parseKeyColumns(v string) ([]keyColumnRule, error) {
	var out []keyColumnRule
	for _, part := range strings.Split(v, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		i := strings.LastIndex(part, ":")
		if i <= 0 {
			return nil, fmt.Errorf("setting message.key.columns: %q is not <table>:<column>,…", part)
		}
		re, err := regexp.Compile(`(?i)^(?:` + part[:i] + `)$`)
		if err != nil {
			return nil, fmt.Errorf("setting message.key.columns: the table pattern %q is not a regular expression the sandbox can compile: %v", part[:i], err)
		}
		var cols []string
		for _, c := range strings.Split(part[i+1:], ",") {
			if c = strings.TrimSpace(c); c != "" {
				cols = append(cols, c)
			}
		}
		out = append(out, keyColumnRule{table: re, columns: cols})
	}
	return out, nil
}

// keyFor returns the key column names for schema.table: the first
// message.key.columns rule that matches, else the primary key.
func keyFor(rules []keyColumnRule, schema, table string, primaryKey []string) []string {
	id := schema + "." + table
	for _, r := range rules {
		if r.table.MatchString(id) {
			return r.columns
		}
	}
	return primaryKey
}

// regexRouter is Kafka's RegexRouter: a topic the regex matches as a whole
// is replaced by the replacement, where $n names a group and a backslash
// quotes the next character (java.util.regex.Matcher.replaceFirst).
type regexRouter struct {
	re          *regexp.Regexp
	replacement string
}

func (r regexRouter) route(topic string) string {
	m := r.re.FindStringSubmatchIndex(topic)
	if m == nil || m[0] != 0 || m[1] != len(topic) {
		return topic
	}
	var b strings.Builder
	rep := r.replacement
	for i := 0; i < len(rep); i++ {
		switch c := rep[i]; {
		case c == '\\' && i+1 < len(rep):
			i++
			b.WriteByte(rep[i])
		case c == '$' && i+1 < len(rep) && rep[i+1] >= '0' && rep[i+1] <= '9':
			g := int(rep[i+1] - '0')
			i++
			if 2*g+1 < len(m) && m[2*g] >= 0 {
				b.WriteString(topic[m[2*g]:m[2*g+1]])
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// sourceTransforms reads a source connector's transforms. The sandbox runs
// RegexRouter, the only transform meshplane configures on sources; any other
// fails the connector, named.
func sourceTransforms(cfg map[string]string) ([]regexRouter, error) {
	var out []regexRouter
	for _, alias := range strings.Split(cfg["transforms"], ",") {
		alias = strings.TrimSpace(alias)
		if alias == "" {
			continue
		}
		prefix := "transforms." + alias + "."
		typ := strings.TrimSpace(cfg[prefix+"type"])
		if typ != "org.apache.kafka.connect.transforms.RegexRouter" {
			return nil, fmt.Errorf("transform %s (%s) is not run by the sandbox's source connectors, which run org.apache.kafka.connect.transforms.RegexRouter only", alias, typ)
		}
		if cfg[prefix+"predicate"] != "" {
			return nil, fmt.Errorf("transform %s: predicates on source transforms are not run by the sandbox", alias)
		}
		re, err := regexp.Compile(cfg[prefix+"regex"])
		if err != nil {
			return nil, fmt.Errorf("transform %s: the regex is not one the sandbox can compile: %v", alias, err)
		}
		out = append(out, regexRouter{re: re, replacement: cfg[prefix+"replacement"]})
	}
	return out, nil
}
