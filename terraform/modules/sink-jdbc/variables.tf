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
  description = "Delete rows on deletes, which reach the sink as tombstones after unwrap (delete.enabled)."
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

variable "drop_fields" {
  description = "Fields removed from every unwrapped row before it is written (a ReplaceField$Value transform's exclude), for policy decisions that keep a field out of this sink only. Key fields still reach the table from the record key."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for f in var.drop_fields : can(regex("^[A-Za-z_][A-Za-z0-9_]*$", f))])
    error_message = "Fields to drop must be field names: a letter or '_', then letters, digits or '_'."
  }

  validation {
    condition     = length(distinct(var.drop_fields)) == length(var.drop_fields)
    error_message = "Fields to drop must not be listed twice."
  }
}

variable "mask_fields" {
  description = "Fields blanked in every unwrapped row before it is written, each to its type's empty value: \"\", 0, false (a MaskField$Value transform's fields). Key fields still reach the table from the record key."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for f in var.mask_fields : can(regex("^[A-Za-z_][A-Za-z0-9_]*$", f))])
    error_message = "Fields to mask must be field names: a letter or '_', then letters, digits or '_'."
  }

  validation {
    condition     = length(distinct(var.mask_fields)) == length(var.mask_fields)
    error_message = "Fields to mask must not be listed twice."
  }
}
