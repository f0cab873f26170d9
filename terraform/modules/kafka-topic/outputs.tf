output "name" {
  description = "The topic's name."
  value       = kafka_topic.this.name
}

output "partitions" {
  description = "The topic's partition count."
  value       = kafka_topic.this.partitions
}
