package policy

import (
	"context"
	"fmt"

	"github.com/meshplane/meshplane/server/access"
	"github.com/meshplane/meshplane/server/actor"
	"github.com/meshplane/meshplane/server/audit"
	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/ent/rbacpolicy"
	"github.com/meshplane/meshplane/server/ent/rolebinding"
	"github.com/meshplane/meshplane/server/errs"
)

// RBAC is the role definitions in force.
type RBAC struct {
	Text    string
	Version int64
	Roles   []string
}

// boundRoles lists the roles some binding uses: they must stay defined.
func (s *Service) boundRoles(ctx context.Context, c *ent.Client) ([]string, error) {
	var roles []string
	err := c.RoleBinding.Query().GroupBy(rolebinding.FieldRole).Scan(ctx, &roles)
	if err != nil {
		return nil, fmt.Errorf("reading bound roles: %w", err)
	}
	return roles, nil
}

// loadRBAC stores the built-in role definitions on first start, and puts
// stored ones in force when they differ from what the authorizer holds.
func (s *Service) loadRBAC(ctx context.Context) error {
	row, err := s.rbacRow(ctx, s.store.Client)
	if ent.IsNotFound(err) {
		_, err = s.store.Client.RBACPolicy.Create().SetText(s.authz.PolicyText()).SetUpdatedBy(SystemActor).Save(ctx)
		return err
	}
	if err != nil {
		return err
	}
	if row.Text == s.authz.PolicyText() {
		return nil
	}
	// The stored text was validated against the bindings when it was saved.
	// A binding created since for a role it no longer defines grants
	// nothing; it must not keep the server from starting.
	if err := s.authz.SetPolicy(row.Text, nil); err != nil {
		return fmt.Errorf("loading stored role definitions: %w", err)
	}
	return nil
}

func (s *Service) rbacRow(ctx context.Context, c *ent.Client) (*ent.RBACPolicy, error) {
	row, err := c.RBACPolicy.Query().Order(ent.Asc(rbacpolicy.FieldCreateTime)).First(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading role definitions: %w", err)
	}
	return row, nil
}

// GetRBAC returns the role definitions in force.
func (s *Service) GetRBAC(ctx context.Context) (RBAC, error) {
	if err := s.authz.Require(ctx, access.AllDomains, ObjRBAC, ActRead); err != nil {
		return RBAC{}, err
	}
	row, err := s.rbacRow(ctx, s.store.Client)
	if err != nil {
		return RBAC{}, err
	}
	return RBAC{Text: row.Text, Version: row.Version, Roles: s.authz.Roles()}, nil
}

// UpdateRBAC replaces the role definitions, guarded by version. The text is
// validated whole — a malformed line refuses the change — then stored with
// an audit event, and the authorizer swaps to it atomically.
func (s *Service) UpdateRBAC(ctx context.Context, text string, version int64) (RBAC, error) {
	if version < 1 {
		var v errs.Violations
		v.Add("version", "is required: the version you read (optimistic concurrency)")
		return RBAC{}, v.Err()
	}
	if err := s.authz.Require(ctx, access.AllDomains, ObjRBAC, ActUpdate); err != nil {
		return RBAC{}, err
	}
	who, _ := actor.From(ctx)
	var out *ent.RBACPolicy
	err := s.store.Tx(ctx, func(tx *ent.Tx) error {
		bound, err := s.boundRoles(ctx, tx.Client())
		if err != nil {
			return err
		}
		if err := access.ValidatePolicy(text, bound); err != nil {
			return err
		}
		cur, err := s.rbacRow(ctx, tx.Client())
		if err != nil {
			return err
		}
		n, err := tx.RBACPolicy.Update().Where(rbacpolicy.ID(cur.ID), rbacpolicy.Version(version)).
			SetText(text).SetUpdatedBy(who.Name).AddVersion(1).Save(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return errs.Conflict("role definitions", "rbac", version, cur.Version)
		}
		if out, err = tx.RBACPolicy.Get(ctx, cur.ID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, s.store.Dialect, audit.Change{
			Action: "policy.UpdateRBAC", ResourceType: "rbac", Resource: "roles",
			Before: map[string]any{"version": cur.Version, "text": cur.Text}, After: map[string]any{"version": out.Version, "text": out.Text},
		})
	})
	if err != nil {
		return RBAC{}, err
	}
	// Swap once stored, so a concurrent refresh never puts the old text back.
	// The text passed the same validation above; should the swap still
	// fail, the next refresh puts the stored text in force.
	if err := s.authz.SetPolicy(text, nil); err != nil {
		s.log.Error("putting the stored role definitions in force", "err", err)
		return RBAC{}, fmt.Errorf("putting the role definitions in force: %w", err)
	}
	return RBAC{Text: out.Text, Version: out.Version, Roles: s.authz.Roles()}, nil
}
