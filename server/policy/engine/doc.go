// Package engine evaluates meshplane's Rego policies with the embedded OPA v1
// SDK: admission decisions and per-field masking decisions for data products.
package engine

import (
	_ "github.com/open-policy-agent/opa/v1/ast"
	_ "github.com/open-policy-agent/opa/v1/rego"
	_ "github.com/open-policy-agent/opa/v1/tester"
)
