package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/meshplane/meshplane/server/access"
	"github.com/meshplane/meshplane/server/actor"
	"github.com/meshplane/meshplane/server/catalog"
	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/ent/policydecision"
	"github.com/meshplane/meshplane/server/errs"
	"github.com/meshplane/meshplane/server/masking"
	"github.com/meshplane/meshplane/server/page"
	"github.com/meshplane/meshplane/server/policy/engine"
	"github.com/meshplane/meshplane/server/spec"
	"github.com/meshplane/meshplane/server/store"
)

// Governor judges products with the published policy: admission before
// every write and plan, masking compiled into connector settings, and who
// must approve access; every judgement of a write or plan is logged. The
// catalog, provisioning and access consult it; officers change what it
// holds through Service.
type Governor struct {
	store  *store.Store
	log    *slog.Logger
	salts  masking.Salts
	engine *engine.Engine
}

// NewGovernor returns a Governor with no policy in force — it refuses every
// product until Service.Start puts the published one in force.
func NewGovernor(st *store.Store, log *slog.Logger, salts masking.Salts) (*Governor, error) {
	if st == nil || log == nil || !salts.Valid() {
		return nil, fmt.Errorf("a governor needs a store, a logger and salts")
	}
	return &Governor{store: st, log: log, salts: salts, engine: engine.NewEngine(nil)}, nil
}

// Admit judges a product about to be written with the published policy and
// logs the decision. A denial is an invalid-argument error listing every
// violation with its field path; an error in the policy denies too.
func (s *Governor) Admit(ctx context.Context, domain, name, lifecycle string, p spec.Product, trigger string) error {
	ev := s.judge(ctx, engine.Product{Domain: domain, Name: name, Lifecycle: lifecycle, Spec: p}, trigger)
	return denial(ev.Admission, errs.KindInvalidArgument)
}

// WouldAdmit answers as Admit would, without logging the decision: for a
// write that only validates.
func (s *Governor) WouldAdmit(ctx context.Context, domain, name, lifecycle string, p spec.Product) error {
	ev := s.evaluate(ctx, s.engine.Current(), engine.Product{Domain: domain, Name: name, Lifecycle: lifecycle, Spec: p})
	return denial(ev.Admission, errs.KindInvalidArgument)
}

// Govern judges a stored product before a plan in env and returns what its
// connectors must be configured with there.
func (s *Governor) Govern(ctx context.Context, p *ent.DataProduct, env engine.Environment, trigger string) (masking.Governed, error) {
	in := input(p)
	in.Environment = env
	ev := s.judge(ctx, in, trigger)
	if err := denial(ev.Admission, errs.KindFailedPrecondition); err != nil {
		return masking.Governed{}, err
	}
	return masking.Governed{
		ConnectorConfig: ev.Connectors.Config, SinkMasks: ev.Connectors.SinkMasks,
		PolicyVersion: ev.Admission.Version, Masked: ev.Connectors.Masked,
	}, nil
}

// DecideAccess asks the published meshplane.access policy who must approve
// an access request, for how long at most, and whether it may be approved
// without anyone; a policy that cannot answer fails closed.
func (s *Governor) DecideAccess(ctx context.Context, r engine.AccessRequest) engine.AccessDecision {
	d := s.engine.Access(ctx, r)
	if d.FailedClosed {
		s.log.Warn("the access policy failed: every owner and a governance officer must approve", "error", d.Error, "policy", d.PolicyVersion)
	}
	return d
}

// Approvers asks the published meshplane.provision policy whose approvals
// a planned run of p in env needs; a policy that cannot answer fails
// closed (a domain owner and a governance officer).
func (s *Governor) Approvers(ctx context.Context, p *ent.DataProduct, env engine.Environment, run engine.Run) engine.RunApprovers {
	in := input(p)
	in.Environment = env
	out := s.engine.Approvers(ctx, in, run)
	if out.FailedClosed {
		s.log.Warn("the approvers policy failed: a domain owner and a governance officer must approve", "error", out.Error, "policy", out.PolicyVersion)
	}
	return out
}

// PolicyVersion names the published policy in force; "" when none is.
func (s *Governor) PolicyVersion() string {
	if cur := s.engine.Current(); cur != nil {
		return cur.Version()
	}
	return ""
}

// judge evaluates p with the published policy and logs both decisions.
func (s *Governor) judge(ctx context.Context, p engine.Product, trigger string) evaluation {
	ev := s.evaluate(ctx, s.engine.Current(), p)
	s.logDecisions(ctx, p, trigger, ev)
	return ev
}

// denial turns a refused admission into an error of kind, with one field
// violation per policy message.
func denial(a engine.Admission, kind errs.Kind) error {
	if a.Allowed {
		return nil
	}
	var v errs.Violations
	for _, viol := range a.Violations {
		path := viol.Path
		if path == "" {
			path = "spec"
		}
		v.Add(path, "%s", viol.Message)
	}
	if v.Len() == 0 {
		v.Add("spec", "the admission policy refused the product without saying why")
	}
	e := errs.As(v.Err())
	e.Kind = kind
	e.Message = fmt.Sprintf("the admission policy (%s) refuses the product", a.Version)
	return e.WithReason("POLICY_DENIED")
}

// maskingResult is how a masking decision is logged and shown.
type maskingResult struct {
	Decisions []engine.Decision `json:"decisions"`
}

// logDecisions writes the admission and masking decisions to the decision
// log. A failure to log is reported but does not change the decision.
func (s *Governor) logDecisions(ctx context.Context, p engine.Product, trigger string, ev evaluation) {
	who, _ := actor.From(ctx)
	a := ev.Admission
	admission, _ := json.Marshal(map[string]any{"allowed": a.Allowed, "violations": a.Violations})
	masking, _ := json.Marshal(maskingResult{Decisions: ev.Connectors.Decisions})
	errText := func(err error) string {
		if err == nil {
			return ""
		}
		return err.Error()
	}
	m := ev.Masking
	fallback := m.Err != nil
	for _, d := range ev.Connectors.Decisions {
		fallback = fallback || d.Fallback
	}
	_, err := s.store.Client.PolicyDecision.CreateBulk(
		s.store.Client.PolicyDecision.Create().SetKind(policydecision.KindAdmission).SetDomain(p.Domain).SetProduct(p.Name).
			SetTrigger(trigger).SetActor(who.Name).SetPolicyVersion(a.Version).SetInputDigest(a.InputDigest).
			SetAllowed(a.Allowed).SetFailedClosed(a.Err != nil).SetResult(string(admission)).SetError(errText(a.Err)).
			SetDurationUs(a.Duration.Microseconds()),
		s.store.Client.PolicyDecision.Create().SetKind(policydecision.KindMasking).SetDomain(p.Domain).SetProduct(p.Name).
			SetTrigger(trigger).SetActor(who.Name).SetPolicyVersion(m.Version).SetInputDigest(m.InputDigest).
			SetAllowed(true).SetFailedClosed(fallback).SetResult(string(masking)).SetError(errText(m.Err)).
			SetDurationUs(m.Duration.Microseconds()),
	).Save(context.WithoutCancel(ctx))
	if err != nil {
		s.log.Error("writing the policy decision log", "product", p.Domain+"/"+p.Name, "err", err)
	}
}

// Evaluation is how the published policy judges a stored product.
type Evaluation struct {
	Admission engine.Admission
	Decisions []engine.Decision
}

// EvaluateProduct judges a product with the published policy without
// logging or changing anything: the stored product, or draft when it is not
// nil — a spec nobody has saved, a product being written or a stored one
// being edited, judged as it would be once saved. A draft needs the right to
// save it (catalog.DraftProduct) and is answered with the violations saving
// would give.
func (s *Service) EvaluateProduct(ctx context.Context, domain, name string, draft *spec.Product) (Evaluation, error) {
	var in engine.Product
	if draft == nil {
		p, err := catalog.ReadProduct(ctx, s.authz, s.store.Client, domain, name)
		if err != nil {
			return Evaluation{}, err
		}
		in = input(p)
	} else {
		p, lifecycle, err := catalog.DraftProduct(ctx, s.authz, s.store.Client, domain, name, *draft)
		if err != nil {
			return Evaluation{}, err
		}
		in = engine.Product{Domain: domain, Name: name, Lifecycle: string(lifecycle), Spec: p}
	}
	ev := s.evaluate(ctx, s.engine.Current(), in)
	return Evaluation{Admission: ev.Admission, Decisions: ev.Connectors.Decisions}, nil
}

// ListDecisions pages through a product's decision log, newest first. The
// log outlives the product, so it needs only read rights in the domain.
func (s *Service) ListDecisions(ctx context.Context, domain, product string, pageSize int, token string) (page.Page[*ent.PolicyDecision], error) {
	var v errs.Violations
	spec.CheckName(&v, "domain", domain)
	spec.CheckName(&v, "product", product)
	if err := v.Err(); err != nil {
		return page.Page[*ent.PolicyDecision]{}, err
	}
	size, cur, err := page.Start(pageSize, token, "id", true)
	if err != nil {
		return page.Page[*ent.PolicyDecision]{}, err
	}
	if !s.authz.Can(ctx, domain, access.ObjProduct, access.ActRead) {
		return page.Page[*ent.PolicyDecision]{}, errs.NotFound("data product", domain+"/"+product)
	}
	q := s.store.Client.PolicyDecision.Query().Where(policydecision.Domain(domain), policydecision.Product(product))
	if cur != nil {
		q = q.Where(policydecision.IDLT(cur.Key))
	}
	ds, err := q.Order(ent.Desc(policydecision.FieldID)).Limit(size + 1).All(ctx)
	if err != nil {
		return page.Page[*ent.PolicyDecision]{}, fmt.Errorf("listing decisions: %w", err)
	}
	return page.Of(ds, size, func(d *ent.PolicyDecision) page.Cursor {
		return page.Cursor{Order: "id", Desc: true, Key: d.ID}
	}), nil
}
