package render

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"regexp"
	"strings"
)

// ident builds a Terraform identifier from a fixed kind (lower-case words
// joined by single underscores) and any names. Names keep a-z, 0-9 and '-'
// and encode every other byte as _hh (so '_' itself becomes _5f); kind and
// names are joined by "__", which an encoded name never contains. Any strings
// thus give a valid identifier, and different inputs different identifiers.
func ident(kind string, names ...string) string {
	var b strings.Builder
	b.WriteString(kind)
	for _, n := range names {
		b.WriteString("__")
		for i := 0; i < len(n); i++ {
			c := n[i]
			if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' {
				b.WriteByte(c)
				continue
			}
			b.WriteByte('_')
			b.WriteString(hex.EncodeToString([]byte{c}))
		}
	}
	return b.String()
}

var identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// validIdent reports whether s is a Terraform identifier as this package
// writes them (ASCII letters, digits, '_' and '-', not starting with a digit
// or '-').
func validIdent(s string) bool { return identRe.MatchString(s) }

// shortHash is eight hex digits of a SHA-256 over parts, separated so that
// different splits of the same bytes differ.
func shortHash(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:4])
}

// maxPGName is PostgreSQL's identifier length (NAMEDATALEN - 1); longer
// names are silently truncated by the server.
const maxPGName = 63

// slotName derives the replication slot (and publication) of a product's
// PostgreSQL source in an environment: readable, within PostgreSQL's
// [a-z0-9_] and 63 characters, and unique thanks to a hash of the exact names
// (mapping '-' to '_' alone could make two products share a slot).
func slotName(env, domain, product string) string {
	base := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, env+"_"+domain+"_"+product)
	suffix := "_" + shortHash("slot", env, domain, product)
	if len(base) > maxPGName-len(suffix) {
		base = base[:maxPGName-len(suffix)]
	}
	return base + suffix
}

// StateSchemaName derives the pg backend schema holding a product's state in
// an environment. The backend quotes it, so '-' is kept; names that would
// exceed PostgreSQL's 63 characters are shortened and made unique by a hash.
func StateSchemaName(env, domain, product string) string {
	name := "meshplane_" + env + "_" + domain + "_" + product
	if len(name) <= maxPGName {
		return name
	}
	suffix := "_" + shortHash("state", env, domain, product)
	return name[:maxPGName-len(suffix)] + suffix
}

// Range of derived MySQL server ids: above the small ids operators give real
// replicas, within the 32-bit unsigned range MySQL accepts.
const (
	minServerID = 1_000_000
	maxServerID = 4_294_967_295
)

// serverID derives the database.server.id a product's MySQL source uses to
// join the cluster as a replica; it must differ from every other replica's,
// so it is spread over a wide range by a hash of environment and product.
func serverID(env, domain, product string) int64 {
	sum := sha256.Sum256([]byte(strings.Join([]string{"server-id", env, domain, product}, "\x00")))
	n := binary.BigEndian.Uint64(sum[:8])
	return minServerID + int64(n%(maxServerID-minServerID+1))
}
