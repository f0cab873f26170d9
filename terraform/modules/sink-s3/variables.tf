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

variable "bucket" {
  description = "Bucket the objects are written to (s3.bucket.name)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket))
    error_message = "The bucket must be a valid S3 bucket name."
  }
}

variable "region" {
  description = "AWS region of the bucket (s3.region)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "The region must be an AWS region such as eu-west-1."
  }
}

variable "topics_dir" {
  description = "Key prefix under which each topic's objects are written (topics.dir)."
  type        = string
  default     = "topics"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()/-]{1,512}$", var.topics_dir)) && !startswith(var.topics_dir, "/") && !endswith(var.topics_dir, "/")
    error_message = "topics_dir must be a relative key prefix without a leading or trailing '/'."
  }
}

variable "format" {
  description = "Object format: parquet, json or avro (format.class)."
  type        = string
  default     = "parquet"

  validation {
    condition     = contains(["parquet", "json", "avro"], var.format)
    error_message = "The format must be parquet, json or avro."
  }
}

variable "flush_size" {
  description = "Records per object before it is committed (flush.size)."
  type        = number
  default     = 1000

  validation {
    condition     = var.flush_size >= 1 && floor(var.flush_size) == var.flush_size
    error_message = "The flush size must be a whole number of at least 1."
  }
}

variable "rotate_interval_ms" {
  description = "Longest span of record time, in milliseconds, that one object covers before it is committed (rotate.interval.ms)."
  type        = number
  default     = 600000

  validation {
    condition     = var.rotate_interval_ms >= 1 && floor(var.rotate_interval_ms) == var.rotate_interval_ms
    error_message = "The rotate interval must be a whole number of milliseconds."
  }
}

variable "timestamp_field" {
  description = "Field of the unwrapped record holding the event time the objects are partitioned by (timestamp.field); __source_ts_ms is when the change happened in the source database."
  type        = string
  default     = "__source_ts_ms"

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_.]{0,127}$", var.timestamp_field))
    error_message = "The timestamp field must be a field name."
  }
}

variable "path_format" {
  description = "Joda-Time pattern of the time-based directories under each topic (path.format)."
  type        = string
  default     = "'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH"

  validation {
    condition     = length(var.path_format) > 0
    error_message = "The path format must not be empty."
  }
}

variable "partition_duration_ms" {
  description = "Time span of one directory, in milliseconds (partition.duration.ms); match it to path_format."
  type        = number
  default     = 3600000

  validation {
    condition     = var.partition_duration_ms >= 1 && floor(var.partition_duration_ms) == var.partition_duration_ms
    error_message = "The partition duration must be a whole number of milliseconds."
  }
}

variable "locale" {
  description = "Locale used to format the directory names (locale)."
  type        = string
  default     = "en-US"
}

variable "timezone" {
  description = "Time zone used to format the directory names (timezone)."
  type        = string
  default     = "UTC"
}

variable "aws_access_key_id" {
  description = "Kafka Connect config-provider reference to the access key id (aws.access.key.id); empty to use the workers' default AWS credentials."
  type        = string
  default     = ""

  validation {
    condition     = var.aws_access_key_id == "" || can(regex("^\\$\\{[A-Za-z0-9_.-]+:[^{}\\s]+\\}$", var.aws_access_key_id))
    error_message = "The access key id must be a config-provider reference such as $${env:NAME}."
  }
}

variable "aws_secret_access_key" {
  description = "Kafka Connect config-provider reference to the secret access key (aws.secret.access.key); empty to use the workers' default AWS credentials."
  type        = string
  default     = ""

  validation {
    condition     = var.aws_secret_access_key == "" || can(regex("^\\$\\{[A-Za-z0-9_.-]+:[^{}\\s]+\\}$", var.aws_secret_access_key))
    error_message = "The secret access key must be a config-provider reference such as $${vault:path:key}, never the key itself."
  }
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
