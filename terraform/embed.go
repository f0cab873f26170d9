// Package terraform holds the Terraform modules a data product's workspace is
// built from, embedded so the server renders workspaces without reading the
// source tree.
package terraform

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
)

// Modules is the modules directory: modules/<kind>/*.tf.
//
//go:embed modules
var Modules embed.FS

// Kinds lists the module kinds, sorted.
func Kinds() []string {
	entries, err := fs.ReadDir(Modules, "modules")
	if err != nil {
		panic(fmt.Sprintf("reading embedded modules: %v", err))
	}
	var kinds []string
	for _, e := range entries {
		if e.IsDir() {
			kinds = append(kinds, e.Name())
		}
	}
	slices.Sort(kinds)
	return kinds
}

// ModuleFiles returns the .tf files of one module kind by file name.
func ModuleFiles(kind string) (map[string][]byte, error) {
	dir := path.Join("modules", kind)
	entries, err := fs.ReadDir(Modules, dir)
	if err != nil {
		return nil, fmt.Errorf("reading module %q: %w", kind, err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".tf" {
			continue
		}
		b, err := fs.ReadFile(Modules, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("reading module %q: %w", kind, err)
		}
		files[e.Name()] = b
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("module %q has no .tf files", kind)
	}
	return files, nil
}
