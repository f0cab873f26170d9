locals {
  # Debezium reads table.include.list entries, and Kafka's RegexRouter its
  # regex, as anchored Java regular expressions: escape every metacharacter so
  # that a '.' or '$' in a name only matches itself.
  regex_meta = "/[\\\\.^$|?*+()\\[\\]{}]/"

  tables         = sort(keys(var.routes))
  table_patterns = [for t in local.tables : replace(t, local.regex_meta, "\\$0")]
  prefix_pattern = replace(var.topic_prefix, local.regex_meta, "\\$0")

  # One RegexRouter per table renames <topic.prefix>.<schema>.<table> to the
  # output topic. Backslashes and '$' are special in the replacement string.
  route_config = merge([
    for i, t in local.tables : {
      "transforms.route${i}.type"        = "org.apache.kafka.connect.transforms.RegexRouter"
      "transforms.route${i}.regex"       = "${local.prefix_pattern}\\.${local.table_patterns[i]}"
      "transforms.route${i}.replacement" = replace(replace(var.routes[t], "\\", "\\\\"), "$", "\\$")
    }
  ]...)

  base_config = merge({
    "name"                        = var.name
    "connector.class"             = "io.debezium.connector.postgresql.PostgresConnector"
    "tasks.max"                   = "1"
    "database.hostname"           = var.database_hostname
    "database.port"               = tostring(var.database_port)
    "database.user"               = var.database_user
    "database.password"           = var.database_password
    "database.dbname"             = var.database_dbname
    "topic.prefix"                = var.topic_prefix
    "plugin.name"                 = "pgoutput"
    "slot.name"                   = var.slot_name
    "publication.name"            = var.publication_name
    "publication.autocreate.mode" = "filtered"
    "table.include.list"          = join(",", local.table_patterns)
    "snapshot.mode"               = var.snapshot_mode
    "heartbeat.interval.ms"       = tostring(var.heartbeat_interval_ms)
    "topic.heartbeat.prefix"      = var.heartbeat_topic_prefix
    "transforms"                  = join(",", [for i, t in local.tables : "route${i}"])
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
      # Routers run in sequence: a table whose change topic is named like
      # another table's output topic would be routed twice.
      condition = alltrue([
        for a, topic in var.routes : alltrue([for b in keys(var.routes) : a == b || topic != "${var.topic_prefix}.${b}"])
      ])
      error_message = "An output topic has the name of another table's change topic (<topic_prefix>.<schema>.<table>); rename the port or the prefix."
    }
  }
}
