//go:build ignore

// entc generates the catalog client from schema/. It drives ent's code
// generator as a library, which needs none of the ent command's dependencies.
package main

import (
	"log"

	"entgo.io/ent/entc"
	"entgo.io/ent/entc/gen"
)

func main() {
	err := entc.Generate("../../schema", &gen.Config{
		Target:  ".",
		Package: "github.com/meshplane/meshplane/server/ent",
		Features: []gen.Feature{
			gen.FeatureVersionedMigration,
			gen.FeatureLock,
			gen.FeatureExecQuery,
			gen.FeatureModifier,
		},
	})
	if err != nil {
		log.Fatalf("generating ent code: %v", err)
	}
}
