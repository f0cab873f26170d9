package provision

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	entdialect "entgo.io/ent/dialect"

	"github.com/meshplane/meshplane/schema"
	"github.com/meshplane/meshplane/server/actor"
	"github.com/meshplane/meshplane/server/audit"
	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/ent/accessrequest"
	"github.com/meshplane/meshplane/server/ent/grant"
	"github.com/meshplane/meshplane/server/ent/predicate"
	"github.com/meshplane/meshplane/server/ent/provisioningrun"
	"github.com/meshplane/meshplane/server/provision/render"
	"github.com/meshplane/meshplane/server/provision/summary"
)

// Consumer grants live in their product's workspace as ACLs. A plan renders
// every grant that holds or is about to hold access, leaves out the ones
// being revoked or expiring, and records which grants it activates and ends;
// applying it moves those grants on. A plan asked for by a grant, revocation
// or expiry that changes nothing but those grants' ACLs is approved by
// meshplane itself: the access approval was its review.

// KafkaUsername is the SCRAM user and ACL name of a consumer service
// account: <domain>.<service-account>. Service account names hold no dots,
// so these never collide with connectors' <domain>.<product>.<role>.
func KafkaUsername(domain, serviceAccount string) string { return domain + "." + serviceAccount }

// KafkaPrincipal is the Kafka principal a consumer's ACLs name.
func KafkaPrincipal(domain, serviceAccount string) string {
	return "User:" + KafkaUsername(domain, serviceAccount)
}

// DefaultGroupPrefix is the consumer group prefix a grant gives when the
// request names none; every prefix must start with it.
func DefaultGroupPrefix(domain, serviceAccount string) string {
	return KafkaUsername(domain, serviceAccount) + "."
}

// States of grants whose ACLs a plan renders, and of grants whose ACLs it removes.
var (
	grantsHolding = []grant.State{grant.StateApproved, grant.StateProvisioning, grant.StateActive}
	grantsEnding  = []grant.State{grant.StateRevoking, grant.StateExpiring}
)

// autoTriggers are the triggers whose plans meshplane may approve itself.
var autoTriggers = []provisioningrun.Trigger{provisioningrun.TriggerGrant, provisioningrun.TriggerRevoke, provisioningrun.TriggerExpiry}

// removal reports whether a trigger only takes access away. Its run plans
// nothing but the deletion of ending grants' ACLs, whatever state the
// product is in, so nothing about the product may hold it back.
func removal(t provisioningrun.Trigger) bool {
	return t == provisioningrun.TriggerRevoke || t == provisioningrun.TriggerExpiry
}

// attachGrants ties the product's grants in the run's environment to run r,
// which is about to plan, and returns the grants its workspace renders and
// what the run does to them. Each environment's broker enforces its own
// grants: a workspace renders no other environment's.
func (s *Service) attachGrants(ctx context.Context, r *ent.ProvisioningRun) ([]render.Grant, schema.RunGrants, error) {
	var (
		rendered []render.Grant
		rg       schema.RunGrants
	)
	if r.Kind != provisioningrun.KindApply {
		return nil, rg, nil
	}
	err := s.store.Tx(ctx, func(tx *ent.Tx) error {
		gs, err := LockGrants(tx, s.store.Dialect, grant.ProductID(r.ProductID), grant.Environment(r.Environment),
			grant.StateIn(append(slices.Clone(grantsHolding), grantsEnding...)...)).
			Order(ent.Asc(grant.FieldID)).All(ctx)
		if err != nil {
			return err
		}
		var active, adding, ending []render.Grant
		for _, g := range gs {
			rgr := render.Grant{ID: g.ID, Principal: KafkaPrincipal(g.ConsumerDomain, g.Consumer), Topic: g.Topic, GroupPrefix: g.GroupPrefix}
			switch g.State {
			case grant.StateActive:
				active = append(active, rgr)
				continue
			case grant.StateApproved, grant.StateProvisioning:
				adding = append(adding, rgr)
				if removal(r.Trigger) {
					// Rendered as they are, but left to a run that adds them.
					continue
				}
				rg.Activate = append(rg.Activate, g.ID)
			default:
				ending = append(ending, rgr)
				rg.End = append(rg.End, g.ID)
			}
			u := tx.Grant.UpdateOne(g).SetRunID(r.ID).SetError("")
			if g.State == grant.StateApproved {
				u = u.SetState(grant.StateProvisioning).AddVersion(1)
			}
			if err := u.Exec(ctx); err != nil {
				return err
			}
		}
		kept, err := groupsHeldElsewhere(ctx, tx, r.ProductID, r.Environment)
		if err != nil {
			return err
		}
		// This workspace creates what its own grants add (a group ACL another
		// product made already is created again: Kafka takes that as a
		// no-op), and deletes what no grant here or elsewhere still needs.
		own, held := render.GrantACLs(append(slices.Clone(active), adding...)), render.GrantACLs(active)
		rendered = append(append(slices.Clone(active), adding...), kept...)
		holding := render.GrantACLs(rendered)
		for key := range own {
			if _, ok := held[key]; !ok && !removal(r.Trigger) {
				rg.Create = append(rg.Create, key)
			}
		}
		for key := range render.GrantACLs(ending) {
			if _, kept := holding[key]; !kept {
				rg.Delete = append(rg.Delete, key)
			}
		}
		slices.Sort(rg.Create)
		slices.Sort(rg.Delete)
		return tx.ProvisioningRun.UpdateOneID(r.ID).SetGrants(rg).Exec(ctx)
	})
	if err != nil {
		return nil, rg, fmt.Errorf("attaching grants: %w", err)
	}
	return rendered, rg, nil
}

// grantTargets returns the addresses a grant run plans when the product is
// exactly as last applied, so its plan costs the same with one consumer or a
// thousand: only the ACLs its grants add or remove. Otherwise it returns no
// targets and why the whole workspace is planned instead (an unapplied
// product change, recorded drift or another policy in force), and the
// whole plan then waits for review if it holds more than the grants.
func (s *Service) grantTargets(ctx context.Context, r *ent.ProvisioningRun, p *ent.DataProduct, policyVersion string) ([]string, string) {
	if !slices.Contains(autoTriggers, r.Trigger) || r.Kind != provisioningrun.KindApply || len(r.Grants.Create)+len(r.Grants.Delete) == 0 {
		return nil, ""
	}
	if removal(r.Trigger) {
		// Deleting ACLs is planned alone whatever the product's state.
		return addresses(r.Grants.Delete), ""
	}
	d, err := deploymentIn(ctx, s.store.Client.Deployment, p.ID, r.Environment)
	switch {
	case err != nil:
		return nil, "reading the product's deployment: " + err.Error()
	case d == nil || d.ProvisionedVersion == nil:
		return nil, "the product was never applied in " + r.Environment
	case *d.ProvisionedVersion != p.Version:
		return nil, fmt.Sprintf("version %d of the product is not applied in %s yet (version %d is)", p.Version, r.Environment, *d.ProvisionedVersion)
	case len(d.Drift) > 0:
		return nil, fmt.Sprintf("the last drift check in %s found %d resources changed outside meshplane", r.Environment, len(d.Drift))
	}
	last, err := s.store.Client.ProvisioningRun.Query().Where(provisioningrun.ProductID(p.ID), provisioningrun.Environment(r.Environment), provisioningrun.KindEQ(provisioningrun.KindApply),
		provisioningrun.StateEQ(provisioningrun.StateApplied), provisioningrun.PolicyVersionNEQ("")).
		Order(ent.Desc(provisioningrun.FieldCreateTime)).First(ctx)
	switch {
	case err != nil && !ent.IsNotFound(err):
		return nil, "reading the last applied run: " + err.Error()
	case last != nil && last.PolicyVersion != policyVersion:
		return nil, fmt.Sprintf("policy %s is in force and the product was last applied under %s", policyVersion, last.PolicyVersion)
	}
	return addresses(append(slices.Clone(r.Grants.Create), r.Grants.Delete...)), ""
}

func addresses(keys []string) []string {
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, render.ConsumerACLAddress(k))
	}
	return out
}

// groupsHeldElsewhere returns the group ACLs that consumers who ever held a
// grant on this product in env need for their live grants on other
// products there. Kafka knows an ACL by its content, so one consumer's group
// ACL is a single ACL on env's broker that every product it reads there
// renders: this workspace keeps it (in its configuration, so no plan of it
// deletes it) while any of them needs it.
func groupsHeldElsewhere(ctx context.Context, tx *ent.Tx, productID, env string) ([]render.Grant, error) {
	gs, err := tx.Grant.Query().Where(grant.ProductID(productID), grant.Environment(env),
		grant.StateNotIn(grant.StatePending, grant.StateDeclined, grant.StateCancelled)).
		Select(grant.FieldConsumer, grant.FieldGroupPrefix).All(ctx)
	if err != nil {
		return nil, err
	}
	consumers, prefixes := map[string]bool{}, map[string]bool{}
	for _, g := range gs {
		consumers[g.Consumer] = true
		prefixes[g.Consumer+"|"+g.GroupPrefix] = true
	}
	if len(consumers) == 0 {
		return nil, nil
	}
	others, err := tx.Grant.Query().Where(grant.ConsumerIn(slices.Collect(maps.Keys(consumers))...), grant.ProductIDNEQ(productID),
		grant.Environment(env), grant.StateIn(grantsHolding...)).All(ctx)
	if err != nil {
		return nil, err
	}
	var out []render.Grant
	for _, o := range others {
		if !prefixes[o.Consumer+"|"+o.GroupPrefix] {
			continue // a prefix this workspace never rendered
		}
		out = append(out, render.Grant{ID: o.ID, Principal: KafkaPrincipal(o.ConsumerDomain, o.Consumer), GroupPrefix: o.GroupPrefix, GroupOnly: true})
	}
	return out, nil
}

// sharedGroupACLs returns the addresses of this product's consumer group
// ACLs in env that grants on other products there still need.
func (s *Service) sharedGroupACLs(ctx context.Context, productID, env string) ([]string, error) {
	var keys []string
	err := s.store.Tx(ctx, func(tx *ent.Tx) error {
		kept, err := groupsHeldElsewhere(ctx, tx, productID, env)
		if err != nil {
			return err
		}
		keys = slices.Sorted(maps.Keys(render.GrantACLs(kept)))
		return nil
	})
	return addresses(keys), err
}

// onlyGrantChanges reports whether a plan changes nothing but the ACLs its
// grants add or remove; otherwise why not.
func onlyGrantChanges(r *ent.ProvisioningRun, sum summary.Summary) (bool, string) {
	if !slices.Contains(autoTriggers, r.Trigger) || r.Kind != provisioningrun.KindApply {
		return false, ""
	}
	creates, deletes := map[string]bool{}, map[string]bool{}
	for _, k := range r.Grants.Create {
		creates[render.ConsumerACLAddress(k)] = true
	}
	for _, k := range r.Grants.Delete {
		deletes[render.ConsumerACLAddress(k)] = true
	}
	var other []string
	for _, rc := range sum.Resources {
		switch {
		case rc.Action == summary.ActionCreate && creates[rc.Address]:
		case rc.Action == summary.ActionDelete && deletes[rc.Address]:
		default:
			other = append(other, rc.Action+" "+rc.Address)
		}
	}
	if len(other) == 0 {
		return true, ""
	}
	const shown = 5
	note := strings.Join(other[:min(len(other), shown)], ", ")
	if len(other) > shown {
		note += fmt.Sprintf(" and %d more", len(other)-shown)
	}
	return false, "the plan also changes what no grant asked for: " + note
}

// awaitReview notes on a run's grants that their plan waits for a review.
func (s *Service) awaitReview(ctx context.Context, r *ent.ProvisioningRun, why string) {
	ids := append(slices.Clone(r.Grants.Activate), r.Grants.End...)
	if len(ids) == 0 {
		return
	}
	msg := fmt.Sprintf("run %s waits for an owner of %s/%s to approve it", r.ID, r.Domain, r.Product)
	if why != "" {
		msg += ": " + why
	}
	if err := s.store.Client.Grant.Update().Where(grant.IDIn(ids...), grant.RunID(r.ID)).SetError(msg).Exec(ctx); err != nil {
		s.log.Warn("noting grants awaiting review", "run", r.ID, "error", err)
	}
}

// grantsApplied moves the grants of an applied run on, inside its transaction.
func grantsApplied(ctx context.Context, tx *ent.Tx, dialect string, r *ent.ProvisioningRun) error {
	if r.Kind == provisioningrun.KindDestroy {
		// Decommissioned from the environment: every grant there ends with
		// the product's ACLs.
		return endProductGrants(ctx, tx, dialect, "the product was decommissioned", grant.ProductID(r.ProductID), grant.Environment(r.Environment))
	}
	return grantsSettled(ctx, tx, dialect, r)
}

// endProductGrants ends the live grants ps select, all of one product,
// inside tx: they hold no access once the product's ACLs are gone. A
// pending request with nothing left to grant is cancelled.
func endProductGrants(ctx context.Context, tx *ent.Tx, dialect, reason string, ps ...predicate.Grant) error {
	at := now()
	gs, err := LockGrants(tx, dialect, append(ps, grant.LiveKeyNotNil())...).All(ctx)
	if err != nil {
		return err
	}
	requests := map[string]bool{}
	for _, g := range gs {
		st := grant.StateRevoked
		if g.State == grant.StatePending {
			st = grant.StateCancelled
			requests[g.RequestID] = true
		}
		if err := endGrant(ctx, tx, dialect, g, st, reason, at); err != nil {
			return err
		}
	}
	// A pending request with nothing left to grant is over.
	for id := range requests {
		left, err := tx.Grant.Query().Where(grant.RequestID(id), grant.StateEQ(grant.StatePending)).Exist(ctx)
		if err != nil {
			return err
		}
		if left {
			continue
		}
		n, err := tx.AccessRequest.Update().Where(accessrequest.ID(id), accessrequest.StateEQ(accessrequest.StatePending)).
			SetState(accessrequest.StateCancelled).SetFinishTime(at).AddVersion(1).Save(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			continue
		}
		r, err := tx.AccessRequest.Get(ctx, id)
		if err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, dialect, audit.Change{Action: "access.CancelAccessRequest", ResourceType: "access-request", Resource: id,
			Domain: r.ConsumerDomain, After: map[string]any{"id": id, "state": r.State, "reason": reason}}); err != nil {
			return err
		}
	}
	return nil
}

// grantsSettled activates and ends the grants an applied run added or
// removed, inside its transaction.
func grantsSettled(ctx context.Context, tx *ent.Tx, dialect string, r *ent.ProvisioningRun) error {
	at := now()
	gs, err := LockGrants(tx, dialect, grant.IDIn(append(slices.Clone(r.Grants.Activate), r.Grants.End...)...)).All(ctx)
	if err != nil {
		return err
	}
	for _, g := range gs {
		switch {
		case slices.Contains(r.Grants.Activate, g.ID) && (g.State == grant.StateProvisioning || g.State == grant.StateApproved):
			after, err := tx.Grant.UpdateOne(g).SetState(grant.StateActive).SetActivateTime(at).
				SetExpireTime(at.Add(time.Duration(g.DurationSeconds) * time.Second)).SetError("").AddVersion(1).Save(ctx)
			if err != nil {
				return err
			}
			if err := audit.Record(ctx, tx, dialect, audit.Change{Action: "access.GrantActivated", ResourceType: "grant",
				Resource: g.ID, Domain: g.Domain, Before: GrantSnapshot(g), After: GrantSnapshot(after)}); err != nil {
				return err
			}
		case slices.Contains(r.Grants.End, g.ID) && g.State == grant.StateRevoking:
			if err := endGrant(ctx, tx, dialect, g, grant.StateRevoked, g.EndReason, at); err != nil {
				return err
			}
		case slices.Contains(r.Grants.End, g.ID) && g.State == grant.StateExpiring:
			if err := endGrant(ctx, tx, dialect, g, grant.StateExpired, g.EndReason, at); err != nil {
				return err
			}
		case g.State == grant.StateRevoking || g.State == grant.StateExpiring:
			// Revoked while this run added its ACLs: the next plan removes them.
			if err := tx.Grant.UpdateOne(g).SetRunID("").Exec(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// endGrant ends a grant in state st: it no longer holds access.
func endGrant(ctx context.Context, tx *ent.Tx, dialect string, g *ent.Grant, st grant.State, reason string, at time.Time) error {
	u := tx.Grant.UpdateOne(g).SetState(st).ClearLiveKey().SetEndTime(at).SetError("").AddVersion(1)
	if g.EndedBy == "" {
		u = u.SetEndedBy(actor.Meshplane.Name)
	}
	if g.EndReason == "" {
		u = u.SetEndReason(reason)
	}
	after, err := u.Save(ctx)
	if err != nil {
		return err
	}
	return audit.Record(ctx, tx, dialect, audit.Change{Action: "access.Grant" + strings.ToUpper(string(st[:1])) + string(st[1:]),
		ResourceType: "grant", Resource: g.ID, Domain: g.Domain, Before: GrantSnapshot(g), After: GrantSnapshot(after)})
}

// runEndedForGrants records on a run's grants that it ended without
// applying. Grants being added wait for someone to plan again; grants being
// removed are planned again by meshplane, so access never outlives a
// revocation because one run failed.
func runEndedForGrants(ctx context.Context, tx *ent.Tx, runID, msg string) error {
	if _, err := tx.Grant.Update().Where(grant.RunID(runID), grant.StateEQ(grant.StateProvisioning)).
		SetError(msg + "; plan the product again to provision it").Save(ctx); err != nil {
		return err
	}
	_, err := tx.Grant.Update().Where(grant.RunID(runID), grant.StateIn(grantsEnding...)).
		SetRunID("").SetError(msg + "; meshplane plans the removal again").Save(ctx)
	return err
}

// LockGrants queries grants in tx, locking the rows on PostgreSQL so a
// revocation and a run never decide on the same grant at once; SQLite
// serializes write transactions already.
func LockGrants(tx *ent.Tx, dialectName string, ps ...predicate.Grant) *ent.GrantQuery {
	q := tx.Grant.Query().Where(ps...)
	if dialectName == entdialect.Postgres {
		q = q.ForUpdate()
	}
	return q
}

// GrantSnapshot is what the audit log keeps of a grant.
func GrantSnapshot(g *ent.Grant) map[string]any {
	out := map[string]any{"id": g.ID, "requestId": g.RequestID, "consumer": g.Consumer, "domain": g.Domain, "product": g.Product,
		"port": g.Port, "topic": g.Topic, "environment": g.Environment, "groupPrefix": g.GroupPrefix, "state": g.State, "runId": g.RunID}
	if g.ExpireTime != nil {
		out["expireTime"] = g.ExpireTime.UTC().Format(time.RFC3339)
	}
	if g.EndReason != "" {
		out["endReason"] = g.EndReason
	}
	return out
}
