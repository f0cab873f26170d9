// Package migrations embeds the versioned SQL migrations of the catalog, one
// directory per dialect. They are generated from schema/ by
// `go run ./migrations/gen`; a test fails when schema and migrations disagree.
package migrations

import "embed"

// FS holds sqlite/*.sql and postgres/*.sql with their atlas.sum checksums.
//
//go:embed sqlite postgres
var FS embed.FS
