# Who must approve a planned run in an environment. Casbin decides who may
# approve at all (provision approve, or provision@ENV approve); this policy
# adds whose approvals the run needs before it is applied, each role by a
# different person.
#
# Input: {"product": P, "environment": E, "run": R} (see README.md).
# Output: approvers, an array of {"role", "reason"} with role domain-owner
# (of the product's domain) or governance-officer. Empty: one approval by
# anyone Casbin lets approve suffices. meshplane asks a domain owner and a
# governance officer when the policy cannot answer.
package meshplane.provision

# Classifications whose values identify or can harm a person.
personal := {"pii", "sensitive"}

params := object.get(input, ["environment", "parameters"], {})

# An environment whose parameters say protected: true (production, say).
protected if params.protected == true

default approvers := []

approvers := array.concat(owners, officers) if protected

# In a protected environment the domain's owner approves every plan.
owners := [{"role": "domain-owner", "reason": sprintf("environment %s is protected", [input.environment.name])}]

officer_needed contains sprintf("port %q carries %s data", [port.name, concat(" and ", sort(classes))]) if {
	some port in input.product.ports
	classes := {f.classification | some f in port.fields; f.classification in personal}
	count(classes) > 0
}

officer_needed contains "the plan destroys data" if input.run.destructive

default officers := []

# A governance officer approves too when the product publishes personal
# data or the plan destroys something.
officers := [{"role": "governance-officer", "reason": concat("; ", sort(officer_needed))}] if count(officer_needed) > 0
