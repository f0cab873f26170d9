// Package ent is the generated catalog client; edit schema/ and run go generate.
package ent

//go:generate go tool ent generate --feature sql/versioned-migration,sql/lock,sql/execquery,sql/modifier --target . ../../schema
