package descriptor

import (
	"encoding/json"
	"fmt"
	"maps"
	"sort"
	"strconv"

	"github.com/meshplane/meshplane/server/spec"
)

// Change is one value that differs between what the catalog holds and
// what a descriptor says.
type Change struct {
	// Path names the value, list items by name where they have one:
	// spec.ports[customers].fields[email].classification.
	Path string `json:"path"`
	// Before and After are the values as JSON; "" when absent.
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
}

// Diff lists what applying desired to current would change, in path
// order; current nil is a product that does not exist yet. Both are
// compared as the catalog stores them: defaults filled, topics derived.
// A lifecycle the descriptor leaves out is left as it is.
func Diff(current, desired *Document) []Change {
	want := flatten(normalized(desired))
	have := map[string]string{}
	if current != nil {
		c := *current
		if desired.Spec.Lifecycle == "" {
			c.Spec.Lifecycle = ""
		}
		have = flatten(normalized(&c))
	}
	var out []Change
	for p, v := range want {
		if have[p] != v {
			out = append(out, Change{Path: p, Before: have[p], After: v})
		}
	}
	for p, v := range have {
		if _, ok := want[p]; !ok {
			out = append(out, Change{Path: p, Before: v})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// normalized is d's spec as the catalog would store it, lifecycle included.
func normalized(d *Document) map[string]any {
	p := d.Spec.Product
	b, _ := json.Marshal(p)
	var clone spec.Product
	_ = json.Unmarshal(b, &clone)
	clone.Normalize(d.Metadata.Domain, d.Metadata.Name)
	for i := range clone.Ports {
		// Kept by meshplane, not written in descriptors.
		clone.Ports[i].Retained, clone.Ports[i].BaseMajor = nil, 0
	}
	b, _ = json.Marshal(struct {
		Lifecycle spec.Lifecycle `json:"lifecycle,omitempty"`
		spec.Product
	}{d.Spec.Lifecycle, clone})
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

// flatten maps every leaf of v to its JSON, under spec.…; lists of named
// items are keyed by name, empty lists and maps are absent.
func flatten(v map[string]any) map[string]string {
	out := map[string]string{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case nil:
		case map[string]any:
			for k, e := range x {
				walk(path+"."+k, e)
			}
		case []any:
			for i, e := range x {
				key := strconv.Itoa(i)
				if m, ok := e.(map[string]any); ok {
					if n, ok := m["name"].(string); ok && n != "" {
						key = n
					}
				}
				if _, scalar := e.(map[string]any); !scalar {
					b, _ := json.Marshal(x)
					out[path] = string(b)
					return
				}
				item := fmt.Sprintf("%s[%s]", path, key)
				if m := e.(map[string]any); key != strconv.Itoa(i) {
					// The name is the item's key: it is not a value of its own.
					m = maps.Clone(m)
					delete(m, "name")
					e = m
					if len(m) == 0 {
						out[item] = "{}"
					}
				}
				walk(item, e)
			}
		default:
			b, _ := json.Marshal(x)
			if s := string(b); s != `""` {
				out[path] = s
			}
		}
	}
	walk("spec", v)
	return out
}
