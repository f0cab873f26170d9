locals {
  # Records that fail conversion, transformation or delivery go to the
  # dead-letter topic with the failure in their headers; message contents are
  # kept out of the worker log because fields may be classified.
  error_config = {
    "errors.tolerance"                                = "all"
    "errors.deadletterqueue.topic.name"               = var.dlq_topic
    "errors.deadletterqueue.topic.replication.factor" = tostring(var.dlq_replication_factor)
    "errors.deadletterqueue.context.headers.enable"   = "true"
    "errors.log.enable"                               = "true"
    "errors.log.include.messages"                     = "false"
  }

  # The Debezium JDBC sink consumes change events natively (no unwrap step):
  # it upserts the new row state keyed by the record key and, with
  # delete.enabled, turns delete events into DELETEs.
  base_config = merge(
    {
      "name"                = var.name
      "connector.class"     = "io.debezium.connector.jdbc.JdbcSinkConnector"
      "tasks.max"           = tostring(var.tasks_max)
      "topics"              = join(",", var.topics)
      "connection.url"      = var.connection_url
      "connection.username" = var.connection_username
      "connection.password" = var.connection_password
      "insert.mode"         = var.insert_mode
      "primary.key.mode"    = "record_key"
      "delete.enabled"      = tostring(var.delete_enabled)
      "schema.evolution"    = var.schema_evolution
    },
    length(var.primary_key_fields) == 0 ? {} : { "primary.key.fields" = join(",", var.primary_key_fields) },
    local.error_config,
  )

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
      condition     = !(var.delete_enabled && var.insert_mode == "insert")
      error_message = "delete_enabled needs insert_mode upsert or update: deletes are applied by primary key."
    }
  }
}
