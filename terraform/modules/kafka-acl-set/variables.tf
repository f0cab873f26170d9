variable "acls" {
  description = "ACLs to allow from any host, keyed by principal|resource_type|pattern_type|resource_name|operation, so that an ACL's key changes only with the ACL."
  type = map(object({
    principal     = string
    resource_type = string
    resource_name = string
    pattern_type  = string
    operation     = string
  }))

  validation {
    condition = alltrue([
      for key, acl in var.acls : key == join("|", [acl.principal, acl.resource_type, acl.pattern_type, acl.resource_name, acl.operation])
    ])
    error_message = "Each ACL's key must be principal|resource_type|pattern_type|resource_name|operation."
  }

  validation {
    condition     = alltrue([for acl in var.acls : can(regex("^[A-Za-z]+:[^\\s]+$", acl.principal))])
    error_message = "Principals must have the form Type:name (for example User:marketing.reporter) without spaces."
  }

  validation {
    condition     = alltrue([for acl in var.acls : contains(["Topic", "Group", "Cluster", "TransactionalID"], acl.resource_type)])
    error_message = "Resource types must be Topic, Group, Cluster or TransactionalID."
  }

  validation {
    condition     = alltrue([for acl in var.acls : length(acl.resource_name) > 0])
    error_message = "Resource names must not be empty."
  }

  validation {
    condition     = alltrue([for acl in var.acls : contains(["Literal", "Prefixed"], acl.pattern_type)])
    error_message = "Pattern types must be Literal or Prefixed."
  }

  validation {
    condition = alltrue([
      for acl in var.acls : contains(["All", "Read", "Write", "Create", "Delete", "Alter", "Describe", "ClusterAction", "DescribeConfigs", "AlterConfigs", "IdempotentWrite"], acl.operation)
    ])
    error_message = "Operations must be Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite or All."
  }
}
