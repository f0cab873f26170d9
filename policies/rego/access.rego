# Access decides a consumer's request to read Kafka output ports: who must
# approve it, how long access may last, and whether meshplane grants it
# without waiting for anyone.
#
# Input: {"request": R, "environment": E} (see README.md): E names the
# environment the consumer would read in and its parameters. Output:
# decision, an object
# {"approvers", "maxDurationSeconds", "autoApprove", "reasons"}. meshplane
# grants no access for a request whose decision is undefined or malformed:
# it asks every owner and a governance officer instead, for at most 7 days.
package meshplane.access

import data.meshplane.masking

# Classifications whose values identify or can harm a person.
personal := {"pii", "sensitive"}

day := 24 * 3600

# Access lasts at most 90 days, and at most 30 days when a governance
# officer must approve it: personal data is looked at again sooner.
max_days := 90

max_personal_days := 30

decision := {
	"approvers": array.concat(owners, officers),
	"maxDurationSeconds": max_duration_seconds,
	"autoApprove": auto_approve,
	"reasons": sort(reasons),
}

# A port is named "domain/product/port", as masking's raw_pii_ports names it.
path(port) := sprintf("%s/%s/%s", [port.domain, port.product, port.port])

domains := {port.domain | some port in input.request.ports}

# Every port needs the owner of its product's domain: one approver per
# domain, naming the ports of that domain the request asks for.
owners := [{
	"role": "domain-owner",
	"domain": domain,
	"reason": sprintf("owner of %s", [concat(", ", sort(paths))]),
} |
	some domain in domains
	paths := {path(port) |
		some port in input.request.ports
		port.domain == domain
	}
]

# Why a governance officer must approve, one entry per port and reason.
#
# A port carrying pii or sensitive fields needs one.
officer_needed contains sprintf("%s carries %s", [path(port), class]) if {
	some port in input.request.ports
	some class in port.classifications
	class in personal
}

# So does a port with an unclassified field: it may hold either.
officer_needed contains sprintf("%s has unclassified fields", [path(port)]) if {
	some port in input.request.ports
	"" in port.classifications
}

# So does a port the masking policy lets publish pii raw.
officer_needed contains sprintf("%s may publish pii raw (masking raw_pii_ports)", [path(port)]) if {
	some port in input.request.ports
	path(port) in masking.raw_pii_ports
}

default officers := []

officers := [{
	"role": "governance-officer",
	"reason": concat("; ", sort(officer_needed)),
}] if {
	count(officer_needed) > 0
}

max_duration_seconds := max_personal_days * day if {
	count(officer_needed) > 0
} else := max_days * day

# A consumer reads the plain and internal data of its own domain without
# waiting: its owners are still listed, and told. Not in a protected
# environment (parameters.protected), whose data its owners review every
# access to.
default auto_approve := false

auto_approve if {
	own_plain_data
	not protected
}

own_plain_data if {
	count(officer_needed) == 0
	every port in input.request.ports {
		port.domain == input.request.consumer.domain
	}
}

protected if input.environment.parameters.protected == true

reasons contains sprintf("every port belongs to %s, the consumer's domain, and holds no personal or unclassified data: granted without review", [input.request.consumer.domain]) if {
	auto_approve
}

reasons contains sprintf("environment %s is protected: its owners review every access, their own domain's too", [input.environment.name]) if {
	own_plain_data
	protected
}

reasons contains sprintf("a governance officer must approve, so access lasts at most %d days", [max_personal_days]) if {
	count(officer_needed) > 0
}

reasons contains sprintf("%s is not the consumer's domain (%s): its owner must approve", [domain, input.request.consumer.domain]) if {
	some domain in domains
	domain != input.request.consumer.domain
}
