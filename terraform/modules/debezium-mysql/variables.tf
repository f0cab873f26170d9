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
  description = "MySQL port (database.port)."
  type        = number
  default     = 3306

  validation {
    condition     = var.database_port >= 1 && var.database_port <= 65535 && floor(var.database_port) == var.database_port
    error_message = "The database port must be a whole number between 1 and 65535."
  }
}

variable "database_user" {
  description = "MySQL user with REPLICATION SLAVE, REPLICATION CLIENT, SELECT and RELOAD (database.user)."
  type        = string

  validation {
    condition     = length(var.database_user) > 0
    error_message = "The database user must not be empty."
  }
}

variable "database_password" {
  description = "Kafka Connect config-provider reference to the password, such as $${env:MYSQL_PASSWORD}, $${file:/path:key} or $${vault:path:key} (database.password). Never the password itself."
  type        = string

  validation {
    condition     = can(regex("^\\$\\{[A-Za-z0-9_.-]+:[^{}\\s]+\\}$", var.database_password))
    error_message = "The database password must be a config-provider reference such as $${env:NAME}, never a literal password."
  }
}

variable "database_server_id" {
  description = "Numeric id the connector uses to join the MySQL cluster as a replica (database.server.id); unique among all servers and replication clients of that cluster."
  type        = number

  validation {
    condition     = var.database_server_id >= 1 && var.database_server_id <= 4294967295 && floor(var.database_server_id) == var.database_server_id
    error_message = "The server id must be a whole number between 1 and 4294967295."
  }
}

variable "database_include_list" {
  description = "Databases to capture changes from (database.include.list); each is matched literally."
  type        = list(string)

  validation {
    condition     = length(var.database_include_list) > 0 && alltrue([for d in var.database_include_list : can(regex("^[^.,\\s]+$", d))])
    error_message = "List at least one database; names must not contain '.', ',' or spaces."
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

variable "routes" {
  description = "Captured tables (database.table) mapped to the output topic each table's changes are routed to."
  type        = map(string)

  validation {
    condition     = length(var.routes) > 0
    error_message = "At least one table must be routed to a topic."
  }

  validation {
    condition     = alltrue([for t in keys(var.routes) : can(regex("^[^.,\\s]+\\.[^.,\\s]+$", t))])
    error_message = "Tables must be qualified as database.table, without spaces or commas."
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

variable "schema_history_topic" {
  description = "Topic in which the connector records the database schema history (schema.history.internal.kafka.topic); one partition, kept forever, for its own use only."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,249}$", var.schema_history_topic))
    error_message = "The schema history topic must be a valid topic name."
  }
}

variable "schema_history_bootstrap_servers" {
  description = "Kafka brokers the connector uses for the schema history topic (schema.history.internal.kafka.bootstrap.servers), as the Connect workers reach them."
  type        = list(string)

  validation {
    condition     = length(var.schema_history_bootstrap_servers) > 0 && alltrue([for s in var.schema_history_bootstrap_servers : can(regex("^[^\\s,]+$", s))])
    error_message = "List at least one broker address, without spaces or commas."
  }
}

variable "snapshot_mode" {
  description = "When the connector snapshots the captured tables (snapshot.mode)."
  type        = string
  default     = "initial"

  validation {
    condition     = contains(["always", "initial", "initial_only", "no_data", "recovery", "when_needed", "configuration_based", "custom"], var.snapshot_mode)
    error_message = "The snapshot mode must be always, initial, initial_only, no_data, recovery, when_needed, configuration_based or custom."
  }
}

variable "heartbeat_interval_ms" {
  description = "How often the connector sends heartbeat messages (heartbeat.interval.ms), which keeps offsets moving while captured tables are quiet; 0 disables them."
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
