# Admission rules a data product must pass before it is created or changed.
# Each entry names the offending part of the product in the catalog's path
# format, so the portal shows the message beside the field.
#
# Input: {"product": P, "masking": M, "environment": E} (see README.md). Output: deny, a set of
# {"path", "msg"}; the product is admitted when it is empty.
package meshplane.admission

# Classifications whose values identify or can harm a person.
personal := {"pii", "sensitive"}

# Topics publishing personal data keep it at most 30 days.
max_personal_retention_ms := ((30 * 24) * 3600) * 1000

# Actions that let a sensitive value, or part of it, through unchanged.
raw_actions := {"allow", "truncate"}

deny contains {
	"path": sprintf("spec.ports[%d].fields[%d].classification", [i, j]),
	"msg": sprintf("field %q of port %q is not classified: set none, internal, pii or sensitive", [field.name, port.name]),
} if {
	some i, port in input.product.ports
	some j, field in port.fields
	field.classification == ""
}

deny contains {
	"path": sprintf("spec.ports[%d].description", [i]),
	"msg": sprintf("port %q carries pii or sensitive fields: describe what the port holds and why", [port.name]),
} if {
	some i, port in input.product.ports
	carries_personal(port)
	trim_space(port.description) == ""
}

deny contains {
	"path": "spec.owner",
	"msg": "the product carries pii or sensitive fields: name an owner accountable for them",
} if {
	some port in input.product.ports
	carries_personal(port)
	trim_space(input.product.owner) == ""
}

deny contains {
	"path": sprintf("spec.ports[%d].retentionMs", [i]),
	"msg": sprintf("port %q publishes personal data: keep it at most 30 days (retentionMs at most %d, not -1)", [port.name, max_personal_retention_ms]),
} if {
	some i, port in input.product.ports
	too_long(port.retentionMs)
	publishes_personal(port)
}

deny contains {
	"path": sprintf("spec.sinks[%d]", [k]),
	"msg": sprintf("sink %q would receive sensitive field %q of port %q raw: drop, mask or hash it", [sink.name, field.name, port.name]),
} if {
	some k, sink in input.product.sinks
	some port in input.product.ports
	port.name in sink.ports
	some field in port.fields
	field.classification == "sensitive"
	sink_action(sink.name, port.name, field.name) in raw_actions
}

deny contains {
	"path": sprintf("spec.sinks[%d]", [k]),
	"msg": sprintf("elasticsearch sink %q would index pii field %q of port %q raw: mask, hash or drop it", [sink.name, field.name, port.name]),
} if {
	some k, sink in input.product.sinks
	sink.kind == "elasticsearch"
	some port in input.product.ports
	port.name in sink.ports
	some field in port.fields
	field.classification == "pii"
	sink_action(sink.name, port.name, field.name) == "allow"
}

deny contains {
	"path": sprintf("spec.ports[%d].fields[%d].name", [i, j]),
	"msg": sprintf("field name %q must be snake_case: lower-case letters, digits and '_', starting with a letter", [field.name]),
} if {
	some i, port in input.product.ports
	some j, field in port.fields
	not regex.match(`^[a-z][a-z0-9_]*$`, field.name)
}

deny contains {
	"path": sprintf("spec.labels[%q]", [key]),
	"msg": sprintf("label key %q must be lower case", [key]),
} if {
	some key in object.keys(input.product.labels)
	key != lower(key)
}

# Rules an environment's parameters set (input.environment.parameters). A
# catalog write targets no environment, so they judge plans alone: a product
# may exist in the catalog and be refused in an environment whose rules it
# breaks.
env_params := object.get(input, ["environment", "parameters"], {})

# maxRetentionMs caps every topic's retention; -1 (forever) exceeds any cap.
deny contains {
	"path": sprintf("spec.ports[%d].retentionMs", [i]),
	"msg": sprintf("environment %s keeps topics at most %d ms: port %q asks for %d", [input.environment.name, env_params.maxRetentionMs, port.name, port.retentionMs]),
} if {
	is_number(env_params.maxRetentionMs)
	some i, port in input.product.ports
	exceeds(port.retentionMs, env_params.maxRetentionMs)
}

exceeds(ms, _) if ms == -1

exceeds(ms, cap) if ms > cap

# allowedSinkKinds lists the sink kinds the environment may deliver to.
deny contains {
	"path": sprintf("spec.sinks[%d]", [k]),
	"msg": sprintf("environment %s allows sinks of kind %s only: sink %q is %s", [input.environment.name, concat(", ", env_params.allowedSinkKinds), sink.name, sink.kind]),
} if {
	is_array(env_params.allowedSinkKinds)
	some k, sink in input.product.sinks
	not sink.kind in env_params.allowedSinkKinds
}

# rawPII false forbids any pii or sensitive value on a topic unmasked, even
# where the masking policy would allow it.
deny contains {
	"path": sprintf("spec.ports[%d].fields[%d].classification", [i, j]),
	"msg": sprintf("environment %s allows no raw personal data: field %q of port %q is %s and published %s", [input.environment.name, field.name, port.name, field.classification, topic_action(port.name, field.name)]),
} if {
	env_params.rawPII == false
	some i, port in input.product.ports
	some j, field in port.fields
	field.classification in personal
	topic_action(port.name, field.name) in raw_actions
}

# Debezium writes the record key's columns as the database holds them: no
# masking reaches the key. A port with pii or sensitive fields therefore
# names its key (fields marked key), meshplane makes exactly those columns
# the record key, and the key holds nothing personal.
deny contains {
	"path": sprintf("spec.ports[%d].fields", [i]),
	"msg": sprintf("port %q carries pii or sensitive fields: mark the fields of its record key (key), or the table's primary key is written to Kafka unmasked", [port.name]),
} if {
	some i, port in input.product.ports
	carries_personal(port)
	not has_key(port)
}

deny contains {
	"path": sprintf("spec.ports[%d].fields[%d].key", [i, j]),
	"msg": sprintf("field %q of port %q is %s and part of the record key: key columns reach Kafka unmasked, so key the port on other fields", [field.name, port.name, field.classification]),
} if {
	some i, port in input.product.ports
	some j, field in port.fields
	field.key == true
	field.classification in personal
}

# Secret references stay within the product's domain. Connect workers
# resolve every reference with the same config providers, which can read
# every domain's secrets: a product naming another domain's secret would
# hand it to a host of its author's choosing. By default a product of
# domain "sales-eu" may reference
#
#   env:SALES_EU__<NAME>                          NAME: upper-case words joined by single '_'
#   file:/etc/meshplane/secrets/sales-eu/<path>:<key>
#   vault:secret/data/sales-eu/<path>:<key>
#
# The double underscore ends the domain's part of a variable name: with a
# single one, domain "sales" could name SALES_EU_… variables, which are
# domain "sales-eu"'s. Change secret_file_roots and secret_vault_roots to
# where the workers' providers keep each domain's secrets (roots must not
# nest), or add a secret_in_domain rule for another layout.
secret_file_roots := ["/etc/meshplane/secrets"]

secret_vault_roots := ["secret/data"]

deny contains {
	"path": ref.path,
	"msg": sprintf("secret reference %q is outside domain %q: use one of its own, %s", [ref.ref, domain, concat(", ", secret_forms(domain))]),
} if {
	domain := input.product.domain
	some ref in input.product.secretRefs
	not secret_in_domain(ref.ref, domain)
}

# The forms of reference a domain's products may use, for messages.
secret_forms(domain) := array.concat(
	[sprintf("env:%s<NAME>", [env_prefix(domain)])],
	array.concat(
		[sprintf("file:%s/%s/<path>:<key>", [root, domain]) | some root in secret_file_roots],
		[sprintf("vault:%s/%s/<path>:<key>", [root, domain]) | some root in secret_vault_roots],
	),
)

env_prefix(domain) := concat("", [upper(replace(domain, "-", "_")), "__"])

secret_in_domain(ref, domain) if {
	prefix := concat("", ["env:", env_prefix(domain)])
	startswith(ref, prefix)
	regex.match(`^[A-Z0-9]+(_[A-Z0-9]+)*$`, substring(ref, count(prefix), -1))
}

secret_in_domain(ref, domain) if {
	some root in secret_file_roots
	within(ref, sprintf("file:%s/%s/", [root, domain]))
}

secret_in_domain(ref, domain) if {
	some root in secret_vault_roots
	within(ref, sprintf("vault:%s/%s/", [root, domain]))
}

# within holds when ref names a key of a secret under dir: a relative path
# of one or more segments, never "..", then ":" and the key.
within(ref, dir) if {
	startswith(ref, dir)
	not contains(ref, "..")
	regex.match(`^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*:[A-Za-z0-9._-]+$`, substring(ref, count(dir), -1))
}

has_key(port) if {
	some field in port.fields
	field.key == true
}

carries_personal(port) if {
	some field in port.fields
	field.classification in personal
}

# A port publishes personal data when a pii or sensitive field reaches its
# topic: masking does not drop it there.
publishes_personal(port) if {
	some field in port.fields
	field.classification in personal
	topic_action(port.name, field.name) != "drop"
}

too_long(ms) if ms == -1

too_long(ms) if ms > max_personal_retention_ms

# A field without a masking decision is taken to be published raw.
topic_action(port, field) := object.get(input, ["masking", port, field, "action"], "allow")

sink_action(sink, port, field) := object.get(input, ["masking", port, field, "sinks", sink], topic_action(port, field))
