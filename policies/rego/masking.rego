# Masking decides what happens to each field's values on the way out: the
# source connector applies the decision without "sink" before values reach
# the topic, and a sink applies its own decision on top of that.
#
# Input: {"product": P} (see README.md). Output: decisions, a set of
# {"port", "field", "sink"?, "action", "params"?, "reason"?}. A field with
# no decision is published as it is when classified none or internal;
# meshplane drops pii, sensitive and unclassified fields left undecided.
#
# Products carry hundreds of fields and masking runs on every change, so
# untagged fields, the common case, are decided by classification in one
# cheap pass each, and decisions are only made where values change.
package meshplane.masking

# PII is pseudonymised with a salted SHA-256. "default" names a salt the
# connectors resolve; it is never the secret itself.
pii_hash := {"algorithm": "SHA-256", "salt": "default"}

# Masked values are replaced by this many '*' characters.
mask_chars := 8

# Ports allowed to publish PII raw, as "domain/product/port". Only a
# published version of this policy can add one, so no domain team can
# approve itself; none is by default.
raw_pii_ports := set()

raw_pii_approved(port) if sprintf("%s/%s/%s", [input.product.domain, input.product.name, port.name]) in raw_pii_ports

decisions := ((hashed | dropped) | tagged) | for_search

# PII without tags is hashed.
hashed := {{"port": port.name, "field": field.name, "action": "hash", "params": pii_hash} |
	some port in input.product.ports
	some field in port.fields
	field.classification == "pii"
	field.tags == []
}

# Sensitive fields are never published, whatever their tags say.
dropped := {{"port": port.name, "field": field.name, "action": "drop"} |
	some port in input.product.ports
	some field in port.fields
	field.classification == "sensitive"
}

# Tagged fields are decided by topic, the one place to add tag-based rules.
tagged := {object.union({"port": port.name, "field": field.name}, topic(port, field)) |
	some port in input.product.ports
	some field in port.fields
	field.tags != []
}

# Search indexes never hold raw PII, even when the topic may.
for_search := {{
	"port": port.name,
	"field": field.name,
	"sink": sink.name,
	"action": "hash",
	"params": pii_hash,
	"reason": "search indexes never hold raw pii",
} |
	some sink in input.product.sinks
	sink.kind == "elasticsearch"
	some port in input.product.ports
	port.name in sink.ports
	raw_pii_approved(port)
	some field in port.fields
	field.classification == "pii"
	"allow-raw" in field.tags
	topic(port, field).action == "allow"
}

# topic(port, field) is a tagged field's decision at the topic, first match
# wins: sensitive fields are dropped; PII tagged allow-raw stays raw when
# this policy lists its port; fields tagged mask are masked; other PII is
# hashed; fields tagged truncate-N keep their first N characters. Other
# fields get no decision.
topic(port, field) := {"action": "drop"} if {
	field.classification == "sensitive"
} else := {"action": "allow", "reason": "raw pii approved for this port by policy"} if {
	field.classification == "pii"
	"allow-raw" in field.tags
	raw_pii_approved(port)
} else := {"action": "mask", "params": {"chars": mask_chars}} if {
	"mask" in field.tags
} else := {"action": "hash", "params": pii_hash} if {
	field.classification == "pii"
} else := {"action": "truncate", "params": {"length": min(lengths)}} if {
	some t in field.tags
	startswith(t, "truncate-") # a cheap test before the comprehension
	lengths := {to_number(substring(tag, 9, -1)) |
		some tag in field.tags
		regex.match(`^truncate-[1-9][0-9]{0,3}$`, tag)
	}
	count(lengths) > 0
}
