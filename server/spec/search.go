package spec

import (
	"strings"
)

// SearchText is the document catalog search matches text against: the
// product's name and description, and every port's name and every field's
// name, classification and tags, lower-cased, one item a line, each item
// once. Search terms never hold whitespace, so no term matches across two
// items.
func SearchText(name string, p Product) string {
	seen := map[string]bool{}
	var b strings.Builder
	add := func(s string) {
		s = strings.ToLower(strings.TrimSpace(s))
		if s == "" || seen[s] {
			return
		}
		seen[s] = true
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(s)
	}
	add(name)
	add(p.Description)
	for _, port := range p.Ports {
		add(port.Name)
		for _, f := range port.Fields {
			add(f.Name)
			add(string(f.Classification))
			for _, t := range f.Tags {
				add(t)
			}
		}
	}
	return b.String()
}

// SearchTerms splits a search text into the lower-cased terms a product's
// SearchText must each contain.
func SearchTerms(text string) []string {
	return strings.Fields(strings.ToLower(text))
}

// Classifications lists the classifications a field can carry, in the
// order of their bits in ClassificationBits; unclassified is the last.
var Classifications = []Classification{ClassNone, ClassInternal, ClassPII, ClassSensitive, ClassUnclassified}

// ClassificationBit is c's bit in a ClassificationBits set, 0 for a value
// that is not a classification.
func ClassificationBit(c Classification) int64 {
	for i, k := range Classifications {
		if k == c {
			return 1 << i
		}
	}
	return 0
}

// ClassificationBits is the set of classifications p's fields carry, one
// bit per classification (see ClassificationBit), so "products exposing a
// pii field" is a bit test.
func ClassificationBits(p Product) int64 {
	var bits int64
	for _, port := range p.Ports {
		for _, f := range port.Fields {
			bits |= ClassificationBit(f.Classification)
		}
	}
	return bits
}
