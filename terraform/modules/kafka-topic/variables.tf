variable "name" {
  description = "Topic name. Kafka allows letters, digits, '.', '_' and '-', at most 249 characters."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,249}$", var.name)) && var.name != "." && var.name != ".."
    error_message = "The topic name must be 1 to 249 letters, digits, '.', '_' or '-', and not '.' or '..'."
  }
}

variable "partitions" {
  description = "Number of partitions. Kafka can add partitions but never remove them."
  type        = number

  validation {
    condition     = var.partitions >= 1 && floor(var.partitions) == var.partitions
    error_message = "Partitions must be a whole number of at least 1."
  }
}

variable "replication_factor" {
  description = "Number of replicas of each partition."
  type        = number

  validation {
    condition     = var.replication_factor >= 1 && floor(var.replication_factor) == var.replication_factor
    error_message = "The replication factor must be a whole number of at least 1."
  }
}

variable "retention_ms" {
  description = "How long records are kept (retention.ms), in milliseconds; -1 keeps them forever."
  type        = number
  default     = 604800000

  validation {
    condition     = (var.retention_ms == -1 || var.retention_ms >= 0) && floor(var.retention_ms) == var.retention_ms
    error_message = "Retention must be -1 (forever) or a whole number of milliseconds."
  }
}

variable "cleanup_policy" {
  description = "The topic's cleanup.policy: delete, compact or compact,delete."
  type        = string
  default     = "delete"

  validation {
    condition     = contains(["delete", "compact", "compact,delete"], var.cleanup_policy)
    error_message = "The cleanup policy must be delete, compact or compact,delete."
  }
}

variable "extra_config" {
  description = "Further topic-level configuration (for example min.insync.replicas), merged with retention.ms and cleanup.policy."
  type        = map(string)
  default     = {}

  validation {
    condition     = !contains(keys(var.extra_config), "retention.ms") && !contains(keys(var.extra_config), "cleanup.policy")
    error_message = "Set retention.ms and cleanup.policy through retention_ms and cleanup_policy, not extra_config."
  }
}
