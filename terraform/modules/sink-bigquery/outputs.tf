output "name" {
  description = "The connector's name."
  value       = kafka-connect_connector.this.name
}

output "consumer_group" {
  description = "The consumer group Kafka Connect uses for this sink."
  value       = "connect-${var.name}"
}

output "dlq_topic" {
  description = "The sink's dead-letter topic."
  value       = var.dlq_topic
}

output "config" {
  description = "The connector configuration as submitted; secrets appear only as config-provider references."
  value       = kafka-connect_connector.this.config
}
