output "name" {
  description = "The connector's name."
  value       = kafka-connect_connector.this.name
}

output "topics" {
  description = "The output topics the connector writes to, sorted."
  value       = sort(distinct(values(var.routes)))
}

output "heartbeat_topic" {
  description = "The topic heartbeat messages go to."
  value       = "${var.heartbeat_topic_prefix}.${var.topic_prefix}"
}

output "config" {
  description = "The connector configuration as submitted; secrets appear only as config-provider references."
  value       = kafka-connect_connector.this.config
}

output "schema_history_topic" {
  description = "The topic holding the connector's schema history."
  value       = var.schema_history_topic
}
