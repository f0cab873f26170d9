package meshplane.provision_test

import data.meshplane.provision

product := {"domain": "sales", "name": "orders", "ports": [{"name": "orders", "fields": [
	{"name": "order_id", "classification": "none"},
	{"name": "email", "classification": "pii"},
]}]}

plain := json.patch(product, [{"op": "replace", "path": "/ports/0/fields/1/classification", "value": "internal"}])

dev := {"name": "dev", "parameters": {}}

prod := {"name": "prod", "parameters": {"protected": true}}

run := {"kind": "apply", "trigger": "promotion", "destructive": false, "create": 3, "update": 0, "replace": 0, "delete": 0}

test_dev_needs_nobody_more if {
	count(provision.approvers) == 0 with input as {"product": product, "environment": dev, "run": run}
}

test_prod_needs_the_owner if {
	r := [a.role | some a in provision.approvers] with input as {"product": plain, "environment": prod, "run": run}
	r == ["domain-owner"]
}

test_prod_pii_needs_an_officer_too if {
	got := provision.approvers with input as {"product": product, "environment": prod, "run": run}
	[a.role | some a in got] == ["domain-owner", "governance-officer"]
	contains(got[1].reason, `port "orders" carries pii data`)
}

test_prod_destroy_needs_an_officer if {
	got := provision.approvers with input as {"product": plain, "environment": prod, "run": json.patch(run, [{"op": "replace", "path": "/destructive", "value": true}])}
	[a.role | some a in got] == ["domain-owner", "governance-officer"]
	got[1].reason == "the plan destroys data"
}
