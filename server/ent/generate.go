// Package ent is the generated catalog client; edit schema/ and run go generate.
package ent

//go:generate go run entc.go
