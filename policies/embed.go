// Package policies embeds meshplane's default policies: the Casbin model and
// role definitions under rbac/.
package policies

import _ "embed"

// RBACModel is the Casbin model (RBAC with domains).
//
//go:embed rbac/model.conf
var RBACModel string

// RBACPolicy holds the default role definitions.
//
//go:embed rbac/policy.csv
var RBACPolicy string
