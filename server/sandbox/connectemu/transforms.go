package connectemu

import (
	"fmt"
	"slices"
	"strings"
)

// The sandbox worker's Single Message Transforms and predicates, as data.
// ConnectorConfig.enrich (Apache Kafka 3.9, connect/runtime) resolves each
// transforms.<alias>.type and predicates.<alias>.type to a class on the
// plugin path and validates that class's own ConfigDef under the alias's
// prefix; the emulator does the same against this catalog.

// smt is a Transformation or Predicate class on the worker's plugin path.
type smt struct {
	class     string
	predicate bool
	// settings is the class's ConfigDef with unprefixed names; nil when it is
	// not transcribed, and the class's settings then go unchecked.
	settings []setting
	// removed lists settings a later Kafka version no longer reads.
	removed []removal
}

const (
	kafkaTransforms = "org.apache.kafka.connect.transforms."
	kafkaPredicates = "org.apache.kafka.connect.transforms.predicates."
)

// keyValue returns the $Key and $Value classes of one of Kafka's abstract
// transformations, which share their ConfigDef.
func keyValue(name string, settings []setting, removed ...removal) []smt {
	return []smt{
		{class: kafkaTransforms + name + "$Key", settings: settings, removed: removed},
		{class: kafkaTransforms + name + "$Value", settings: settings, removed: removed},
	}
}

// replaceFieldSettings are ReplaceField's settings as Apache Kafka 4.0 defines
// them (KAFKA-17530 removed blacklist and whitelist).
var replaceFieldSettings = []setting{
	kafka("exclude", typeList).dflt("").
		about("Fields to exclude. This takes precedence over the fields to include."),
	kafka("include", typeList).dflt("").
		about("Fields to include. If specified, only these fields will be used."),
	kafka("renames", typeList).dflt("").with(renameMappings).
		about("Field rename mappings."),
}

// replaceFieldRemoved are ReplaceField's settings Apache Kafka 4.0 removed.
// Stricter than the 3.9 worker the emulator reports, which still translates
// them to exclude and include: a 4.x worker ignores them silently, so a field
// meant to be dropped would reach the sink; the sandbox reports them instead.
var replaceFieldRemoved = []removal{
	{name: "blacklist", replacement: "exclude", since: "Apache Kafka 4.0"},
	{name: "whitelist", replacement: "include", since: "Apache Kafka 4.0"},
}

// maskFieldSettings are MaskField's settings (Apache Kafka 3.9).
var maskFieldSettings = []setting{
	kafka("fields", typeList).req().high().with(nonEmptyList).
		about("Names of fields to mask."),
	kafka("replacement", typeString).low().with(nonEmptyString).
		about("Custom value replacement, that will be applied to all 'fields' values (numeric or non-empty string values only)."),
}

// smts is the catalog: Apache Kafka 3.9's connect-transforms, and the
// transformations Debezium 3.6.1.Final's connector archives ship
// (META-INF/services of debezium-connect-plugins and the connectors).
var smts = slices.Concat(
	keyValue("Cast", nil),
	[]smt{{class: kafkaTransforms + "DropHeaders"}},
	keyValue("ExtractField", nil),
	[]smt{{class: kafkaTransforms + "Filter"}},
	keyValue("Flatten", nil),
	keyValue("HeaderFrom", nil),
	keyValue("HoistField", nil),
	keyValue("InsertField", nil),
	[]smt{{class: kafkaTransforms + "InsertHeader"}},
	keyValue("MaskField", maskFieldSettings),
	[]smt{{class: kafkaTransforms + "RegexRouter"}},
	keyValue("ReplaceField", replaceFieldSettings, replaceFieldRemoved...),
	keyValue("SetSchemaMetadata", nil),
	keyValue("TimestampConverter", nil),
	[]smt{
		{class: kafkaTransforms + "TimestampRouter"},
		{class: kafkaTransforms + "ValueToKey"},

		{class: kafkaPredicates + "HasHeaderKey", predicate: true},
		{class: kafkaPredicates + "RecordIsTombstone", predicate: true, settings: []setting{}},
		{class: kafkaPredicates + "TopicNameMatches", predicate: true},

		{class: "io.debezium.transforms.ByLogicalTableRouter"},
		{class: "io.debezium.transforms.EnforceRecordSize"},
		{class: "io.debezium.transforms.ExtractChangedRecordState"},
		{class: "io.debezium.transforms.ExtractNewRecordState"},
		{class: "io.debezium.transforms.ExtractSchemaToNewRecord"},
		{class: "io.debezium.transforms.HeaderToValue"},
		{class: "io.debezium.transforms.SchemaChangeEventFilter"},
		{class: "io.debezium.transforms.TimezoneConverter"},
		{class: "io.debezium.transforms.outbox.EventRouter"},
		{class: "io.debezium.transforms.partitions.PartitionRouting"},
		{class: "io.debezium.transforms.tracing.ActivateTracingSpan"},
		{class: "io.debezium.transforms.VectorToJsonConverter"},
		{class: "io.debezium.transforms.openlineage.OpenLineage"},
		{class: "io.debezium.transforms.SwapGeometryCoordinates"},
		{class: "io.debezium.transforms.GeometryFormatTransformer"},
		{class: "io.debezium.connector.postgresql.transforms.timescaledb.TimescaleDb"},
		{class: "io.debezium.connector.postgresql.transforms.DecodeLogicalDecodingMessageContent"},
		{class: "io.debezium.connector.mysql.transforms.ReadToInsertEvent"},
		{class: "io.debezium.connector.jdbc.transforms.CollectionNameTransformation"},
		{class: "io.debezium.connector.jdbc.transforms.FieldNameTransformation"},
	},
)

// simpleName is Class.getSimpleName for a binary class name: ReplaceField$Value
// is "Value".
func simpleName(class string) string {
	return class[strings.LastIndexAny(class, ".$")+1:]
}

// lookupSMT resolves a class name as the worker's class loader does: the full
// name, or a simple name no other plugin shares (PluginUtils.computeAliases).
func lookupSMT(name string) *smt {
	var alias *smt
	n := 0
	for i := range smts {
		s := &smts[i]
		if s.class == name {
			return s
		}
		if simpleName(s.class) == name {
			alias, n = s, n+1
		}
	}
	for _, p := range plugins {
		if simpleName(p.class) == name {
			n++
		}
	}
	if n == 1 {
		return alias
	}
	return nil
}

// resolveSMT checks the class a transforms.<alias>.type or
// predicates.<alias>.type names, returning the problem a worker reports as it
// is worded (EnrichablePlugin.getConfigDefFromConfigProvidingClass), or "".
func resolveSMT(key, class string, predicate bool) (*smt, string) {
	kind := "Transformation"
	if predicate {
		kind = "Predicate"
	}
	if s := lookupSMT(class); s != nil {
		if s.predicate != predicate {
			return nil, kafkaDialect.invalidMessage(key, "class "+s.class, "Not a "+kind)
		}
		return s, ""
	}
	if p := lookupPlugin(class); p != nil {
		return nil, kafkaDialect.invalidMessage(key, "class "+p.class, "Not a "+kind)
	}
	if !predicate && lookupSMT(class+"$Key") != nil && lookupSMT(class+"$Value") != nil {
		return nil, kafkaDialect.invalidMessage(key, "class "+class, fmt.Sprintf(
			"Transformation is abstract and cannot be created. Did you mean %s$Key, %s$Value?", class, class))
	}
	return nil, kafkaDialect.invalidMessage(key, class, "Class "+class+" could not be found.")
}

// transformImplicitSettings are the settings ConnectorConfig.enrich gives
// every transformation.
var transformImplicitSettings = []setting{
	kafka("predicate", typeString).dflt("").
		about("The alias of a predicate used to determine whether to apply this transformation."),
	kafka("negate", typeBoolean).dflt("false").
		about("Whether the configured predicate should be negated."),
}

// embed evaluates an SMT's settings under prefix, as ConfigDef.embed adds
// them: named with the prefix, while validators see (and report) the
// unprefixed name.
func (v *validation) embed(s *smt, prefix, group string) {
	var settings []setting
	if !s.predicate {
		settings = append(settings, transformImplicitSettings...)
	}
	settings = append(settings, s.settings...)
	for _, st := range settings {
		st.checkName = st.name
		st.name = prefix + st.name
		st.group = group
		v.evaluate(st, false)
	}
	var out []finding
	for _, r := range s.removed {
		k := prefix + r.name
		if _, ok := v.cfg.value(k); ok {
			out = append(out, finding{keys: []string{k}, message: fmt.Sprintf(
				"'%s' was removed in %s, whose workers ignore it; use '%s%s' instead", k, r.since, prefix, r.replacement)})
		}
	}
	v.attach(out)
}

// checkPredicateAliases reports transformations whose predicate is not among
// the configured predicates. Stricter than a real worker: it accepts the
// connector and its tasks fail when they build their transformation chain.
func (v *validation) checkPredicateAliases() {
	transforms, ok1 := v.cfg.str("transforms", "")
	predicates, ok2 := v.cfg.str("predicates", "")
	if !ok1 || !ok2 {
		return
	}
	defined := parseList(predicates)
	seen := map[string]bool{}
	var out []finding
	for _, alias := range parseList(transforms) {
		k := "transforms." + alias + ".predicate"
		p, ok := v.cfg.str(k, "")
		if seen[alias] || !ok || p == "" || slices.Contains(defined, p) {
			continue
		}
		seen[alias] = true
		out = append(out, finding{keys: []string{k}, message: fmt.Sprintf(
			"Config '%s' names the predicate '%s', which 'predicates' does not list; the connector's tasks would fail to start", k, p)})
	}
	v.attach(out)
}

// --- validators of the transformations' settings ---

// nonEmptyList is org.apache.kafka.connect.transforms.util.NonEmptyListValidator.
func nonEmptyList(v string) string {
	if len(parseList(v)) == 0 {
		return "Empty list"
	}
	return ""
}

// renameMappings is ReplaceField's renames validator: colon-delimited pairs,
// split as String.split(":") splits them (trailing empty parts dropped).
func renameMappings(v string) string {
	for _, m := range parseList(v) {
		parts := strings.Split(m, ":")
		for len(parts) > 0 && parts[len(parts)-1] == "" {
			parts = parts[:len(parts)-1]
		}
		if len(parts) != 2 {
			return "Invalid rename mapping: " + m
		}
	}
	return ""
}
