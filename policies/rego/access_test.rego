package meshplane.access_test

import data.meshplane.access

day := 86400

# port(domain, product, name, classes) is an output port with one field per
# classification in classes, as meshplane builds it: classifications holds
# its fields' classifications, sorted and distinct.
port(domain, product, name, classes) := {
	"domain": domain,
	"product": product,
	"port": name,
	"topic": sprintf("%s.%s.%s.v1", [domain, product, name]),
	"lifecycle": "active",
	"owner": sprintf("team-%s@example.com", [domain]),
	"labels": {},
	"classifications": sort({class | some class in classes}),
	"fields": [{"name": sprintf("field_%d", [i]), "classification": class, "tags": []} | some i, class in classes],
}

# request(consumer, ports) asks for ports for a service account of the
# consumer's domain.
request(consumer, ports) := {"request": {
	"consumer": {"name": "reporter", "domain": consumer, "kind": "service-account"},
	"requester": {"name": "alice", "kind": "user", "domain": ""},
	"purpose": "weekly churn report",
	"durationSeconds": 30 * day,
	"groupPrefix": sprintf("%s.reporter.", [consumer]),
	"ports": ports,
}}

plain := port("sales", "orders", "orders", ["none", "internal"])

# Each case is a request by a consumer of a domain, the policy's own
# raw_pii_ports when the case replaces them, and the decision: approvers as
# [role, domain] in order, the longest access in days, and whether it is
# granted without review.
cases := {
	"plain port of another domain": {
		"consumer": "marketing",
		"ports": [plain],
		"approvers": [["domain-owner", "sales"]],
		"days": 90,
		"auto": false,
	},
	"pii port": {
		"consumer": "marketing",
		"ports": [port("sales", "orders", "orders", ["none", "pii"])],
		"approvers": [["domain-owner", "sales"], ["governance-officer", ""]],
		"days": 30,
		"auto": false,
	},
	"sensitive port": {
		"consumer": "marketing",
		"ports": [port("sales", "orders", "orders", ["internal", "sensitive"])],
		"approvers": [["domain-owner", "sales"], ["governance-officer", ""]],
		"days": 30,
		"auto": false,
	},
	"unclassified field": {
		"consumer": "marketing",
		"ports": [port("sales", "orders", "orders", ["none", ""])],
		"approvers": [["domain-owner", "sales"], ["governance-officer", ""]],
		"days": 30,
		"auto": false,
	},
	"port approved for raw pii": {
		"consumer": "marketing",
		"ports": [plain],
		"raw_pii_ports": {"sales/orders/orders"},
		"approvers": [["domain-owner", "sales"], ["governance-officer", ""]],
		"days": 30,
		"auto": false,
	},
	"raw pii approved for another port": {
		"consumer": "marketing",
		"ports": [plain],
		"raw_pii_ports": {"sales/orders/other", "sales/other/orders"},
		"approvers": [["domain-owner", "sales"]],
		"days": 90,
		"auto": false,
	},
	"bundle of two products in two domains": {
		"consumer": "marketing",
		"ports": [plain, port("crm", "customers", "customers", ["none", "pii"])],
		"approvers": [["domain-owner", "crm"], ["domain-owner", "sales"], ["governance-officer", ""]],
		"days": 30,
		"auto": false,
	},
	"same domain, plain ports": {
		"consumer": "sales",
		"ports": [plain, port("sales", "returns", "returns", ["internal"])],
		"approvers": [["domain-owner", "sales"]],
		"days": 90,
		"auto": true,
	},
	"same domain, pii port": {
		"consumer": "sales",
		"ports": [plain, port("sales", "orders", "customers", ["none", "pii"])],
		"approvers": [["domain-owner", "sales"], ["governance-officer", ""]],
		"days": 30,
		"auto": false,
	},
	"same domain, unclassified field": {
		"consumer": "sales",
		"ports": [port("sales", "orders", "orders", [""])],
		"approvers": [["domain-owner", "sales"], ["governance-officer", ""]],
		"days": 30,
		"auto": false,
	},
	"same domain, port approved for raw pii": {
		"consumer": "sales",
		"ports": [plain],
		"raw_pii_ports": {"sales/orders/orders"},
		"approvers": [["domain-owner", "sales"], ["governance-officer", ""]],
		"days": 30,
		"auto": false,
	},
	"plain ports, one in another domain": {
		"consumer": "sales",
		"ports": [plain, port("crm", "customers", "regions", ["none"])],
		"approvers": [["domain-owner", "crm"], ["domain-owner", "sales"]],
		"days": 90,
		"auto": false,
	},
}

test_decision[note] if {
	some note, c in cases
	d := access.decision with input as request(c.consumer, c.ports)
		with data.meshplane.masking.raw_pii_ports as object.get(c, "raw_pii_ports", set())
	[[a.role, object.get(a, "domain", "")] | some a in d.approvers] == c.approvers
	d.maxDurationSeconds == c.days * day
	d.autoApprove == c.auto
}

test_one_owner_per_domain_names_its_ports if {
	ports := [plain, port("sales", "orders", "lines", ["none"]), port("crm", "customers", "regions", ["none"])]
	d := access.decision with input as request("marketing", ports)
	d.approvers == [
		{"role": "domain-owner", "domain": "crm", "reason": "owner of crm/customers/regions"},
		{"role": "domain-owner", "domain": "sales", "reason": "owner of sales/orders/lines, sales/orders/orders"},
	]
}

test_officer_is_told_why if {
	ports := [
		port("sales", "orders", "orders", ["none", "pii", "sensitive"]),
		port("crm", "customers", "customers", [""]),
	]
	d := access.decision with input as request("marketing", ports)
	some officer in d.approvers
	officer.role == "governance-officer"
	not officer.domain
	officer.reason == "crm/customers/customers has unclassified fields; sales/orders/orders carries pii; sales/orders/orders carries sensitive"
}

test_protected_environment_reviews_own_domain if {
	d := access.decision with input as object.union(request("sales", [plain]), {"environment": {"name": "prod", "parameters": {"protected": true}}})
	not d.autoApprove
	[[a.role, a.domain] | some a in d.approvers] == [["domain-owner", "sales"]]
	some reason in d.reasons
	contains(reason, "environment prod is protected")
}

test_unprotected_environment_grants_own_domain if {
	d := access.decision with input as object.union(request("sales", [plain]), {"environment": {"name": "dev", "parameters": {"protected": false}}})
	d.autoApprove
}

test_auto_approval_is_explained if {
	d := access.decision with input as request("sales", [plain])
	d.autoApprove
	some reason in d.reasons
	contains(reason, "granted without review")
}

test_every_decision_is_complete[note] if {
	some note, c in cases
	d := access.decision with input as request(c.consumer, c.ports)
		with data.meshplane.masking.raw_pii_ports as object.get(c, "raw_pii_ports", set())
	object.keys(d) == {"approvers", "maxDurationSeconds", "autoApprove", "reasons"}
	count(d.approvers) > 0
	every a in d.approvers {
		a.reason != ""
	}
}
