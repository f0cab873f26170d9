variable "name" {
  description = "Connector name in Kafka Connect; its consumer group is connect-<name>."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,240}$", var.name))
    error_message = "The connector name must be 1 to 240 letters, digits, '.', '_' or '-'."
  }
}

variable "topics" {
  description = "Topics the sink consumes (topics)."
  type        = list(string)

  validation {
    condition     = length(var.topics) > 0 && alltrue([for t in var.topics : can(regex("^[A-Za-z0-9._-]{1,249}$", t))])
    error_message = "List at least one topic; topic names are letters, digits, '.', '_' or '-'."
  }
}

variable "dlq_topic" {
  description = "Dead-letter topic that records failing conversion, transformation or delivery go to (errors.deadletterqueue.topic.name)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,249}$", var.dlq_topic))
    error_message = "The dead-letter topic must be a valid topic name."
  }
}

variable "dlq_replication_factor" {
  description = "Replication factor Kafka Connect would use if it had to create the dead-letter topic itself (errors.deadletterqueue.topic.replication.factor)."
  type        = number
  default     = 3

  validation {
    condition     = var.dlq_replication_factor >= 1 && floor(var.dlq_replication_factor) == var.dlq_replication_factor
    error_message = "The replication factor must be a whole number of at least 1."
  }
}

variable "tasks_max" {
  description = "Maximum number of tasks (tasks.max)."
  type        = number
  default     = 1

  validation {
    condition     = var.tasks_max >= 1 && floor(var.tasks_max) == var.tasks_max
    error_message = "tasks_max must be a whole number of at least 1."
  }
}

variable "extra_config" {
  description = "Further connector settings merged into the configuration. Keys the module sets itself are refused."
  type        = map(string)
  default     = {}
}

variable "connection_url" {
  description = "JDBC URL of the target database (connection.url), without credentials."
  type        = string

  validation {
    condition     = can(regex("^jdbc:[a-z0-9:]+://[^\\s]+$", var.connection_url)) && !strcontains(var.connection_url, "@")
    error_message = "The connection URL must be a JDBC URL such as jdbc:postgresql://host:5432/db, without credentials."
  }
}

variable "connection_username" {
  description = "Database user (connection.username)."
  type        = string

  validation {
    condition     = length(var.connection_username) > 0
    error_message = "The username must not be empty."
  }
}

variable "connection_password" {
  description = "Kafka Connect config-provider reference to the password, such as $${env:DWH_PASSWORD} (connection.password). Never the password itself."
  type        = string

  validation {
    condition     = can(regex("^\\$\\{[A-Za-z0-9_.-]+:[^{}\\s]+\\}$", var.connection_password))
    error_message = "The password must be a config-provider reference such as $${env:NAME}, never a literal password."
  }
}

variable "insert_mode" {
  description = "How rows are written (insert.mode): insert, upsert or update."
  type        = string
  default     = "upsert"

  validation {
    condition     = contains(["insert", "upsert", "update"], var.insert_mode)
    error_message = "The insert mode must be insert, upsert or update."
  }
}

variable "primary_key_fields" {
  description = "Fields of the record key that form the table's primary key (primary.key.fields); empty for all key fields."
  type        = list(string)
  default     = []
}

variable "delete_enabled" {
  description = "Delete rows on delete events and tombstones (delete.enabled)."
  type        = bool
  default     = true
}

variable "schema_evolution" {
  description = "How target tables follow the record schema (schema.evolution): none or basic (create tables, add columns)."
  type        = string
  default     = "basic"

  validation {
    condition     = contains(["none", "basic"], var.schema_evolution)
    error_message = "Schema evolution must be none or basic."
  }
}

# The Debezium JDBC sink consumes the change event envelope itself, with the
# row inside its before and after structs, where Kafka's ReplaceField$Value
# and MaskField$Value (which see top-level fields only) cannot reach: a drop
# would silently do nothing and a mask would fail every record. Per-sink field
# decisions are refused here; the policy must decide such fields at the topic.

variable "drop_fields" {
  description = "Not supported by this sink: must stay empty. Drop fields at the topic (the source connector's column.exclude.list) instead."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.drop_fields) == 0
    error_message = "The JDBC sink reads the change event's before and after structs, which field transforms cannot reach: per-sink drops are not supported, drop the fields at the topic instead."
  }
}

variable "mask_fields" {
  description = "Not supported by this sink: must stay empty. Mask fields at the topic (the source connector's column.mask.* settings) instead."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.mask_fields) == 0
    error_message = "The JDBC sink reads the change event's before and after structs, which field transforms cannot reach: per-sink masks are not supported, mask the fields at the topic instead."
  }
}
