// Package policies embeds meshplane's default policies: the Casbin model and
// role definitions under rbac/, and the Rego admission, masking and access policies
// with their tests under rego/.
package policies

import "embed"

// RBACModel is the Casbin model (RBAC with domains).
//
//go:embed rbac/model.conf
var RBACModel string

// RBACPolicy holds the default role definitions.
//
//go:embed rbac/policy.csv
var RBACPolicy string

// Rego holds the default Rego policies and their tests, rego/*.rego.
//
//go:embed rego/*.rego
var Rego embed.FS
