package grant

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/meshplane/meshplane/server/actor"
	"github.com/meshplane/meshplane/server/audit"
	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/ent/accessrequest"
	"github.com/meshplane/meshplane/server/ent/grant"
	"github.com/meshplane/meshplane/server/ent/kafkacredential"
	"github.com/meshplane/meshplane/server/ent/principal"
	"github.com/meshplane/meshplane/server/ent/provisioningrun"
	"github.com/meshplane/meshplane/server/provision"
)

// Reconcile brings grants in line with time and the catalog, in order: it
// expires grants past their end, revokes the grants of disabled principals,
// queues plans for grants waiting for one, and removes the Kafka
// credentials of disabled principals once none of their ACLs are left. Any
// replica may run it: every step is a conditional update.
func (s *Service) Reconcile(ctx context.Context) error {
	ctx = system(ctx)
	return errors.Join(s.expire(ctx), s.revokeDisabled(ctx), s.planWaiting(ctx), s.dropCredentials(ctx))
}

// expire moves active grants whose time is up to expiring.
func (s *Service) expire(ctx context.Context) error {
	due, err := s.store.Client.Grant.Query().Where(grant.StateEQ(grant.StateActive), grant.ExpireTimeLTE(s.now())).All(ctx)
	if err != nil {
		return fmt.Errorf("finding expired grants: %w", err)
	}
	for _, g := range due {
		reason := "expired at " + g.ExpireTime.UTC().Format("2006-01-02 15:04:05 MST")
		if _, err := s.end(ctx, g.ID, grant.StateExpiring, actor.Meshplane.Name, reason, "access.GrantExpiring"); err != nil {
			s.log.Warn("expiring grant", "grant", g.ID, "error", err)
		}
	}
	return nil
}

// revokeDisabled ends every live grant of a disabled principal.
func (s *Service) revokeDisabled(ctx context.Context) error {
	disabled, err := s.store.Client.Principal.Query().Where(principal.Disabled(true)).Select(principal.FieldName).Strings(ctx)
	if err != nil {
		return fmt.Errorf("finding disabled principals: %w", err)
	}
	if len(disabled) == 0 {
		return nil
	}
	pending, err := s.store.Client.AccessRequest.Query().Where(accessrequest.ConsumerIn(disabled...), accessrequest.StateEQ(accessrequest.StatePending)).All(ctx)
	if err != nil {
		return fmt.Errorf("finding requests of disabled principals: %w", err)
	}
	for _, r := range pending {
		err := s.store.Tx(ctx, func(tx *ent.Tx) error {
			_, err := s.cancel(ctx, tx, r, actor.Meshplane.Name, "the consumer "+r.Consumer+" was disabled")
			return err
		})
		if err != nil {
			s.log.Warn("cancelling a request of a disabled principal", "request", r.ID, "error", err)
		}
	}
	gs, err := s.store.Client.Grant.Query().Where(grant.ConsumerIn(disabled...),
		grant.StateIn(grant.StateApproved, grant.StateProvisioning, grant.StateActive)).All(ctx)
	if err != nil {
		return fmt.Errorf("finding grants of disabled principals: %w", err)
	}
	for _, g := range gs {
		if _, err := s.end(ctx, g.ID, grant.StateRevoking, actor.Meshplane.Name, "the consumer "+g.Consumer+" was disabled", "access.RevokeGrant"); err != nil {
			s.log.Warn("revoking grant of a disabled principal", "grant", g.ID, "error", err)
		}
	}
	return nil
}

// planWaiting queues a plan for every product with grants to add or remove
// and no run of theirs on the way.
func (s *Service) planWaiting(ctx context.Context) error {
	gs, err := s.store.Client.Grant.Query().
		Where(grant.StateIn(grant.StateApproved, grant.StateRevoking, grant.StateExpiring)).All(ctx)
	if err != nil {
		return fmt.Errorf("finding grants to plan: %w", err)
	}
	type product struct{ domain, name, env string }
	triggers := map[product]provisioningrun.Trigger{}
	var order []product
	for _, g := range gs {
		if g.RunID != "" {
			r, err := s.store.Client.ProvisioningRun.Get(ctx, g.RunID)
			if err == nil && !slices.Contains([]provisioningrun.State{provisioningrun.StateApplied, provisioningrun.StateFailed,
				provisioningrun.StateCancelled, provisioningrun.StateInterrupted}, r.State) {
				continue // a run is on it
			}
		}
		p := product{g.Domain, g.Product, g.Environment}
		t := map[grant.State]provisioningrun.Trigger{grant.StateApproved: provisioningrun.TriggerGrant,
			grant.StateRevoking: provisioningrun.TriggerRevoke, grant.StateExpiring: provisioningrun.TriggerExpiry}[g.State]
		if _, ok := triggers[p]; !ok {
			order = append(order, p)
			triggers[p] = t
		} else if t != provisioningrun.TriggerGrant {
			// Removing access says more than adding it.
			triggers[p] = t
		}
	}
	for _, p := range order {
		s.plan(ctx, p.domain, p.name, provision.Trigger{Kind: triggers[p], By: actor.Meshplane.Name, Detail: "grants waiting for a plan", Environment: p.env})
	}
	return nil
}

// dropCredentials removes the SCRAM users of disabled principals, in each
// environment once none of their grants there can still hold an ACL: ACLs
// go first, then credentials.
func (s *Service) dropCredentials(ctx context.Context) error {
	disabled, err := s.store.Client.Principal.Query().Where(principal.Disabled(true)).Select(principal.FieldName).Strings(ctx)
	if err != nil || len(disabled) == 0 {
		return err
	}
	creds, err := s.store.Client.KafkaCredential.Query().Where(kafkacredential.PrincipalIn(disabled...), kafkacredential.DeleteTimeIsNil()).All(ctx)
	if err != nil {
		return fmt.Errorf("finding credentials of disabled principals: %w", err)
	}
	for _, c := range creds {
		env, ok := s.lookup(c.Environment)
		if !ok || env.Kafka == nil {
			if _, told := s.stranded.LoadOrStore(c.Principal+"|"+c.Environment, true); !told {
				s.log.Warn("the SCRAM user of a disabled principal stays: its environment has no data plane configured", "principal", c.Principal, "environment", c.Environment)
			}
			continue
		}
		holding, err := s.store.Client.Grant.Query().Where(grant.Consumer(c.Principal), grant.Environment(c.Environment),
			grant.StateIn(grant.StateProvisioning, grant.StateActive, grant.StateRevoking, grant.StateExpiring)).Exist(ctx)
		if err != nil || holding {
			continue
		}
		if err := env.Kafka.DeleteSCRAM(ctx, c.Username); err != nil {
			s.log.Warn("deleting the SCRAM user of a disabled principal", "principal", c.Principal, "environment", c.Environment, "error", err)
			continue
		}
		err = s.store.Tx(ctx, func(tx *ent.Tx) error {
			if err := tx.KafkaCredential.UpdateOne(c).SetDeleteTime(s.now()).AddVersion(1).Exec(ctx); err != nil {
				return err
			}
			return audit.Record(ctx, tx, s.store.Dialect, audit.Change{Action: "access.DeleteKafkaCredential", ResourceType: "credential",
				Resource: c.Principal, After: map[string]any{"principal": c.Principal, "environment": c.Environment, "username": c.Username, "reason": "principal disabled"}})
		})
		if err != nil {
			return fmt.Errorf("recording deleted credential: %w", err)
		}
	}
	return nil
}
