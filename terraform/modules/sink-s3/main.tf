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

  format_classes = {
    parquet = "io.confluent.connect.s3.format.parquet.ParquetFormat"
    json    = "io.confluent.connect.s3.format.json.JsonFormat"
    avro    = "io.confluent.connect.s3.format.avro.AvroFormat"
  }

  # Objects hold flat rows: unwrap the change event to the row's new state.
  # Deletes become rows carrying the deleted row's values and __deleted=true
  # (object storage has nothing a tombstone could delete); __source_ts_ms is
  # the event time the time-based partitioner reads.
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

  credentials_config = var.aws_access_key_id == "" ? {} : {
    "aws.access.key.id"     = var.aws_access_key_id
    "aws.secret.access.key" = var.aws_secret_access_key
  }

  base_config = merge(
    {
      "name"                  = var.name
      "connector.class"       = "io.confluent.connect.s3.S3SinkConnector"
      "tasks.max"             = tostring(var.tasks_max)
      "topics"                = join(",", var.topics)
      "s3.bucket.name"        = var.bucket
      "s3.region"             = var.region
      "topics.dir"            = var.topics_dir
      "storage.class"         = "io.confluent.connect.s3.storage.S3Storage"
      "format.class"          = local.format_classes[var.format]
      "flush.size"            = tostring(var.flush_size)
      "rotate.interval.ms"    = tostring(var.rotate_interval_ms)
      "partitioner.class"     = "io.confluent.connect.storage.partitioner.TimeBasedPartitioner"
      "path.format"           = var.path_format
      "partition.duration.ms" = tostring(var.partition_duration_ms)
      "locale"                = var.locale
      "timezone"              = var.timezone
      "timestamp.extractor"   = "RecordField"
      "timestamp.field"       = var.timestamp_field
      # The unwrap step drops tombstones; any null value left is skipped
      # rather than failing the task.
      "behavior.on.null.values" = "ignore"
    },
    local.credentials_config,
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
      condition     = (var.aws_access_key_id == "") == (var.aws_secret_access_key == "")
      error_message = "Set both aws_access_key_id and aws_secret_access_key, or neither."
    }

    precondition {
      condition     = length(setintersection(var.drop_fields, var.mask_fields)) == 0
      error_message = "A field is either dropped or masked, not both: ${join(", ", sort(setintersection(var.drop_fields, var.mask_fields)))}."
    }

    precondition {
      condition     = !contains(concat(var.drop_fields, var.mask_fields), var.timestamp_field)
      error_message = "The timestamp field ${var.timestamp_field} partitions the objects: it can be neither dropped nor masked."
    }
  }
}
