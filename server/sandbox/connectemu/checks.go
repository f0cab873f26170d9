package connectemu

import (
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// dialect selects how a setting's problems are worded. Kafka Connect reports
// the worker's own settings and most connectors' settings through
// org.apache.kafka.common.config.ConfigDef; Debezium connectors validate
// through io.debezium.config.Field, which words its messages differently.
type dialect int

const (
	kafkaDialect dialect = iota
	debeziumDialect
)

// Kafka ConfigDef type names, spelled as the REST API reports them.
const (
	typeString   = "STRING"
	typeInt      = "INT"
	typeShort    = "SHORT"
	typeLong     = "LONG"
	typeDouble   = "DOUBLE"
	typeBoolean  = "BOOLEAN"
	typeList     = "LIST"
	typeClass    = "CLASS"
	typePassword = "PASSWORD"
)

// check inspects one present, non-reference value and returns the problem
// with it, or "" when there is none. The dialect turns a problem into the
// message the real connector would report.
type check func(value string) string

// missingMessage is the error for a required setting that has no value.
func (d dialect) missingMessage(name string) string {
	if d == debeziumDialect {
		// io.debezium.config.Field.isRequired + Field.validationOutput.
		return fmt.Sprintf("The '%s' value is invalid: A value is required", name)
	}
	// org.apache.kafka.common.config.ConfigDef.validate.
	return fmt.Sprintf("Missing required configuration \"%s\" which has no default value.", name)
}

// invalidMessage is the error for a value a check rejected.
func (d dialect) invalidMessage(name, value, problem string) string {
	if d == debeziumDialect {
		return fmt.Sprintf("The '%s' value is invalid: %s", name, problem)
	}
	// org.apache.kafka.common.config.ConfigException(name, value, message).
	return fmt.Sprintf("Invalid value %s for configuration %s: %s", value, name, problem)
}

// referencePattern is org.apache.kafka.common.config.ConfigTransformer's
// pattern for a config-provider reference such as ${env:NAME},
// ${file:/path:key} or ${vault:path:key}; a placeholder without a provider,
// like the JDBC sink's ${topic}, is not one. A worker resolves references with
// its configured providers before validating (AbstractHerder
// validateConnectorConfig), which this emulator cannot do, so a value holding a
// reference is accepted wherever a value is expected, whatever the type.
var referencePattern = regexp.MustCompile(`\$\{([^}]*?):(([^}]*?):)?([^}]*?)\}`)

func isReference(v string) bool { return referencePattern.MatchString(v) }

// parseKafkaType parses v as ConfigDef.parseType would and returns the
// problem ConfigDef reports when it cannot.
func parseKafkaType(typ, v string) string {
	t := strings.TrimSpace(v)
	switch typ {
	case typeInt:
		if _, err := strconv.ParseInt(t, 10, 32); err != nil {
			return "Not a number of type INT"
		}
	case typeShort:
		if _, err := strconv.ParseInt(t, 10, 16); err != nil {
			return "Not a number of type SHORT"
		}
	case typeLong:
		if _, err := strconv.ParseInt(t, 10, 64); err != nil {
			return "Not a number of type LONG"
		}
	case typeDouble:
		if _, err := strconv.ParseFloat(t, 64); err != nil {
			return "Not a number of type DOUBLE"
		}
	case typeBoolean:
		if !strings.EqualFold(t, "true") && !strings.EqualFold(t, "false") {
			return "Expected value to be either true or false"
		}
	case typeClass:
		if !isJavaClassName(t) {
			return "Class " + v + " could not be found."
		}
	}
	return ""
}

var javaIdentifier = regexp.MustCompile(`^[\p{L}_$][\p{L}\p{N}_$]*$`)

// isJavaClassName reports whether s is a syntactically valid binary class
// name (dotted identifiers, nested classes joined with $).
func isJavaClassName(s string) bool {
	if s == "" {
		return false
	}
	for part := range strings.SplitSeq(s, ".") {
		if !javaIdentifier.MatchString(part) {
			return false
		}
	}
	return true
}

// parseList splits a LIST value the way ConfigDef.parseType does: trimmed,
// comma separated, and an empty string is an empty list.
func parseList(v string) []string {
	t := strings.TrimSpace(v)
	if t == "" {
		return nil
	}
	parts := strings.Split(t, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

func parseNumber(v string) (float64, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	return f, err == nil && !math.IsNaN(f)
}

// formatNumber prints a range bound like Java's Number.toString for the
// integral bounds the rule tables use.
func formatNumber(f float64) string {
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// --- ConfigDef validators (org.apache.kafka.common.config.ConfigDef) ---

// atLeast is ConfigDef.Range.atLeast.
func atLeast(min float64) check {
	return func(v string) string {
		if n, ok := parseNumber(v); ok && n < min {
			return "Value must be at least " + formatNumber(min)
		}
		return ""
	}
}

// between is ConfigDef.Range.between.
func between(min, max float64) check {
	return func(v string) string {
		n, ok := parseNumber(v)
		if !ok {
			return ""
		}
		if n < min {
			return "Value must be at least " + formatNumber(min)
		}
		if n > max {
			return "Value must be no more than " + formatNumber(max)
		}
		return ""
	}
}

// validString is ConfigDef.ValidString.in: exact, case-sensitive match.
func validString(values ...string) check {
	return func(v string) string {
		if slices.Contains(values, v) {
			return ""
		}
		return "String must be one of: " + strings.Join(values, ", ")
	}
}

// caseInsensitiveValidString is ConfigDef.CaseInsensitiveValidString.in.
func caseInsensitiveValidString(values ...string) check {
	return func(v string) string {
		for _, want := range values {
			if strings.EqualFold(want, v) {
				return ""
			}
		}
		return "String must be one of (case insensitive): " + strings.Join(values, ", ")
	}
}

// nonEmptyString is ConfigDef.NonEmptyString.
func nonEmptyString(v string) string {
	if strings.TrimSpace(v) == "" {
		return "String must be non-empty"
	}
	return ""
}

// nonEmptyStringWithoutControlChars is ConfigDef.NonEmptyStringWithoutControlChars.
func nonEmptyStringWithoutControlChars(v string) string {
	if v == "" {
		return "String may not be empty"
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return "String may not contain control sequences but had the following ASCII chars: " + strconv.Itoa(int(r))
		}
	}
	return ""
}

// lowerEnumList is the Confluent Elasticsearch sink's EnumRecommender:
// case-insensitive, reported as a bracketed lower-case list.
func lowerEnumList(values ...string) check {
	lower := make([]string, len(values))
	for i, v := range values {
		lower[i] = strings.ToLower(v)
	}
	return func(v string) string {
		if slices.Contains(lower, strings.ToLower(v)) {
			return ""
		}
		return "Value must be one of: [" + strings.Join(lower, ", ") + "]"
	}
}

// lowercasedValidString is the BigQuery sink's timePartitioningType
// validator: the value is lower-cased, then ConfigDef.ValidString.in runs
// against the lower-cased choices.
func lowercasedValidString(values ...string) check {
	lower := make([]string, len(values))
	for i, v := range values {
		lower[i] = strings.ToLower(v)
	}
	inner := validString(lower...)
	return func(v string) string { return inner(strings.ToLower(v)) }
}

// knownClass restricts a CLASS setting to the classes the connector's plugin
// ships; anything else is what Class.forName would fail to find.
func knownClass(classes ...string) check {
	return func(v string) string {
		if slices.Contains(classes, strings.TrimSpace(v)) {
			return ""
		}
		return "Class " + v + " could not be found."
	}
}

// urlList is the Elasticsearch sink's UrlListValidator (java.net.URI syntax).
func urlList(v string) string {
	for _, u := range parseList(v) {
		if _, err := url.Parse(u); err != nil || strings.ContainsAny(u, " \t") {
			return "The provided url '" + u + "' is not a valid url."
		}
	}
	return ""
}

// mergeThreshold is the BigQuery sink's mergeIntervalMs and
// mergeRecordsThreshold validator.
func mergeThreshold(v string) string {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	switch {
	case err != nil:
		return ""
	case n == 0:
		return "Cannot be zero"
	case n < -1:
		return "Cannot be less than -1"
	}
	return ""
}

// javaRegex approximates Pattern.compile with Go's RE2. Constructs RE2 lacks
// but java.util.regex accepts (look-around, back-references, possessive
// quantifiers) are let through rather than rejected falsely.
func javaRegex(v string) string {
	if _, err := regexp.Compile(v); err == nil || javaOnlyRegex.MatchString(v) {
		return ""
	} else {
		return err.Error()
	}
}

var javaOnlyRegex = regexp.MustCompile(`\(\?<?[=!]|\\[1-9]|[*+?}]\+|\\[pP]\{Is`)

// --- Debezium Field validators (io.debezium.config.Field) ---

func dbzInteger(v string) string {
	if _, err := strconv.ParseInt(v, 10, 32); err != nil {
		return "An integer is expected"
	}
	return ""
}

func dbzPositiveInteger(v string) string {
	if n, err := strconv.ParseInt(v, 10, 32); err != nil || n <= 0 {
		return "A positive, non-zero integer value is expected"
	}
	return ""
}

func dbzNonNegativeInteger(v string) string {
	if n, err := strconv.ParseInt(v, 10, 32); err != nil || n < 0 {
		return "An non-negative integer is expected"
	}
	return ""
}

func dbzLong(v string) string {
	if _, err := strconv.ParseInt(v, 10, 64); err != nil {
		return "A long value is expected"
	}
	return ""
}

func dbzPositiveLong(v string) string {
	if n, err := strconv.ParseInt(v, 10, 64); err != nil || n <= 0 {
		return "A positive, non-zero long value is expected"
	}
	return ""
}

func dbzNonNegativeLong(v string) string {
	if n, err := strconv.ParseInt(v, 10, 64); err != nil || n < 0 {
		return "A non-negative long value is expected"
	}
	return ""
}

func dbzBoolean(v string) string {
	t := strings.TrimSpace(v)
	if strings.EqualFold(t, "true") || strings.EqualFold(t, "false") {
		return ""
	}
	return "Either 'true' or 'false' is expected"
}

// dbzEnum is Field.EnumRecommender.validate: trimmed, case-insensitive.
func dbzEnum(values ...string) check {
	return func(v string) string {
		t := strings.ToLower(strings.TrimSpace(v))
		if slices.Contains(values, t) {
			return ""
		}
		return "Value must be one of " + strings.Join(values, ", ")
	}
}

// dbzListOfRegex is Field.isListOfRegex.
func dbzListOfRegex(v string) string {
	for _, p := range parseList(v) {
		if problem := javaRegex(p); problem != "" {
			return "A comma-separated list of valid regular expressions is expected, but " + problem
		}
	}
	return ""
}

func dbzClassName(v string) string {
	if isJavaClassName(v) {
		return ""
	}
	return "A Java class name is expected"
}

var (
	// CommonConnectorConfig.TOPIC_NAME_PATTERN.
	dbzTopicNamePattern = regexp.MustCompile(`^[a-zA-Z0-9_.\-]+$`)
	// RelationalDatabaseConnectorConfig.HOSTNAME_PATTERN.
	dbzHostnamePattern = regexp.MustCompile(`^[a-zA-Z0-9-_.]+$`)
	// PostgresConnectorConfig.validateReplicationSlotName.
	dbzSlotNamePattern = regexp.MustCompile(`^[a-z0-9_]{1,63}$`)
)

// dbzTopicName is CommonConnectorConfig.validateTopicName (topic.prefix).
func dbzTopicName(v string) string {
	if dbzTopicNamePattern.MatchString(v) {
		return ""
	}
	return v + " has invalid format (only the underscore, hyphen, dot and alphanumeric characters are allowed)"
}

// dbzHostname is RelationalDatabaseConnectorConfig.validateHostname.
func dbzHostname(v string) string {
	if strings.TrimSpace(v) == "" || dbzHostnamePattern.MatchString(v) {
		return ""
	}
	return v + " has invalid format (only the underscore, hyphen, dot and alphanumeric characters are allowed)"
}

// dbzSlotName is PostgresConnectorConfig.validateReplicationSlotName.
func dbzSlotName(v string) string {
	if dbzSlotNamePattern.MatchString(v) {
		return ""
	}
	return "Valid replication slot name must contain only digits, lowercase characters and underscores with length <= 63"
}
