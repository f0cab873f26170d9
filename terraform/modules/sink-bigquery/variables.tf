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

variable "project" {
  description = "Google Cloud project of the BigQuery dataset (project)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project))
    error_message = "The project must be a Google Cloud project id."
  }
}

variable "default_dataset" {
  description = "Dataset the tables are written to (defaultDataset)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_]+$", var.default_dataset)) && length(var.default_dataset) <= 1024
    error_message = "The dataset must be letters, digits and underscores."
  }
}

variable "key_source" {
  description = "How keyfile is read (keySource): JSON when keyfile resolves to the service account key itself, FILE when it is a path on the workers, APPLICATION_DEFAULT to use the workers' default credentials."
  type        = string
  default     = "JSON"

  validation {
    condition     = contains(["JSON", "FILE", "APPLICATION_DEFAULT"], var.key_source)
    error_message = "The key source must be JSON, FILE or APPLICATION_DEFAULT."
  }
}

variable "keyfile" {
  description = "Kafka Connect config-provider reference to the service account key, such as $${vault:gcp/bq:key} (keyfile); empty with APPLICATION_DEFAULT."
  type        = string
  default     = ""

  validation {
    condition     = var.keyfile == "" || can(regex("^\\$\\{[A-Za-z0-9_.-]+:[^{}\\s]+\\}$", var.keyfile))
    error_message = "The keyfile must be a config-provider reference such as $${vault:path:key}, never the key itself."
  }
}

variable "auto_create_tables" {
  description = "Create missing tables from the record schemas (autoCreateTables)."
  type        = bool
  default     = true
}

variable "sanitize_topics" {
  description = "Derive table names from topic names by replacing characters BigQuery refuses, such as '.' (sanitizeTopics)."
  type        = bool
  default     = true
}

variable "allow_schema_evolution" {
  description = "Let new fields be added and required fields be relaxed to nullable (allowNewBigQueryFields, allowBigQueryRequiredFieldRelaxation)."
  type        = bool
  default     = true
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
