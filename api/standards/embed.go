// Package standards holds the vendored JSON Schemas of the open standards
// meshplane exports to (see README.md for their exact sources).
package standards

import _ "embed"

// ODCS is the Open Data Contract Standard v3.1.0 JSON Schema.
//
//go:embed odcs-json-schema-v3.1.0.json
var ODCS []byte

// ODPS is the Open Data Product Standard v1.0.0 JSON Schema.
//
//go:embed odps-json-schema-v1.0.0.json
var ODPS []byte
