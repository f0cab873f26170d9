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
  description = "Elasticsearch URL (connection.url), without credentials."
  type        = string

  validation {
    condition     = can(regex("^https?://[^\\s@]+$", var.connection_url))
    error_message = "The connection URL must be an http(s) URL without credentials."
  }
}

variable "connection_username" {
  description = "Elasticsearch user (connection.username); empty for none."
  type        = string
  default     = ""
}

variable "connection_password" {
  description = "Kafka Connect config-provider reference to the password, such as $${env:ES_PASSWORD} (connection.password); empty for none."
  type        = string
  default     = ""

  validation {
    condition     = var.connection_password == "" || can(regex("^\\$\\{[A-Za-z0-9_.-]+:[^{}\\s]+\\}$", var.connection_password))
    error_message = "The password must be a config-provider reference such as $${env:NAME}, never a literal password."
  }
}

variable "index_prefix" {
  description = "Prefix of the index names: records of topic T go to index <prefix>-T; empty to use the topic name."
  type        = string
  default     = ""

  validation {
    condition     = var.index_prefix == "" || can(regex("^[a-z][a-z0-9-]{0,62}$", var.index_prefix))
    error_message = "The index prefix must be lower-case letters, digits and '-', starting with a letter."
  }
}

variable "key_field" {
  description = "Primary key field of the record key used as document id, so that updates replace and deletes remove documents; empty to index every change as its own document."
  type        = string
  default     = ""

  validation {
    condition     = var.key_field == "" || can(regex("^[A-Za-z_][A-Za-z0-9_]{0,127}$", var.key_field))
    error_message = "The key field must be a field name."
  }
}

variable "write_method" {
  description = "insert replaces whole documents, upsert updates only the fields present (write.method)."
  type        = string
  default     = "insert"

  validation {
    condition     = contains(["insert", "upsert"], var.write_method)
    error_message = "The write method must be insert or upsert."
  }
}

variable "drop_fields" {
  description = "Fields removed from every unwrapped row before it is written (a ReplaceField$Value transform's exclude), for policy decisions that keep a field out of this sink only."
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
  description = "Fields blanked in every unwrapped row before it is written, each to its type's empty value: \"\", 0, false (a MaskField$Value transform's fields)."
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
