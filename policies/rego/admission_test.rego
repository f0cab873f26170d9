package meshplane.admission_test

import data.meshplane.admission

# A product every rule admits: one port with a plain, a pii and a sensitive
# field, delivered to a warehouse and a search index.
product := {
	"domain": "sales",
	"name": "orders",
	"lifecycle": "draft",
	"description": "Orders placed in the web shop",
	"owner": "team-sales@example.com",
	"labels": {"tier": "gold"},
	"source": {
		"kind": "postgres",
		"host": "db.internal",
		"port": 5432,
		"database": "shop",
		"tables": ["public.orders"],
		"username": "cdc",
		"secretRef": "env:SHOP_DB_PASSWORD",
	},
	"ports": [{
		"name": "orders",
		"description": "One event per order",
		"topic": "sales.orders.orders.v1",
		"majorVersion": 1,
		"partitions": 3,
		"retentionMs": 604800000,
		"cleanupPolicy": "delete",
		"table": "public.orders",
		"fields": [
			{"name": "order_id", "type": "string", "nullable": false, "description": "", "classification": "none", "tags": [], "key": true},
			{"name": "email", "type": "string", "nullable": false, "description": "", "classification": "pii", "tags": []},
			{"name": "card_number", "type": "string", "nullable": true, "description": "", "classification": "sensitive", "tags": []},
		],
	}],
	"sinks": [
		{"name": "warehouse", "kind": "bigquery", "ports": ["orders"]},
		{"name": "search", "kind": "elasticsearch", "ports": ["orders"]},
	],
}

# The default masking decisions for product.
masking := {"orders": {
	"order_id": {"action": "allow", "sinks": {}},
	"email": {"action": "hash", "sinks": {}},
	"card_number": {"action": "drop", "sinks": {}},
}}

# Each case patches product and masking (RFC 6902) and names the paths the
# admission policy must deny, no more and no fewer.
deny_cases := {
	"unclassified field": {
		"product": [{"op": "replace", "path": "/ports/0/fields/0/classification", "value": ""}],
		"paths": {"spec.ports[0].fields[0].classification"},
	},
	"personal port without description": {
		"product": [{"op": "replace", "path": "/ports/0/description", "value": "  "}],
		"paths": {"spec.ports[0].description"},
	},
	"personal product without owner": {
		"product": [{"op": "replace", "path": "/owner", "value": ""}],
		"paths": {"spec.owner"},
	},
	"pii kept 31 days": {
		"product": [{"op": "replace", "path": "/ports/0/retentionMs", "value": 2678400000}],
		"paths": {"spec.ports[0].retentionMs"},
	},
	"pii kept forever": {
		"product": [{"op": "replace", "path": "/ports/0/retentionMs", "value": -1}],
		"paths": {"spec.ports[0].retentionMs"},
	},
	"sensitive field published raw": {
		"masking": [{"op": "replace", "path": "/orders/card_number/action", "value": "allow"}],
		"paths": {"spec.sinks[0]", "spec.sinks[1]"},
	},
	"sensitive field truncated": {
		"masking": [{"op": "replace", "path": "/orders/card_number/action", "value": "truncate"}],
		"paths": {"spec.sinks[0]", "spec.sinks[1]"},
	},
	"pii indexed raw": {
		"masking": [{"op": "replace", "path": "/orders/email/action", "value": "allow"}],
		"paths": {"spec.sinks[1]"},
	},
	"pii without a masking decision": {
		"masking": [{"op": "remove", "path": "/orders/email"}],
		"paths": {"spec.sinks[1]"},
	},
	"field name not snake_case": {
		"product": [{"op": "replace", "path": "/ports/0/fields/0/name", "value": "orderId"}],
		"paths": {"spec.ports[0].fields[0].name"},
	},
	"personal port without a key": {
		"product": [{"op": "replace", "path": "/ports/0/fields/0/key", "value": false}],
		"paths": {"spec.ports[0].fields"},
	},
	"pii in the key": {
		"product": [{"op": "add", "path": "/ports/0/fields/1/key", "value": true}],
		"paths": {"spec.ports[0].fields[1].key"},
	},
	"sensitive field as the only key": {
		"product": [
			{"op": "replace", "path": "/ports/0/fields/0/key", "value": false},
			{"op": "add", "path": "/ports/0/fields/2/key", "value": true},
		],
		"paths": {"spec.ports[0].fields[2].key"},
	},
	"label key not lower case": {
		"product": [{"op": "add", "path": "/labels/Tier", "value": "gold"}],
		"paths": {`spec.labels["Tier"]`},
	},
}

# Each case patches product and masking into something still admitted.
admit_cases := {
	"default product": {},
	"pii kept exactly 30 days": {"product": [{"op": "replace", "path": "/ports/0/retentionMs", "value": 2592000000}]},
	"no personal data kept forever": {"product": [
		{"op": "replace", "path": "/ports/0/retentionMs", "value": -1},
		{"op": "replace", "path": "/ports/0/fields/1/classification", "value": "internal"},
		{"op": "replace", "path": "/ports/0/fields/2/classification", "value": "internal"},
	]},
	"personal data dropped, rest kept forever": {
		"product": [{"op": "replace", "path": "/ports/0/retentionMs", "value": -1}],
		"masking": [{"op": "replace", "path": "/orders/email/action", "value": "drop"}],
	},
	"raw pii hashed by the search sink": {"masking": [
		{"op": "replace", "path": "/orders/email/action", "value": "allow"},
		{"op": "add", "path": "/orders/email/sinks/search", "value": "hash"},
	]},
	"sensitive field masked": {"masking": [{"op": "replace", "path": "/orders/card_number/action", "value": "mask"}]},
	"no key needed without personal data": {"product": [
		{"op": "replace", "path": "/ports/0/fields/0/key", "value": false},
		{"op": "replace", "path": "/ports/0/fields/1/classification", "value": "internal"},
		{"op": "replace", "path": "/ports/0/fields/2/classification", "value": "none"},
	]},
	"no description needed without personal data": {"product": [
		{"op": "replace", "path": "/ports/0/description", "value": ""},
		{"op": "replace", "path": "/ports/0/fields/1/classification", "value": "none"},
		{"op": "replace", "path": "/ports/0/fields/2/classification", "value": "internal"},
	]},
	"sink not delivering the port": {
		"product": [{"op": "replace", "path": "/sinks/1/ports", "value": []}],
		"masking": [{"op": "replace", "path": "/orders/email/action", "value": "allow"}],
	},
}

test_deny[note] if {
	some note, c in deny_cases
	doc := {
		"product": json.patch(product, object.get(c, "product", [])),
		"masking": json.patch(masking, object.get(c, "masking", [])),
	}
	paths := {v.path | some v in admission.deny} with input as doc
	paths == c.paths
}

test_admit[note] if {
	some note, c in admit_cases
	doc := {
		"product": json.patch(product, object.get(c, "product", [])),
		"masking": json.patch(masking, object.get(c, "masking", [])),
	}
	count(admission.deny) == 0 with input as doc
}

test_every_entry_names_the_field if {
	doc := {
		"product": json.patch(product, [{"op": "replace", "path": "/ports/0/fields/0/classification", "value": ""}]),
		"masking": masking,
	}
	denied := admission.deny with input as doc
	count(denied) == 1
	every v in denied {
		contains(v.msg, `"order_id"`)
	}
}
