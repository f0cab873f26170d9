package grant

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/meshplane/meshplane/schema"
	"github.com/meshplane/meshplane/server/access"
	"github.com/meshplane/meshplane/server/audit"
	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/ent/accessrequest"
	"github.com/meshplane/meshplane/server/ent/dataproduct"
	"github.com/meshplane/meshplane/server/ent/deployment"
	"github.com/meshplane/meshplane/server/ent/grant"
	"github.com/meshplane/meshplane/server/ent/principal"
	"github.com/meshplane/meshplane/server/ent/provisioningrun"
	"github.com/meshplane/meshplane/server/errs"
	"github.com/meshplane/meshplane/server/page"
	"github.com/meshplane/meshplane/server/policy"
	"github.com/meshplane/meshplane/server/policy/engine"
	"github.com/meshplane/meshplane/server/provision"
	"github.com/meshplane/meshplane/server/spec"
)

// PortRef names one output port.
type PortRef struct{ Domain, Product, Port string }

func (p PortRef) String() string { return p.Domain + "/" + p.Product + "/" + p.Port }

// RequestInput is a new access request.
type RequestInput struct {
	Consumer string
	Ports    []PortRef
	Purpose  string
	// DurationSeconds is how long the grants last once active; 0 asks for
	// the policy's maximum.
	DurationSeconds int64
	GroupPrefix     string // "": the consumer's default prefix
	// Environment is where the consumer will read; "" for the environment
	// consumer access goes to by default.
	Environment string
}

// Request is an access request with its grants and what both doors show
// of it.
type Request struct {
	*ent.AccessRequest
	Grants []*ent.Grant
	// KafkaPrincipal is the principal the consumer's ACLs name.
	KafkaPrincipal string
	// Awaiting lists the approvals still outstanding (see outstanding).
	Awaiting []string
}

func newRequest(r *ent.AccessRequest, gs []*ent.Grant) *Request {
	return &Request{AccessRequest: r, Grants: gs, KafkaPrincipal: provision.KafkaPrincipal(r.ConsumerDomain, r.Consumer), Awaiting: outstanding(r)}
}

// groupPrefixRe is what a consumer group prefix may hold: Kafka's group id
// characters, no wildcards.
var groupPrefixRe = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// RequestAccess files a request on behalf of a consumer service account.
// The published access policy decides who must approve and the longest
// duration; a request the policy auto-approves is approved at once and its
// grants planned.
func (s *Service) RequestAccess(ctx context.Context, in RequestInput) (*Request, error) {
	who, err := requireCaller(ctx)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	spec.CheckName(&v, "consumer", in.Consumer)
	switch {
	case len(in.Ports) == 0:
		v.Add("ports", "name at least one output port")
	case len(in.Ports) > MaxPorts:
		v.Add("ports", "at most %d ports per request, got %d", MaxPorts, len(in.Ports))
	}
	seen := map[PortRef]int{}
	for i, p := range in.Ports {
		if i >= MaxPorts {
			break
		}
		path := fmt.Sprintf("ports[%d]", i)
		spec.CheckName(&v, path+".domain", p.Domain)
		spec.CheckName(&v, path+".product", p.Product)
		spec.CheckName(&v, path+".port", p.Port)
		if j, dup := seen[p]; dup {
			v.Add(path, "repeats ports[%d]", j)
		}
		seen[p] = i
	}
	checkText(&v, "purpose", in.Purpose, MaxPurpose, true)
	env, _ := s.environment(&v, "environment", in.Environment)
	// Saturate rather than overflow: an absurd duration is refused as too long.
	const mostSeconds = int64(1<<63-1) / int64(time.Second)
	asked := time.Duration(min(in.DurationSeconds, mostSeconds)) * time.Second
	if in.DurationSeconds < 0 {
		v.Add("durationSeconds", "must not be negative")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}

	// The consumer: an enabled service account of a domain the caller may
	// request for (or the service account itself).
	sa, err := s.store.Client.Principal.Query().Where(principal.Name(in.Consumer)).Only(ctx)
	if err != nil && !ent.IsNotFound(err) {
		return nil, fmt.Errorf("reading consumer: %w", err)
	}
	if sa == nil || (sa.Name != who.Name && !s.authz.Can(ctx, sa.Domain, access.ObjPrincipal, access.ActRead)) {
		return nil, errs.NotFound("service account", in.Consumer)
	}
	switch {
	case sa.Kind != principal.KindServiceAccount:
		v.Add("consumer", "%q is a user: only service accounts read data products", sa.Name)
	case sa.Domain == "":
		v.Add("consumer", "service account %q belongs to no domain: only a domain's service accounts can be granted access", sa.Name)
	case sa.Disabled:
		v.Add("consumer", "service account %q is disabled", sa.Name)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if sa.Name != who.Name {
		if err := s.authz.Require(ctx, sa.Domain, grantObject(env.Name), access.ActRequest); err != nil {
			return nil, err
		}
	}
	defPrefix := provision.DefaultGroupPrefix(sa.Domain, sa.Name)
	prefix := in.GroupPrefix
	if prefix == "" {
		prefix = defPrefix
	}
	switch {
	case len(prefix) > MaxGroupPrefix:
		v.Add("groupPrefix", "must be at most %d characters", MaxGroupPrefix)
	case !strings.HasPrefix(prefix, defPrefix):
		v.Add("groupPrefix", "must start with %q, the consumer's own prefix, so it never covers another team's groups", defPrefix)
	case !groupPrefixRe.MatchString(prefix):
		v.Add("groupPrefix", "may hold only letters, digits, '.', '_' and '-'")
	}

	// The ports: each of a product that can be consumed.
	products := map[string]*ent.DataProduct{}
	req := engine.AccessRequest{
		Consumer:        engine.AccessPrincipal{Name: sa.Name, Kind: string(sa.Kind), Domain: sa.Domain},
		Requester:       engine.AccessPrincipal{Name: who.Name, Kind: string(who.Kind), Domain: who.Domain},
		Purpose:         in.Purpose,
		DurationSeconds: in.DurationSeconds,
		GroupPrefix:     prefix,
		Environment:     engine.Environment{Name: env.Name, Parameters: env.Parameters},
	}
	type target struct {
		ref     PortRef
		product *ent.DataProduct
		topic   string
	}
	var targets []target
	for i, ref := range in.Ports {
		path := fmt.Sprintf("ports[%d]", i)
		key := ref.Domain + "/" + ref.Product
		p, ok := products[key]
		if !ok {
			p, err = s.store.Client.DataProduct.Query().Where(dataproduct.Domain(ref.Domain), dataproduct.Name(ref.Product)).Only(ctx)
			if err != nil && !ent.IsNotFound(err) {
				return nil, fmt.Errorf("reading data product: %w", err)
			}
			products[key] = p
		}
		if p == nil {
			v.Add(path+".product", "no data product %s/%s", ref.Domain, ref.Product)
			continue
		}
		switch p.Lifecycle {
		case dataproduct.LifecycleRetired:
			v.Add(path+".product", "data product %s is retired: it can no longer be consumed", key)
			continue
		case dataproduct.LifecycleDraft:
			v.Add(path+".product", "data product %s is a draft: only active or deprecated products can be consumed", key)
			continue
		}
		ap, ok := policy.AccessPort(p, ref.Port)
		if !ok {
			v.Add(path+".port", "data product %s has no port %q", key, ref.Port)
			continue
		}
		if env.PromotedOnly {
			// No grant plan could add the ACLs before a promotion does.
			deployed, err := s.store.Client.Deployment.Query().Where(deployment.ProductID(p.ID), deployment.Environment(env.Name),
				deployment.ProvisionedVersionNotNil()).Exist(ctx)
			if err != nil {
				return nil, fmt.Errorf("reading deployments: %w", err)
			}
			if !deployed {
				v.Add(path+".product", "data product %s is not deployed in %s, which takes promoted versions only: promote it there first", key, env.Name)
				continue
			}
		}
		req.Ports = append(req.Ports, ap)
		targets = append(targets, target{ref: ref, product: p, topic: ap.Topic})
	}
	if err := v.Err(); err != nil {
		return nil, err
	}

	d := s.cfg.Policy.DecideAccess(ctx, req)
	dur := asked
	if dur == 0 {
		dur = d.MaxDuration
	}
	if dur > d.MaxDuration {
		v.Add("durationSeconds", "%s exceeds the longest access policy %s allows for these ports, %s", human(dur), d.PolicyVersion, human(d.MaxDuration))
	}
	if dur < time.Second {
		v.Add("durationSeconds", "must be at least one second")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}

	at := s.now()
	approvals := make([]schema.Approval, 0, len(d.Approvers))
	for _, a := range d.Approvers {
		approvals = append(approvals, schema.Approval{Role: a.Role, Domain: a.Domain, Reason: a.Reason})
	}
	domains := map[string]bool{}
	for _, t := range targets {
		domains[t.ref.Domain] = true
	}
	state := accessrequest.StatePending
	if d.AutoApprove {
		state = accessrequest.StateApproved
	}
	var out *Request
	err = s.store.Tx(ctx, func(tx *ent.Tx) error {
		c := tx.AccessRequest.Create().SetConsumer(sa.Name).SetConsumerDomain(sa.Domain).SetRequestedBy(who.Name).
			SetPurpose(in.Purpose).SetDurationSeconds(int64(dur / time.Second)).SetGroupPrefix(prefix).SetState(state).
			SetApprovals(approvals).SetDecisions([]schema.AccessDecision{}).SetAutoApproved(d.AutoApprove).
			SetMaxDurationSeconds(int64(d.MaxDuration / time.Second)).SetPolicyVersion(d.PolicyVersion).SetPolicyError(d.Error).SetEnvironment(env.Name).
			SetDomains("|" + strings.Join(slices.Sorted(maps.Keys(domains)), "|") + "|")
		if d.AutoApprove {
			c = c.SetFinishTime(at)
		}
		r, err := c.Save(ctx)
		if err != nil {
			return err
		}
		out = newRequest(r, nil)
		for i, t := range targets {
			gs := grant.StatePending
			gc := tx.Grant.Create().SetRequestID(r.ID).SetConsumer(sa.Name).SetConsumerDomain(sa.Domain).
				SetDomain(t.product.Domain).SetProduct(t.product.Name).SetProductID(t.product.ID).SetPort(t.ref.Port).
				SetTopic(t.topic).SetEnvironment(env.Name).SetGroupPrefix(prefix).SetPurpose(in.Purpose).SetDurationSeconds(int64(dur / time.Second)).
				SetLiveKey(liveKey(sa.Name, t.topic, env.Name))
			if d.AutoApprove {
				gs = grant.StateApproved
				gc = gc.SetApproveTime(at)
			}
			g, err := gc.SetState(gs).Save(ctx)
			if ent.IsConstraintError(err) {
				// Outside tx: PostgreSQL refuses any statement in a transaction
				// after a failed one.
				live, _ := s.store.Client.Grant.Query().Where(grant.LiveKey(liveKey(sa.Name, t.topic, env.Name))).Only(ctx)
				msg := fmt.Sprintf("%s already has access to %s in %s or asked for it", sa.Name, t.topic, env.Name)
				if live != nil {
					msg = fmt.Sprintf("%s already holds grant %s (%s) on %s in %s: a second one would change nothing", sa.Name, live.ID, live.State, t.topic, env.Name)
				}
				var v errs.Violations
				v.Add(fmt.Sprintf("ports[%d]", i), "%s", msg)
				return errs.As(v.Err()).WithReason("DUPLICATE_GRANT")
			}
			if err != nil {
				return err
			}
			out.Grants = append(out.Grants, g)
		}
		return audit.Record(ctx, tx, s.store.Dialect, audit.Change{Action: "access.RequestAccess", ResourceType: "access-request",
			Resource: r.ID, Domain: sa.Domain, After: snapshotRequest(r)})
	})
	if err != nil {
		return nil, err
	}
	if d.AutoApprove {
		s.planGrants(ctx, out.Grants, provision.Trigger{Kind: provisioningrun.TriggerGrant, By: who.Name,
			Detail: fmt.Sprintf("access request %s auto-approved by policy %s", out.ID, d.PolicyVersion)})
	}
	return out, nil
}

// liveKey identifies a consumer's access to a topic in an environment while
// a grant holds it.
func liveKey(consumer, topic, env string) string { return consumer + "|" + topic + "|" + env }

func human(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		days := int64(d / (24 * time.Hour))
		if days == 1 {
			return "1 day"
		}
		return fmt.Sprintf("%d days", days)
	}
	return d.String()
}

// planGrants queues one plan per product and environment of gs.
func (s *Service) planGrants(ctx context.Context, gs []*ent.Grant, t provision.Trigger) {
	seen := map[string]bool{}
	for _, g := range gs {
		key := g.Domain + "/" + g.Product + "@" + g.Environment
		if seen[key] {
			continue
		}
		seen[key] = true
		t.Environment = g.Environment
		s.plan(ctx, g.Domain, g.Product, t)
	}
}

// mayRead reports whether the caller may read a request: its requester, its
// consumer, readers of the consumer's domain or of a requested port's
// domain, and governance officers, in the request's environment.
func (s *Service) mayRead(ctx context.Context, r *ent.AccessRequest) bool {
	who := caller(ctx)
	if who.Name == r.RequestedBy || who.Name == r.Consumer {
		return true
	}
	obj := grantObject(r.Environment)
	if s.authz.Can(ctx, r.ConsumerDomain, obj, access.ActRead) || s.authz.Can(ctx, access.AllDomains, obj, access.ActGovern) {
		return true
	}
	for _, d := range strings.Split(strings.Trim(r.Domains, "|"), "|") {
		if d != "" && s.authz.Can(ctx, d, obj, access.ActRead) {
			return true
		}
	}
	return false
}

// GetAccessRequest returns a request the caller may read, with its grants.
func (s *Service) GetAccessRequest(ctx context.Context, id string) (*Request, error) {
	r, err := s.request(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.withGrants(ctx, r)
}

func (s *Service) request(ctx context.Context, id string) (*ent.AccessRequest, error) {
	if id == "" || len(id) > 36 {
		var v errs.Violations
		v.Add("id", "is not an access request id")
		return nil, v.Err()
	}
	r, err := s.store.Client.AccessRequest.Get(ctx, id)
	if ent.IsNotFound(err) || (err == nil && !s.mayRead(ctx, r)) {
		return nil, errs.NotFound("access request", id)
	}
	if err != nil {
		return nil, fmt.Errorf("reading access request: %w", err)
	}
	return r, nil
}

func (s *Service) withGrants(ctx context.Context, r *ent.AccessRequest) (*Request, error) {
	gs, err := s.store.Client.Grant.Query().Where(grant.RequestID(r.ID)).Order(ent.Asc(grant.FieldID)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading grants: %w", err)
	}
	return newRequest(r, gs), nil
}

// ListRequestsInput filters a listing of requests.
type ListRequestsInput struct {
	// AwaitingMe keeps pending requests the caller may approve now.
	AwaitingMe bool
	Consumer   string
	Domain     string
	State      string
	PageSize   int
	PageToken  string
}

// ListAccessRequests pages through the requests the caller may read, newest first.
func (s *Service) ListAccessRequests(ctx context.Context, in ListRequestsInput) (page.Page[*Request], error) {
	var none page.Page[*Request]
	var v errs.Violations
	if in.Consumer != "" {
		spec.CheckName(&v, "consumer", in.Consumer)
	}
	if in.Domain != "" {
		spec.CheckName(&v, "domain", in.Domain)
	}
	if in.State != "" && accessrequest.StateValidator(accessrequest.State(in.State)) != nil {
		v.Add("state", "must be pending, approved, declined or cancelled")
	}
	if err := v.Err(); err != nil {
		return none, err
	}
	size, cur, err := page.Start(in.PageSize, in.PageToken, page.Newest, true)
	if err != nil {
		return none, err
	}
	q := s.store.Client.AccessRequest.Query()
	if in.Consumer != "" {
		q = q.Where(accessrequest.Consumer(in.Consumer))
	}
	if in.Domain != "" {
		q = q.Where(accessrequest.Or(accessrequest.ConsumerDomain(in.Domain), accessrequest.DomainsContains("|"+in.Domain+"|")))
	}
	switch {
	case in.AwaitingMe:
		q = q.Where(accessrequest.StateEQ(accessrequest.StatePending))
	case in.State != "":
		q = q.Where(accessrequest.StateEQ(accessrequest.State(in.State)))
	}
	if cur != nil {
		t, err := cur.Time()
		if err != nil {
			return none, err
		}
		q = q.Where(accessrequest.Or(accessrequest.CreateTimeLT(t), accessrequest.And(accessrequest.CreateTimeEQ(t), accessrequest.IDLT(cur.ID))))
	}
	q = q.Order(ent.Desc(accessrequest.FieldCreateTime), ent.Desc(accessrequest.FieldID))
	// Visibility depends on rights and approvals, so rows are filtered here,
	// in batches, until the page is full.
	var kept []*ent.AccessRequest
	const batch = 200
	for offset := 0; len(kept) <= size; offset += batch {
		rows, err := q.Clone().Offset(offset).Limit(batch).All(ctx)
		if err != nil {
			return none, fmt.Errorf("listing access requests: %w", err)
		}
		for _, r := range rows {
			if !s.mayRead(ctx, r) || (in.AwaitingMe && s.canApprove(ctx, r) < 0) {
				continue
			}
			kept = append(kept, r)
			if len(kept) > size {
				break
			}
		}
		if len(rows) < batch {
			break
		}
	}
	pg := page.Of(kept, size, func(r *ent.AccessRequest) page.Cursor {
		return page.NewestCursor(r.CreateTime, r.ID)
	})
	out := page.Page[*Request]{Cursors: pg.Cursors, Next: pg.Next}
	for _, r := range pg.Items {
		req, err := s.withGrants(ctx, r)
		if err != nil {
			return none, err
		}
		out.Items = append(out.Items, req)
	}
	return out, nil
}

// qualifies reports whether the caller holds the role an approval asks for.
func (s *Service) qualifies(ctx context.Context, r *ent.AccessRequest, a schema.Approval) bool {
	obj := grantObject(r.Environment)
	switch a.Role {
	case engine.ApproverDomainOwner:
		return a.Domain != "" && s.authz.Can(ctx, a.Domain, obj, access.ActApprove)
	case engine.ApproverGovernanceOfficer:
		return s.authz.Can(ctx, access.AllDomains, obj, access.ActGovern)
	}
	return false
}

// canApprove returns the index of the first outstanding approval of a
// pending request the caller may give, or -1: never to the requester or the
// consumer, and never twice by one person.
func (s *Service) canApprove(ctx context.Context, r *ent.AccessRequest) int {
	who := caller(ctx)
	if r.State != accessrequest.StatePending || who.Name == r.RequestedBy || who.Name == r.Consumer {
		return -1
	}
	for _, a := range r.Approvals {
		if a.ApprovedBy == who.Name {
			return -1
		}
	}
	for i, a := range r.Approvals {
		if a.ApprovedBy == "" && s.qualifies(ctx, r, a) {
			return i
		}
	}
	return -1
}

// decide loads a pending request for a decision by the caller and checks
// the version the caller saw.
func (s *Service) decide(ctx context.Context, tx *ent.Tx, id string, version int64) (*ent.AccessRequest, error) {
	r, err := tx.AccessRequest.Get(ctx, id)
	if ent.IsNotFound(err) || (err == nil && !s.mayRead(ctx, r)) {
		return nil, errs.NotFound("access request", id)
	}
	if err != nil {
		return nil, err
	}
	if version != 0 && version != r.Version {
		return nil, errs.Conflict("access request", id, version, r.Version)
	}
	if r.State != accessrequest.StatePending {
		return nil, errs.New(errs.KindFailedPrecondition, "access request %s is %s: only pending requests can be decided", id, r.State).WithReason(ReasonNotPending)
	}
	who := caller(ctx)
	if who.Name == r.RequestedBy || who.Name == r.Consumer {
		return nil, errs.PermissionDenied("you filed access request %s or it is for you: someone else must decide it", id).WithReason(ReasonSelfApproval)
	}
	return r, nil
}

// ApproveAccessRequest records the caller's approval; the last one needed
// approves the request, and its grants are planned.
func (s *Service) ApproveAccessRequest(ctx context.Context, id, reason string, version int64) (*Request, error) {
	who, err := requireCaller(ctx)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	checkText(&v, "reason", reason, MaxReason, false)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var (
		out  *ent.AccessRequest
		done []*ent.Grant
	)
	err = s.store.Tx(ctx, func(tx *ent.Tx) error {
		r, err := s.decide(ctx, tx, id, version)
		if err != nil {
			return err
		}
		for _, a := range r.Approvals {
			if a.ApprovedBy == who.Name {
				return errs.New(errs.KindFailedPrecondition, "you already approved access request %s: another approver must give the rest (%s)", id, strings.Join(outstanding(r), ", ")).WithReason(ReasonAlreadyApproved)
			}
		}
		i := s.canApprove(ctx, r)
		if i < 0 {
			return errs.PermissionDenied("access request %s waits for %s, and you may give none of these approvals", id, strings.Join(outstanding(r), ", ")).WithReason(ReasonNotAnApprover)
		}
		if open, err := tx.Grant.Query().Where(grant.RequestID(id), grant.StateEQ(grant.StatePending)).Exist(ctx); err != nil {
			return err
		} else if !open {
			return errs.New(errs.KindFailedPrecondition, "access request %s has no port left to grant", id).WithReason(ReasonNotPending)
		}
		at := s.now()
		approvals := slices.Clone(r.Approvals)
		approvals[i].ApprovedBy, approvals[i].ApproveTime = who.Name, &at
		decisions := append(slices.Clone(r.Decisions), schema.AccessDecision{By: who.Name, Decision: "approve", As: approvalName(approvals[i]), Reason: reason, Time: at})
		// The version predicate keeps two approvers deciding at once from
		// overwriting each other's approval: the later one gets a conflict.
		u := tx.AccessRequest.UpdateOne(r).Where(accessrequest.Version(r.Version)).SetApprovals(approvals).SetDecisions(decisions).AddVersion(1)
		complete := !slices.ContainsFunc(approvals, func(a schema.Approval) bool { return a.ApprovedBy == "" })
		if complete {
			u = u.SetState(accessrequest.StateApproved).SetFinishTime(at)
		}
		if out, err = u.Save(ctx); ent.IsNotFound(err) {
			return errs.Conflict("access request", id, r.Version, r.Version+1)
		} else if err != nil {
			return err
		}
		if complete {
			if _, err := tx.Grant.Update().Where(grant.RequestID(id), grant.StateEQ(grant.StatePending)).
				SetState(grant.StateApproved).SetApproveTime(at).AddVersion(1).Save(ctx); err != nil {
				return err
			}
			if done, err = tx.Grant.Query().Where(grant.RequestID(id), grant.StateEQ(grant.StateApproved)).All(ctx); err != nil {
				return err
			}
		}
		return audit.Record(ctx, tx, s.store.Dialect, audit.Change{Action: "access.ApproveAccessRequest", ResourceType: "access-request",
			Resource: id, Domain: r.ConsumerDomain, Before: snapshotRequest(r), After: snapshotRequest(out)})
	})
	if err != nil {
		return nil, err
	}
	if len(done) > 0 {
		s.planGrants(ctx, done, provision.Trigger{Kind: provisioningrun.TriggerGrant, By: who.Name,
			Detail: fmt.Sprintf("access request %s approved", id)})
	}
	return s.withGrants(ctx, out)
}

// DeclineAccessRequest declines a pending request with a reason the
// requester sees. Any approver the request waits for may decline it.
func (s *Service) DeclineAccessRequest(ctx context.Context, id, reason string, version int64) (*Request, error) {
	who, err := requireCaller(ctx)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	checkText(&v, "reason", reason, MaxReason, true)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *ent.AccessRequest
	err = s.store.Tx(ctx, func(tx *ent.Tx) error {
		r, err := s.decide(ctx, tx, id, version)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(r.Approvals, func(a schema.Approval) bool { return a.ApprovedBy == "" && s.qualifies(ctx, r, a) }) {
			return errs.PermissionDenied("only an approver of access request %s (%s) may decline it", id, strings.Join(outstanding(r), ", ")).WithReason(ReasonNotAnApprover)
		}
		at := s.now()
		decisions := append(slices.Clone(r.Decisions), schema.AccessDecision{By: who.Name, Decision: "decline", Reason: reason, Time: at})
		if out, err = tx.AccessRequest.UpdateOne(r).Where(accessrequest.Version(r.Version)).SetState(accessrequest.StateDeclined).SetDecisions(decisions).
			SetDeclineReason(reason).SetDeclinedBy(who.Name).SetFinishTime(at).AddVersion(1).Save(ctx); ent.IsNotFound(err) {
			return errs.Conflict("access request", id, r.Version, r.Version+1)
		} else if err != nil {
			return err
		}
		if _, err := tx.Grant.Update().Where(grant.RequestID(id), grant.StateEQ(grant.StatePending)).
			SetState(grant.StateDeclined).ClearLiveKey().SetEndTime(at).SetEndedBy(who.Name).SetEndReason(reason).AddVersion(1).Save(ctx); err != nil {
			return err
		}
		return audit.Record(ctx, tx, s.store.Dialect, audit.Change{Action: "access.DeclineAccessRequest", ResourceType: "access-request",
			Resource: id, Domain: r.ConsumerDomain, Before: snapshotRequest(r), After: snapshotRequest(out)})
	})
	if err != nil {
		return nil, err
	}
	return s.withGrants(ctx, out)
}

// CancelAccessRequest withdraws a pending request: its requester, its
// consumer, or whoever may request for the consumer's domain.
func (s *Service) CancelAccessRequest(ctx context.Context, id string, version int64) (*Request, error) {
	who, err := requireCaller(ctx)
	if err != nil {
		return nil, err
	}
	var out *ent.AccessRequest
	err = s.store.Tx(ctx, func(tx *ent.Tx) error {
		r, err := tx.AccessRequest.Get(ctx, id)
		if ent.IsNotFound(err) || (err == nil && !s.mayRead(ctx, r)) {
			return errs.NotFound("access request", id)
		}
		if err != nil {
			return err
		}
		if who.Name != r.RequestedBy && who.Name != r.Consumer {
			if err := s.authz.Require(ctx, r.ConsumerDomain, grantObject(r.Environment), access.ActRequest); err != nil {
				return err
			}
		}
		if version != 0 && version != r.Version {
			return errs.Conflict("access request", id, version, r.Version)
		}
		if r.State != accessrequest.StatePending {
			return errs.New(errs.KindFailedPrecondition, "access request %s is %s: only pending requests can be cancelled; revoke its grants instead", id, r.State).WithReason(ReasonNotPending)
		}
		out, err = s.cancel(ctx, tx, r, who.Name, "request cancelled by "+who.Name)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.withGrants(ctx, out)
}

// cancel withdraws a pending request and its grants inside tx.
func (s *Service) cancel(ctx context.Context, tx *ent.Tx, r *ent.AccessRequest, by, reason string) (*ent.AccessRequest, error) {
	at := s.now()
	n, err := tx.AccessRequest.Update().Where(accessrequest.ID(r.ID), accessrequest.Version(r.Version), accessrequest.StateEQ(accessrequest.StatePending)).
		SetState(accessrequest.StateCancelled).SetFinishTime(at).AddVersion(1).Save(ctx)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, errs.Conflict("access request", r.ID, r.Version, r.Version+1)
	}
	out, err := tx.AccessRequest.Get(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	if _, err := tx.Grant.Update().Where(grant.RequestID(r.ID), grant.StateEQ(grant.StatePending)).
		SetState(grant.StateCancelled).ClearLiveKey().SetEndTime(at).SetEndedBy(by).SetEndReason(reason).AddVersion(1).Save(ctx); err != nil {
		return nil, err
	}
	return out, audit.Record(ctx, tx, s.store.Dialect, audit.Change{Action: "access.CancelAccessRequest", ResourceType: "access-request",
		Resource: r.ID, Domain: r.ConsumerDomain, Before: snapshotRequest(r), After: snapshotRequest(out)})
}
