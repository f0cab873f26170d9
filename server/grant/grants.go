package grant

import (
	"context"
	"fmt"
	"slices"

	"github.com/meshplane/meshplane/server/access"
	"github.com/meshplane/meshplane/server/audit"
	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/ent/grant"
	"github.com/meshplane/meshplane/server/ent/principal"
	"github.com/meshplane/meshplane/server/ent/provisioningrun"
	"github.com/meshplane/meshplane/server/errs"
	"github.com/meshplane/meshplane/server/page"
	"github.com/meshplane/meshplane/server/provision"
	"github.com/meshplane/meshplane/server/spec"
)

// Live are the states of grants that hold access or will.
var Live = []grant.State{grant.StatePending, grant.StateApproved, grant.StateProvisioning, grant.StateActive, grant.StateRevoking, grant.StateExpiring}

// ListGrantsInput filters a listing of grants: a product's consumers (Port
// narrows to one port) or one consumer's grants.
type ListGrantsInput struct {
	Domain, Product, Port string
	Consumer              string
	// Environment keeps the grants of one environment; "" every one.
	Environment string
	// States filters; none lists live grants.
	States    []string
	PageSize  int
	PageToken string
}

// ListGrants pages through grants, newest first: who can read a product's
// ports, why and until when, or what a consumer can read.
func (s *Service) ListGrants(ctx context.Context, in ListGrantsInput) (page.Page[*ent.Grant], error) {
	var none page.Page[*ent.Grant]
	var v errs.Violations
	switch {
	case in.Product != "" || in.Port != "":
		spec.CheckName(&v, "domain", in.Domain)
		spec.CheckName(&v, "product", in.Product)
		if in.Port != "" {
			spec.CheckName(&v, "port", in.Port)
		}
	case in.Domain != "":
		spec.CheckName(&v, "domain", in.Domain)
	case in.Consumer == "":
		v.Add("consumer", "name a consumer, or a domain and product")
	}
	if in.Consumer != "" {
		spec.CheckName(&v, "consumer", in.Consumer)
	}
	if in.Environment != "" {
		s.environment(&v, "environment", in.Environment)
	}
	states := make([]grant.State, 0, len(in.States))
	for i, st := range in.States {
		if grant.StateValidator(grant.State(st)) != nil {
			v.Add(fmt.Sprintf("states[%d]", i), "is not a grant state")
		}
		states = append(states, grant.State(st))
	}
	if len(states) == 0 {
		states = Live
	}
	if err := v.Err(); err != nil {
		return none, err
	}
	q := s.store.Client.Grant.Query().Where(grant.StateIn(states...))
	if in.Environment != "" {
		q = q.Where(grant.Environment(in.Environment))
	}
	if in.Domain != "" {
		// A domain's grants: readable by the domain's readers.
		if !s.authz.Can(ctx, in.Domain, grantObject(in.Environment), access.ActRead) {
			return none, errs.NotFound("domain", in.Domain)
		}
		q = q.Where(grant.Domain(in.Domain))
		if in.Product != "" {
			q = q.Where(grant.Product(in.Product))
		}
		if in.Port != "" {
			q = q.Where(grant.Port(in.Port))
		}
	}
	if in.Consumer != "" {
		sa, err := s.store.Client.Principal.Query().Where(principal.Name(in.Consumer)).Only(ctx)
		if err != nil && !ent.IsNotFound(err) {
			return none, fmt.Errorf("reading consumer: %w", err)
		}
		if in.Domain == "" && (sa == nil || (caller(ctx).Name != sa.Name && !s.authz.Can(ctx, sa.Domain, grantObject(in.Environment), access.ActRead))) {
			return none, errs.NotFound("principal", in.Consumer)
		}
		q = q.Where(grant.Consumer(in.Consumer))
	}
	size, cur, err := page.Start(in.PageSize, in.PageToken, page.Newest, true)
	if err != nil {
		return none, err
	}
	if cur != nil {
		t, err := cur.Time()
		if err != nil {
			return none, err
		}
		q = q.Where(grant.Or(grant.CreateTimeLT(t), grant.And(grant.CreateTimeEQ(t), grant.IDLT(cur.ID))))
	}
	gs, err := q.Order(ent.Desc(grant.FieldCreateTime), ent.Desc(grant.FieldID)).Limit(size + 1).All(ctx)
	if err != nil {
		return none, fmt.Errorf("listing grants: %w", err)
	}
	return page.Of(gs, size, func(g *ent.Grant) page.Cursor {
		return page.NewestCursor(g.CreateTime, g.ID)
	}), nil
}

// GetGrant returns a grant the caller may read.
func (s *Service) GetGrant(ctx context.Context, id string) (*ent.Grant, error) {
	g, err := s.store.Client.Grant.Get(ctx, id)
	if ent.IsNotFound(err) || (err == nil && !s.mayReadGrant(ctx, g)) {
		return nil, errs.NotFound("grant", id)
	}
	if err != nil {
		return nil, fmt.Errorf("reading grant: %w", err)
	}
	return g, nil
}

func (s *Service) mayReadGrant(ctx context.Context, g *ent.Grant) bool {
	obj := grantObject(g.Environment)
	return caller(ctx).Name == g.Consumer || s.authz.Can(ctx, g.Domain, obj, access.ActRead) || s.authz.Can(ctx, g.ConsumerDomain, obj, access.ActRead)
}

// RevokeGrant ends a grant at once: a plan removing its ACLs is queued and
// applied without review. The product's owners, the consumer's domain
// owners and governance officers may revoke.
func (s *Service) RevokeGrant(ctx context.Context, id, reason string) (*ent.Grant, error) {
	who, err := requireCaller(ctx)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	if id == "" {
		v.Add("id", "is required")
	}
	checkText(&v, "reason", reason, MaxReason, false)
	if err := v.Err(); err != nil {
		return nil, err
	}
	g, err := s.GetGrant(ctx, id)
	if err != nil {
		return nil, err
	}
	obj := grantObject(g.Environment)
	if !s.authz.Can(ctx, g.Domain, obj, access.ActRevoke) && !s.authz.Can(ctx, g.ConsumerDomain, obj, access.ActRevoke) {
		return nil, errs.PermissionDenied("you may not revoke grants of %s/%s in %s", g.Domain, g.Product, g.Environment)
	}
	if g.State == grant.StatePending {
		return nil, errs.New(errs.KindFailedPrecondition, "grant %s is pending: cancel or decline access request %s instead", g.ID, g.RequestID).WithReason(ReasonGrantPending)
	}
	if reason == "" {
		reason = "revoked by " + who.Name
	}
	out, err := s.end(ctx, g.ID, grant.StateRevoking, who.Name, reason, "access.RevokeGrant")
	if err != nil {
		return nil, err
	}
	if out.State == grant.StateRevoking {
		s.plan(ctx, out.Domain, out.Product, provision.Trigger{Kind: provisioningrun.TriggerRevoke, By: who.Name,
			Detail: fmt.Sprintf("grant %s revoked", out.ID), Environment: out.Environment})
	}
	return out, nil
}

// end moves a live grant towards its end: a pending or approved grant that
// never reached the data plane ends at once (cancelled, or st's final
// state), one whose ACLs may exist becomes st (revoking or expiring) until a
// plan removes them.
func (s *Service) end(ctx context.Context, id string, st grant.State, by, reason, action string) (*ent.Grant, error) {
	var out *ent.Grant
	err := s.store.Tx(ctx, func(tx *ent.Tx) error {
		g, err := provision.LockGrants(tx, s.store.Dialect, grant.ID(id)).Only(ctx)
		if err != nil {
			return err
		}
		if !slices.Contains(Live, g.State) || g.State == grant.StateRevoking || g.State == grant.StateExpiring {
			return errs.New(errs.KindFailedPrecondition, "grant %s is %s already", id, g.State).WithReason(ReasonGrantEnded)
		}
		at := s.now()
		u := tx.Grant.UpdateOne(g).SetEndedBy(by).SetEndReason(reason).AddVersion(1)
		switch {
		case g.State == grant.StatePending:
			u = u.SetState(grant.StateCancelled).ClearLiveKey().SetEndTime(at)
		case g.State == grant.StateApproved && g.RunID == "":
			final := grant.StateRevoked
			if st == grant.StateExpiring {
				final = grant.StateExpired
			}
			u = u.SetState(final).ClearLiveKey().SetEndTime(at)
		default:
			u = u.SetState(st).SetRunID("").SetError("")
		}
		if out, err = u.Save(ctx); err != nil {
			return err
		}
		return audit.Record(ctx, tx, s.store.Dialect, audit.Change{Action: action, ResourceType: "grant", Resource: id,
			Domain: g.Domain, Before: provision.GrantSnapshot(g), After: provision.GrantSnapshot(out)})
	})
	return out, err
}
