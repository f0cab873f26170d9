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

// Breaks lists what changing port old into new, at the same major, breaks
// for consumers; path is the new port's path (e.g. spec.ports[1]). A
// consumer coded against the old major must keep reading every record of
// it, so only adding an optional field, editing descriptions, raising the
// retention and adding partitions (Kafka grows a topic in place; keys move
// to other partitions from then on) are compatible. Removing or renaming a field, changing its
// type (even widening it: an Avro reader of int cannot read long), its
// nullability either way, its classification or its tags (both steer the
// masking, so what arrives changes), adding a required field, changing the
// record key, the source table or the cleanup policy, and lowering the
// partitions (a topic cannot shrink) all break.
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
		if n.Type != o.Type {
			add(fp+".type", "field %q changes type from %s to %s: readers of %s cannot read it", o.Name, o.Type, n.Type, o.Type)
		}
		switch {
		case o.Nullable && !n.Nullable:
			add(fp+".nullable", "field %q becomes required: records written before have no value for it", o.Name)
		case !o.Nullable && n.Nullable:
			add(fp+".nullable", "field %q becomes optional: consumers relying on a value get nulls", o.Name)
		}
		if o.Key != n.Key {
			add(fp+".key", "field %q %s the record key: records change partition and compaction keeps other records", o.Name, map[bool]string{true: "joins", false: "leaves"}[n.Key])
		}
		if n.Classification != o.Classification {
			add(fp+".classification", "field %q is classified %s instead of %s: the masking policy treats it otherwise, so what arrives changes", o.Name, orUnclassified(n.Classification), orUnclassified(o.Classification))
		}
		if !slices.Equal(o.Tags, n.Tags) {
			add(fp+".tags", "field %q changes tags from %v to %v: tags steer the masking policy, so what arrives may change", o.Name, o.Tags, n.Tags)
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
	if new.Partitions < old.Partitions {
		add(path+".partitions", "partitions go down from %d to %d: a Kafka topic cannot shrink, it would be recreated and its records lost", old.Partitions, new.Partitions)
	}
	if old.Table != new.Table {
		add(path+".table", "the source table changes from %s to %s: the records are other data", old.Table, new.Table)
	}
	return out
}

func orUnclassified(c Classification) string {
	if c == ClassUnclassified {
		return "unclassified"
	}
	return string(c)
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
