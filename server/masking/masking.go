// Package masking compiles masking decisions into connector settings: the
// source connector's own Debezium settings and per-sink transforms. Policy
// evaluation decides; provisioning renders what this package compiles. It
// imports neither.
package masking

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/meshplane/meshplane/server/policy/engine"
	"github.com/meshplane/meshplane/server/provision/render"
	"github.com/meshplane/meshplane/server/spec"
)

// Salts derives salt values from a server-side key, so policies name salts
// and their values never appear in the catalog or the API. Debezium takes
// the salt inside a setting's name (column.mask.hash.v2.ALG.with.salt.SALT),
// where no config provider can reach, so the derived value does appear in
// the connector's config: a per-name value derived from the key, never the
// key itself.
type Salts struct{ key []byte }

// NewSalts returns salts derived from key; key must be at least 32 bytes.
func NewSalts(key []byte) (Salts, error) {
	if len(key) < 32 {
		return Salts{}, fmt.Errorf("masking key must be at least 32 bytes, got %d", len(key))
	}
	return Salts{key: slices.Clone(key)}, nil
}

// Valid reports whether the salts hold a key (NewSalts made them).
func (s Salts) Valid() bool { return len(s.key) > 0 }

// Value returns the salt named name for a domain's products. Salts differ
// by domain, so a salt read from one domain's connector configuration helps
// nobody reverse another domain's hashes; within a domain equal values hash
// alike across products, so they stay joinable.
func (s Salts) Value(domain, name string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("salt\x00" + domain + "\x00" + name))
	return hex.EncodeToString(m.Sum(nil))[:32]
}

// Pseudonym hashes a value for a viewer who may not see it raw; equal
// values give equal pseudonyms, so previews stay joinable.
func (s Salts) Pseudonym(value string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("preview\x00" + value))
	return "hmac-sha256:" + hex.EncodeToString(m.Sum(nil))[:32]
}

// Governed is what policy adds to a product's workspace before a plan.
type Governed struct {
	// ConnectorConfig holds settings merged into connectors, by connector name.
	ConnectorConfig map[string]map[string]string
	// SinkMasks are per-sink field transforms, by sink name.
	SinkMasks map[string]render.FieldMasks
	// PolicyVersion names the policy versions that decided.
	PolicyVersion string
	// Masked counts the fields whose values the connectors change or remove.
	Masked int
}

// Connectors is what masking decisions compile into for one product.
type Connectors struct {
	// Config holds settings merged into connectors, by connector name.
	Config map[string]map[string]string
	// SinkMasks are per-sink field transforms, by sink name.
	SinkMasks map[string]render.FieldMasks
	// Decisions are the decisions as enforced: a decision the connector
	// cannot carry out is made stricter here, and says so.
	Decisions []engine.Decision
	// Masked counts the fields whose values leave the source changed or removed.
	Masked int
	// saltNames maps derived salt values back to the names policies use.
	saltNames map[string]string
}

// characterTypes are the field types Debezium's column.mask.* and
// column.truncate.* settings apply to; other columns pass through them
// unchanged, so a decision to hash, mask or truncate one becomes drop.
var characterTypes = map[spec.FieldType]bool{spec.TypeString: true}

// Compile turns masking decisions into connector settings. At the source,
// each action becomes Debezium's own setting over fully qualified columns:
// column.include.list names every declared field that is not dropped, so
// undeclared columns are never captured; hash → column.mask.hash.v2.ALG.with.salt.SALT,
// mask → column.mask.with.N.chars, truncate → column.truncate.to.N.chars.
// A per-sink decision stricter than the topic's becomes a transform in that
// sink's connector, whatever the sink's kind: every sink connector unwraps
// the change event first, so its field transforms see the row's fields.
// Only that sink gets the stricter treatment; the topic and its other
// consumers keep the topic's.
func Compile(domain, product string, p spec.Product, decisions []engine.Decision, salts Salts) Connectors {
	out := Connectors{Config: map[string]map[string]string{}, SinkMasks: map[string]render.FieldMasks{}, saltNames: map[string]string{}}
	ports := map[string]spec.OutputPort{}
	for _, port := range p.Ports {
		ports[port.Name] = port
	}
	atTopic := map[[2]string]engine.Decision{}
	columns := map[string][]string{}
	dropped := map[[2]string]bool{}
	for _, d := range decisions {
		if d.Sink != "" {
			continue
		}
		port, ok := ports[d.Port]
		if !ok {
			continue
		}
		f, ok := fieldOf(port, d.Field)
		if !ok {
			continue
		}
		if d.Action != engine.ActionAllow && d.Action != engine.ActionDrop && !characterTypes[f.Type] {
			d.Reason = fmt.Sprintf("%s applies to character columns only; a %s field is dropped instead", d.Action, f.Type)
			d.Action, d.Fallback = engine.ActionDrop, true
		}
		atTopic[[2]string{d.Port, d.Field}] = d
		out.Decisions = append(out.Decisions, d)
		var key string
		switch d.Action {
		case engine.ActionDrop:
			dropped[[2]string{d.Port, d.Field}] = true
			out.Masked++
			continue
		case engine.ActionHash:
			salt := salts.Value(domain, d.Salt)
			out.saltNames[salt] = d.Salt
			key = fmt.Sprintf("column.mask.hash.v2.%s.with.salt.%s", d.Algorithm, salt)
		case engine.ActionMask:
			key = fmt.Sprintf("column.mask.with.%d.chars", d.Chars)
		case engine.ActionTruncate:
			key = fmt.Sprintf("column.truncate.to.%d.chars", d.Length)
		default:
			continue
		}
		out.Masked++
		columns[key] = append(columns[key], columnPattern(port.Table, f.Name))
	}
	// Only declared columns leave the database: a column the port does not
	// list, or one added to the table later, is never captured, and a
	// dropped field is simply not listed. (Debezium takes an include list or
	// an exclude list, not both.)
	var include []string
	for _, port := range p.Ports {
		for _, f := range port.Fields {
			if !dropped[[2]string{port.Name, f.Name}] {
				include = append(include, columnPattern(port.Table, f.Name))
			}
		}
	}
	if len(p.Ports) > 0 {
		cfg := map[string]string{}
		for key, cols := range columns {
			slices.Sort(cols)
			cfg[key] = strings.Join(slices.Compact(cols), ",")
		}
		slices.Sort(include)
		include = slices.Compact(include)
		if len(include) == 0 {
			// Every field is dropped: capture no column rather than all.
			include = []string{columnPattern("meshplane", "no-column")}
		}
		cfg["column.include.list"] = strings.Join(include, ",")
		if keys := keyColumns(p); keys != "" {
			cfg["message.key.columns"] = keys
		}
		out.Config[render.SourceConnectorName(domain, product)] = cfg
	}

	for _, d := range decisions {
		if d.Sink == "" {
			continue
		}
		top, ok := atTopic[[2]string{d.Port, d.Field}]
		if !ok || engine.Strictness(d.Action) <= engine.Strictness(top.Action) {
			continue
		}
		// A sink receives what the topic holds: only removal or blanking
		// adds anything, and Kafka's transforms cannot hash, so whatever
		// is stricter than the topic and not a drop is a mask.
		fm := out.SinkMasks[d.Sink]
		if f, ok := fieldOf(ports[d.Port], d.Field); ok && f.Type == spec.TypeBytes && d.Action != engine.ActionDrop {
			// MaskField has no empty value for bytes: it would fail every record.
			d.Reason = "sink connectors cannot blank a bytes field; it is dropped instead"
			d.Action, d.Fallback = engine.ActionDrop, true
		}
		if d.Action == engine.ActionDrop {
			fm.Drop = append(fm.Drop, d.Field)
		} else {
			if d.Action != engine.ActionMask {
				d.Reason = fmt.Sprintf("sink connectors cannot %s; the field is blanked instead", d.Action)
				d.Action, d.Fallback = engine.ActionMask, true
			}
			fm.Mask = append(fm.Mask, d.Field)
		}
		out.SinkMasks[d.Sink] = fm
		out.Decisions = append(out.Decisions, d)
	}
	for name, fm := range out.SinkMasks {
		out.SinkMasks[name] = fm.Normalized()
	}
	if len(out.Config) == 0 {
		out.Config = nil
	}
	if len(out.SinkMasks) == 0 {
		out.SinkMasks = nil
	}
	return out
}

// keyColumns is Debezium's message.key.columns for the ports that name
// their key fields: "<table regex>:<col>,<col>;…". The record key is then
// exactly those columns rather than the table's primary key, which Debezium
// would write unmasked whatever the masking decisions.
func keyColumns(p spec.Product) string {
	var tables []string
	for _, port := range p.Ports {
		var cols []string
		for _, f := range port.Fields {
			if f.Key {
				cols = append(cols, f.Name)
			}
		}
		if len(cols) > 0 {
			tables = append(tables, regexp.QuoteMeta(port.Table)+":"+strings.Join(cols, ","))
		}
	}
	slices.Sort(tables)
	return strings.Join(tables, ";")
}

func fieldOf(port spec.OutputPort, name string) (spec.Field, bool) {
	for _, f := range port.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return spec.Field{}, false
}

// columnPattern is the anchored regular expression Debezium matches against
// a fully qualified column name (schema.table.column, or database.table.column).
func columnPattern(table, column string) string {
	return regexp.QuoteMeta(table + "." + column)
}

// saltInKey matches the derived salt inside a hash-masking setting's name.
var saltInKey = regexp.MustCompile(`\.with\.salt\.[0-9a-f]+$`)

// settings flattens connectors into "connector\x00key" → value, for diffs.
// A derived salt in a setting's name is shown as the salt's name.
func (c Connectors) Settings(domain, product string) map[string]string {
	out := map[string]string{}
	for name, cfg := range c.Config {
		for k, v := range cfg {
			k = saltInKey.ReplaceAllStringFunc(k, func(m string) string {
				prefix, salt, _ := strings.Cut(m, ".with.salt.")
				return prefix + ".with.salt.<" + c.saltNames[salt] + ">"
			})
			out[name+"\x00"+k] = v
		}
	}
	for sink, fm := range c.SinkMasks {
		name := render.SinkConnectorName(domain, product, sink)
		out[name+"\x00transforms.dropfields.exclude"] = strings.Join(fm.Drop, ",")
		out[name+"\x00transforms.maskfields.fields"] = strings.Join(fm.Mask, ",")
	}
	return out
}

// changedConnectors lists, by connector name, the settings that differ.
func Changed(domain, product string, before, after Connectors) map[string][]string {
	a, b := before.Settings(domain, product), after.Settings(domain, product)
	out := map[string][]string{}
	for _, k := range slices.Sorted(maps.Keys(merge(a, b))) {
		if a[k] == b[k] {
			continue
		}
		conn, key, _ := strings.Cut(k, "\x00")
		out[conn] = append(out[conn], key)
	}
	return out
}

func merge(a, b map[string]string) map[string]string {
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}
