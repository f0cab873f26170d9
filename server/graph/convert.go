package graph

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/99designs/gqlgen/graphql"

	"github.com/meshplane/meshplane/server/catalog"
	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/errs"
	"github.com/meshplane/meshplane/server/events"
	"github.com/meshplane/meshplane/server/grant"
	"github.com/meshplane/meshplane/server/graph/model"
	"github.com/meshplane/meshplane/server/page"
	"github.com/meshplane/meshplane/server/policy"
	"github.com/meshplane/meshplane/server/provision"
	"github.com/meshplane/meshplane/server/spec"
)

// Decoding: GraphQL inputs to the service's values. Optional inputs decode to
// zero values, which the service treats as "use the default", as it does for
// the Connect API's unset fields.

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func num(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

func num64(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

func flag(p *bool) bool {
	return p != nil && *p
}

// labelMap decodes a label list. A map holds one value per key, so a repeated
// key is refused rather than silently dropped; path names the list in the request.
func labelMap(path string, in []*model.LabelInput) (map[string]string, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(in))
	var v errs.Violations
	for i, l := range in {
		if _, dup := out[l.Key]; dup {
			v.Add(fmt.Sprintf("%s[%d].key", path, i), "duplicate label key %q", l.Key)
			continue
		}
		out[l.Key] = l.Value
	}
	return out, v.Err()
}

// productSpec decodes a product spec; field names match spec.Product's, so
// the service's violation paths ("spec.ports[0].fields[1].name") name the
// input's fields.
func productSpec(in *model.DataProductSpecInput) (spec.Product, error) {
	if in == nil {
		return spec.Product{}, nil
	}
	labels, err := labelMap("spec.labels", in.Labels)
	if err != nil {
		return spec.Product{}, err
	}
	p := spec.Product{
		Description: str(in.Description),
		Owner:       in.Owner,
		Labels:      labels,
	}
	if s := in.Source; s != nil {
		p.Source = spec.Source{
			Kind:      s.Kind,
			Host:      s.Host,
			Port:      s.Port,
			Database:  s.Database,
			Tables:    s.Tables,
			Username:  s.Username,
			SecretRef: s.SecretRef,
		}
	}
	p.Ports = make([]spec.OutputPort, len(in.Ports))
	for i, port := range in.Ports {
		p.Ports[i] = outputPort(port)
	}
	if len(in.Sinks) > 0 {
		p.Sinks = make([]spec.Sink, len(in.Sinks))
		for i, s := range in.Sinks {
			p.Sinks[i] = sink(s)
		}
	}
	return p, nil
}

func outputPort(in *model.OutputPortInput) spec.OutputPort {
	out := spec.OutputPort{
		Name:         in.Name,
		Description:  str(in.Description),
		MajorVersion: num(in.MajorVersion),
		Partitions:   num(in.Partitions),
		RetentionMs:  num64(in.RetentionMs),
		Table:        str(in.Table),
		Fields:       make([]spec.Field, len(in.Fields)),
	}
	if in.CleanupPolicy != nil {
		out.CleanupPolicy = *in.CleanupPolicy
	}
	for i, f := range in.Fields {
		out.Fields[i] = spec.Field{
			Name:        f.Name,
			Type:        f.Type,
			Nullable:    flag(f.Nullable),
			Description: str(f.Description),
			Tags:        f.Tags,
			Key:         flag(f.Key),
		}
		if f.Classification != nil {
			out.Fields[i].Classification = *f.Classification
		}
	}
	return out
}

func sink(in *model.SinkInput) spec.Sink {
	out := spec.Sink{Name: in.Name, Ports: in.Ports}
	if b := in.Bigquery; b != nil {
		out.BigQuery = &spec.BigQuerySink{Project: b.Project, Dataset: b.Dataset, CredentialsRef: b.CredentialsRef}
	}
	if b := in.S3; b != nil {
		out.S3 = &spec.S3Sink{
			Bucket:           b.Bucket,
			Region:           b.Region,
			Prefix:           str(b.Prefix),
			Format:           str(b.Format),
			FlushSize:        num(b.FlushSize),
			RotateIntervalMs: num64(b.RotateIntervalMs),
			CredentialsRef:   str(b.CredentialsRef),
		}
	}
	if b := in.Jdbc; b != nil {
		out.JDBC = &spec.JDBCSink{
			URL:              b.URL,
			Username:         b.Username,
			SecretRef:        b.SecretRef,
			InsertMode:       str(b.InsertMode),
			PrimaryKeyFields: b.PrimaryKeyFields,
			DeleteEnabled:    flag(b.DeleteEnabled),
		}
	}
	if b := in.Elasticsearch; b != nil {
		out.Elasticsearch = &spec.ElasticsearchSink{
			URL:         b.URL,
			Username:    str(b.Username),
			SecretRef:   str(b.SecretRef),
			IndexPrefix: str(b.IndexPrefix),
		}
	}
	return out
}

// listProducts decodes a product listing's arguments; dom is the domain to
// list and facets says whether the query selects the connection's facets.
func listProducts(first *int, after *string, dom string, f model.DataProductFilter, order *model.DataProductOrder, facets bool) (catalog.ListProductsInput, error) {
	ls, err := labelMap("filter.labels", f.Labels)
	if err != nil {
		return catalog.ListProductsInput{}, err
	}
	in := catalog.ListProductsInput{
		Domain:    dom,
		Labels:    ls,
		Text:      str(f.Text),
		Facets:    facets,
		PageSize:  num(first),
		PageToken: str(after),
	}
	if f.Lifecycle != nil {
		in.Lifecycle = *f.Lifecycle
	}
	if f.Health != nil {
		in.Health = *f.Health
	}
	if f.Classification != nil {
		in.Classification = *f.Classification
		if in.Classification == spec.ClassUnclassified {
			// The service reads "" as no filter; spell UNCLASSIFIED out
			// so it is refused like any classification that is no facet.
			in.Classification = "unclassified"
		}
	}
	if order != nil {
		in.OrderBy = order.Field
		in.Descending = order.Direction != nil && *order.Direction == model.OrderDirectionDesc
	}
	return in, nil
}

// selects reports whether the query selects field of what the current
// resolver returns, through fragments too.
func selects(ctx context.Context, field string) bool {
	for _, f := range graphql.CollectFieldsCtx(ctx, nil) {
		if f.Name == field {
			return true
		}
	}
	return false
}

// Encoding: the service's values to GraphQL objects.

// labels returns a label map as a list sorted by key, so responses are stable.
func labels(m map[string]string) []*model.Label {
	out := make([]*model.Label, 0, len(m))
	for k, v := range m {
		out = append(out, &model.Label{Key: k, Value: v})
	}
	slices.SortFunc(out, func(a, b *model.Label) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// nullable returns nil for the empty string: GraphQL's "absent".
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func pageInfo(cursors []string, next string) *model.PageInfo {
	info := &model.PageInfo{HasNextPage: next != ""}
	if len(cursors) > 0 {
		info.EndCursor = &cursors[len(cursors)-1]
	}
	return info
}

// edges pairs every item of a page with its cursor, in the edge type a
// connection wants.
func edges[T, E any](p page.Page[T], edge func(cursor string, node T) E) []E {
	out := make([]E, len(p.Items))
	for i, item := range p.Items {
		out[i] = edge(p.Cursors[i], item)
	}
	return out
}

func productConnection(p catalog.ProductPage) *model.DataProductConnection {
	return &model.DataProductConnection{Nodes: p.Items, PageInfo: pageInfo(p.Cursors, p.Next), Facets: p.Facets,
		Edges: edges(p.Page, func(c string, n *ent.DataProduct) *model.DataProductEdge {
			return &model.DataProductEdge{Cursor: c, Node: n}
		})}
}

func domainConnection(p page.Page[*ent.Domain]) *model.DomainConnection {
	return &model.DomainConnection{Nodes: p.Items, PageInfo: pageInfo(p.Cursors, p.Next),
		Edges: edges(p, func(c string, n *ent.Domain) *model.DomainEdge { return &model.DomainEdge{Cursor: c, Node: n} })}
}

func principalConnection(p page.Page[*ent.Principal]) *model.PrincipalConnection {
	return &model.PrincipalConnection{Nodes: p.Items, PageInfo: pageInfo(p.Cursors, p.Next),
		Edges: edges(p, func(c string, n *ent.Principal) *model.PrincipalEdge { return &model.PrincipalEdge{Cursor: c, Node: n} })}
}

func auditConnection(p page.Page[*ent.AuditEvent]) *model.AuditEventConnection {
	return &model.AuditEventConnection{Nodes: p.Items, PageInfo: pageInfo(p.Cursors, p.Next),
		Edges: edges(p, func(c string, n *ent.AuditEvent) *model.AuditEventEdge {
			return &model.AuditEventEdge{Cursor: c, Node: n}
		})}
}

func runConnection(p page.Page[*ent.ProvisioningRun]) *model.RunConnection {
	return &model.RunConnection{Nodes: p.Items, PageInfo: pageInfo(p.Cursors, p.Next),
		Edges: edges(p, func(c string, n *ent.ProvisioningRun) *model.RunEdge { return &model.RunEdge{Cursor: c, Node: n} })}
}

func connectorModel(c provision.Connector) *model.Connector {
	out := &model.Connector{Name: c.Name, Role: c.Role, State: model.ConnectorState(c.State), WorkerID: c.WorkerID, Trace: c.Trace,
		Tasks: make([]*model.ConnectorTask, len(c.Tasks))}
	if c.LastRunID != "" {
		out.LastRunID = &c.LastRunID
	}
	for i, t := range c.Tasks {
		out.Tasks[i] = &model.ConnectorTask{ID: t.ID, State: model.ConnectorState(t.State), WorkerID: t.WorkerID, Trace: t.Trace}
	}
	return out
}

func connectorPayload(c provision.Connector, err error) (*model.ConnectorPayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.ConnectorPayload{Connector: connectorModel(c)}, nil
}

func runPayload(r *ent.ProvisioningRun, err error) (*model.RunPayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.RunPayload{Run: r}, nil
}

// policyFiles turns the file list of a GraphQL input into a module's files.
func policyFiles(in []*model.PolicyFileInput) (map[string]string, error) {
	var v errs.Violations
	out := make(map[string]string, len(in))
	for i, f := range in {
		if _, dup := out[f.Name]; dup {
			v.Add(fmt.Sprintf("files[%d].name", i), "file %q is given twice", f.Name)
		}
		out[f.Name] = f.Source
	}
	return out, v.Err()
}

// fileList lists a module's files by name.
func fileList(files map[string]string) []*model.PolicyFile {
	out := make([]*model.PolicyFile, 0, len(files))
	for _, name := range slices.Sorted(maps.Keys(files)) {
		out = append(out, &model.PolicyFile{Name: name, Source: files[name]})
	}
	return out
}

// rawJSON returns JSON text, nil for an absent value.
func rawJSON(b []byte) *string {
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	s := string(b)
	return &s
}

// ptrs returns pointers to the elements of a slice.
func ptrs[T any](in []T) []*T {
	out := make([]*T, len(in))
	for i := range in {
		out[i] = &in[i]
	}
	return out
}

func publishPayload(p policy.Published, err error) (*model.PublishPolicyPayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.PublishPolicyPayload{Version: p.Version, Plans: ptrs(p.Plans)}, nil
}

func decisionConnection(p page.Page[*ent.PolicyDecision]) *model.PolicyDecisionConnection {
	return &model.PolicyDecisionConnection{Nodes: p.Items, PageInfo: pageInfo(p.Cursors, p.Next),
		Edges: edges(p, func(c string, n *ent.PolicyDecision) *model.PolicyDecisionEdge {
			return &model.PolicyDecisionEdge{Cursor: c, Node: n}
		})}
}

// productEvaluation judges a stored product, or draft when it is not nil.
func (r *Resolver) productEvaluation(ctx context.Context, domain, name string, draft *model.DataProductSpecInput) (*model.ProductEvaluation, error) {
	var in *spec.Product
	if draft != nil {
		p, err := productSpec(draft)
		if err != nil {
			return nil, err
		}
		in = &p
	}
	e, err := r.policy.EvaluateProduct(ctx, domain, name, in)
	if err != nil {
		return nil, err
	}
	return &model.ProductEvaluation{Allowed: e.Admission.Allowed, PolicyVersion: e.Admission.Version,
		Violations: ptrs(e.Admission.Violations), Masking: ptrs(e.Decisions)}, nil
}

// requestInput decodes a request for access.
func requestInput(in model.RequestAccessInput) grant.RequestInput {
	out := grant.RequestInput{Consumer: in.Consumer, Purpose: in.Purpose, GroupPrefix: str(in.GroupPrefix), Environment: str(in.Environment),
		DurationSeconds: num64(in.DurationSeconds), Ports: make([]grant.PortRef, len(in.Ports))}
	for i, p := range in.Ports {
		out.Ports[i] = grant.PortRef{Domain: p.Domain, Product: p.Product, Port: p.Port}
	}
	return out
}

func accessRequestPayload(r *grant.Request, err error) (*model.AccessRequestPayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.AccessRequestPayload{AccessRequest: r}, nil
}

func accessRequestConnection(p page.Page[*grant.Request]) *model.AccessRequestConnection {
	return &model.AccessRequestConnection{Nodes: p.Items, PageInfo: pageInfo(p.Cursors, p.Next),
		Edges: edges(p, func(c string, n *grant.Request) *model.AccessRequestEdge {
			return &model.AccessRequestEdge{Cursor: c, Node: n}
		})}
}

func grantConnection(p page.Page[*ent.Grant]) *model.GrantConnection {
	return &model.GrantConnection{Nodes: p.Items, PageInfo: pageInfo(p.Cursors, p.Next),
		Edges: edges(p, func(c string, n *ent.Grant) *model.GrantEdge { return &model.GrantEdge{Cursor: c, Node: n} })}
}

// credentialPayload carries a credential and, this once, its password.
func credentialPayload(c *grant.Credential, err error) (*model.KafkaCredentialPayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.KafkaCredentialPayload{Credential: c, Password: c.Password, BootstrapServers: c.Bootstrap,
		SecurityProtocol: c.SecurityProtocol}, nil
}

// pointers returns pointers to each of items, for lists of bound models.
func pointers[T any](items []T) []*T {
	out := make([]*T, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out
}

func deliveryConnection(p page.Page[events.Delivery]) *model.WebhookDeliveryConnection {
	nodes := pointers(p.Items)
	return &model.WebhookDeliveryConnection{Nodes: nodes, PageInfo: pageInfo(p.Cursors, p.Next),
		Edges: edges(p, func(c string, n events.Delivery) *model.WebhookDeliveryEdge {
			return &model.WebhookDeliveryEdge{Cursor: c, Node: &n}
		})}
}
