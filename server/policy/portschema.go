package policy

import (
	"context"
	"slices"
	"strconv"

	"github.com/meshplane/meshplane/server/catalog"
	"github.com/meshplane/meshplane/server/errs"
	"github.com/meshplane/meshplane/server/portschema"
	"github.com/meshplane/meshplane/server/spec"
)

// PortSchemaInput names a port's major and the format of its schema.
type PortSchemaInput struct {
	Domain, Name, Port string
	// Major is the port's current major when 0, or one it keeps.
	Major int
	// Format is portschema.FormatJSONSchema (the default) or FormatAvro.
	Format string
}

// PortSchema is a port's schema in one format.
type PortSchema struct {
	Major       int
	Topic       string
	Format      string
	ContentType string
	Text        string
	// PolicyVersion is the published policy whose masking the schema shows.
	PolicyVersion string
}

// PortSchema returns the schema of a port's records as consumers receive
// them, with the published masking policy applied. Anyone who may read the
// product may read it.
func (s *Service) PortSchema(ctx context.Context, in PortSchemaInput) (PortSchema, error) {
	var v errs.Violations
	spec.CheckName(&v, "domain", in.Domain)
	spec.CheckName(&v, "name", in.Name)
	if in.Port == "" {
		v.Add("port", "is required")
	}
	switch in.Format {
	case "":
		in.Format = portschema.FormatJSONSchema
	case portschema.FormatJSONSchema, portschema.FormatAvro:
	default:
		v.Add("format", "must be %s or %s, got %q", portschema.FormatJSONSchema, portschema.FormatAvro, in.Format)
	}
	if in.Major < 0 {
		v.Add("major", "must not be negative")
	}
	if err := v.Err(); err != nil {
		return PortSchema{}, err
	}
	p, err := catalog.ReadProduct(ctx, s.authz, s.store.Client, in.Domain, in.Name)
	if err != nil {
		return PortSchema{}, err
	}
	i := slices.IndexFunc(p.Ports, func(o spec.OutputPort) bool { return o.Name == in.Port })
	if i < 0 {
		return PortSchema{}, errs.NotFound("port", in.Domain+"/"+in.Name+"/"+in.Port)
	}
	prod := input(p)
	prod.Spec.Ports = slices.Clone(prod.Spec.Ports)
	port := prod.Spec.Ports[i]
	if in.Major != 0 && in.Major != port.MajorVersion {
		j := slices.IndexFunc(port.Retained, func(r spec.RetainedMajor) bool { return r.Major == in.Major })
		if j < 0 {
			return PortSchema{}, errs.NotFound("major", in.Domain+"/"+in.Name+"/"+in.Port+" v"+itoa(in.Major))
		}
		// An earlier major's fields, masked as the published policy masks them.
		port.Fields, port.MajorVersion = port.Retained[j].Fields, in.Major
		prod.Spec.Ports[i] = port
	}
	ev := s.evaluate(ctx, s.engine.Current(), prod)
	actions := map[string]string{}
	for _, d := range ev.Connectors.Decisions {
		if d.Port == port.Name && d.Sink == "" {
			actions[d.Field] = string(d.Action)
		}
	}
	sp := portschema.Port{Domain: in.Domain, Product: in.Name, Name: port.Name, Major: port.MajorVersion,
		Description: port.Description, Fields: port.Fields, Actions: actions}
	out := PortSchema{Major: port.MajorVersion, Topic: spec.TopicName(in.Domain, in.Name, port.Name, port.MajorVersion),
		Format: in.Format, PolicyVersion: ev.Masking.Version}
	var b []byte
	if in.Format == portschema.FormatAvro {
		b, err = portschema.Avro(sp)
		out.ContentType = "application/vnd.apache.avro+json"
	} else {
		b, err = portschema.JSONSchema(sp)
		out.ContentType = "application/schema+json"
	}
	if err != nil {
		return PortSchema{}, err
	}
	out.Text = string(b)
	return out, nil
}

func itoa(n int) string { return strconv.Itoa(n) }
