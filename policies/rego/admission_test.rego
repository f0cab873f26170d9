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
		"secretRef": "env:SALES__SHOP_DB_PASSWORD",
	},
	"secretRefs": [
		{"path": "spec.source.secretRef", "ref": "env:SALES__SHOP_DB_PASSWORD"},
		{"path": "spec.sinks[0].bigquery.credentialsRef", "ref": "file:/etc/meshplane/secrets/sales/bigquery.properties:keyfile"},
		{"path": "spec.sinks[1].elasticsearch.secretRef", "ref": "vault:secret/data/sales/search:password"},
	],
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

# A catalog write targets no environment.
no_environment := {"name": "", "parameters": {}}

# Production as an operator might configure it.
prod := {"name": "prod", "parameters": {"maxRetentionMs": 86400000, "allowedSinkKinds": ["bigquery", "s3"], "rawPII": false}}

# Each case patches product and masking (RFC 6902) and names the paths the
# admission policy must deny, no more and no fewer; "environment" is the
# environment judged (none by default).
deny_cases := {
	"retention over the environment's cap": {
		"environment": prod,
		"product": [{"op": "remove", "path": "/sinks/1"}],
		"paths": {"spec.ports[0].retentionMs"},
	},
	"a sink kind the environment does not allow": {
		"environment": prod,
		"product": [{"op": "replace", "path": "/ports/0/retentionMs", "value": 3600000}],
		"paths": {"spec.sinks[1]"},
	},
	"raw pii where the environment allows none": {
		"environment": prod,
		"product": [
			{"op": "replace", "path": "/ports/0/retentionMs", "value": 3600000},
			{"op": "remove", "path": "/sinks/1"},
		],
		"masking": [{"op": "replace", "path": "/orders/email/action", "value": "allow"}],
		"paths": {"spec.ports[0].fields[1].classification"},
	},
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
	"another domain's environment variable": {
		"product": [{"op": "replace", "path": "/secretRefs/0/ref", "value": "env:HR_DB_PASSWORD"}],
		"paths": {"spec.source.secretRef"},
	},
	"another domain's variable, double underscore": {
		"product": [{"op": "replace", "path": "/secretRefs/0/ref", "value": "env:HR__DB_PASSWORD"}],
		"paths": {"spec.source.secretRef"},
	},
	"a variable without the domain's prefix": {
		"product": [{"op": "replace", "path": "/secretRefs/0/ref", "value": "env:DB_PASSWORD"}],
		"paths": {"spec.source.secretRef"},
	},
	"the domain's prefix with one underscore": {
		"product": [{"op": "replace", "path": "/secretRefs/0/ref", "value": "env:SALES_DB_PASSWORD"}],
		"paths": {"spec.source.secretRef"},
	},
	"a variable of a longer domain (sales-eu)": {
		"product": [{"op": "replace", "path": "/secretRefs/0/ref", "value": "env:SALES__EU__DB_PASSWORD"}],
		"paths": {"spec.source.secretRef"},
	},
	"a variable of domain sales- (trailing dash)": {
		"product": [{"op": "replace", "path": "/secretRefs/0/ref", "value": "env:SALES___DB_PASSWORD"}],
		"paths": {"spec.source.secretRef"},
	},
	"the bare prefix": {
		"product": [{"op": "replace", "path": "/secretRefs/0/ref", "value": "env:SALES__"}],
		"paths": {"spec.source.secretRef"},
	},
	"a lower-case variable": {
		"product": [{"op": "replace", "path": "/secretRefs/0/ref", "value": "env:SALES__db_password"}],
		"paths": {"spec.source.secretRef"},
	},
	"another domain's file": {
		"product": [{"op": "replace", "path": "/secretRefs/1/ref", "value": "file:/etc/meshplane/secrets/hr/bigquery.properties:keyfile"}],
		"paths": {"spec.sinks[0].bigquery.credentialsRef"},
	},
	"a file climbing out of the domain": {
		"product": [{"op": "replace", "path": "/secretRefs/1/ref", "value": "file:/etc/meshplane/secrets/sales/../hr/db.properties:password"}],
		"paths": {"spec.sinks[0].bigquery.credentialsRef"},
	},
	"a file of a domain named like a prefix": {
		"product": [{"op": "replace", "path": "/secretRefs/1/ref", "value": "file:/etc/meshplane/secrets/sales-eu/db.properties:password"}],
		"paths": {"spec.sinks[0].bigquery.credentialsRef"},
	},
	"a file outside the secrets root": {
		"product": [{"op": "replace", "path": "/secretRefs/1/ref", "value": "file:/opt/sales/db.properties:password"}],
		"paths": {"spec.sinks[0].bigquery.credentialsRef"},
	},
	"the domain's directory itself": {
		"product": [{"op": "replace", "path": "/secretRefs/1/ref", "value": "file:/etc/meshplane/secrets/sales:password"}],
		"paths": {"spec.sinks[0].bigquery.credentialsRef"},
	},
	"another domain's vault path": {
		"product": [{"op": "replace", "path": "/secretRefs/2/ref", "value": "vault:secret/data/hr/search:password"}],
		"paths": {"spec.sinks[1].elasticsearch.secretRef"},
	},
	"the domain's name deeper in another domain's vault path": {
		"product": [{"op": "replace", "path": "/secretRefs/2/ref", "value": "vault:secret/data/hr/sales/search:password"}],
		"paths": {"spec.sinks[1].elasticsearch.secretRef"},
	},
	"a vault path outside the roots": {
		"product": [{"op": "replace", "path": "/secretRefs/2/ref", "value": "vault:sales/search:password"}],
		"paths": {"spec.sinks[1].elasticsearch.secretRef"},
	},
	"a provider the policy does not know": {
		"product": [{"op": "replace", "path": "/secretRefs/2/ref", "value": "aws:sales/search:password"}],
		"paths": {"spec.sinks[1].elasticsearch.secretRef"},
	},
	"every reference of another domain": {
		"product": [
			{"op": "replace", "path": "/domain", "value": "hr"},
			{"op": "replace", "path": "/ports/0/topic", "value": "hr.orders.orders.v1"},
		],
		"paths": {"spec.source.secretRef", "spec.sinks[0].bigquery.credentialsRef", "spec.sinks[1].elasticsearch.secretRef"},
	},
}

# Each case patches product and masking into something still admitted.
admit_cases := {
	"default product": {},
	"within every rule of the environment": {
		"environment": prod,
		"product": [
			{"op": "replace", "path": "/ports/0/retentionMs", "value": 3600000},
			{"op": "remove", "path": "/sinks/1"},
		],
	},
	"an environment without rules": {"environment": {"name": "dev", "parameters": {}}},
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
	"a variable of one word": {"product": [{"op": "replace", "path": "/secretRefs/0/ref", "value": "env:SALES__PASSWORD"}]},
	"a file in a subdirectory": {"product": [{"op": "replace", "path": "/secretRefs/1/ref", "value": "file:/etc/meshplane/secrets/sales/gcp/bq.properties:key"}]},
	"a hyphenated domain's own references": {"product": [
		{"op": "replace", "path": "/domain", "value": "sales-eu"},
		{"op": "replace", "path": "/secretRefs/0/ref", "value": "env:SALES_EU__SHOP_DB_PASSWORD"},
		{"op": "replace", "path": "/secretRefs/1/ref", "value": "file:/etc/meshplane/secrets/sales-eu/bigquery.properties:keyfile"},
		{"op": "replace", "path": "/secretRefs/2/ref", "value": "vault:secret/data/sales-eu/search:password"},
	]},
	"no secret references": {"product": [{"op": "replace", "path": "/secretRefs", "value": []}]},
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
		"environment": object.get(c, "environment", no_environment),
	}
	paths := {v.path | some v in admission.deny} with input as doc
	paths == c.paths
}

test_admit[note] if {
	some note, c in admit_cases
	doc := {
		"product": json.patch(product, object.get(c, "product", [])),
		"masking": json.patch(masking, object.get(c, "masking", [])),
		"environment": object.get(c, "environment", no_environment),
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

test_secret_refusal_names_the_reference_and_the_domains_forms if {
	doc := {
		"product": json.patch(product, [{"op": "replace", "path": "/secretRefs/0/ref", "value": "env:HR_DB_PASSWORD"}]),
		"masking": masking,
	}
	denied := admission.deny with input as doc
	count(denied) == 1
	every v in denied {
		contains(v.msg, `"env:HR_DB_PASSWORD"`)
		contains(v.msg, `domain "sales"`)
		contains(v.msg, "env:SALES__<NAME>")
		contains(v.msg, "file:/etc/meshplane/secrets/sales/<path>:<key>")
		contains(v.msg, "vault:secret/data/sales/<path>:<key>")
	}
}

# Governance officers change where each domain's secrets live by changing
# the roots: the rule follows.
test_secret_roots_are_the_policys_to_change if {
	doc := {
		"product": json.patch(product, [{"op": "replace", "path": "/secretRefs/1/ref", "value": "file:/run/secrets/sales/bq.properties:key"}]),
		"masking": masking,
	}
	count(admission.deny) == 1 with input as doc
	count(admission.deny) == 0 with input as doc with admission.secret_file_roots as ["/etc/meshplane/secrets", "/run/secrets"]
}
