package render

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// Grant is one consumer's access to one of the product's output-port topics.
type Grant struct {
	ID          string // the grant's id in the catalog (for messages only; NOT part of ACL identity)
	Principal   string // Kafka principal, "User:<consumer-domain>.<service-account>", e.g. "User:marketing.reporter"
	Topic       string // must be one of the product's output-port topics (as spec.TopicName derives them)
	GroupPrefix string // consumer group prefix; must start with the principal's name + "." e.g. "marketing.reporter." (prevents granting other teams' or Connect's groups)
	// GroupOnly keeps the group ACL alone, with no Topic: Kafka knows an
	// ACL by its content, so a consumer's group ACL is one ACL however many
	// products' workspaces render it, and a workspace must not delete it
	// while the consumer's grants on other products still need it.
	GroupOnly bool
}

// ACL is one Kafka ACL a grant needs.
type ACL struct {
	Principal    string // "User:<consumer-domain>.<service-account>"
	ResourceType string // "Topic" or "Group"
	ResourceName string
	PatternType  string // "Literal" or "Prefixed"
	Operation    string // "Read" or "Describe"
}

// Key is the ACL's stable identity, principal|resource type|pattern type|
// resource name|operation, for example
// "User:marketing.reporter|Topic|Literal|sales.orders.customers.v1|Read".
// It keys the ACL's instance in the workspace, so it depends on nothing but
// the ACL itself: adding or removing another grant never changes it. Render
// admits no '|' in principals, topics or group prefixes, so keys of
// different ACLs differ.
func (a ACL) Key() string {
	return strings.Join([]string{a.Principal, a.ResourceType, a.PatternType, a.ResourceName, a.Operation}, "|")
}

// GrantACLs returns the ACLs the grants need by Key: Read and Describe on
// each grant's topic (literal) and Read on its consumer groups (prefixed).
// Grants sharing an ACL, such as one consumer's grants on two topics with one
// group prefix, share its entry.
func GrantACLs(grants []Grant) map[string]ACL {
	out := make(map[string]ACL, 3*len(grants))
	add := func(a ACL) { out[a.Key()] = a }
	for _, g := range grants {
		for _, op := range []string{"Read", "Describe"} {
			if g.GroupOnly {
				break
			}
			add(ACL{Principal: g.Principal, ResourceType: "Topic", ResourceName: g.Topic, PatternType: "Literal", Operation: op})
		}
		add(ACL{Principal: g.Principal, ResourceType: "Group", ResourceName: g.GroupPrefix, PatternType: "Prefixed", Operation: "Read"})
	}
	return out
}

// ConsumerResource names the kafka_acl resource holding one consumer's ACLs
// on a product: "consumer_" and 16 hex digits of the principal's SHA-256.
// One resource per consumer, at the root of the workspace, keeps every
// for_each small, where one resource for all would cost terraform time in
// the square of the number of ACLs (it re-evaluates for_each for each
// instance) and a module per consumer costs a module call each; and it lets
// a plan target one consumer's ACLs without touching anyone else's.
func ConsumerResource(principal string) string {
	sum := sha256.Sum256([]byte(principal))
	return "consumer_" + hex.EncodeToString(sum[:8])
}

// ConsumerACLAddress is the resource address terraform reports (in plans,
// state and their JSON) for the consumer ACL with the given key, such as
// kafka_acl.consumer_5e6d1c5d1e7bc498["User:marketing.reporter|Group|Prefixed|marketing.reporter.|Read"].
func ConsumerACLAddress(key string) string {
	principal, _, _ := strings.Cut(key, "|")
	return "kafka_acl." + ConsumerResource(principal) + "[" + quoteInstanceKey(key) + "]"
}

// quoteInstanceKey quotes a string instance key as terraform writes it in
// an address: HCL string syntax, with template introducers doubled and
// non-printable characters as \u escapes.
func quoteInstanceKey(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i, r := range s {
		switch r {
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '$', '%':
			b.WriteRune(r)
			if strings.HasPrefix(s[i+1:], "{") {
				b.WriteRune(r)
			}
		default:
			switch {
			case unicode.IsPrint(r):
				b.WriteRune(r)
			case r < 1<<16:
				fmt.Fprintf(&b, `\u%04x`, r)
			default:
				fmt.Fprintf(&b, `\U%08x`, r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// What a grant's strings must look like. A consumer's principal has exactly
// one dot, so it can never be a connector's (domain.product.connector); a
// group prefix is a Kafka group name's characters, and 249 is Kafka's limit
// on topic names, kept for groups so that every name stays printable.
var (
	consumerPrincipalRe = regexp.MustCompile(`^User:[a-z][a-z0-9-]{1,62}\.[a-z][a-z0-9-]{1,62}$`)
	groupPrefixRe       = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
)

const maxGroupPrefix = 249

// grants checks the consumer grants and renders their ACLs, one kafka_acl
// resource per consumer whose instances are keyed by ACL identity.
func (r *renderer) grants() {
	if len(r.in.Grants) == 0 {
		return
	}
	// Grants read current majors and the earlier ones ports keep.
	ports := slices.Sorted(slices.Values(append(slices.Collect(maps.Values(r.topics)), r.retained...)))
	n := r.v.Len()
	for i, g := range r.in.Grants {
		path := fmt.Sprintf("grants[%d]", i)
		of := ""
		if g.ID != "" {
			of = fmt.Sprintf(" (grant %q)", g.ID)
		}
		switch {
		case g.GroupOnly && g.Topic != "":
			r.v.Add(path+".topic", "a group-only grant names no topic%s", of)
		case !g.GroupOnly && !slices.Contains(ports, g.Topic):
			r.v.Add(path+".topic", "%q is not an output-port topic of %s.%s%s: want one of %s",
				g.Topic, r.in.Domain, r.in.Product, of, strings.Join(ports, ", "))
		}
		name, ok := strings.CutPrefix(g.Principal, "User:")
		if !consumerPrincipalRe.MatchString(g.Principal) {
			r.v.Add(path+".principal", "%q is not a consumer principal User:<domain>.<service-account>%s", g.Principal, of)
			ok = false
		}
		switch {
		case len(g.GroupPrefix) > maxGroupPrefix:
			r.v.Add(path+".groupPrefix", "is %d characters long, more than %d%s", len(g.GroupPrefix), maxGroupPrefix, of)
		case !groupPrefixRe.MatchString(g.GroupPrefix):
			r.v.Add(path+".groupPrefix", "%q must be letters, digits, '.', '_' and '-' only%s", g.GroupPrefix, of)
		case ok && !strings.HasPrefix(g.GroupPrefix, name+"."):
			r.v.Add(path+".groupPrefix", "%q must start with %q: a consumer reads through its own groups only%s", g.GroupPrefix, name+".", of)
		}
	}
	if r.v.Len() > n {
		return
	}
	byConsumer := map[string]map[string]any{}
	for key, a := range GrantACLs(r.in.Grants) {
		if byConsumer[a.Principal] == nil {
			byConsumer[a.Principal] = map[string]any{}
		}
		byConsumer[a.Principal][key] = map[string]any{
			"principal":     a.Principal,
			"resource_type": a.ResourceType,
			"resource_name": a.ResourceName,
			"pattern_type":  a.PatternType,
			"operation":     a.Operation,
		}
	}
	for principal, acls := range byConsumer {
		r.resource("kafka_acl", ConsumerResource(principal), map[string]any{
			"for_each":                     acls,
			"acl_principal":                expr("${each.value.principal}"),
			"acl_host":                     "*",
			"acl_operation":                expr("${each.value.operation}"),
			"acl_permission_type":          "Allow",
			"resource_name":                expr("${each.value.resource_name}"),
			"resource_type":                expr("${each.value.resource_type}"),
			"resource_pattern_type_filter": expr("${each.value.pattern_type}"),
		})
	}
}
