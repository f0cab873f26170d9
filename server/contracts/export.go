package contracts

import (
	"fmt"
	"strings"

	"github.com/meshplane/meshplane/server/spec"
)

// Product is a stored product to export.
type Product struct {
	Domain, Name string
	Lifecycle    spec.Lifecycle
	// Version is the catalog's version of the product.
	Version int64
	// Spec is the product as stored: normalized, topics derived.
	Spec spec.Product
	// Bootstrap are the Kafka servers consumers connect to; none leaves
	// the contracts without a server.
	Bootstrap []string
}

// Documents are a product's ODPS document and its ports' ODCS contracts.
type Documents struct {
	Product   ODPS
	Contracts []ODCS
}

// logicalTypes maps meshplane's field types to ODCS logical types; the
// exact type travels as the physical type.
var logicalTypes = map[spec.FieldType]string{
	spec.TypeString: "string", spec.TypeInt32: "integer", spec.TypeInt64: "integer", spec.TypeFloat: "number",
	spec.TypeDouble: "number", spec.TypeBoolean: "boolean", spec.TypeBytes: "string", spec.TypeDecimal: "number",
	spec.TypeDate: "date", spec.TypeTimestamp: "timestamp", spec.TypeJSON: "object",
}

// Export writes p as ODPS and ODCS documents, each validated against its
// standard's schema.
func Export(p Product) (Documents, error) {
	var out Documents
	team, support := teamOf(p.Domain, p.Spec.Owner)
	out.Product = ODPS{APIVersion: ODPSVersion, Kind: "DataProduct", ID: p.Domain + "." + p.Name, Name: p.Name,
		Version: fmt.Sprint(p.Version), Status: string(p.Lifecycle), Domain: p.Domain, Team: team, Support: support}
	if p.Spec.Description != "" {
		out.Product.Description = &Description{Purpose: p.Spec.Description}
	}
	out.Product.CustomProperties = []CustomProperty{{Property: propOwner, Value: p.Spec.Owner}, {Property: propSource, Value: p.Spec.Source}}
	if len(p.Spec.Sinks) > 0 {
		out.Product.CustomProperties = append(out.Product.CustomProperties, CustomProperty{Property: propSinks, Value: p.Spec.Sinks})
	}
	if len(p.Spec.Labels) > 0 {
		out.Product.CustomProperties = append(out.Product.CustomProperties, CustomProperty{Property: propLabels, Value: p.Spec.Labels})
	}
	for _, port := range p.Spec.Ports {
		for _, r := range port.Retained {
			// Earlier majors are still served, each under its own contract.
			old := port
			old.MajorVersion, old.Partitions, old.RetentionMs, old.CleanupPolicy, old.Fields = r.Major, r.Partitions, r.RetentionMs, r.CleanupPolicy, r.Fields
			c := contractOf(p, old, team, support)
			out.Product.OutputPorts = append(out.Product.OutputPorts, OutputPort{Name: port.Name, Type: "kafka-topic",
				Version: fmt.Sprintf("v%d", r.Major), ContractID: c.ID, Description: "an earlier major, kept until retired"})
			out.Contracts = append(out.Contracts, c)
		}
		c := contractOf(p, port, team, support)
		out.Product.OutputPorts = append(out.Product.OutputPorts, OutputPort{Name: port.Name, Description: port.Description,
			Type: "kafka-topic", Version: fmt.Sprintf("v%d", port.MajorVersion), ContractID: c.ID})
		out.Contracts = append(out.Contracts, c)
	}
	if err := validate("odps", out.Product); err != nil {
		return out, err
	}
	for _, c := range out.Contracts {
		if err := validate("odcs", c); err != nil {
			return out, err
		}
	}
	return out, nil
}

func teamOf(domain, owner string) (*Team, []Support) {
	if owner == "" {
		return nil, nil
	}
	team := &Team{Name: domain, Members: []Member{{Username: owner, Role: "owner"}}}
	if strings.Contains(owner, "@") {
		return team, []Support{{Channel: "owner", URL: "mailto:" + owner, Tool: "email"}}
	}
	return team, nil
}

func contractOf(p Product, port spec.OutputPort, team *Team, support []Support) ODCS {
	topic := spec.TopicName(p.Domain, p.Name, port.Name, port.MajorVersion)
	c := ODCS{APIVersion: ODCSVersion, Kind: "DataContract", ID: topic, Name: port.Name,
		Version: fmt.Sprintf("%d.0.0", port.MajorVersion), Status: string(p.Lifecycle), Domain: p.Domain, Team: team, Support: support,
		CustomProperties: []CustomProperty{{Property: propPort, Value: port.Name}, {Property: propPartitions, Value: port.Partitions},
			{Property: propRetentionMs, Value: port.RetentionMs}, {Property: propCleanupPolicy, Value: string(port.CleanupPolicy)},
			{Property: propTable, Value: port.Table}}}
	if port.Description != "" {
		c.Description = &Description{Purpose: port.Description}
	}
	if len(p.Bootstrap) > 0 {
		c.Servers = []Server{{Server: "kafka", Type: "kafka", Host: strings.Join(p.Bootstrap, ","), Format: "json"}}
	}
	if port.RetentionMs > 0 {
		c.SLAProperties = []SLAProperty{{Property: "retention", Value: float64(port.RetentionMs) / 86_400_000, Unit: "d"}}
	}
	obj := SchemaObject{Name: port.Name, PhysicalName: topic, PhysicalType: "topic", LogicalType: "object", Description: port.Description}
	keys := 0
	for _, f := range port.Fields {
		prop := Property{Name: f.Name, LogicalType: logicalTypes[f.Type], PhysicalType: string(f.Type), Description: f.Description,
			Required: !f.Nullable, Classification: string(f.Classification), Tags: f.Tags}
		if f.Key {
			keys++
			prop.PrimaryKey, prop.PrimaryKeyPosition = true, keys
		}
		obj.Properties = append(obj.Properties, prop)
	}
	c.Schema = []SchemaObject{obj}
	return c
}
