package contracts

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/meshplane/meshplane/server/descriptor"
	"github.com/meshplane/meshplane/server/spec"
)

// MaxContracts bounds the contracts one import reads.
const MaxContracts = 100

// Imported is a product read from ODPS and ODCS documents.
type Imported struct {
	Domain, Name string
	Lifecycle    spec.Lifecycle
	Spec         spec.Product
	// Report lists what the documents hold that meshplane does not model,
	// and every value it had to interpret, so nothing is dropped silently.
	Report []string
}

// parse reads a YAML or JSON document, validates it against standard's
// schema, and decodes it into out; it returns the document as read.
func parse(standard, name string, data []byte, out any) (map[string]any, error) {
	if err := descriptor.CheckYAML(name, data); err != nil {
		return nil, err
	}
	var raw map[string]any
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%s: %s", name, yaml.FormatError(err, false, false))
	}
	if err := validate(standard, raw); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return raw, nil
}

// Import reads a product from its ODPS document and the ODCS contracts of
// its output ports (files by name, YAML or JSON).
func Import(odpsName string, odps []byte, contracts map[string][]byte) (Imported, error) {
	var (
		p   ODPS
		out Imported
	)
	if len(contracts) > MaxContracts {
		return out, fmt.Errorf("%d contracts: a product has at most %d ports' contracts to import", len(contracts), MaxContracts)
	}
	raw, err := parse("odps", odpsName, odps, &p)
	if err != nil {
		return out, err
	}
	out.report(odpsName, raw, p)
	out.reportCustom(odpsName, "customProperties", p.CustomProperties)
	out.Domain, out.Name = p.Domain, p.Name
	if out.Name == "" {
		out.Name = p.ID
	}
	switch l := spec.Lifecycle(p.Status); l {
	case spec.LifecycleDraft, spec.LifecycleActive, spec.LifecycleDeprecated, spec.LifecycleRetired:
		out.Lifecycle = l
	default:
		out.Lifecycle = spec.LifecycleDraft
		out.Report = append(out.Report, fmt.Sprintf("%s: status %q is not a meshplane lifecycle: imported as draft", odpsName, p.Status))
	}
	if p.Description != nil {
		out.Spec.Description = p.Description.Purpose
	}
	if ok, err := custom(p.CustomProperties, propOwner, &out.Spec.Owner); err != nil {
		return out, err
	} else if !ok && p.Team != nil {
		for _, m := range p.Team.Members {
			if out.Spec.Owner == "" || m.Role == "owner" {
				out.Spec.Owner = m.Username
			}
		}
	}
	for prop, dst := range map[string]any{propSource: &out.Spec.Source, propSinks: &out.Spec.Sinks, propLabels: &out.Spec.Labels} {
		ok, err := custom(p.CustomProperties, prop, dst)
		if err != nil {
			return out, err
		}
		if !ok && prop == propSource {
			out.Report = append(out.Report, fmt.Sprintf("%s: no %s custom property: the product's CDC source must be added before it is applied", odpsName, propSource))
		}
	}
	byID := map[string]ODCS{}
	for _, name := range slices.Sorted(maps.Keys(contracts)) {
		var c ODCS
		raw, err := parse("odcs", name, contracts[name], &c)
		if err != nil {
			return out, err
		}
		out.report(name, raw, c)
		out.reportCustom(name, "customProperties", c.CustomProperties)
		for i, o := range c.Schema {
			for j, pr := range o.Properties {
				out.reportCustom(name, fmt.Sprintf("schema[%d].properties[%d].customProperties", i, j), pr.CustomProperties)
			}
		}
		byID[c.ID] = c
	}
	current := map[string]OutputPort{}
	for _, op := range p.OutputPorts {
		if cur, ok := current[op.Name]; !ok || major(op.Version) > major(cur.Version) {
			current[op.Name] = op
		}
	}
	for _, op := range p.OutputPorts {
		if current[op.Name] != op {
			out.Report = append(out.Report, fmt.Sprintf("%s: output port %s %s is an earlier version: meshplane keeps earlier majors itself, not imported", odpsName, op.Name, op.Version))
			delete(byID, op.ContractID)
		}
	}
	for _, op := range p.OutputPorts {
		if current[op.Name] != op {
			continue
		}
		c, ok := byID[op.ContractID]
		if !ok {
			return out, fmt.Errorf("%s: output port %s names contract %q, which is not among the contracts given", odpsName, op.Name, op.ContractID)
		}
		port, err := portOf(op, c, &out.Report)
		if err != nil {
			return out, err
		}
		out.Spec.Ports = append(out.Spec.Ports, port)
		delete(byID, op.ContractID)
	}
	for id := range byID {
		out.Report = append(out.Report, fmt.Sprintf("contract %s belongs to no output port of %s: not imported", id, odpsName))
	}
	sort.Strings(out.Report)
	return out, nil
}

// major reads "v2", "2" or "2.1.0" as 2.
func major(v string) int {
	v = strings.TrimPrefix(v, "v")
	if i := strings.IndexByte(v, '.'); i >= 0 {
		v = v[:i]
	}
	n, _ := strconv.Atoi(v)
	return n
}

// fieldTypes reads an ODCS property's type: meshplane's own physical type
// when it is one, else the logical type's nearest.
var fromLogical = map[string]spec.FieldType{
	"string": spec.TypeString, "integer": spec.TypeInt64, "number": spec.TypeDouble, "boolean": spec.TypeBoolean,
	"date": spec.TypeDate, "timestamp": spec.TypeTimestamp, "time": spec.TypeString, "object": spec.TypeJSON, "array": spec.TypeJSON,
}

func portOf(op OutputPort, c ODCS, report *[]string) (spec.OutputPort, error) {
	port := spec.OutputPort{Name: op.Name, Description: op.Description, MajorVersion: max(major(op.Version), major(c.Version))}
	if port.Description == "" && c.Description != nil {
		port.Description = c.Description.Purpose
	}
	for prop, dst := range map[string]any{propPartitions: &port.Partitions, propRetentionMs: &port.RetentionMs,
		propCleanupPolicy: &port.CleanupPolicy, propTable: &port.Table} {
		if _, err := custom(c.CustomProperties, prop, dst); err != nil {
			return port, fmt.Errorf("contract %s: %w", c.ID, err)
		}
	}
	if port.RetentionMs == 0 {
		for _, s := range c.SLAProperties {
			if d, ok := s.Value.(float64); ok && s.Property == "retention" && (s.Unit == "d" || s.Unit == "day" || s.Unit == "days") {
				port.RetentionMs = int64(d * 86_400_000)
			}
		}
	}
	if len(c.Schema) != 1 {
		return port, fmt.Errorf("contract %s: has %d schema objects; a port's contract has exactly one, its topic", c.ID, len(c.Schema))
	}
	for i, p := range c.Schema[0].Properties {
		f := spec.Field{Name: p.Name, Nullable: !p.Required, Description: p.Description, Tags: p.Tags, Key: p.PrimaryKey}
		where := fmt.Sprintf("contract %s: schema[0].properties[%d] (%s)", c.ID, i, p.Name)
		if t := spec.FieldType(p.PhysicalType); slices.Contains(spec.FieldTypes, t) {
			f.Type = t
		} else if t, ok := fromLogical[p.LogicalType]; ok {
			f.Type = t
			*report = append(*report, fmt.Sprintf("%s: logical type %s (physical %q) is imported as %s", where, p.LogicalType, p.PhysicalType, t))
		} else {
			return port, fmt.Errorf("%s: no type meshplane knows (logical %q, physical %q)", where, p.LogicalType, p.PhysicalType)
		}
		switch cl := spec.Classification(p.Classification); cl {
		case spec.ClassUnclassified, spec.ClassNone, spec.ClassInternal, spec.ClassPII, spec.ClassSensitive:
			f.Classification = cl
		default:
			// Fail closed: a classification meshplane cannot read is the strictest.
			f.Classification = spec.ClassSensitive
			*report = append(*report, fmt.Sprintf("%s: classification %q is not none, internal, pii or sensitive: imported as sensitive", where, p.Classification))
		}
		port.Fields = append(port.Fields, f)
	}
	return port, nil
}

// report lists every value of raw that decoding into typed did not keep.
func (im *Imported) report(file string, raw map[string]any, typed any) {
	b, _ := json.Marshal(typed)
	var kept map[string]any
	_ = json.Unmarshal(b, &kept)
	var walk func(path string, in, k any)
	walk = func(path string, in, k any) {
		switch x := in.(type) {
		case map[string]any:
			km, _ := k.(map[string]any)
			for _, key := range slices.Sorted(maps.Keys(x)) {
				kv, ok := km[key]
				if !ok && !zero(x[key]) {
					im.Report = append(im.Report, fmt.Sprintf("%s: %s is not modelled by meshplane: not imported", file, strings.TrimPrefix(path+"."+key, ".")))
					continue
				}
				if ok {
					walk(path+"."+key, x[key], kv)
				}
			}
		case []any:
			ka, _ := k.([]any)
			for i, e := range x {
				if i < len(ka) {
					walk(fmt.Sprintf("%s[%d]", path, i), e, ka[i])
				}
			}
		}
	}
	walk("", raw, kept)
}

// zero reports whether v is a value that says nothing: false, 0, "", an
// empty list or mapping.
func zero(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case bool:
		return !x
	case string:
		return x == ""
	case float64:
		return x == 0
	case uint64:
		return x == 0
	case int64:
		return x == 0
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

// known are the custom properties meshplane reads.
var known = []string{propSource, propSinks, propLabels, propOwner, propPartitions, propRetentionMs, propCleanupPolicy, propTable, propPort}

// reportCustom lists the custom properties meshplane does not read.
func (im *Imported) reportCustom(file, path string, props []CustomProperty) {
	for i, p := range props {
		if !slices.Contains(known, p.Property) {
			im.Report = append(im.Report, fmt.Sprintf("%s: %s[%d] (%s) is not modelled by meshplane: not imported", file, path, i, p.Property))
		}
	}
}
