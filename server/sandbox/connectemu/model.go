package connectemu

import (
	"regexp"
	"strconv"
	"strings"
)

// setting is one configuration key a connector (or the worker) defines: its
// ConfigDef definition as the REST API reports it, and the checks its
// validator runs.
type setting struct {
	name       string
	typ        string
	dialect    dialect
	required   bool
	hasDefault bool
	def        string
	importance string
	group      string
	doc        string
	checks     []check
	// requiredIf makes a setting required only under a condition of other
	// settings (Debezium's KafkaSchemaHistory.forKafka, for instance).
	requiredIf  func(view) bool
	recommended []string
	// checkName, when set, is the name the checks' problems are reported
	// under: ConfigDef.embed runs a transformation's validators with the
	// setting's unprefixed name.
	checkName string
}

func newSetting(d dialect, name, typ string) setting {
	return setting{name: name, typ: typ, dialect: d, importance: "MEDIUM"}
}

// kafka defines a setting validated by org.apache.kafka.common.config.ConfigDef.
func kafka(name, typ string) setting { return newSetting(kafkaDialect, name, typ) }

// dbz defines a setting validated by io.debezium.config.Field.
func dbz(name, typ string) setting { return newSetting(debeziumDialect, name, typ) }

func (s setting) req() setting                    { s.required = true; return s }
func (s setting) reqIf(f func(view) bool) setting { s.requiredIf = f; return s }
func (s setting) dflt(v string) setting           { s.hasDefault, s.def = true, v; return s }
func (s setting) high() setting                   { s.importance = "HIGH"; return s }
func (s setting) low() setting                    { s.importance = "LOW"; return s }
func (s setting) in(group string) setting         { s.group = group; return s }
func (s setting) about(doc string) setting        { s.doc = doc; return s }
func (s setting) with(c ...check) setting {
	s.checks = append(append([]check(nil), s.checks...), c...)
	return s
}

// oneOf restricts the value to an enumeration, worded as the setting's
// dialect words it, and recommends the choices.
func (s setting) oneOf(values ...string) setting {
	s.recommended = values
	if s.dialect == debeziumDialect {
		return s.with(dbzEnum(values...))
	}
	return s.with(validString(values...))
}

// recommend lists recommended values without adding a check.
func (s setting) recommend(values ...string) setting { s.recommended = values; return s }

// patternSetting covers families of keys named by a pattern, such as
// Debezium's column.mask.with.<n>.chars.
type patternSetting struct {
	pattern *regexp.Regexp
	setting setting
}

// finding is a cross-setting problem attached to one or more keys.
type finding struct {
	keys    []string
	message string
}

// rule checks a relation between settings. Rules see the submitted config;
// they stay silent about any setting whose value is a config-provider
// reference, because its value is unknown here.
type rule func(c view) []finding

// removal is a setting name a connector version no longer reads.
type removal struct {
	name        string
	prefix      bool
	replacement string
	since       string
}

// plugin is a connector class the emulator knows, with its rules.
type plugin struct {
	class   string
	kind    string // "source" or "sink"
	version string
	// singleTask is set for connectors that always run one task whatever
	// tasks.max says (Debezium's relational sources).
	singleTask bool
	settings   []setting
	patterns   []patternSetting
	rules      []rule
	// rulesNeedCleanSettings mirrors connectors that report cross-setting
	// problems only once every single setting is valid (BigQuery sink).
	rulesNeedCleanSettings bool
	removed                []removal
	removalDialect         dialect
	// groups lists the connector's ConfigDef groups in order.
	groups []string
}

// view is the submitted configuration as rules read it.
type view map[string]string

// value returns the raw value and whether the key is present.
func (c view) value(k string) (string, bool) { v, ok := c[k]; return v, ok }

// known reports whether key k is present with a value that is not a
// config-provider reference.
func (c view) known(k string) bool {
	v, ok := c[k]
	return ok && !isReference(v)
}

// ref reports whether key k holds a config-provider reference.
func (c view) ref(k string) bool {
	v, ok := c[k]
	return ok && isReference(v)
}

// str returns the trimmed value of k or def when absent; ok is false when the
// value is a reference.
func (c view) str(k, def string) (string, bool) {
	v, present := c[k]
	if !present {
		return def, true
	}
	if isReference(v) {
		return "", false
	}
	return strings.TrimSpace(v), true
}

// boolean returns the boolean value of k or def when absent; ok is false when
// the value is a reference or not a boolean.
func (c view) boolean(k string, def bool) (b, ok bool) {
	v, present := c[k]
	if !present {
		return def, true
	}
	if isReference(v) {
		return false, false
	}
	b, err := strconv.ParseBool(strings.ToLower(strings.TrimSpace(v)))
	return b, err == nil
}

// integer returns the integer value of k or def when absent.
func (c view) integer(k string, def int64) (n int64, ok bool) {
	v, present := c[k]
	if !present {
		return def, true
	}
	if isReference(v) {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	return n, err == nil
}

// blank reports whether k is absent or blank (Kafka's Utils.isBlank).
func (c view) blank(k string) bool {
	v, ok := c[k]
	return !ok || strings.TrimSpace(v) == ""
}
