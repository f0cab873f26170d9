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

  # BigQuery stores flat rows: unwrap the change event to the row's new state.
  # Deletes become rows carrying the deleted row's values and __deleted=true,
  # since an append-only table has nothing a tombstone could delete; __op and
  # __source_ts_ms record the operation and when it happened at the source.
  unwrap_config = {
    "transforms"                                       = join(",", concat(["unwrap"], local.mask_transforms))
    "transforms.unwrap.type"                           = "io.debezium.transforms.ExtractNewRecordState"
    "transforms.unwrap.delete.tombstone.handling.mode" = "rewrite"
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

  base_config = merge(
    {
      "name"                                 = var.name
      "connector.class"                      = "com.wepay.kafka.connect.bigquery.BigQuerySinkConnector"
      "tasks.max"                            = tostring(var.tasks_max)
      "topics"                               = join(",", var.topics)
      "project"                              = var.project
      "defaultDataset"                       = var.default_dataset
      "keySource"                            = var.key_source
      "autoCreateTables"                     = tostring(var.auto_create_tables)
      "sanitizeTopics"                       = tostring(var.sanitize_topics)
      "allowNewBigQueryFields"               = tostring(var.allow_schema_evolution)
      "allowBigQueryRequiredFieldRelaxation" = tostring(var.allow_schema_evolution)
    },
    var.keyfile == "" ? {} : { "keyfile" = var.keyfile },
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
      condition     = (var.key_source == "APPLICATION_DEFAULT") == (var.keyfile == "")
      error_message = "Set keyfile unless key_source is APPLICATION_DEFAULT, and leave it empty when it is."
    }

    precondition {
      condition     = length(setintersection(var.drop_fields, var.mask_fields)) == 0
      error_message = "A field is either dropped or masked, not both: ${join(", ", sort(setintersection(var.drop_fields, var.mask_fields)))}."
    }
  }
}
