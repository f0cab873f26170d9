package store

import (
	"context"

	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/ent/domain"
	"github.com/meshplane/meshplane/server/errs"
)

// AlreadyExists turns a unique-constraint violation — a concurrent writer
// winning the race after an existence check — into AlreadyExists.
func AlreadyExists(err error, resource, name string) error {
	if ent.IsConstraintError(err) {
		return errs.New(errs.KindAlreadyExists, "%s %q already exists", resource, name)
	}
	return err
}

// RequireDomain returns NotFound unless the domain exists, inside tx.
func RequireDomain(ctx context.Context, tx *ent.Tx, name string) error {
	ok, err := tx.Domain.Query().Where(domain.Name(name)).Exist(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return errs.NotFound("domain", name)
	}
	return nil
}
