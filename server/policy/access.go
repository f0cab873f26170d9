package policy

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/ent/accessrequest"
	"github.com/meshplane/meshplane/server/ent/grant"
	"github.com/meshplane/meshplane/server/ent/principal"
	"github.com/meshplane/meshplane/server/policy/engine"
	"github.com/meshplane/meshplane/server/spec"
)

// AccessPort is what the access policy sees of one requested port of p;
// false when p has no such port.
func AccessPort(p *ent.DataProduct, port string) (engine.AccessPort, bool) {
	i := slices.IndexFunc(p.Ports, func(op spec.OutputPort) bool { return op.Name == port })
	if i < 0 {
		return engine.AccessPort{}, false
	}
	op := p.Ports[i]
	out := engine.AccessPort{Domain: p.Domain, Product: p.Name, Port: op.Name, Topic: op.Topic,
		Lifecycle: string(p.Lifecycle), Owner: p.Owner, Labels: p.Labels}
	for _, f := range op.Fields {
		out.Fields = append(out.Fields, engine.AccessField{Name: f.Name, Classification: string(f.Classification), Tags: f.Tags})
	}
	return out, true
}

// AccessChange is a pending access request whose decision would change.
type AccessChange struct {
	RequestID, Consumer string
	Before, After       AccessOutcome
}

// AccessOutcome is the part of an access decision approvers act on.
type AccessOutcome struct {
	// Approvers are "domain-owner:sales" or "governance-officer".
	Approvers          []string
	MaxDurationSeconds int64
	AutoApprove        bool
	FailedClosed       bool
}

func outcome(d engine.AccessDecision) AccessOutcome {
	o := AccessOutcome{MaxDurationSeconds: int64(d.MaxDuration.Seconds()), AutoApprove: d.AutoApprove, FailedClosed: d.FailedClosed}
	for _, a := range d.Approvers {
		name := a.Role
		if a.Domain != "" {
			name += ":" + a.Domain
		}
		o.Approvers = append(o.Approvers, name)
	}
	return o
}

func (o AccessOutcome) equal(p AccessOutcome) bool {
	return slices.Equal(o.Approvers, p.Approvers) && o.MaxDurationSeconds == p.MaxDurationSeconds &&
		o.AutoApprove == p.AutoApprove && o.FailedClosed == p.FailedClosed
}

// accessImpact decides every pending access request under before and after
// and returns those whose approvers, longest duration or auto-approval differ.
func (s *Service) accessImpact(ctx context.Context, before, after *engine.Set) (int, []AccessChange, error) {
	reqs, err := s.store.Client.AccessRequest.Query().Where(accessrequest.StateEQ(accessrequest.StatePending)).
		Order(ent.Asc(accessrequest.FieldID)).All(ctx)
	if err != nil {
		return 0, nil, fmt.Errorf("reading access requests: %w", err)
	}
	products := map[string]*ent.DataProduct{}
	var out []AccessChange
	for _, r := range reqs {
		in, err := s.accessInput(ctx, r, products)
		if err != nil {
			return 0, nil, err
		}
		b, _ := before.Access(ctx, in)
		a, _ := after.Access(ctx, in)
		if ob, oa := outcome(b), outcome(a); !ob.equal(oa) {
			out = append(out, AccessChange{RequestID: r.ID, Consumer: r.Consumer, Before: ob, After: oa})
		}
	}
	return len(reqs), out, nil
}

// accessInput rebuilds what the access policy saw of a stored request, with
// the products as they are now.
func (s *Service) accessInput(ctx context.Context, r *ent.AccessRequest, products map[string]*ent.DataProduct) (engine.AccessRequest, error) {
	in := engine.AccessRequest{
		Consumer: engine.AccessPrincipal{Name: r.Consumer, Kind: string(principal.KindServiceAccount), Domain: r.ConsumerDomain},
		Purpose:  r.Purpose, DurationSeconds: r.DurationSeconds, GroupPrefix: r.GroupPrefix,
		Environment: engine.Environment{Name: r.Environment},
	}
	// The environment's parameters as they are now, as the products are.
	for _, e := range s.cfg.Environments {
		if e.Name == r.Environment {
			in.Environment = e
		}
	}
	if p, err := s.store.Client.Principal.Query().Where(principal.Name(r.RequestedBy)).Only(ctx); err == nil {
		in.Requester = engine.AccessPrincipal{Name: p.Name, Kind: string(p.Kind), Domain: p.Domain}
	} else {
		in.Requester = engine.AccessPrincipal{Name: r.RequestedBy}
	}
	gs, err := s.store.Client.Grant.Query().Where(grant.RequestID(r.ID)).Order(ent.Asc(grant.FieldID)).All(ctx)
	if err != nil {
		return in, fmt.Errorf("reading grants: %w", err)
	}
	for _, g := range gs {
		p, ok := products[g.ProductID]
		if !ok {
			p, err = s.store.Client.DataProduct.Get(ctx, g.ProductID)
			if err != nil && !ent.IsNotFound(err) {
				return in, fmt.Errorf("reading data product: %w", err)
			}
			products[g.ProductID] = p
		}
		if p == nil {
			continue
		}
		if port, ok := AccessPort(p, g.Port); ok {
			in.Ports = append(in.Ports, port)
		}
	}
	return in, nil
}

// accessKey orders access changes.
func accessKey(c AccessChange) string { return strings.Join([]string{c.Consumer, c.RequestID}, "/") }
