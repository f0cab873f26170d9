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

  # The sink writes flat rows: unwrap the change event to the row's new state,
  # which the sink upserts keyed by the record key. A delete becomes a plain
  # tombstone (no value, no schema, under the row's key; the source's own
  # tombstone that follows is dropped), which the sink turns into a DELETE
  # when delete.enabled without adding the row's columns to the table: a
  # field dropped for this sink never appears, even empty.
  unwrap_config = {
    "transforms"                                       = join(",", concat(["unwrap"], local.mask_transforms))
    "transforms.unwrap.type"                           = "io.debezium.transforms.ExtractNewRecordState"
    "transforms.unwrap.delete.tombstone.handling.mode" = "delete-to-tombstone"
  }

  # Per-sink field decisions run right after unwrap, so they see the row's
  # flat fields. MaskField gets no replacement: each field takes its type's
  # empty value, where one replacement string would fail on numeric, boolean
  # and temporal fields. Unlike ReplaceField, MaskField fails on a null value,
  # so tombstones skip it (they carry no field to mask).
  mask_transforms = compact([
    length(var.drop_fields) == 0 ? "" : "dropfields",
    length(var.mask_fields) == 0 ? "" : "maskfields",
  ])

  mask_config = merge(
    length(var.drop_fields) == 0 ? {} : {
      "transforms.dropfields.type"    = "org.apache.kafka.connect.transforms.ReplaceField$Value"
      "transforms.dropfields.exclude" = join(",", var.drop_fields)
    },
    length(var.mask_fields) == 0 ? {} : {
      "transforms.maskfields.type"      = "org.apache.kafka.connect.transforms.MaskField$Value"
      "transforms.maskfields.fields"    = join(",", var.mask_fields)
      "transforms.maskfields.predicate" = "tombstone"
      "transforms.maskfields.negate"    = "true"
      "predicates"                      = "tombstone"
      "predicates.tombstone.type"       = "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone"
    },
  )

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
    local.unwrap_config,
    local.mask_config,
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

    precondition {
      condition     = length(setintersection(var.drop_fields, var.mask_fields)) == 0
      error_message = "A field is either dropped or masked, not both: ${join(", ", sort(setintersection(var.drop_fields, var.mask_fields)))}."
    }
  }
}
