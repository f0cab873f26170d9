//go:build !portal

package portal

import (
	"io/fs"
	"testing/fstest"
)

// Built reports whether the real portal is embedded.
const Built = false

// Assets is a single page saying how to get the portal: this binary was
// built without the "portal" tag, so go build and go test never need node.
var Assets fs.FS = fstest.MapFS{"index.html": {Data: []byte(placeholder)}}

const placeholder = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>meshplane</title></head>
<body><main><h1>meshplane</h1>
<p>This server was built without the web portal. Run <code>make run</code> (which builds the portal
with npm and the server with <code>-tags portal</code>), or use the Connect API under
<code>/meshplane.v1.*</code> and GraphQL at <code>/graphql</code>.</p></main></body></html>
`
