package connectemu

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	// Embedded zone database, so timezone checks do not depend on the host.
	_ "time/tzdata"
)

// ConfigInfos is the body of PUT /connector-plugins/{class}/config/validate,
// shaped like org.apache.kafka.connect.runtime.rest.entities.ConfigInfos.
type ConfigInfos struct {
	Name       string       `json:"name"`
	ErrorCount int          `json:"error_count"`
	Groups     []string     `json:"groups"`
	Configs    []ConfigInfo `json:"configs"`
}

// ConfigInfo pairs a setting's definition with its validated value. The
// definition is null for a key the connector does not define.
type ConfigInfo struct {
	Definition *ConfigKeyInfo  `json:"definition"`
	Value      ConfigValueInfo `json:"value"`
}

// ConfigKeyInfo is a setting's ConfigDef definition.
type ConfigKeyInfo struct {
	Name          string   `json:"name"`
	Type          string   `json:"type"`
	Required      bool     `json:"required"`
	DefaultValue  *string  `json:"default_value"`
	Importance    string   `json:"importance"`
	Documentation string   `json:"documentation"`
	Group         *string  `json:"group"`
	Width         string   `json:"width"`
	DisplayName   string   `json:"display_name"`
	Dependents    []string `json:"dependents"`
	Order         int      `json:"order"`
}

// ConfigValueInfo is a setting's validated value and its errors. Password
// values are reported as [hidden], as a worker reports them.
type ConfigValueInfo struct {
	Name              string   `json:"name"`
	Value             *string  `json:"value"`
	RecommendedValues []string `json:"recommended_values"`
	Errors            []string `json:"errors"`
	Visible           bool     `json:"visible"`
}

// Messages returns every error message in order.
func (ci ConfigInfos) Messages() []string {
	var out []string
	for _, c := range ci.Configs {
		out = append(out, c.Value.Errors...)
	}
	return out
}

// invalidConfigMessage is the 400 message a worker answers a create or update
// with when validation fails (AbstractHerder.maybeAddConfigErrors).
func invalidConfigMessage(ci ConfigInfos) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Connector configuration is invalid and contains the following %d error(s):", ci.ErrorCount)
	for _, m := range ci.Messages() {
		b.WriteString("\n")
		b.WriteString(m)
	}
	b.WriteString("\nYou can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`")
	return b.String()
}

const hidden = "[hidden]"

// entry accumulates one reported setting during validation.
type entry struct {
	def    *ConfigKeyInfo
	value  ConfigValueInfo
	plugin bool // defined by the connector rather than the worker
}

type validation struct {
	cfg     view
	entries []*entry
	byName  map[string]*entry
	groups  []string
	order   map[string]int
}

// validateConfig validates cfg against the worker's settings, the connector
// kind's settings and p's settings and rules, in the order a worker reports
// them (AbstractHerder.validateConnectorConfig).
func validateConfig(p *plugin, cfg map[string]string) ConfigInfos {
	v := &validation{cfg: view(cfg), byName: map[string]*entry{}, order: map[string]int{}}
	v.addGroups(groupCommon, groupTransforms, groupPredicates, groupErrors)

	for _, s := range workerSettings {
		v.evaluate(s, false)
	}
	kindSettings, kindRules := sourceWorkerSettings, sourceWorkerRules
	if p.kind == "sink" {
		kindSettings, kindRules = sinkWorkerSettings, sinkWorkerRules
	}
	for _, s := range kindSettings {
		v.evaluate(s, false)
	}
	v.aliases("transforms", "Transforms", true)
	v.aliases("predicates", "Predicates", false)
	v.checkPredicateAliases()

	v.addGroups(p.groups...)
	for _, s := range p.settings {
		v.evaluate(s, true)
	}
	for _, k := range sortedKeys(cfg) {
		for _, ps := range p.patterns {
			if ps.pattern.MatchString(k) {
				s := ps.setting
				s.name = k
				v.evaluate(s, true)
				break
			}
		}
	}

	for _, r := range kindRules {
		v.attach(r(v.cfg))
	}
	if !p.rulesNeedCleanSettings || !v.pluginErrors() {
		for _, r := range p.rules {
			v.attach(r(v.cfg))
		}
	}
	v.attach(removedFindings(p, v.cfg))

	out := ConfigInfos{Name: p.class, Groups: v.groups, Configs: make([]ConfigInfo, 0, len(v.entries))}
	for _, e := range v.entries {
		out.ErrorCount += len(e.value.Errors)
		out.Configs = append(out.Configs, ConfigInfo{Definition: e.def, Value: e.value})
	}
	return out
}

func (v *validation) addGroups(groups ...string) {
	for _, g := range groups {
		if g != "" && !slices.Contains(v.groups, g) {
			v.groups = append(v.groups, g)
		}
	}
}

// evaluate validates one defined setting and records it.
func (v *validation) evaluate(s setting, fromPlugin bool) {
	if _, dup := v.byName[s.name]; dup {
		return
	}
	v.addGroups(s.group)
	raw, present := v.cfg.value(s.name)
	required := s.required || (s.requiredIf != nil && s.requiredIf(v.cfg))

	var errs []string
	switch s.dialect {
	case kafkaDialect:
		switch {
		case !present:
			if required && !s.hasDefault {
				errs = append(errs, kafkaDialect.missingMessage(s.name))
			}
		case isReference(raw):
		default:
			trimmed := strings.TrimSpace(raw)
			shown := trimmed
			if s.typ == typeList {
				shown = "[" + strings.Join(parseList(raw), ", ") + "]"
			}
			if problem := parseKafkaType(s.typ, raw); problem != "" {
				errs = append(errs, kafkaDialect.invalidMessage(s.name, shown, problem))
				break
			}
			name := s.name
			if s.checkName != "" {
				name = s.checkName
			}
			for _, c := range s.checks {
				if problem := c(trimmed); problem != "" {
					errs = append(errs, kafkaDialect.invalidMessage(name, shown, problem))
					break
				}
			}
		}
	case debeziumDialect:
		blank := !present || strings.TrimSpace(raw) == ""
		switch {
		case present && isReference(raw):
		case required && blank:
			errs = append(errs, debeziumDialect.missingMessage(s.name))
		case present:
			for _, c := range s.checks {
				if problem := c(raw); problem != "" {
					errs = append(errs, debeziumDialect.invalidMessage(s.name, raw, problem))
				}
			}
		}
	}

	var value *string
	switch {
	case present && s.typ == typePassword:
		value = ptr(hidden)
	case present:
		value = ptr(raw)
	case s.hasDefault:
		value = ptr(s.def)
	}
	v.order[s.group]++
	def := &ConfigKeyInfo{
		Name:          s.name,
		Type:          s.typ,
		Required:      required && !s.hasDefault,
		Importance:    s.importance,
		Documentation: s.doc,
		Width:         "NONE",
		DisplayName:   s.name,
		Dependents:    []string{},
		Order:         v.order[s.group],
	}
	if s.hasDefault {
		def.DefaultValue = ptr(s.def)
	}
	if s.group != "" {
		def.Group = ptr(s.group)
	}
	e := &entry{def: def, plugin: fromPlugin, value: ConfigValueInfo{
		Name:              s.name,
		Value:             value,
		RecommendedValues: append([]string{}, s.recommended...),
		Errors:            append([]string{}, errs...),
		Visible:           true,
	}}
	v.entries = append(v.entries, e)
	v.byName[s.name] = e
}

// aliases expands "transforms" or "predicates" into one required
// <prefix>.<alias>.type class setting per alias, as ConnectorConfig.enrich
// does, with its duplicate-alias and negate-without-predicate checks; a type
// that resolves to a transformation (or predicate) of the catalog adds that
// class's settings under the alias's prefix.
func (v *validation) aliases(key, kind string, transforms bool) {
	raw, ok := v.cfg.str(key, "")
	if !ok {
		return
	}
	list := parseList(raw)
	seen := map[string]bool{}
	var unique []string
	for _, a := range list {
		if !seen[a] {
			seen[a] = true
			unique = append(unique, a)
		}
	}
	if len(unique) < len(list) {
		v.attach([]finding{{keys: []string{key}, message: kafkaDialect.invalidMessage(key,
			"["+strings.Join(list, ", ")+"]", "Duplicate alias provided.")}})
	}
	for _, alias := range unique {
		group := kind + ": " + alias
		prefix := key + "." + alias + "."
		typeKey := prefix + "type"
		v.addGroups(group)
		v.evaluate(kafka(typeKey, typeClass).req().high().in(group).
			about("Class for the '"+alias+"' "+strings.ToLower(strings.TrimSuffix(kind, "s"))+"."), false)
		parsed := len(v.byName[typeKey].value.Errors) == 0
		// The type's validator checks negate first and reports nothing else
		// about the class when that fails.
		_, negate := v.cfg.value(prefix + "negate")
		_, predicate := v.cfg.value(prefix + "predicate")
		badNegate := transforms && negate && !predicate
		if badNegate {
			v.attach([]finding{{keys: []string{typeKey}, message: fmt.Sprintf(
				"Config '%snegate' was provided but there is no config '%spredicate' defining a predicate to be negated.", prefix, prefix)}})
		}
		class, known := v.cfg.str(typeKey, "")
		if !parsed || !known {
			continue
		}
		s, problem := resolveSMT(typeKey, class, !transforms)
		if s == nil {
			if !badNegate {
				v.attach([]finding{{keys: []string{typeKey}, message: problem}})
			}
			continue
		}
		v.embed(s, prefix, group)
	}
}

// attach adds findings to the settings they name, reporting keys the
// connector does not define with a null definition.
func (v *validation) attach(fs []finding) {
	for _, f := range fs {
		for _, k := range f.keys {
			e, ok := v.byName[k]
			if !ok {
				e = &entry{value: ConfigValueInfo{Name: k, RecommendedValues: []string{}, Errors: []string{}, Visible: true}}
				v.entries = append(v.entries, e)
				v.byName[k] = e
			}
			e.value.Errors = append(e.value.Errors, f.message)
		}
	}
}

func (v *validation) pluginErrors() bool {
	for _, e := range v.entries {
		if e.plugin && len(e.value.Errors) > 0 {
			return true
		}
	}
	return false
}

// removedFindings reports settings the connector version no longer reads.
func removedFindings(p *plugin, c view) []finding {
	var out []finding
	for _, k := range sortedKeys(c) {
		for _, r := range p.removed {
			var replacement string
			switch {
			case r.prefix && strings.HasPrefix(k, r.name):
				replacement = r.replacement + strings.TrimPrefix(k, r.name)
			case !r.prefix && k == r.name:
				replacement = r.replacement
			default:
				continue
			}
			msg := fmt.Sprintf("'%s' was removed in %s and is ignored by this connector version; use '%s' instead", k, r.since, replacement)
			if p.removalDialect == debeziumDialect {
				msg = fmt.Sprintf("The '%s' value is invalid: %s", k, msg)
			}
			out = append(out, finding{keys: []string{k}, message: msg})
			break
		}
	}
	return out
}

func sortedKeys[M ~map[string]string](m M) []string {
	return slices.Sorted(maps.Keys(m))
}

func ptr[T any](v T) *T { return &v }

// validTimezone reports whether id names a time zone: a zone database ID or
// a fixed offset such as +05:30 (org.joda.time.DateTimeZone.forID).
func validTimezone(id string) bool {
	if offsetZone.MatchString(id) {
		return true
	}
	_, err := time.LoadLocation(id)
	return err == nil && id != "Local"
}

var offsetZone = regexp.MustCompile(`^[+-]\d{2}(:?\d{2})?$`)
