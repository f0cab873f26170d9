// Package summary turns Terraform's JSON plan into what a reviewer needs:
// per resource the action and the attributes that change, with secrets
// redacted, and whether the plan destroys data.
package summary

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	tfjson "github.com/hashicorp/terraform-json"
)

// Actions a resource change can take.
const (
	ActionCreate  = "create"
	ActionUpdate  = "update"
	ActionDelete  = "delete"
	ActionReplace = "replace"
	ActionRead    = "read"
	ActionNoop    = "no-op"
	// ActionImport brings an existing resource under management unchanged.
	ActionImport = "import"
)

// Redacted stands in for every sensitive value.
const Redacted = "(sensitive)"

// Summary is a reviewed plan.
type Summary struct {
	Create      int              `json:"create"`
	Update      int              `json:"update"`
	Delete      int              `json:"delete"`
	Replace     int              `json:"replace"`
	Import      int              `json:"import,omitempty"`
	Destructive bool             `json:"destructive"`
	Reasons     []string         `json:"reasons,omitempty"`
	Resources   []ResourceChange `json:"resources"`
}

// HasChanges reports whether applying the plan would change anything.
func (s Summary) HasChanges() bool { return s.Create+s.Update+s.Delete+s.Replace+s.Import > 0 }

// ResourceChange is one resource's planned change.
type ResourceChange struct {
	Address    string            `json:"address"`
	Type       string            `json:"type"`
	Action     string            `json:"action"`
	Attributes []AttributeChange `json:"attributes,omitempty"`
	// Reason explains why the change destroys data; empty when it does not.
	Reason string `json:"reason,omitempty"`
	// SecretRefs are the secret references a connector's config holds once
	// the change is applied (before it, for a deletion), so a reviewer sees
	// which secrets the connector will read — never their values.
	SecretRefs []SecretRef `json:"secretRefs,omitempty"`
}

// SecretRef is a config-provider reference in a connector setting, such as
// database.password = ${env:SALES__ORDERS_DB_PASSWORD}: where the Connect
// workers find a secret, never the secret.
type SecretRef struct {
	// Setting is the connector setting, e.g. "database.password".
	Setting string `json:"setting"`
	// Ref is the reference without ${…}, e.g. "env:SALES__ORDERS_DB_PASSWORD".
	Ref string `json:"ref"`
}

// AttributeChange is one changed attribute, values as JSON (or Redacted).
type AttributeChange struct {
	Path   string `json:"path"`
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
}

// FromPlan summarizes a plan. Values that Terraform marks sensitive, and any
// of the given secret strings wherever they appear, are redacted.
func FromPlan(p *tfjson.Plan, secrets ...string) Summary {
	return summarize(p.ResourceChanges, secrets)
}

// Drift summarizes the resources a refresh-only plan found changed outside Terraform.
func Drift(p *tfjson.Plan, secrets ...string) []ResourceChange {
	var out []ResourceChange
	for _, rc := range p.ResourceDrift {
		if rc == nil || rc.Change == nil {
			continue
		}
		c := change(rc, secrets)
		// A resource that is gone has no attributes left to compare; one that
		// is still there drifted only if some attribute differs.
		if c.Action != ActionDelete && len(c.Attributes) == 0 {
			continue
		}
		c.Reason, c.SecretRefs = "", nil
		out = append(out, c)
	}
	return out
}

func summarize(rcs []*tfjson.ResourceChange, secrets []string) Summary {
	s := Summary{Resources: []ResourceChange{}}
	for _, rc := range rcs {
		if rc == nil || rc.Change == nil {
			continue
		}
		c := change(rc, secrets)
		switch c.Action {
		case ActionCreate:
			s.Create++
		case ActionUpdate:
			s.Update++
		case ActionDelete:
			s.Delete++
		case ActionReplace:
			s.Replace++
		case ActionImport:
			s.Import++
		default:
			continue
		}
		if c.Reason != "" {
			s.Destructive = true
			s.Reasons = append(s.Reasons, c.Reason)
		}
		s.Resources = append(s.Resources, c)
	}
	slices.SortFunc(s.Resources, func(a, b ResourceChange) int { return strings.Compare(a.Address, b.Address) })
	slices.Sort(s.Reasons)
	return s
}

func action(a tfjson.Actions) string {
	switch {
	case a.Replace():
		return ActionReplace
	case a.Create():
		return ActionCreate
	case a.Delete():
		return ActionDelete
	case a.Update():
		return ActionUpdate
	case a.Read():
		return ActionRead
	}
	return ActionNoop
}

func change(rc *tfjson.ResourceChange, secrets []string) ResourceChange {
	c := ResourceChange{Address: rc.Address, Type: rc.Type, Action: action(rc.Change.Actions)}
	if c.Action == ActionNoop && rc.Change.Importing != nil {
		c.Action = ActionImport
	}
	before := flatten("", rc.Change.Before, rc.Change.BeforeSensitive)
	after := flatten("", rc.Change.After, rc.Change.AfterSensitive)
	if c.Action == ActionUpdate || c.Action == ActionReplace || c.Action == ActionNoop {
		paths := map[string]bool{}
		for p := range before {
			paths[p] = true
		}
		for p := range after {
			paths[p] = true
		}
		for _, p := range sortedKeys(paths) {
			b, a := before[p], after[p]
			if b == a {
				continue
			}
			c.Attributes = append(c.Attributes, AttributeChange{Path: p, Before: redact(b, secrets), After: redact(a, secrets)})
		}
	}
	c.Reason = destroysData(rc.Type, c.Action, rc.Change.Before, rc.Change.After, topicName(rc))
	if c.Action == ActionDelete {
		c.SecretRefs = secretRefs(rc.Change.Before, rc.Change.BeforeSensitive, secrets)
	} else {
		c.SecretRefs = secretRefs(rc.Change.After, rc.Change.AfterSensitive, secrets)
	}
	return c
}

// providerRefRe matches a whole setting that is a Kafka Connect
// config-provider reference of the providers meshplane renders.
var providerRefRe = regexp.MustCompile(`^\$\{((?:env|file|vault):[^{}\s]+)\}$`)

// secretRefs lists the config-provider references among the settings of a
// connector's config, sorted by setting. Settings Terraform marks sensitive
// are never read, and a reference holding a known secret is left out.
func secretRefs(v, sensitive any, secrets []string) []SecretRef {
	sm, _ := sensitive.(map[string]any)
	if sensitive == true || sm["config"] == true {
		return nil
	}
	scfg, _ := sm["config"].(map[string]any)
	m, _ := v.(map[string]any)
	cfg, _ := m["config"].(map[string]any)
	var out []SecretRef
	for _, setting := range slices.Sorted(maps.Keys(cfg)) {
		s, ok := cfg[setting].(string)
		if !ok || scfg[setting] == true {
			continue
		}
		if sub := providerRefRe.FindStringSubmatch(s); sub != nil && redact(s, secrets) == s {
			out = append(out, SecretRef{Setting: setting, Ref: sub[1]})
		}
	}
	return out
}

func topicName(rc *tfjson.ResourceChange) string {
	for _, v := range []any{rc.Change.After, rc.Change.Before} {
		if m, ok := v.(map[string]any); ok {
			if n, ok := m["name"].(string); ok {
				return n
			}
		}
	}
	return rc.Address
}

// destroysData says why a change loses data: deleting or replacing a topic
// drops its records, and lowering retention deletes the records now older
// than the new limit.
func destroysData(typ, act string, before, after any, name string) string {
	if typ != "kafka_topic" {
		return ""
	}
	switch act {
	case ActionDelete:
		return fmt.Sprintf("deletes topic %s and every record in it", name)
	case ActionReplace:
		return fmt.Sprintf("replaces topic %s: its records are deleted", name)
	case ActionUpdate:
		b, a := retention(before), retention(after)
		if a >= 0 && (b < 0 || a < b) {
			was := "unlimited"
			if b >= 0 {
				was = strconv.FormatInt(b, 10) + " ms"
			}
			return fmt.Sprintf("lowers retention of topic %s from %s to %d ms: older records are deleted", name, was, a)
		}
	}
	return ""
}

// retention reads config["retention.ms"]; -1 (or absent) means unlimited or broker default.
func retention(v any) int64 {
	m, _ := v.(map[string]any)
	cfg, _ := m["config"].(map[string]any)
	s, ok := cfg["retention.ms"].(string)
	if !ok {
		return -1
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// flatten maps every leaf of a JSON value to its JSON encoding, keyed by a
// path like config["retention.ms"]; leaves marked sensitive become Redacted.
func flatten(prefix string, v, sensitive any) map[string]string {
	out := map[string]string{}
	if sensitive == true {
		// An empty collection holds no secret and no value: the kafka-connect
		// provider reads config_sensitive back as {} where it wrote null,
		// which must not look like a change.
		if !empty(v) {
			out[pathOr(prefix)] = Redacted
		}
		return out
	}
	switch t := v.(type) {
	case map[string]any:
		sm, _ := sensitive.(map[string]any)
		for k, child := range t {
			p := k
			if prefix != "" {
				p = fmt.Sprintf("%s[%q]", prefix, k)
			}
			for kk, vv := range flatten(p, child, sm[k]) {
				out[kk] = vv
			}
		}
	case []any:
		sl, _ := sensitive.([]any)
		for i, child := range t {
			var s any
			if i < len(sl) {
				s = sl[i]
			}
			for kk, vv := range flatten(fmt.Sprintf("%s[%d]", prefix, i), child, s) {
				out[kk] = vv
			}
		}
	case nil:
	default:
		b, _ := json.Marshal(t)
		out[pathOr(prefix)] = string(b)
	}
	return out
}

func empty(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case map[string]any:
		return len(t) == 0
	case []any:
		return len(t) == 0
	}
	return false
}

func pathOr(p string) string {
	if p == "" {
		return "(value)"
	}
	return p
}

func redact(s string, secrets []string) string {
	for _, sec := range secrets {
		if sec != "" && strings.Contains(s, sec) {
			return Redacted
		}
	}
	return s
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
