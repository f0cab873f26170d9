resource "kafka_acl" "this" {
  for_each = toset(var.operations)

  acl_principal                = var.principal
  acl_host                     = var.host
  acl_operation                = each.value
  acl_permission_type          = var.permission_type
  resource_name                = var.resource_name
  resource_type                = var.resource_type
  resource_pattern_type_filter = var.pattern_type
}
