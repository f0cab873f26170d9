variable "principal" {
  description = "The principal the ACLs apply to, for example User:sales.orders.source."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z]+:[^\\s]+$", var.principal))
    error_message = "The principal must have the form Type:name (for example User:sales.orders.source) without spaces."
  }
}

variable "resource_type" {
  description = "Kafka resource type: Topic, Group, Cluster or TransactionalID."
  type        = string

  validation {
    condition     = contains(["Topic", "Group", "Cluster", "TransactionalID"], var.resource_type)
    error_message = "The resource type must be Topic, Group, Cluster or TransactionalID."
  }
}

variable "resource_name" {
  description = "Name of the topic, group or transactional id (kafka-cluster for Cluster)."
  type        = string

  validation {
    condition     = length(var.resource_name) > 0
    error_message = "The resource name must not be empty."
  }
}

variable "pattern_type" {
  description = "How resource_name matches: Literal (exactly) or Prefixed."
  type        = string
  default     = "Literal"

  validation {
    condition     = contains(["Literal", "Prefixed"], var.pattern_type)
    error_message = "The pattern type must be Literal or Prefixed."
  }
}

variable "operations" {
  description = "Operations to allow or deny, one ACL each: Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite or All."
  type        = list(string)

  validation {
    condition = length(var.operations) > 0 && alltrue([
      for op in var.operations : contains(["All", "Read", "Write", "Create", "Delete", "Alter", "Describe", "ClusterAction", "DescribeConfigs", "AlterConfigs", "IdempotentWrite"], op)
    ])
    error_message = "Operations must be a non-empty list of Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite or All."
  }

  validation {
    condition     = length(distinct(var.operations)) == length(var.operations)
    error_message = "Operations must not repeat."
  }
}

variable "host" {
  description = "Host the principal may connect from; * for any."
  type        = string
  default     = "*"
}

variable "permission_type" {
  description = "Allow or Deny."
  type        = string
  default     = "Allow"

  validation {
    condition     = contains(["Allow", "Deny"], var.permission_type)
    error_message = "The permission type must be Allow or Deny."
  }
}
