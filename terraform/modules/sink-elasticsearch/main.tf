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

  keyed = var.key_field != ""

  # Documents are flat: unwrap the change event to the row's new state. With a
  # document id, deletes become tombstones that delete the document; without
  # one, every change is its own document and deletes are kept as documents
  # with __deleted=true.
  unwrap_config = {
    "transforms.unwrap.type"                           = "io.debezium.transforms.ExtractNewRecordState"
    "transforms.unwrap.delete.tombstone.handling.mode" = local.keyed ? "tombstone" : "rewrite"
    "transforms.unwrap.add.fields"                     = "op,source.ts_ms"
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

  # The sink accepts only primitive keys as document ids, and Debezium keys
  # are structs: extract the key field.
  key_config = local.keyed ? {
    "transforms.key.type"  = "org.apache.kafka.connect.transforms.ExtractField$Key"
    "transforms.key.field" = var.key_field
  } : {}

  # The sink writes each topic to the index of the same name; rename the topic
  # to add the prefix. Topic-renaming transforms need synchronous flushes.
  index_config = var.index_prefix == "" ? {} : {
    "transforms.index.type"        = "org.apache.kafka.connect.transforms.RegexRouter"
    "transforms.index.regex"       = "(.*)"
    "transforms.index.replacement" = "${var.index_prefix}-$1"
    "flush.synchronously"          = "true"
  }

  transforms = concat(["unwrap"], local.mask_transforms, compact([local.keyed ? "key" : "", var.index_prefix == "" ? "" : "index"]))

  credentials_config = var.connection_username == "" ? {} : {
    "connection.username" = var.connection_username
    "connection.password" = var.connection_password
  }

  base_config = merge(
    {
      "name"                    = var.name
      "connector.class"         = "io.confluent.connect.elasticsearch.ElasticsearchSinkConnector"
      "tasks.max"               = tostring(var.tasks_max)
      "topics"                  = join(",", var.topics)
      "connection.url"          = var.connection_url
      "key.ignore"              = tostring(!local.keyed)
      "behavior.on.null.values" = local.keyed ? "delete" : "ignore"
      "write.method"            = var.write_method
      "transforms"              = join(",", local.transforms)
    },
    local.credentials_config,
    local.error_config,
    local.unwrap_config,
    local.mask_config,
    local.key_config,
    local.index_config,
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
      condition     = (var.connection_username == "") == (var.connection_password == "")
      error_message = "Set both connection_username and connection_password, or neither."
    }

    precondition {
      condition     = length(setintersection(var.drop_fields, var.mask_fields)) == 0
      error_message = "A field is either dropped or masked, not both: ${join(", ", sort(setintersection(var.drop_fields, var.mask_fields)))}."
    }
  }
}
