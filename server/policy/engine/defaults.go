package engine

import (
	"io/fs"
	"path"

	"github.com/meshplane/meshplane/policies"
)

// Defaults returns meshplane's default policies and their tests, embedded
// from policies/rego. Each call returns a fresh copy.
func Defaults() Files {
	files := Files{}
	err := fs.WalkDir(policies.Rego, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".rego" {
			return err
		}
		b, err := fs.ReadFile(policies.Rego, p)
		if err != nil {
			return err
		}
		files[path.Base(p)] = string(b)
		return nil
	})
	if err != nil {
		panic("reading the embedded policies: " + err.Error()) // embedded at build time
	}
	return files
}
