locals {
  # Debezium reads database.include.list and table.include.list entries, and
  # Kafka's RegexRouter its regex, as anchored Java regular expressions: escape
  # every metacharacter so that a '.' or '$' in a name only matches itself.
  regex_meta = "/[\\\\.^$|?*+()\\[\\]{}]/"

  databases         = sort(distinct(var.database_include_list))
  database_patterns = [for d in local.databases : replace(d, local.regex_meta, "\\$0")]
  tables            = sort(keys(var.routes))
  table_patterns    = [for t in local.tables : replace(t, local.regex_meta, "\\$0")]
  prefix_pattern    = replace(var.topic_prefix, local.regex_meta, "\\$0")

  # One RegexRouter per table renames <topic.prefix>.<database>.<table> to the
  # output topic. Backslashes and '$' are special in the replacement string.
  route_config = merge([
    for i, t in local.tables : {
      "transforms.route${i}.type"        = "org.apache.kafka.connect.transforms.RegexRouter"
      "transforms.route${i}.regex"       = "${local.prefix_pattern}\\.${local.table_patterns[i]}"
      "transforms.route${i}.replacement" = replace(replace(var.routes[t], "\\", "\\\\"), "$", "\\$")
    }
  ]...)

  base_config = merge({
    "name"                                            = var.name
    "connector.class"                                 = "io.debezium.connector.mysql.MySqlConnector"
    "tasks.max"                                       = "1"
    "database.hostname"                               = var.database_hostname
    "database.port"                                   = tostring(var.database_port)
    "database.user"                                   = var.database_user
    "database.password"                               = var.database_password
    "database.server.id"                              = tostring(var.database_server_id)
    "topic.prefix"                                    = var.topic_prefix
    "database.include.list"                           = join(",", local.database_patterns)
    "table.include.list"                              = join(",", local.table_patterns)
    "schema.history.internal.kafka.topic"             = var.schema_history_topic
    "schema.history.internal.kafka.bootstrap.servers" = join(",", var.schema_history_bootstrap_servers)
    # Schema change events would go to a topic named like topic.prefix, which
    # is not provisioned; the internal schema history is kept regardless.
    "include.schema.changes" = "false"
    "snapshot.mode"          = var.snapshot_mode
    "heartbeat.interval.ms"  = tostring(var.heartbeat_interval_ms)
    "topic.heartbeat.prefix" = var.heartbeat_topic_prefix
    "transforms"             = join(",", [for i, t in local.tables : "route${i}"])
  }, local.route_config)

  overridden = setintersection(keys(var.extra_config), keys(local.base_config))
}

resource "kafka-connect_connector" "this" {
  name   = var.name
  config = merge(local.base_config, var.extra_config)

  lifecycle {
    precondition {
      condition     = length(local.overridden) == 0
      error_message = "extra_config must not override settings the module manages: ${join(", ", sort(local.overridden))}."
    }

    precondition {
      condition     = alltrue([for t in keys(var.routes) : contains(local.databases, split(".", t)[0])])
      error_message = "Every routed table must belong to a database in database_include_list."
    }

    precondition {
      # Routers run in sequence: a table whose change topic is named like
      # another table's output topic would be routed twice.
      condition = alltrue([
        for a, topic in var.routes : alltrue([for b in keys(var.routes) : a == b || topic != "${var.topic_prefix}.${b}"])
      ])
      error_message = "An output topic has the name of another table's change topic (<topic_prefix>.<database>.<table>); rename the port or the prefix."
    }
  }
}
