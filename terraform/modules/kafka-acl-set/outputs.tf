output "ids" {
  description = "The ACLs' ids, by key."
  value       = { for key, acl in kafka_acl.this : key => acl.id }
}
