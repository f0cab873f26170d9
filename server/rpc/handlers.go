package rpc

import (
	"context"

	"connectrpc.com/connect"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/api/gen/meshplane/v1/meshplanev1connect"
	"github.com/meshplane/meshplane/server/audit"
	"github.com/meshplane/meshplane/server/catalog"
	"github.com/meshplane/meshplane/server/identity"
	"github.com/meshplane/meshplane/server/policy"
	"github.com/meshplane/meshplane/server/portschema"
	"github.com/meshplane/meshplane/server/spec"
)

// CatalogHandler serves meshplane.v1.CatalogService.
type CatalogHandler struct {
	svc *catalog.Service
	// schemas writes ports' schemas with the masking policy applied.
	schemas *policy.Service
}

var _ meshplanev1connect.CatalogServiceHandler = (*CatalogHandler)(nil)

func (h *CatalogHandler) CreateDomain(ctx context.Context, req *connect.Request[v1.CreateDomainRequest]) (*connect.Response[v1.CreateDomainResponse], error) {
	d, err := h.svc.CreateDomain(ctx, req.Msg.GetName(), req.Msg.GetDescription(), req.Msg.GetLabels())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.CreateDomainResponse{Domain: domainPB(d)}), nil
}

func (h *CatalogHandler) GetDomain(ctx context.Context, req *connect.Request[v1.GetDomainRequest]) (*connect.Response[v1.GetDomainResponse], error) {
	d, err := h.svc.GetDomain(ctx, req.Msg.GetName())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.GetDomainResponse{Domain: domainPB(d)}), nil
}

func (h *CatalogHandler) ListDomains(ctx context.Context, req *connect.Request[v1.ListDomainsRequest]) (*connect.Response[v1.ListDomainsResponse], error) {
	pg, err := h.svc.ListDomains(ctx, int(req.Msg.GetPageSize()), req.Msg.GetPageToken())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.ListDomainsResponse{Domains: mapSlice(pg.Items, domainPB), NextPageToken: pg.Next}), nil
}

func (h *CatalogHandler) UpdateDomain(ctx context.Context, req *connect.Request[v1.UpdateDomainRequest]) (*connect.Response[v1.UpdateDomainResponse], error) {
	d, err := h.svc.UpdateDomain(ctx, req.Msg.GetName(), req.Msg.GetDescription(), req.Msg.GetLabels(), req.Msg.GetVersion())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.UpdateDomainResponse{Domain: domainPB(d)}), nil
}

func (h *CatalogHandler) CreateDataProduct(ctx context.Context, req *connect.Request[v1.CreateDataProductRequest]) (*connect.Response[v1.CreateDataProductResponse], error) {
	p, err := h.svc.CreateDataProduct(ctx, catalog.CreateProductInput{
		Domain: req.Msg.GetDomain(), Name: req.Msg.GetName(), Spec: ProductSpec(req.Msg.GetSpec()),
		ValidateOnly: req.Msg.GetValidateOnly(),
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.CreateDataProductResponse{DataProduct: dataProductPB(p)}), nil
}

func (h *CatalogHandler) GetDataProduct(ctx context.Context, req *connect.Request[v1.GetDataProductRequest]) (*connect.Response[v1.GetDataProductResponse], error) {
	p, err := h.svc.GetDataProduct(ctx, req.Msg.GetDomain(), req.Msg.GetName())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.GetDataProductResponse{DataProduct: dataProductPB(p)}), nil
}

func (h *CatalogHandler) UpdateDataProduct(ctx context.Context, req *connect.Request[v1.UpdateDataProductRequest]) (*connect.Response[v1.UpdateDataProductResponse], error) {
	p, err := h.svc.UpdateDataProduct(ctx, catalog.UpdateProductInput{
		Domain: req.Msg.GetDomain(), Name: req.Msg.GetName(), Spec: ProductSpec(req.Msg.GetSpec()),
		Lifecycle: spec.Lifecycle(lifecycles.str(req.Msg.GetLifecycle())), Version: req.Msg.GetVersion(),
		ValidateOnly: req.Msg.GetValidateOnly(),
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.UpdateDataProductResponse{DataProduct: dataProductPB(p)}), nil
}

func (h *CatalogHandler) RetirePortMajor(ctx context.Context, req *connect.Request[v1.RetirePortMajorRequest]) (*connect.Response[v1.RetirePortMajorResponse], error) {
	m := req.Msg
	p, err := h.svc.RetirePortMajor(ctx, catalog.RetirePortMajorInput{Domain: m.GetDomain(), Name: m.GetName(), Port: m.GetPort(),
		Major: int(m.GetMajor()), Version: m.GetVersion()})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.RetirePortMajorResponse{DataProduct: dataProductPB(p)}), nil
}

var schemaFormats = enumMap[v1.SchemaFormat]{
	v1.SchemaFormat_SCHEMA_FORMAT_UNSPECIFIED: "",
	v1.SchemaFormat_SCHEMA_FORMAT_JSON_SCHEMA: portschema.FormatJSONSchema,
	v1.SchemaFormat_SCHEMA_FORMAT_AVRO:        portschema.FormatAvro,
}

func (h *CatalogHandler) GetPortSchema(ctx context.Context, req *connect.Request[v1.GetPortSchemaRequest]) (*connect.Response[v1.GetPortSchemaResponse], error) {
	m := req.Msg
	s, err := h.schemas.PortSchema(ctx, policy.PortSchemaInput{Domain: m.GetDomain(), Name: m.GetName(), Port: m.GetPort(),
		Major: int(m.GetMajor()), Format: schemaFormats.str(m.GetFormat())})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.GetPortSchemaResponse{Major: int32(s.Major), Topic: s.Topic, Format: schemaFormats.num(s.Format),
		ContentType: s.ContentType, Schema: s.Text, PolicyVersion: s.PolicyVersion}), nil
}

var orderFields = map[v1.DataProductOrderField]string{
	v1.DataProductOrderField_DATA_PRODUCT_ORDER_FIELD_UNSPECIFIED: catalog.OrderName,
	v1.DataProductOrderField_DATA_PRODUCT_ORDER_FIELD_NAME:        catalog.OrderName,
	v1.DataProductOrderField_DATA_PRODUCT_ORDER_FIELD_CREATE_TIME: catalog.OrderCreateTime,
	v1.DataProductOrderField_DATA_PRODUCT_ORDER_FIELD_UPDATE_TIME: catalog.OrderUpdateTime,
}

func (h *CatalogHandler) ListDataProducts(ctx context.Context, req *connect.Request[v1.ListDataProductsRequest]) (*connect.Response[v1.ListDataProductsResponse], error) {
	order, ok := orderFields[req.Msg.GetOrderBy()]
	if !ok {
		order = "unknown"
	}
	pg, err := h.svc.ListDataProducts(ctx, catalog.ListProductsInput{
		Domain: req.Msg.GetDomain(), Lifecycle: spec.Lifecycle(lifecycles.str(req.Msg.GetLifecycle())),
		Labels: req.Msg.GetLabels(), Text: req.Msg.GetText(),
		Health:         catalog.Health(healths.str(req.Msg.GetHealth())),
		Classification: spec.Classification(classifications.str(req.Msg.GetClassification())),
		Facets:         req.Msg.GetIncludeFacets(),
		PageSize:       int(req.Msg.GetPageSize()), PageToken: req.Msg.GetPageToken(),
		OrderBy: order, Descending: req.Msg.GetDescending(),
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.ListDataProductsResponse{DataProducts: mapSlice(pg.Items, dataProductPB), NextPageToken: pg.Next,
		Facets: facetsPB(pg.Facets)}), nil
}

func (h *CatalogHandler) DeleteDataProduct(ctx context.Context, req *connect.Request[v1.DeleteDataProductRequest]) (*connect.Response[v1.DeleteDataProductResponse], error) {
	if err := h.svc.DeleteDataProduct(ctx, req.Msg.GetDomain(), req.Msg.GetName(), req.Msg.GetVersion()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.DeleteDataProductResponse{}), nil
}

// IdentityHandler serves meshplane.v1.IdentityService.
type IdentityHandler struct{ svc *identity.Service }

var _ meshplanev1connect.IdentityServiceHandler = (*IdentityHandler)(nil)

func (h *IdentityHandler) WhoAmI(ctx context.Context, _ *connect.Request[v1.WhoAmIRequest]) (*connect.Response[v1.WhoAmIResponse], error) {
	p, bs, err := h.svc.WhoAmI(ctx)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.WhoAmIResponse{Principal: principalPB(p), RoleBindings: mapSlice(bs, roleBindingPB)}), nil
}

func (h *IdentityHandler) CreatePrincipal(ctx context.Context, req *connect.Request[v1.CreatePrincipalRequest]) (*connect.Response[v1.CreatePrincipalResponse], error) {
	p, err := h.svc.CreatePrincipal(ctx, identity.CreatePrincipalInput{
		Name: req.Msg.GetName(), Kind: principalKinds.str(req.Msg.GetKind()), DisplayName: req.Msg.GetDisplayName(),
		Email: req.Msg.GetEmail(), Domain: req.Msg.GetDomain(),
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.CreatePrincipalResponse{Principal: principalPB(p)}), nil
}

func (h *IdentityHandler) GetPrincipal(ctx context.Context, req *connect.Request[v1.GetPrincipalRequest]) (*connect.Response[v1.GetPrincipalResponse], error) {
	p, err := h.svc.GetPrincipal(ctx, req.Msg.GetName())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.GetPrincipalResponse{Principal: principalPB(p)}), nil
}

func (h *IdentityHandler) ListPrincipals(ctx context.Context, req *connect.Request[v1.ListPrincipalsRequest]) (*connect.Response[v1.ListPrincipalsResponse], error) {
	pg, err := h.svc.ListPrincipals(ctx, int(req.Msg.GetPageSize()), req.Msg.GetPageToken())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.ListPrincipalsResponse{Principals: mapSlice(pg.Items, principalPB), NextPageToken: pg.Next}), nil
}

func (h *IdentityHandler) DisablePrincipal(ctx context.Context, req *connect.Request[v1.DisablePrincipalRequest]) (*connect.Response[v1.DisablePrincipalResponse], error) {
	p, err := h.svc.DisablePrincipal(ctx, req.Msg.GetName(), req.Msg.GetVersion())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.DisablePrincipalResponse{Principal: principalPB(p)}), nil
}

func (h *IdentityHandler) CreateToken(ctx context.Context, req *connect.Request[v1.CreateTokenRequest]) (*connect.Response[v1.CreateTokenResponse], error) {
	t, secret, err := h.svc.CreateToken(ctx, req.Msg.GetPrincipal(), req.Msg.GetDescription(), identity.ParseTTL(req.Msg.GetTtlSeconds()))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.CreateTokenResponse{Token: tokenPB(t), Secret: secret}), nil
}

func (h *IdentityHandler) ListTokens(ctx context.Context, req *connect.Request[v1.ListTokensRequest]) (*connect.Response[v1.ListTokensResponse], error) {
	ts, err := h.svc.ListTokens(ctx, req.Msg.GetPrincipal())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.ListTokensResponse{Tokens: mapSlice(ts, tokenPB)}), nil
}

func (h *IdentityHandler) RevokeToken(ctx context.Context, req *connect.Request[v1.RevokeTokenRequest]) (*connect.Response[v1.RevokeTokenResponse], error) {
	t, err := h.svc.RevokeToken(ctx, req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.RevokeTokenResponse{Token: tokenPB(t)}), nil
}

func (h *IdentityHandler) CreateRoleBinding(ctx context.Context, req *connect.Request[v1.CreateRoleBindingRequest]) (*connect.Response[v1.CreateRoleBindingResponse], error) {
	b, err := h.svc.CreateRoleBinding(ctx, req.Msg.GetPrincipal(), req.Msg.GetRole(), req.Msg.GetDomain())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.CreateRoleBindingResponse{RoleBinding: roleBindingPB(b)}), nil
}

func (h *IdentityHandler) ListRoleBindings(ctx context.Context, req *connect.Request[v1.ListRoleBindingsRequest]) (*connect.Response[v1.ListRoleBindingsResponse], error) {
	bs, err := h.svc.ListRoleBindings(ctx, req.Msg.GetPrincipal(), req.Msg.GetDomain())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.ListRoleBindingsResponse{RoleBindings: mapSlice(bs, roleBindingPB)}), nil
}

func (h *IdentityHandler) DeleteRoleBinding(ctx context.Context, req *connect.Request[v1.DeleteRoleBindingRequest]) (*connect.Response[v1.DeleteRoleBindingResponse], error) {
	if err := h.svc.DeleteRoleBinding(ctx, req.Msg.GetId()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.DeleteRoleBindingResponse{}), nil
}

// AuditHandler serves meshplane.v1.AuditService.
type AuditHandler struct{ svc *audit.Service }

var _ meshplanev1connect.AuditServiceHandler = (*AuditHandler)(nil)

func (h *AuditHandler) ListAuditEvents(ctx context.Context, req *connect.Request[v1.ListAuditEventsRequest]) (*connect.Response[v1.ListAuditEventsResponse], error) {
	pg, err := h.svc.List(ctx, audit.ListInput{
		Domain: req.Msg.GetDomain(), ResourceType: req.Msg.GetResourceType(), Resource: req.Msg.GetResource(),
		Actor: req.Msg.GetActor(), PageSize: int(req.Msg.GetPageSize()), PageToken: req.Msg.GetPageToken(),
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.ListAuditEventsResponse{Events: mapSlice(pg.Items, auditEventPB), NextPageToken: pg.Next}), nil
}

func (h *AuditHandler) VerifyAuditLog(ctx context.Context, _ *connect.Request[v1.VerifyAuditLogRequest]) (*connect.Response[v1.VerifyAuditLogResponse], error) {
	v, err := h.svc.Verify(ctx)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.VerifyAuditLogResponse{Ok: v.OK, EventsChecked: v.EventsChecked,
		FirstBrokenSequence: v.FirstBrokenSequence, HeadHash: v.HeadHash}), nil
}

func mapSlice[T any, U any](in []T, f func(T) U) []U {
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}

func (h *CatalogHandler) GetPortPreview(ctx context.Context, req *connect.Request[v1.GetPortPreviewRequest]) (*connect.Response[v1.GetPortPreviewResponse], error) {
	p, err := h.svc.GetPortPreview(ctx, req.Msg.GetDomain(), req.Msg.GetProduct(), req.Msg.GetPort(), req.Msg.GetEnvironment(), int(req.Msg.GetLimit()))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(previewPB(p)), nil
}
