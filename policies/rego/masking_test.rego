package meshplane.masking_test

import data.meshplane.masking

pii_hash := {"algorithm": "SHA-256", "salt": "default"}

# The policy's own list of ports approved for raw PII, for tests that
# replace it as a published version would.
approved := {"d/p/orders"}

# Each case is one field, the product's labels and the decision the field
# must get at the topic.
topic_cases := {
	"pii is hashed": {"classification": "pii", "want": {"action": "hash", "params": pii_hash}},
	"sensitive is dropped": {"classification": "sensitive", "want": {"action": "drop"}},
	"sensitive is dropped even tagged mask": {"classification": "sensitive", "tags": ["mask"], "want": {"action": "drop"}},
	"pii tagged mask": {"classification": "pii", "tags": ["mask"], "want": {"action": "mask", "params": {"chars": 8}}},
	"plain field tagged mask": {"classification": "none", "tags": ["mask"], "want": {"action": "mask", "params": {"chars": 8}}},
	"pii tagged allow-raw without approval": {"classification": "pii", "tags": ["allow-raw"], "want": {"action": "hash", "params": pii_hash}},
	"pii tagged allow-raw, approved": {"classification": "pii", "tags": ["allow-raw"], "raw_pii_ports": approved, "want": {"action": "allow"}},
	"approval names the exact port": {
		"classification": "pii", "tags": ["allow-raw"],
		"raw_pii_ports": {"d/p/other", "d/q/orders"},
		"want": {"action": "hash", "params": pii_hash},
	},
	"a product label cannot approve raw pii": {
		"classification": "pii", "tags": ["allow-raw"],
		"labels": {"meshplane.io/raw-pii-approved": "true"},
		"want": {"action": "hash", "params": pii_hash},
	},
	"sensitive tagged allow-raw, approved": {"classification": "sensitive", "tags": ["allow-raw"], "raw_pii_ports": approved, "want": {"action": "drop"}},
	"plain field tagged truncate": {"classification": "none", "tags": ["truncate-4"], "want": {"action": "truncate", "params": {"length": 4}}},
	"shortest truncation wins": {"classification": "internal", "tags": ["truncate-12", "truncate-3"], "want": {"action": "truncate", "params": {"length": 3}}},
	"pii is hashed, not truncated": {"classification": "pii", "tags": ["truncate-4"], "want": {"action": "hash", "params": pii_hash}},
	"pii with other tags is hashed": {"classification": "pii", "tags": ["searchable"], "want": {"action": "hash", "params": pii_hash}},
}

# Each case is a field the policy must make no decision for.
undecided_cases := {
	"plain field": {"classification": "none"},
	"internal field": {"classification": "internal"},
	"unclassified field": {"classification": ""},
	"plain field with other tags": {"classification": "none", "tags": ["searchable"]},
	"malformed truncate tags are ignored": {"classification": "none", "tags": ["truncate-0", "truncate-", "truncate-12345"]},
}

product(field, labels, sinks) := {
	"domain": "d",
	"name": "p",
	"labels": labels,
	"ports": [{"name": "orders", "fields": [field]}],
	"sinks": sinks,
}

test_topic_decision[note] if {
	some note, c in topic_cases
	decisions := masking.decisions with input as topic_input(c)
		with data.meshplane.masking.raw_pii_ports as object.get(c, "raw_pii_ports", set())
	count(decisions) == 1
	some d in decisions
	object.remove(d, ["reason"]) == object.union({"port": "orders", "field": "f"}, c.want)
}

test_no_topic_decision[note] if {
	some note, c in undecided_cases
	count(masking.decisions) == 0 with input as topic_input(c)
}

topic_input(c) := {"product": product(
	{"name": "f", "classification": c.classification, "tags": object.get(c, "tags", [])},
	object.get(c, "labels", {}),
	[],
)}

search := {"name": "search", "kind": "elasticsearch", "ports": ["orders"]}

warehouse := {"name": "warehouse", "kind": "bigquery", "ports": ["orders"]}

test_raw_pii_is_hashed_for_search_indexes if {
	field := {"name": "email", "classification": "pii", "tags": ["allow-raw"]}
	doc := {"product": product(field, {}, [warehouse, search])}
	decisions := masking.decisions with input as doc with data.meshplane.masking.raw_pii_ports as approved
	sink_decisions := {[d.sink, d.action, d.params] |
		some d in decisions
		d.sink
	}
	sink_decisions == {["search", "hash", pii_hash]}
}

test_hashed_pii_needs_no_sink_decision if {
	field := {"name": "email", "classification": "pii", "tags": []}
	doc := {"product": product(field, {}, [warehouse, search])}
	decisions := masking.decisions with input as doc
	every d in decisions {
		not d.sink
	}
}

test_search_sink_without_the_port if {
	field := {"name": "email", "classification": "pii", "tags": ["allow-raw"]}
	doc := {"product": product(field, {}, [object.union(search, {"ports": ["other"]})])}
	decisions := masking.decisions with input as doc with data.meshplane.masking.raw_pii_ports as approved
	every d in decisions {
		not d.sink
	}
}

test_decisions_name_their_port if {
	doc := {"product": {
		"labels": {},
		"ports": [
			{"name": "a", "fields": [{"name": "x", "classification": "none", "tags": []}, {"name": "y", "classification": "pii", "tags": []}]},
			{"name": "b", "fields": [{"name": "x", "classification": "sensitive", "tags": []}]},
		],
		"sinks": [],
	}}
	decisions := masking.decisions with input as doc
	got := {[d.port, d.field, d.action] | some d in decisions}
	got == {["a", "y", "hash"], ["b", "x", "drop"]}
}
