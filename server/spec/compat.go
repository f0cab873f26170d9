package spec

import (
	"fmt"
	"slices"
)

// Break is a change to a port that would break its consumers, at the field
// path it concerns.
type Break struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// widening lists the type changes every reader of the old type still reads.
var widening = map[FieldType][]FieldType{
	TypeInt32: {TypeInt64},
	TypeFloat: {TypeDouble},
}

// strictness ranks classifications: a field may become less strict, never more.
func strictness(c Classification) int {
	switch c {
	case ClassNone:
		return 1
	case ClassInternal:
		return 2
	case ClassPII:
		return 3
	case ClassSensitive:
		return 4
	}
	return 0
}

// Breaks lists what changing port old into new, at the same major, breaks
// for consumers; path is the new port's path (e.g. spec.ports[1]). Adding
// an optional field is compatible; removing or renaming a field, changing
// its type other than widening it, making it required, adding a required
// field, changing the record key, raising a field's classification and
// changing the cleanup policy are not.
func Breaks(old, new OutputPort, path string) []Break {
	var out []Break
	add := func(p, format string, args ...any) {
		out = append(out, Break{Path: p, Reason: fmt.Sprintf(format, args...)})
	}
	at := map[string]int{}
	for i, f := range new.Fields {
		at[f.Name] = i
	}
	for _, o := range old.Fields {
		i, ok := at[o.Name]
		if !ok {
			add(path+".fields", "field %q is removed (or renamed): consumers reading it break", o.Name)
			continue
		}
		n, fp := new.Fields[i], fmt.Sprintf("%s.fields[%d]", path, i)
		if n.Type != o.Type && !slices.Contains(widening[o.Type], n.Type) {
			add(fp+".type", "field %q changes type from %s to %s, which readers of %s cannot read", o.Name, o.Type, n.Type, o.Type)
		}
		if o.Nullable && !n.Nullable {
			add(fp+".nullable", "field %q becomes required: records written before have no value for it", o.Name)
		}
		if o.Key != n.Key {
			add(fp+".key", "field %q %s the record key: records change partition and compaction keeps other records", o.Name, map[bool]string{true: "joins", false: "leaves"}[n.Key])
		}
		if strictness(n.Classification) > strictness(o.Classification) {
			add(fp+".classification", "field %q is classified %s instead of %s: consumers granted it before may no longer read it unmasked", o.Name, n.Classification, o.Classification)
		}
	}
	have := map[string]bool{}
	for _, o := range old.Fields {
		have[o.Name] = true
	}
	for i, n := range new.Fields {
		if !have[n.Name] && !n.Nullable {
			add(fmt.Sprintf("%s.fields[%d].nullable", path, i), "field %q is added as required: records written before have no value for it (add it as nullable)", n.Name)
		}
	}
	if old.CleanupPolicy != new.CleanupPolicy {
		add(path+".cleanupPolicy", "the cleanup policy changes from %s to %s: consumers relying on the old retention or compaction break", old.CleanupPolicy, new.CleanupPolicy)
	}
	return out
}

// PortBreaks lists what changing a product's ports from old to new breaks
// for consumers: every port that keeps its major is compared with Breaks,
// and a port removed is a break; a port whose major changes breaks nothing
// here (its earlier major stays). Paths are under spec.ports.
func PortBreaks(old, new []OutputPort) []Break {
	var out []Break
	kept := map[string]bool{}
	for i, np := range new {
		for _, op := range old {
			if op.Name != np.Name {
				continue
			}
			kept[op.Name] = true
			if op.MajorVersion == np.MajorVersion {
				out = append(out, Breaks(op, np, fmt.Sprintf("spec.ports[%d]", i))...)
			}
		}
	}
	for _, op := range old {
		if !kept[op.Name] {
			out = append(out, Break{Path: "spec.ports", Reason: fmt.Sprintf(
				"port %q is removed: its consumers break (deprecate and retire the product instead)", op.Name)})
		}
	}
	return out
}
