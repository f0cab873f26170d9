package catalog

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"

	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/ent/dataproduct"
	"github.com/meshplane/meshplane/server/ent/predicate"
	"github.com/meshplane/meshplane/server/errs"
	"github.com/meshplane/meshplane/server/spec"
)

// Health is a product's state in the data plane, as the last apply and the
// last drift check recorded it.
type Health string

const (
	// HealthNotProvisioned: nothing applied — never provisioned, or decommissioned.
	HealthNotProvisioned Health = "not_provisioned"
	// HealthInSync: applied, and no drift check found changes since.
	HealthInSync Health = "in_sync"
	// HealthDrifted: applied, and the last drift check found changes made
	// outside meshplane.
	HealthDrifted Health = "drifted"
)

// Healths lists every health state in order.
var Healths = []Health{HealthNotProvisioned, HealthInSync, HealthDrifted}

// HealthOf derives p's health. The migrations define the "health" column
// that searches filter and count on with the same rule, in SQL.
func HealthOf(p *ent.DataProduct) Health {
	switch {
	case p.ProvisionedVersion == nil:
		return HealthNotProvisioned
	case len(p.Drift) > 0:
		return HealthDrifted
	default:
		return HealthInSync
	}
}

// healthColumn is the generated column holding HealthOf.
const healthColumn = "health"

// FacetClassifications are the classifications search filters and counts
// on: unclassified fields are what admission refuses, not a facet.
var FacetClassifications = []spec.Classification{spec.ClassNone, spec.ClassInternal, spec.ClassPII, spec.ClassSensitive}

// Limits on a search.
const (
	MaxSearchText  = 256
	MaxSearchTerms = 16
)

// DomainCount, LifecycleCount, HealthCount and ClassificationCount are how
// many products of a listing have one facet value.
type (
	DomainCount struct {
		Domain string
		Count  int
	}
	LifecycleCount struct {
		Lifecycle spec.Lifecycle
		Count     int
	}
	HealthCount struct {
		Health Health
		Count  int
	}
	ClassificationCount struct {
		Classification spec.Classification
		Count          int
	}
)

// Facets counts the products a listing's filter matches, all pages
// together: in total, per domain (those with at least one), per lifecycle,
// per health state and per classification (every value, zero included). A
// product counts once under each classification its fields carry.
type Facets struct {
	Total           int
	Domains         []DomainCount
	Lifecycles      []LifecycleCount
	Health          []HealthCount
	Classifications []ClassificationCount
}

// checkSearch validates the search criteria of a listing.
func checkSearch(v *errs.Violations, in ListProductsInput) {
	switch {
	case len(in.Text) > MaxSearchText:
		v.Add("text", "must be at most %d characters", MaxSearchText)
	case len(spec.SearchTerms(in.Text)) > MaxSearchTerms:
		v.Add("text", "must have at most %d words", MaxSearchTerms)
	}
	if in.Health != "" && !slices.Contains(Healths, in.Health) {
		v.Add("health", "must be not_provisioned, in_sync or drifted, got %q", in.Health)
	}
	if in.Classification != "" && !slices.Contains(FacetClassifications, in.Classification) {
		v.Add("classification", "must be none, internal, pii or sensitive, got %q", in.Classification)
	}
}

// searchPredicates returns the predicates of a listing's search criteria.
func searchPredicates(dialectName string, in ListProductsInput) []predicate.DataProduct {
	var preds []predicate.DataProduct
	if terms := spec.SearchTerms(in.Text); len(terms) > 0 {
		preds = append(preds, textPredicate(dialectName, terms))
	}
	if in.Health != "" {
		preds = append(preds, func(s *sql.Selector) { s.Where(sql.EQ(s.C(healthColumn), string(in.Health))) })
	}
	if in.Classification != "" {
		bit := spec.ClassificationBit(in.Classification)
		preds = append(preds, func(s *sql.Selector) {
			col := s.C(dataproduct.FieldClassifications)
			s.Where(sql.P(func(b *sql.Builder) {
				b.WriteString("(" + col + " & ").Arg(bit).WriteString(") <> 0")
			}))
		})
	}
	return preds
}

// textPredicate matches products whose search text contains every term.
// Both dialects mean the same: a byte-wise substring of the lower-cased
// text. PostgreSQL asks its trigram index with LIKE. SQLite asks its FTS5
// trigram table, one quoted phrase per term, which is exactly a substring
// match; terms under three characters have no trigram and are matched with
// LIKE. The unary plus keeps SQLite from driving the query by the full-text
// matches and sorting them all: it walks the listing's index in order and
// probes the matches, so a first page stops after one page of hits.
func textPredicate(dialectName string, terms []string) predicate.DataProduct {
	return func(s *sql.Selector) {
		col := s.C(dataproduct.FieldSearchText)
		var phrases []string
		for _, t := range terms {
			if dialectName == dialect.SQLite && len([]rune(t)) >= 3 {
				phrases = append(phrases, `"`+strings.ReplaceAll(t, `"`, `""`)+`"`)
				continue
			}
			pattern := "%" + escapeLike(t) + "%"
			s.Where(sql.P(func(b *sql.Builder) {
				b.WriteString(col + " LIKE ").Arg(pattern).WriteString(` ESCAPE '\'`)
			}))
		}
		if len(phrases) > 0 {
			query := strings.Join(phrases, " ")
			rowid := s.C("rowid")
			s.Where(sql.P(func(b *sql.Builder) {
				b.WriteString("+" + rowid + " IN (SELECT rowid FROM data_product_search WHERE data_product_search MATCH ").
					Arg(query).WriteString(")")
			}))
		}
	}
}

// escapeLike escapes LIKE's wildcards and its escape character.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// facets counts what preds match, grouped by every facet at once, from the
// columns the facets index holds.
func (s *Service) facets(ctx context.Context, preds []predicate.DataProduct) (*Facets, error) {
	t := sql.Table(dataproduct.Table)
	sel := sql.Dialect(s.store.Dialect).
		Select(t.C(dataproduct.FieldDomain), t.C(dataproduct.FieldLifecycle), t.C(healthColumn), t.C(dataproduct.FieldClassifications), sql.Count("*")).
		From(t)
	for _, p := range preds {
		p(sel)
	}
	sel.GroupBy(t.C(dataproduct.FieldDomain), t.C(dataproduct.FieldLifecycle), t.C(healthColumn), t.C(dataproduct.FieldClassifications))
	query, args := sel.Query()
	rows, err := s.store.DB.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("counting facets: %w", err)
	}
	defer rows.Close()
	var c facetCounts
	c.init()
	for rows.Next() {
		var (
			dom, lc, h string
			bits       int64
			n          int
		)
		if err := rows.Scan(&dom, &lc, &h, &bits, &n); err != nil {
			return nil, fmt.Errorf("counting facets: %w", err)
		}
		c.total += n
		c.domains[dom] += n
		c.lifecycles[spec.Lifecycle(lc)] += n
		c.health[Health(h)] += n
		for _, k := range FacetClassifications {
			if bits&spec.ClassificationBit(k) != 0 {
				c.classes[k] += n
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("counting facets: %w", err)
	}
	return c.facets(), nil
}

// facetCounts accumulates facet counts.
type facetCounts struct {
	total      int
	domains    map[string]int
	lifecycles map[spec.Lifecycle]int
	health     map[Health]int
	classes    map[spec.Classification]int
}

func (c *facetCounts) init() {
	c.domains, c.lifecycles = map[string]int{}, map[spec.Lifecycle]int{}
	c.health, c.classes = map[Health]int{}, map[spec.Classification]int{}
}

func (c *facetCounts) facets() *Facets {
	out := &Facets{Total: c.total, Domains: []DomainCount{}}
	for _, d := range slices.Sorted(maps.Keys(c.domains)) {
		out.Domains = append(out.Domains, DomainCount{Domain: d, Count: c.domains[d]})
	}
	for _, l := range spec.Lifecycles {
		out.Lifecycles = append(out.Lifecycles, LifecycleCount{Lifecycle: l, Count: c.lifecycles[l]})
	}
	for _, h := range Healths {
		out.Health = append(out.Health, HealthCount{Health: h, Count: c.health[h]})
	}
	for _, k := range FacetClassifications {
		out.Classifications = append(out.Classifications, ClassificationCount{Classification: k, Count: c.classes[k]})
	}
	return out
}

// emptyFacets are the facets of a listing that matches nothing.
func emptyFacets() *Facets {
	var c facetCounts
	c.init()
	return c.facets()
}
