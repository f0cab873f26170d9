// Package catalog registers domains and data products: validation,
// authorization, optimistic concurrency and audit for every change, shared by
// every door.
package catalog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/sqljson"

	"github.com/meshplane/meshplane/server/access"
	"github.com/meshplane/meshplane/server/actor"
	"github.com/meshplane/meshplane/server/audit"
	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/ent/dataproduct"
	"github.com/meshplane/meshplane/server/ent/deployment"
	"github.com/meshplane/meshplane/server/ent/domain"
	"github.com/meshplane/meshplane/server/ent/predicate"
	"github.com/meshplane/meshplane/server/errs"
	"github.com/meshplane/meshplane/server/page"
	"github.com/meshplane/meshplane/server/spec"
	"github.com/meshplane/meshplane/server/store"
)

// Config configures the catalog service.
type Config struct {
	Store  *store.Store
	Authz  *access.Authorizer
	Logger *slog.Logger
	// Admission judges every product write; nil admits everything.
	Admission Admission
	// Previews read output ports' topics, one per environment; the first
	// serves a preview naming no environment. None when no Kafka is
	// reachable.
	Previews []PreviewSource
	// Pseudonym hashes a PII value for a viewer who may not see it raw.
	Pseudonym func(string) string
}

// Admission decides whether a product may be written as given; a refusal
// is an error listing every violation.
type Admission interface {
	// Admit judges a write and records the decision in the decision log.
	Admit(ctx context.Context, domain, name, lifecycle string, p spec.Product, trigger string) error
	// WouldAdmit answers as Admit would and records nothing: a write that
	// only validates leaves no trace.
	WouldAdmit(ctx context.Context, domain, name, lifecycle string, p spec.Product) error
}

// Validate checks that every required dependency is present.
func (c Config) Validate() error {
	if c.Store == nil || c.Authz == nil || c.Logger == nil {
		return fmt.Errorf("catalog config needs Store, Authz and Logger")
	}
	return nil
}

// Service is the catalog's one code path for every door.
type Service struct {
	store *store.Store
	authz *access.Authorizer
	log   *slog.Logger
	cfg   Config
}

// New returns the catalog service.
func New(c Config) (*Service, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &Service{store: c.Store, authz: c.Authz, log: c.Logger, cfg: c}, nil
}

// CreateDomain registers a domain; it needs domain create in every domain.
func (s *Service) CreateDomain(ctx context.Context, name, description string, labels map[string]string) (*ent.Domain, error) {
	var v errs.Violations
	spec.CheckName(&v, "name", name)
	spec.CheckDescription(&v, "description", description)
	spec.CheckLabels(&v, "labels", labels)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := s.authz.Require(ctx, access.AllDomains, access.ObjDomain, access.ActCreate); err != nil {
		return nil, err
	}
	var out *ent.Domain
	err := s.store.Tx(ctx, func(tx *ent.Tx) error {
		exists, err := tx.Domain.Query().Where(domain.Name(name)).Exist(ctx)
		if err != nil {
			return err
		}
		if exists {
			return errs.New(errs.KindAlreadyExists, "domain %q already exists", name)
		}
		out, err = tx.Domain.Create().SetName(name).SetDescription(description).SetLabels(labels).Save(ctx)
		if err != nil {
			return store.AlreadyExists(err, "domain", name)
		}
		return audit.Record(ctx, tx, s.store.Dialect, audit.Change{
			Action: "catalog.CreateDomain", ResourceType: "domain", Resource: name, Domain: name, After: out,
		})
	})
	return out, err
}

// GetDomain returns a domain the caller may read; others are not found.
func (s *Service) GetDomain(ctx context.Context, name string) (*ent.Domain, error) {
	if !s.authz.Can(ctx, name, access.ObjDomain, access.ActRead) {
		return nil, errs.NotFound("domain", name)
	}
	d, err := s.store.Client.Domain.Query().Where(domain.Name(name)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, errs.NotFound("domain", name)
	}
	if err != nil {
		return nil, fmt.Errorf("reading domain: %w", err)
	}
	return d, nil
}

// ListDomains pages through the domains the caller may read, by name.
func (s *Service) ListDomains(ctx context.Context, pageSize int, pageToken string) (page.Page[*ent.Domain], error) {
	size, cur, err := page.Start(pageSize, pageToken, "name", false)
	if err != nil {
		return page.Page[*ent.Domain]{}, err
	}
	scope := s.authz.ScopeOf(ctx, access.ObjDomain, access.ActRead)
	if !scope.All && len(scope.Domains) == 0 {
		return page.Page[*ent.Domain]{}, nil
	}
	q := s.store.Client.Domain.Query()
	if !scope.All {
		q = q.Where(domain.NameIn(scope.Domains...))
	}
	if cur != nil {
		q = q.Where(domain.NameGT(cur.Key))
	}
	ds, err := q.Order(ent.Asc(domain.FieldName)).Limit(size + 1).All(ctx)
	if err != nil {
		return page.Page[*ent.Domain]{}, fmt.Errorf("listing domains: %w", err)
	}
	return page.Of(ds, size, func(d *ent.Domain) page.Cursor { return page.Cursor{Order: "name", Key: d.Name} }), nil
}

// UpdateDomain replaces a domain's description and labels, guarded by version.
func (s *Service) UpdateDomain(ctx context.Context, name, description string, labels map[string]string, version int64) (*ent.Domain, error) {
	var v errs.Violations
	spec.CheckName(&v, "name", name)
	spec.CheckDescription(&v, "description", description)
	spec.CheckLabels(&v, "labels", labels)
	checkVersion(&v, version)
	if err := v.Err(); err != nil {
		return nil, err
	}
	cur, err := s.GetDomain(ctx, name)
	if err != nil {
		return nil, err
	}
	if err := s.authz.Require(ctx, name, access.ObjDomain, access.ActUpdate); err != nil {
		return nil, err
	}
	var out *ent.Domain
	err = s.store.Tx(ctx, func(tx *ent.Tx) error {
		n, err := tx.Domain.Update().Where(domain.ID(cur.ID), domain.Version(version)).
			SetDescription(description).SetLabels(labels).AddVersion(1).Save(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			now, err := tx.Domain.Get(ctx, cur.ID)
			if err != nil {
				return err
			}
			return errs.Conflict("domain", name, version, now.Version)
		}
		if out, err = tx.Domain.Get(ctx, cur.ID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, s.store.Dialect, audit.Change{
			Action: "catalog.UpdateDomain", ResourceType: "domain", Resource: name, Domain: name, Before: cur, After: out,
		})
	})
	return out, err
}

func checkVersion(v *errs.Violations, version int64) {
	if version < 1 {
		v.Add("version", "is required: the version you read (optimistic concurrency)")
	}
}

// CreateProductInput describes a new data product.
type CreateProductInput struct {
	Domain string
	Name   string
	Spec   spec.Product
	// ValidateOnly runs every check of the call and answers the product as
	// it would be stored, without an id, writing nothing.
	ValidateOnly bool
}

// errValidateOnly rolls back the transaction of a write that only validates.
var errValidateOnly = errors.New("validate only: roll back")

// finish ends a write's transaction: a write that only validates runs its
// statements, so the database's own checks answer as for a real write, and
// then rolls them back instead of recording the change.
func finish(validateOnly bool, record func() error) error {
	if validateOnly {
		return errValidateOnly
	}
	return record()
}

// dryRun turns the rollback of a write that only validates into success.
func dryRun(err error) error {
	if errors.Is(err, errValidateOnly) {
		return nil
	}
	return err
}

// checkProduct validates a product's names and normalizes and validates its spec.
func checkProduct(v *errs.Violations, dom, name string, p *spec.Product) {
	spec.CheckName(v, "domain", dom)
	spec.CheckName(v, "name", name)
	if v.Len() == 0 {
		p.Normalize(dom, name)
	}
	p.Validate(v, "spec")
}

// CreateDataProduct registers a draft product in a domain.
func (s *Service) CreateDataProduct(ctx context.Context, in CreateProductInput) (*ent.DataProduct, error) {
	var v errs.Violations
	for i := range in.Spec.Ports {
		// What meshplane keeps of a port starts with the product.
		in.Spec.Ports[i].Retained, in.Spec.Ports[i].BaseMajor = nil, 0
	}
	checkProduct(&v, in.Domain, in.Name, &in.Spec)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := s.requireProduct(ctx, in.Domain, in.Name, access.ActCreate); err != nil {
		return nil, err
	}
	// A name already taken is the answer even when the product is also
	// inadmissible, and its denial must not land in the other product's log.
	if exists, err := s.store.Client.DataProduct.Query().Where(dataproduct.Domain(in.Domain), dataproduct.Name(in.Name)).Exist(ctx); err != nil {
		return nil, fmt.Errorf("checking product name: %w", err)
	} else if exists {
		return nil, errs.New(errs.KindAlreadyExists, "data product %s/%s already exists", in.Domain, in.Name)
	}
	if err := s.admit(ctx, in.Domain, in.Name, spec.LifecycleDraft, in.Spec, "catalog.CreateDataProduct", in.ValidateOnly); err != nil {
		return nil, err
	}
	who, _ := actor.From(ctx)
	var out *ent.DataProduct
	err := s.store.Tx(ctx, func(tx *ent.Tx) error {
		if err := store.RequireDomain(ctx, tx, in.Domain); err != nil {
			return err
		}
		exists, err := tx.DataProduct.Query().Where(dataproduct.Domain(in.Domain), dataproduct.Name(in.Name)).Exist(ctx)
		if err != nil {
			return err
		}
		if exists {
			return errs.New(errs.KindAlreadyExists, "data product %s/%s already exists", in.Domain, in.Name)
		}
		out, err = tx.DataProduct.Create().
			SetDomain(in.Domain).SetName(in.Name).
			SetDescription(in.Spec.Description).SetOwner(in.Spec.Owner).SetLabels(in.Spec.Labels).
			SetSource(in.Spec.Source).SetPorts(in.Spec.Ports).SetSinks(in.Spec.Sinks).
			SetSearchText(spec.SearchText(in.Name, in.Spec)).SetClassifications(spec.ClassificationBits(in.Spec)).
			SetCreatedBy(who.Name).SetUpdatedBy(who.Name).Save(ctx)
		if err != nil {
			return store.AlreadyExists(err, "data product", in.Domain+"/"+in.Name)
		}
		return finish(in.ValidateOnly, func() error {
			return audit.Record(ctx, tx, s.store.Dialect, audit.Change{
				Action: "catalog.CreateDataProduct", ResourceType: "product", Resource: in.Domain + "/" + in.Name,
				Domain: in.Domain, After: out,
			})
		})
	})
	if err := dryRun(err); err != nil {
		return nil, err
	}
	if in.ValidateOnly {
		out.ID = "" // nothing was stored under the id the insert drew
	}
	return out, nil
}

// admit asks the admission policy about a product write; a write that only
// validates leaves no decision in the log. Retiring a product is always
// allowed: policy must never keep infrastructure alive.
func (s *Service) admit(ctx context.Context, dom, name string, lifecycle spec.Lifecycle, p spec.Product, trigger string, validateOnly bool) error {
	if s.cfg.Admission == nil || lifecycle == spec.LifecycleRetired {
		return nil
	}
	if validateOnly {
		return s.cfg.Admission.WouldAdmit(ctx, dom, name, string(lifecycle), p)
	}
	return s.cfg.Admission.Admit(ctx, dom, name, string(lifecycle), p, trigger)
}

// requireProduct checks act on products of domain, answering not-found to
// callers who may not even read there, so other domains' products stay hidden.
func (s *Service) requireProduct(ctx context.Context, dom, name, act string) error {
	if !s.authz.Can(ctx, dom, access.ObjProduct, access.ActRead) {
		if act == access.ActCreate {
			return errs.NotFound("domain", dom)
		}
		return errs.NotFound("data product", dom+"/"+name)
	}
	return s.authz.Require(ctx, dom, access.ObjProduct, act)
}

// GetDataProduct returns a product the caller may read; others are not found.
func (s *Service) GetDataProduct(ctx context.Context, dom, name string) (*ent.DataProduct, error) {
	return ReadProduct(ctx, s.authz, s.store.Client, dom, name)
}

// productColumns are the columns a product is read with: all but the search
// text, which only the database's own search reads and every write
// recomputes.
var productColumns = slices.DeleteFunc(slices.Clone(dataproduct.Columns), func(c string) bool { return c == dataproduct.FieldSearchText })

// ReadProduct returns product dom/name when the caller may read products in
// dom. Otherwise, as when there is none, it is not found, so other domains'
// products stay hidden. Every service that reads a product on a caller's
// behalf goes through it.
func ReadProduct(ctx context.Context, authz *access.Authorizer, c *ent.Client, dom, name string) (*ent.DataProduct, error) {
	if !authz.Can(ctx, dom, access.ObjProduct, access.ActRead) {
		return nil, errs.NotFound("data product", dom+"/"+name)
	}
	p, err := c.DataProduct.Query().Where(dataproduct.Domain(dom), dataproduct.Name(name)).Select(productColumns...).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, errs.NotFound("data product", dom+"/"+name)
	}
	if err != nil {
		return nil, fmt.Errorf("reading data product: %w", err)
	}
	return p, nil
}

// DraftProduct checks a product spec nobody has saved yet the way the write
// that would save it does: it validates and normalizes p as
// CreateDataProduct or UpdateDataProduct would, and requires the right that
// write needs — create when dom has no product name, otherwise the update
// (of a draft, or of a product past draft) that keeps its lifecycle. It
// returns p as it would be stored and the lifecycle the product has or would
// have. Callers who may not read products in dom learn nothing, as with
// CreateDataProduct: the domain is not found.
func DraftProduct(ctx context.Context, authz *access.Authorizer, c *ent.Client, dom, name string, p spec.Product) (spec.Product, spec.Lifecycle, error) {
	var v errs.Violations
	checkProduct(&v, dom, name, &p)
	if err := v.Err(); err != nil {
		return spec.Product{}, "", err
	}
	if !authz.Can(ctx, dom, access.ObjProduct, access.ActRead) {
		return spec.Product{}, "", errs.NotFound("domain", dom)
	}
	cur, err := c.DataProduct.Query().Where(dataproduct.Domain(dom), dataproduct.Name(name)).Only(ctx)
	switch {
	case ent.IsNotFound(err):
		if err := authz.Require(ctx, dom, access.ObjProduct, access.ActCreate); err != nil {
			return spec.Product{}, "", err
		}
		exists, err := c.Domain.Query().Where(domain.Name(dom)).Exist(ctx)
		if err != nil {
			return spec.Product{}, "", fmt.Errorf("reading domain: %w", err)
		}
		if !exists {
			return spec.Product{}, "", errs.NotFound("domain", dom)
		}
		return p, spec.LifecycleDraft, nil
	case err != nil:
		return spec.Product{}, "", fmt.Errorf("reading data product: %w", err)
	}
	lc := spec.Lifecycle(cur.Lifecycle)
	act := access.ActUpdate
	if lc == spec.LifecycleDraft {
		act = access.ActUpdateDraft
	}
	if err := authz.Require(ctx, dom, access.ObjProduct, act); err != nil {
		return spec.Product{}, "", err
	}
	if lc == spec.LifecycleRetired {
		return spec.Product{}, "", errs.New(errs.KindFailedPrecondition, "data product %s/%s is retired and read-only", dom, name).WithReason("RETIRED")
	}
	return p, lc, nil
}

// UpdateProductInput replaces a product's mutable fields.
type UpdateProductInput struct {
	Domain string
	Name   string
	Spec   spec.Product
	// Lifecycle moves the product when not empty.
	Lifecycle spec.Lifecycle
	Version   int64
	// ValidateOnly runs every check of the call and answers the product as
	// it would be stored, writing nothing.
	ValidateOnly bool
}

// ReasonStillProvisioned refuses to retire a product an environment still
// runs: decommissioning retires it once nothing is left.
const ReasonStillProvisioned = "STILL_PROVISIONED"

// UpdateDataProduct replaces the product's spec and optionally moves its
// lifecycle. Members may edit drafts that stay drafts; everything else needs
// product update. Retired products are read-only.
func (s *Service) UpdateDataProduct(ctx context.Context, in UpdateProductInput) (*ent.DataProduct, error) {
	var v errs.Violations
	checkProduct(&v, in.Domain, in.Name, &in.Spec)
	if in.Lifecycle != "" && !slices.Contains(spec.Lifecycles, in.Lifecycle) {
		v.Add("lifecycle", "must be draft, active, deprecated or retired, got %q", in.Lifecycle)
	}
	checkVersion(&v, in.Version)
	if err := v.Err(); err != nil {
		return nil, err
	}
	cur, err := s.GetDataProduct(ctx, in.Domain, in.Name)
	if err != nil {
		return nil, err
	}
	from := spec.Lifecycle(cur.Lifecycle)
	to := from
	if in.Lifecycle != "" {
		to = in.Lifecycle
	}
	act := access.ActUpdate
	if from == spec.LifecycleDraft && to == spec.LifecycleDraft {
		act = access.ActUpdateDraft
	}
	if err := s.authz.Require(ctx, in.Domain, access.ObjProduct, act); err != nil {
		return nil, err
	}
	if from == spec.LifecycleRetired {
		return nil, errs.New(errs.KindFailedPrecondition, "data product %s/%s is retired and read-only", in.Domain, in.Name).WithReason("RETIRED")
	}
	if from != to && !spec.CanTransition(from, to) {
		var v errs.Violations
		v.Add("lifecycle", "cannot move from %s to %s", from, to)
		return nil, v.Err()
	}
	if to == spec.LifecycleRetired {
		// Retired means nothing of the product is left: what an environment
		// still runs would be orphaned, never destroyed.
		envs, err := s.store.Client.Deployment.Query().Where(deployment.ProductID(cur.ID), deployment.ProvisionedVersionNotNil()).
			Select(deployment.FieldEnvironment).Strings(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading deployments: %w", err)
		}
		if len(envs) > 0 {
			return nil, errs.New(errs.KindFailedPrecondition, "data product %s/%s is still provisioned in %s: decommission it there, which retires it once nothing is left",
				in.Domain, in.Name, strings.Join(envs, ", ")).WithReason(ReasonStillProvisioned)
		}
	}
	if err := keepContracts(cur, &in.Spec); err != nil {
		return nil, err
	}
	if err := s.admit(ctx, in.Domain, in.Name, to, in.Spec, "catalog.UpdateDataProduct", in.ValidateOnly); err != nil {
		return nil, err
	}
	who, _ := actor.From(ctx)
	var out *ent.DataProduct
	err = s.store.Tx(ctx, func(tx *ent.Tx) error {
		u := tx.DataProduct.Update().Where(dataproduct.ID(cur.ID), dataproduct.Version(in.Version)).
			SetDescription(in.Spec.Description).SetOwner(in.Spec.Owner).SetLabels(in.Spec.Labels).
			SetSource(in.Spec.Source).SetPorts(in.Spec.Ports).SetSinks(in.Spec.Sinks).
			SetSearchText(spec.SearchText(in.Name, in.Spec)).SetClassifications(spec.ClassificationBits(in.Spec)).
			SetLifecycle(dataproduct.Lifecycle(to)).SetUpdatedBy(who.Name).AddVersion(1)
		if cur.ProvisionedVersion != nil && *cur.ProvisionedVersion == cur.Version && sameSpec(cur, in.Spec) {
			// Only the lifecycle moved: what is provisioned is still exactly
			// this product, so it stays in sync instead of awaiting a plan.
			u = u.SetProvisionedVersion(cur.Version + 1)
		}
		n, err := u.Save(ctx)
		if err != nil {
			return err
		}
		if n > 0 && sameSpec(cur, in.Spec) {
			// Every environment running exactly this product stays in sync.
			if _, err := tx.Deployment.Update().Where(deployment.ProductID(cur.ID), deployment.ProvisionedVersion(cur.Version)).
				SetProvisionedVersion(cur.Version + 1).Save(ctx); err != nil {
				return err
			}
		}
		if n == 0 {
			now, err := tx.DataProduct.Get(ctx, cur.ID)
			if err != nil {
				return err
			}
			return errs.Conflict("data product", in.Domain+"/"+in.Name, in.Version, now.Version)
		}
		if out, err = tx.DataProduct.Get(ctx, cur.ID); err != nil {
			return err
		}
		return finish(in.ValidateOnly, func() error {
			if err := audit.Record(ctx, tx, s.store.Dialect, audit.Change{
				Action: "catalog.UpdateDataProduct", ResourceType: "product", Resource: in.Domain + "/" + in.Name,
				Domain: in.Domain, Before: cur, After: out,
			}); err != nil {
				return err
			}
			return recordNewMajors(ctx, tx, s.store.Dialect, cur, out)
		})
	})
	if err := dryRun(err); err != nil {
		return nil, err
	}
	return out, nil
}

// sameSpec reports whether an update leaves everything provisioning renders
// from as it is.
func sameSpec(cur *ent.DataProduct, in spec.Product) bool {
	norm := func(p spec.Product) ([]byte, error) {
		// An empty map or list is stored as null or [] depending on the door.
		if len(p.Labels) == 0 {
			p.Labels = nil
		}
		if len(p.Sinks) == 0 {
			p.Sinks = nil
		}
		return json.Marshal(p)
	}
	a, errA := norm(spec.Product{Description: cur.Description, Owner: cur.Owner, Labels: cur.Labels, Source: cur.Source, Ports: cur.Ports, Sinks: cur.Sinks})
	b, errB := norm(in)
	return errA == nil && errB == nil && bytes.Equal(a, b)
}

// DeleteDataProduct deletes a draft. Products past draft have consumers and
// history: retire them instead. A version of 0 skips the concurrency check.
func (s *Service) DeleteDataProduct(ctx context.Context, dom, name string, version int64) error {
	var v errs.Violations
	spec.CheckName(&v, "domain", dom)
	spec.CheckName(&v, "name", name)
	if version < 0 {
		v.Add("version", "must not be negative")
	}
	if err := v.Err(); err != nil {
		return err
	}
	cur, err := s.GetDataProduct(ctx, dom, name)
	if err != nil {
		return err
	}
	if err := s.authz.Require(ctx, dom, access.ObjProduct, access.ActDeleteDraft); err != nil {
		return err
	}
	if cur.Lifecycle != dataproduct.LifecycleDraft {
		return errs.New(errs.KindFailedPrecondition, "data product %s/%s is %s: only drafts can be deleted; move it to retired instead", dom, name, cur.Lifecycle).WithReason("NOT_DRAFT")
	}
	return s.store.Tx(ctx, func(tx *ent.Tx) error {
		preds := []predicate.DataProduct{dataproduct.ID(cur.ID), dataproduct.LifecycleEQ(dataproduct.LifecycleDraft)}
		if version != 0 {
			preds = append(preds, dataproduct.Version(version))
		}
		n, err := tx.DataProduct.Delete().Where(preds...).Exec(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			now, err := tx.DataProduct.Get(ctx, cur.ID)
			if ent.IsNotFound(err) {
				return errs.NotFound("data product", dom+"/"+name)
			}
			if err != nil {
				return err
			}
			return errs.Conflict("data product", dom+"/"+name, version, now.Version)
		}
		return audit.Record(ctx, tx, s.store.Dialect, audit.Change{
			Action: "catalog.DeleteDataProduct", ResourceType: "product", Resource: dom + "/" + name,
			Domain: dom, Before: cur,
		})
	})
}

// Order fields for listing products.
const (
	OrderName       = "name"
	OrderCreateTime = "create_time"
	OrderUpdateTime = "update_time"
)

// ListProductsInput filters and orders a product listing.
type ListProductsInput struct {
	Domain    string
	Lifecycle spec.Lifecycle
	Labels    map[string]string
	// Text is words that must each occur in a product's search text
	// (spec.SearchText): its name, description, port names, field names,
	// classifications and tags. Case does not matter.
	Text string
	// Health keeps products in one health state.
	Health Health
	// Classification keeps products with at least one field so classified.
	Classification spec.Classification
	// Facets asks for the facet counts of the filter.
	Facets     bool
	PageSize   int
	PageToken  string
	OrderBy    string
	Descending bool
}

// ProductPage is one page of products, with the facet counts of the
// listing's filter when they were asked for.
type ProductPage struct {
	page.Page[*ent.DataProduct]
	Facets *Facets
}

// ListDataProducts pages through the products the caller may read with keyset pagination.
func (s *Service) ListDataProducts(ctx context.Context, in ListProductsInput) (ProductPage, error) {
	var v errs.Violations
	if in.Domain != "" {
		spec.CheckName(&v, "domain", in.Domain)
	}
	if in.Lifecycle != "" && !slices.Contains(spec.Lifecycles, in.Lifecycle) {
		v.Add("lifecycle", "must be draft, active, deprecated or retired, got %q", in.Lifecycle)
	}
	spec.CheckLabels(&v, "labels", in.Labels)
	checkSearch(&v, in)
	if in.OrderBy == "" {
		in.OrderBy = OrderName
	}
	if !slices.Contains([]string{OrderName, OrderCreateTime, OrderUpdateTime}, in.OrderBy) {
		v.Add("orderBy", "must be name, create_time or update_time")
	}
	if err := v.Err(); err != nil {
		return ProductPage{}, err
	}
	size, cur, err := page.Start(in.PageSize, in.PageToken, in.OrderBy, in.Descending)
	if err != nil {
		return ProductPage{}, err
	}
	scope := s.authz.ScopeOf(ctx, access.ObjProduct, access.ActRead)
	none := ProductPage{}
	if in.Facets {
		none.Facets = emptyFacets()
	}
	var preds []predicate.DataProduct
	switch {
	case in.Domain != "":
		if !scope.Contains(in.Domain) {
			return none, nil
		}
		preds = append(preds, dataproduct.Domain(in.Domain))
	case !scope.All:
		if len(scope.Domains) == 0 {
			return none, nil
		}
		preds = append(preds, dataproduct.DomainIn(scope.Domains...))
	}
	if in.Lifecycle != "" {
		preds = append(preds, dataproduct.LifecycleEQ(dataproduct.Lifecycle(in.Lifecycle)))
	}
	keys := make([]string, 0, len(in.Labels))
	for k := range in.Labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		key, val := k, in.Labels[k]
		preds = append(preds, predicate.DataProduct(func(sel *sql.Selector) {
			sel.Where(sqljson.ValueEQ(dataproduct.FieldLabels, val, sqljson.Path(key)))
		}))
	}
	preds = append(preds, searchPredicates(s.store.Dialect, in)...)
	var out ProductPage
	if in.Facets {
		if out.Facets, err = s.facets(ctx, preds); err != nil {
			return ProductPage{}, err
		}
	}
	if cur != nil {
		p, err := afterCursor(in.OrderBy, in.Descending, cur)
		if err != nil {
			return ProductPage{}, err
		}
		preds = append(preds, p)
	}
	q := s.store.Client.DataProduct.Query().Where(preds...)
	dir := ent.Asc
	if in.Descending {
		dir = ent.Desc
	}
	switch in.OrderBy {
	case OrderName:
		q = q.Order(dir(dataproduct.FieldName), dir(dataproduct.FieldDomain))
	case OrderCreateTime:
		q = q.Order(dir(dataproduct.FieldCreateTime), dir(dataproduct.FieldID))
	case OrderUpdateTime:
		q = q.Order(dir(dataproduct.FieldUpdateTime), dir(dataproduct.FieldID))
	}
	items, err := q.Limit(size + 1).Select(productColumns...).All(ctx)
	if err != nil {
		return ProductPage{}, fmt.Errorf("listing data products: %w", err)
	}
	out.Page = page.Of(items, size, func(p *ent.DataProduct) page.Cursor { return cursorOf(in.OrderBy, in.Descending, p) })
	return out, nil
}

func cursorOf(order string, desc bool, p *ent.DataProduct) page.Cursor {
	switch order {
	case OrderCreateTime:
		return page.Cursor{Order: order, Desc: desc, Key: p.CreateTime.UTC().Format(time.RFC3339Nano), ID: p.ID}
	case OrderUpdateTime:
		return page.Cursor{Order: order, Desc: desc, Key: p.UpdateTime.UTC().Format(time.RFC3339Nano), ID: p.ID}
	default:
		return page.Cursor{Order: order, Desc: desc, Key: p.Name, ID: p.Domain}
	}
}

func afterCursor(order string, desc bool, c *page.Cursor) (predicate.DataProduct, error) {
	bad := func() error {
		var v errs.Violations
		v.Add("pageToken", "is not a page token returned by this list")
		return v.Err()
	}
	switch order {
	case OrderName:
		if desc {
			return dataproduct.Or(dataproduct.NameLT(c.Key), dataproduct.And(dataproduct.Name(c.Key), dataproduct.DomainLT(c.ID))), nil
		}
		return dataproduct.Or(dataproduct.NameGT(c.Key), dataproduct.And(dataproduct.Name(c.Key), dataproduct.DomainGT(c.ID))), nil
	default:
		t, err := time.Parse(time.RFC3339Nano, c.Key)
		if err != nil {
			return nil, bad()
		}
		gt, eq, idgt := dataproduct.CreateTimeGT, dataproduct.CreateTimeEQ, dataproduct.IDGT
		lt, idlt := dataproduct.CreateTimeLT, dataproduct.IDLT
		if order == OrderUpdateTime {
			gt, eq, lt = dataproduct.UpdateTimeGT, dataproduct.UpdateTimeEQ, dataproduct.UpdateTimeLT
		}
		if desc {
			return dataproduct.Or(lt(t), dataproduct.And(eq(t), idlt(c.ID))), nil
		}
		return dataproduct.Or(gt(t), dataproduct.And(eq(t), idgt(c.ID))), nil
	}
}
