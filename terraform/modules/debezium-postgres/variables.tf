variable "name" {
  description = "Connector name in Kafka Connect."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,249}$", var.name))
    error_message = "The connector name must be 1 to 249 letters, digits, '.', '_' or '-'."
  }
}

variable "database_hostname" {
  description = "Host name or IP address of the PostgreSQL server (database.hostname)."
  type        = string

  validation {
    condition     = can(regex("^[^\\s,]+$", var.database_hostname))
    error_message = "The database host name must not be empty or contain spaces or commas."
  }
}

variable "database_port" {
  description = "PostgreSQL port (database.port)."
  type        = number
  default     = 5432

  validation {
    condition     = var.database_port >= 1 && var.database_port <= 65535 && floor(var.database_port) == var.database_port
    error_message = "The database port must be a whole number between 1 and 65535."
  }
}

variable "database_user" {
  description = "PostgreSQL user with REPLICATION and LOGIN (database.user)."
  type        = string

  validation {
    condition     = length(var.database_user) > 0
    error_message = "The database user must not be empty."
  }
}

variable "database_password" {
  description = "Kafka Connect config-provider reference to the password, such as $${env:PG_PASSWORD}, $${file:/path:key} or $${vault:path:key} (database.password). Never the password itself."
  type        = string

  validation {
    condition     = can(regex("^\\$\\{[A-Za-z0-9_.-]+:[^{}\\s]+\\}$", var.database_password))
    error_message = "The database password must be a config-provider reference such as $${env:NAME}, never a literal password."
  }
}

variable "database_dbname" {
  description = "Database to capture changes from (database.dbname)."
  type        = string

  validation {
    condition     = length(var.database_dbname) > 0
    error_message = "The database name must not be empty."
  }
}

variable "topic_prefix" {
  description = "Logical name of the source (topic.prefix); unique per Connect cluster, it keys the connector's offsets and names the change topics before routing."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,200}$", var.topic_prefix))
    error_message = "The topic prefix must be 1 to 200 letters, digits, '.', '_' or '-'."
  }
}

variable "slot_name" {
  description = "Logical replication slot (slot.name); unique per database server."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9_]{1,63}$", var.slot_name))
    error_message = "The slot name must be 1 to 63 lower-case letters, digits or underscores."
  }
}

variable "publication_name" {
  description = "Publication the connector creates for the captured tables (publication.name)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_]{0,62}$", var.publication_name))
    error_message = "The publication name must be a plain identifier of at most 63 characters."
  }
}

variable "routes" {
  description = "Captured tables (schema.table) mapped to the output topic each table's changes are routed to."
  type        = map(string)

  validation {
    condition     = length(var.routes) > 0
    error_message = "At least one table must be routed to a topic."
  }

  validation {
    condition     = alltrue([for t in keys(var.routes) : can(regex("^[^.,\\s]+\\.[^.,\\s]+$", t))])
    error_message = "Tables must be qualified as schema.table, without spaces or commas."
  }

  validation {
    condition     = alltrue([for topic in values(var.routes) : can(regex("^[A-Za-z0-9._-]{1,249}$", topic))])
    error_message = "Route targets must be valid topic names."
  }

  validation {
    condition     = length(distinct(values(var.routes))) == length(var.routes)
    error_message = "Each table must be routed to its own topic."
  }
}

variable "snapshot_mode" {
  description = "When the connector snapshots the captured tables (snapshot.mode)."
  type        = string
  default     = "initial"

  validation {
    condition     = contains(["always", "initial", "initial_only", "no_data", "when_needed", "configuration_based", "custom"], var.snapshot_mode)
    error_message = "The snapshot mode must be always, initial, initial_only, no_data, when_needed, configuration_based or custom."
  }
}

variable "heartbeat_interval_ms" {
  description = "How often the connector sends heartbeat messages (heartbeat.interval.ms), which lets PostgreSQL release WAL while captured tables are quiet; 0 disables them."
  type        = number
  default     = 10000

  validation {
    condition     = var.heartbeat_interval_ms >= 0 && floor(var.heartbeat_interval_ms) == var.heartbeat_interval_ms
    error_message = "The heartbeat interval must be a whole number of milliseconds, 0 to disable."
  }
}

variable "heartbeat_topic_prefix" {
  description = "Prefix of the heartbeat topic (topic.heartbeat.prefix); the topic is <prefix>.<topic_prefix>."
  type        = string
  default     = "__debezium-heartbeat"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,40}$", var.heartbeat_topic_prefix))
    error_message = "The heartbeat topic prefix must be 1 to 40 letters, digits, '.', '_' or '-'."
  }
}

variable "extra_config" {
  description = "Further connector settings merged into the configuration, such as column.exclude.list, column.mask.with.<n>.chars, column.mask.hash.<algorithm>.with.salt.<salt> or column.truncate.to.<n>.chars. Keys the module sets itself are refused."
  type        = map(string)
  default     = {}
}
