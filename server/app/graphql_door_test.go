package app_test

import (
	"encoding/json"
	"strings"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/server/app/apptest"
)

// graphqlDoor posts real GraphQL documents.
type graphqlDoor struct{ env *apptest.Env }

func gqlOutcome(r apptest.GraphQLResponse) outcome {
	if len(r.Errors) == 0 {
		return outcome{Code: "OK"}
	}
	e := r.Errors[0]
	o := outcome{Code: e.Extensions.Code}
	for _, f := range e.Extensions.Fields {
		o.Fields = append(o.Fields, f.Path)
	}
	return o
}

func enumName(s, prefix string) string { return strings.TrimPrefix(s, prefix) }

func labelsVar(m map[string]string) []map[string]any {
	out := []map[string]any{}
	for k, v := range m {
		out = append(out, map[string]any{"key": k, "value": v})
	}
	return out
}

// specVar writes a wire spec as a GraphQL DataProductSpecInput, field for field.
func specVar(s *v1.DataProductSpec) map[string]any {
	src := s.GetSource()
	out := map[string]any{
		"description": s.GetDescription(),
		"owner":       s.GetOwner(),
		"labels":      labelsVar(s.GetLabels()),
		"source": map[string]any{
			"kind": enumName(src.GetKind().String(), "SOURCE_KIND_"), "host": src.GetHost(), "port": src.GetPort(),
			"database": src.GetDatabase(), "tables": nonNil(src.GetTables()), "username": src.GetUsername(), "secretRef": src.GetSecretRef(),
		},
	}
	var ports []map[string]any
	for _, p := range s.GetPorts() {
		port := map[string]any{"name": p.GetName(), "description": p.GetDescription(), "table": p.GetTable()}
		if p.GetMajorVersion() != 0 {
			port["majorVersion"] = p.GetMajorVersion()
		}
		if p.GetPartitions() != 0 {
			port["partitions"] = p.GetPartitions()
		}
		if p.GetRetentionMs() != 0 {
			port["retentionMs"] = p.GetRetentionMs()
		}
		if p.GetCleanupPolicy() != v1.CleanupPolicy_CLEANUP_POLICY_UNSPECIFIED {
			port["cleanupPolicy"] = enumName(p.GetCleanupPolicy().String(), "CLEANUP_POLICY_")
		}
		var fields []map[string]any
		for _, f := range p.GetFields() {
			class := enumName(f.GetClassification().String(), "CLASSIFICATION_")
			if class == "UNSPECIFIED" {
				class = "UNCLASSIFIED"
			}
			fields = append(fields, map[string]any{"name": f.GetName(), "type": enumName(f.GetType().String(), "FIELD_TYPE_"),
				"nullable": f.GetNullable(), "description": f.GetDescription(), "classification": class, "tags": nonNil(f.GetTags()), "key": f.GetKey()})
		}
		port["fields"] = fields
		ports = append(ports, port)
	}
	out["ports"] = ports
	var sinks []map[string]any
	for _, k := range s.GetSinks() {
		sink := map[string]any{"name": k.GetName(), "ports": nonNil(k.GetPorts())}
		switch {
		case k.GetBigquery() != nil:
			b := k.GetBigquery()
			sink["bigquery"] = map[string]any{"project": b.GetProject(), "dataset": b.GetDataset(), "credentialsRef": b.GetCredentialsRef()}
		case k.GetS3() != nil:
			b := k.GetS3()
			m := map[string]any{"bucket": b.GetBucket(), "region": b.GetRegion(), "prefix": b.GetPrefix()}
			if b.GetFormat() != "" {
				m["format"] = b.GetFormat()
			}
			sink["s3"] = m
		case k.GetJdbc() != nil:
			b := k.GetJdbc()
			sink["jdbc"] = map[string]any{"url": b.GetUrl(), "username": b.GetUsername(), "secretRef": b.GetSecretRef(), "insertMode": b.GetInsertMode()}
		case k.GetElasticsearch() != nil:
			b := k.GetElasticsearch()
			sink["elasticsearch"] = map[string]any{"url": b.GetUrl(), "username": b.GetUsername(), "secretRef": b.GetSecretRef()}
		}
		sinks = append(sinks, sink)
	}
	out["sinks"] = sinks
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

const productFields = `domain name lifecycle version owner ports { topic }`

type gqlProduct struct {
	Domain, Name, Lifecycle, Owner string
	Version                        int64
	Ports                          []struct{ Topic string }
}

func (p gqlProduct) view() productView {
	v := productView{Domain: p.Domain, Name: p.Name, Lifecycle: strings.ToLower(p.Lifecycle), Version: p.Version, Owner: p.Owner}
	for _, port := range p.Ports {
		v.Topics = append(v.Topics, port.Topic)
	}
	return v
}

func decode[T any](r apptest.GraphQLResponse) T {
	var v T
	_ = json.Unmarshal(r.Data, &v)
	return v
}

func (d graphqlDoor) createDomain(tok, name, desc string) outcome {
	return gqlOutcome(d.env.GraphQL(tok, `mutation($in: CreateDomainInput!) { createDomain(input: $in) { domain { name } } }`,
		map[string]any{"in": map[string]any{"name": name, "description": desc}}))
}

func (d graphqlDoor) createProduct(tok, domain, name string, s *v1.DataProductSpec) (productView, outcome) {
	r := d.env.GraphQL(tok, `mutation($in: CreateDataProductInput!) { createDataProduct(input: $in) { dataProduct { `+productFields+` } } }`,
		map[string]any{"in": map[string]any{"domain": domain, "name": name, "spec": specVar(s)}})
	return decode[struct {
		CreateDataProduct struct{ DataProduct gqlProduct }
	}](r).CreateDataProduct.DataProduct.view(), gqlOutcome(r)
}

func (d graphqlDoor) getProduct(tok, domain, name string) (productView, outcome) {
	r := d.env.GraphQL(tok, `query($d: String!, $n: String!) { dataProduct(domain: $d, name: $n) { `+productFields+` } }`,
		map[string]any{"d": domain, "n": name})
	return decode[struct{ DataProduct gqlProduct }](r).DataProduct.view(), gqlOutcome(r)
}

func (d graphqlDoor) updateProduct(tok, domain, name string, s *v1.DataProductSpec, lc v1.Lifecycle, version int64) (productView, outcome) {
	in := map[string]any{"domain": domain, "name": name, "spec": specVar(s), "version": version}
	if lc != v1.Lifecycle_LIFECYCLE_UNSPECIFIED {
		in["lifecycle"] = enumName(lc.String(), "LIFECYCLE_")
	}
	r := d.env.GraphQL(tok, `mutation($in: UpdateDataProductInput!) { updateDataProduct(input: $in) { dataProduct { `+productFields+` } } }`,
		map[string]any{"in": in})
	return decode[struct {
		UpdateDataProduct struct{ DataProduct gqlProduct }
	}](r).UpdateDataProduct.DataProduct.view(), gqlOutcome(r)
}

func (d graphqlDoor) deleteProduct(tok, domain, name string, version int64) outcome {
	return gqlOutcome(d.env.GraphQL(tok, `mutation($in: DeleteDataProductInput!) { deleteDataProduct(input: $in) { name } }`,
		map[string]any{"in": map[string]any{"domain": domain, "name": name, "version": version}}))
}

func (d graphqlDoor) listProducts(tok string, f listFilter) ([]string, string, outcome) {
	filter := map[string]any{"labels": labelsVar(f.Labels)}
	if f.Domain != "" {
		filter["domain"] = f.Domain
	}
	if f.Text != "" {
		filter["text"] = f.Text
	}
	if f.Lifecycle != v1.Lifecycle_LIFECYCLE_UNSPECIFIED {
		filter["lifecycle"] = enumName(f.Lifecycle.String(), "LIFECYCLE_")
	}
	vars := map[string]any{"filter": filter}
	if f.PageSize != 0 {
		vars["first"] = f.PageSize
	}
	if f.PageToken != "" {
		vars["after"] = f.PageToken
	}
	r := d.env.GraphQL(tok, `query($first: Int, $after: String, $filter: DataProductFilter) {
		dataProducts(first: $first, after: $after, filter: $filter) { nodes { domain name } pageInfo { hasNextPage endCursor } } }`, vars)
	res := decode[struct {
		DataProducts struct {
			Nodes    []struct{ Domain, Name string }
			PageInfo struct {
				HasNextPage bool
				EndCursor   string
			}
		}
	}](r)
	var names []string
	for _, n := range res.DataProducts.Nodes {
		names = append(names, n.Domain+"/"+n.Name)
	}
	next := ""
	if res.DataProducts.PageInfo.HasNextPage {
		next = res.DataProducts.PageInfo.EndCursor
	}
	return names, next, gqlOutcome(r)
}
