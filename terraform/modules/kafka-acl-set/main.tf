# One resource instance per ACL, keyed by its identity: adding or removing
# an ACL creates or destroys that instance only and leaves every other one
# (and its state) untouched, where a list index would shift and replace them.
#
# Terraform re-evaluates for_each and copies its whole value deeply for every
# instance it plans, so planning n ACLs costs n² in the size of that value:
# for_each gets only the keys, as a map of strings (a set or an object would
# be rebuilt and rehashed each time), and the attributes are looked up.
locals {
  keys = tomap({ for key, acl in var.acls : key => key })
}

resource "kafka_acl" "this" {
  for_each = local.keys

  acl_principal                = var.acls[each.key].principal
  acl_host                     = "*"
  acl_operation                = var.acls[each.key].operation
  acl_permission_type          = "Allow"
  resource_name                = var.acls[each.key].resource_name
  resource_type                = var.acls[each.key].resource_type
  resource_pattern_type_filter = var.acls[each.key].pattern_type
}
