resource "kafka_topic" "this" {
  name               = var.name
  partitions         = var.partitions
  replication_factor = var.replication_factor

  config = merge(var.extra_config, {
    "retention.ms"   = tostring(var.retention_ms)
    "cleanup.policy" = var.cleanup_policy
  })
}
