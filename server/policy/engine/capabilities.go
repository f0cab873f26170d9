package engine

import (
	"slices"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
)

// forbidden maps the built-in functions meshplane policies may not call to
// why. A policy decides from its input alone, deterministically and within
// its time budget: nothing that reaches the network or the host, nothing
// random, and nothing whose single call can allocate or loop without bound,
// since evaluation is only cancelled between built-in calls.
//
// print stays allowed: it is erased when policies are compiled for
// evaluation and captured when they are tested. time.now_ns is left out: a
// decision is a function of the policy version and the input, which is what
// the decision log records and the decision cache relies on, so an
// exception that should expire is published as a new version instead.
var forbidden = map[string]string{
	"http.send":               "it reaches the network",
	"net.lookup_ip_addr":      "it reaches the network",
	"json.match_schema":       "it may fetch remote schemas",
	"json.verify_schema":      "it may fetch remote schemas",
	"opa.runtime":             "it exposes the server's configuration and environment",
	"trace":                   "policy traces are not collected",
	"rand.intn":               "decisions must not depend on chance",
	"uuid.rfc4122":            "decisions must not depend on chance",
	"time.now_ns":             "decisions must depend on the policy version and the input only; publish a new version when a rule's date comes",
	"numbers.range":           "it builds its whole result in one call",
	"numbers.range_step":      "it builds its whole result in one call",
	"bits.lsh":                "a large shift allocates an unbounded number",
	"graph.reachable_paths":   "the number of paths can grow exponentially",
	"strings.render_template": "templates can loop without being cancelled",
}

// forbiddenPrefixes are whole namespaces left out, reason included.
var forbiddenPrefixes = map[string]string{
	"net.": "network built-ins are not available to meshplane policies",
}

// forbiddenReason says why name may not be called, or "" when it may.
func forbiddenReason(name string) string {
	if r, ok := forbidden[name]; ok {
		return r
	}
	for p, r := range forbiddenPrefixes {
		if strings.HasPrefix(name, p) {
			return r
		}
	}
	return ""
}

var (
	capsOnce sync.Once
	caps     *ast.Capabilities
)

// Capabilities returns what meshplane policies are compiled against: this
// OPA version's capabilities without the forbidden built-ins. The result is
// shared and must not be modified.
func Capabilities() *ast.Capabilities {
	capsOnce.Do(func() {
		c := ast.CapabilitiesForThisVersion()
		c.Builtins = slices.DeleteFunc(c.Builtins, func(b *ast.Builtin) bool {
			return forbiddenReason(b.Name) != ""
		})
		// Policies evaluate built into meshplane, never as WebAssembly.
		c.WasmABIVersions = nil
		caps = c
	})
	return caps
}

// Forbidden lists the built-in functions meshplane policies may not call, sorted.
func Forbidden() []string {
	var names []string
	for _, b := range ast.CapabilitiesForThisVersion().Builtins {
		if forbiddenReason(b.Name) != "" {
			names = append(names, b.Name)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}
