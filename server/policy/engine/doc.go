// Package engine evaluates meshplane's Rego policies with the embedded OPA
// SDK: whether a data product is admitted, what happens to each of its
// fields' values on the way to topics and sinks, and who approves a
// consumer's request to read its ports.
//
// A policy set (Files) is compiled once into a Set against restricted
// capabilities (see Capabilities) in strict mode, with its three queries
// prepared; an Engine holds the Set in force and swaps it atomically. Every
// evaluation runs with a deadline and fails closed.
//
// # Masking
//
// Query data.meshplane.masking.decisions with input {"product": P}. The
// result is a set of objects
//
//	{"port": string, "field": string, "sink": string (optional),
//	 "action": "allow" | "hash" | "mask" | "truncate" | "drop",
//	 "params": {"algorithm", "salt", "chars", "length"} (as the action needs),
//	 "reason": string (optional)}
//
// hash needs params.algorithm (SHA-256, SHA-384 or SHA-512) and params.salt
// (a salt's name, ^[A-Za-z0-9_-]{1,64}$); mask needs params.chars (1..255);
// truncate needs params.length (1..65535); allow and drop take none. A
// decision without "sink" applies at the topic; one with a sink applies on
// top of it, so only sink decisions stricter than the topic's are kept.
// Two decisions for the same place resolve to the stricter: drop > mask >
// hash > truncate > allow. A field without a decision is published as it
// is when classified none or internal and dropped otherwise (pii,
// sensitive, unclassified); a field given an invalid decision is dropped.
//
// # Admission
//
// Query data.meshplane.admission.deny with input {"product": P, "masking": M}.
// The result is a set of {"path": string, "msg": string} (or plain
// strings, which have no path); the product is admitted when it is empty.
// Paths use the catalog's format: spec.owner, spec.ports[0].retentionMs,
// spec.ports[0].fields[1].classification, spec.sinks[1].
//
// # Access
//
// Query data.meshplane.access.decision with input {"request": R}. The
// result is an object
//
//	{"approvers": [{"role": "domain-owner" | "governance-officer",
//	                "domain": string (domain owners only),
//	                "reason": string (optional)}],
//	 "maxDurationSeconds": integer, 1..31536000 (one year),
//	 "autoApprove": boolean,
//	 "reasons": [string] (optional)}
//
// A domain owner's domain must be the domain of one of the requested
// ports; a governance officer has none. approvers may also be a set; they
// are kept once each, sorted by role and domain, and may be empty only when
// autoApprove is true (they are informed, not asked, when it is). Any other
// key, type or value makes the whole decision unusable: meshplane then asks
// the owner of every requested domain and a governance officer, for at most
// FailClosedAccessDuration, never automatically, and says why in
// AccessDecision.Error.
//
// # Input documents
//
// P, the product:
//
//	{"domain", "name", "lifecycle", "description", "owner",
//	 "labels": {key: value},
//	 "source": {"kind", "host", "port", "database", "tables": [..], "username", "secretRef"},
//	 "ports": [{"name", "description", "topic", "majorVersion", "partitions",
//	            "retentionMs" (-1: forever), "cleanupPolicy", "table",
//	            "fields": [{"name", "type", "nullable", "description",
//	                        "classification" ("" | none | internal | pii | sensitive),
//	                        "tags": [..]}]}],
//	 "sinks": [{"name", "kind" (bigquery | s3 | jdbc | elasticsearch),
//	            "ports": [the ports it delivers: every port when the sink lists none]}],
//	 "secretRefs": [{"path": the field holding it, e.g. "spec.sinks[1].jdbc.secretRef",
//	                 "ref": "env:…" | "file:…" | "vault:…"}]}
//
// secretRefs lists every non-empty secret reference of the source and the
// sinks, in spec order (spec.Product.SecretRefs).
//
// M, the masking decisions admission is judged with:
//
//	{port: {field: {"action": topic action (absent without one),
//	                "sinks": {sink: the stricter of the sink's and the topic's action}}}}
//
// R, an access request:
//
//	{"consumer": {"name", "kind", "domain"}, "requester": {"name", "kind", "domain"},
//	 "purpose", "durationSeconds", "groupPrefix",
//	 "ports": [{"domain", "product", "port", "topic", "lifecycle", "owner",
//	            "labels": {key: value},
//	            "classifications": [the fields' classifications, sorted and distinct],
//	            "fields": [{"name", "classification", "tags": [..]}]}]}
//
// policies/rego/README.md documents the same contract for policy authors.
package engine
