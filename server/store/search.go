package store

import (
	"context"
	"fmt"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/ent/dataproduct"
	"github.com/meshplane/meshplane/server/spec"
)

// backfillBatch is how many products one backfill transaction rewrites.
const backfillBatch = 200

// BackfillSearch derives the search text and classification bits of every
// product that has none: products written before those columns existed,
// which no SQL migration can derive because spec.SearchText is Go. Every
// product's text holds at least its name, so an empty one means "never
// derived"; a later change to spec.SearchText ships a migration that empties
// the column to have it derived again. Update times are left as they are.
func (s *Store) BackfillSearch(ctx context.Context) (int, error) {
	done := 0
	for {
		ps, err := s.Client.DataProduct.Query().Where(dataproduct.SearchText("")).
			Order(ent.Asc(dataproduct.FieldID)).Limit(backfillBatch).All(ctx)
		if err != nil {
			return done, fmt.Errorf("reading products to index: %w", err)
		}
		if len(ps) == 0 {
			return done, nil
		}
		err = s.Tx(ctx, func(tx *ent.Tx) error {
			for _, p := range ps {
				sp := spec.Product{Description: p.Description, Ports: p.Ports}
				q, args := entsql.Dialect(s.Dialect).Update(dataproduct.Table).
					Set(dataproduct.FieldSearchText, spec.SearchText(p.Name, sp)).
					Set(dataproduct.FieldClassifications, spec.ClassificationBits(sp)).
					Where(entsql.EQ(dataproduct.FieldID, p.ID)).Query()
				if _, err := tx.ExecContext(ctx, q, args...); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return done, fmt.Errorf("indexing products: %w", err)
		}
		done += len(ps)
	}
}
