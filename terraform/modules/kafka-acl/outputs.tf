output "ids" {
  description = "The ACLs' ids, by operation."
  value       = { for op, acl in kafka_acl.this : op => acl.id }
}
