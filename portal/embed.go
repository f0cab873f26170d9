//go:build portal

package portal

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Built reports whether the real portal is embedded.
const Built = true

// Assets is the built portal.
var Assets = must(fs.Sub(dist, "dist"))

func must(f fs.FS, err error) fs.FS {
	if err != nil {
		panic(err)
	}
	return f
}
