package provision

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/provision/render"
	"github.com/meshplane/meshplane/server/spec"
)

// DataPlane looks at the data plane itself rather than at Terraform's
// state. An apply killed between creating a resource and recording it in
// the state leaves a resource the state does not know: a destroy plan
// cannot see it, so only the data plane can say whether a decommission
// left something behind.
type DataPlane interface {
	// Existing returns which of the named topics and connectors exist,
	// each list sorted.
	Existing(ctx context.Context, names Resources) (Resources, error)
}

// Resources names Kafka topics and Kafka Connect connectors.
type Resources struct {
	Topics, Connectors []string
}

// Empty reports whether r names nothing.
func (r Resources) Empty() bool { return len(r.Topics) == 0 && len(r.Connectors) == 0 }

// String lists r for people: "topics a, b and connector c".
func (r Resources) String() string {
	var parts []string
	for _, g := range []struct {
		one, many string
		names     []string
	}{{"topic", "topics", r.Topics}, {"connector", "connectors", r.Connectors}} {
		switch len(g.names) {
		case 0:
		case 1:
			parts = append(parts, g.one+" "+g.names[0])
		default:
			parts = append(parts, g.many+" "+strings.Join(g.names, ", "))
		}
	}
	return strings.Join(parts, " and ")
}

// DefaultLeftoverGrace is how long a decommission waits for deletions to
// show before it calls what remains left behind: Kafka and Kafka Connect may
// list a topic or connector a moment after they accepted its deletion.
const DefaultLeftoverGrace = 5 * time.Second

// leftoverPoll is how often the data plane is asked again meanwhile.
const leftoverPoll = 250 * time.Millisecond

// errNoDataPlane refuses to call a decommission complete without looking.
var errNoDataPlane = errors.New("no data plane inventory is configured")

// unfinishedDestroy says why the destroy run r, just applied, did not
// decommission its product: what the product owns is still in the data
// plane, or the data plane could not be asked. It returns "" when nothing
// the product would own remains. Owned names come from the product's
// workspace as rendered now, not from the state: a resource the state
// never recorded is found by its name.
func (s *Service) unfinishedDestroy(ctx context.Context, r *ent.ProvisioningRun, lw *runLog) string {
	left, err := s.leftovers(ctx, r)
	switch {
	case err != nil:
		// A client error may quote what it was given: keep secrets out.
		why := s.scrub(err.Error())
		lw.line("meshplane: could not check the data plane after the destroy: " + why)
		return fmt.Sprintf("decommission unconfirmed: checking the data plane for what %s/%s leaves behind: %s; the product stays until a decommission finds nothing left",
			r.Domain, r.Product, why)
	case !left.Empty():
		lw.line("meshplane: the destroy left " + left.String() + " in the data plane")
		return fmt.Sprintf("decommission incomplete: the data plane still holds %s of %s/%s, which Terraform's state did not record "+
			"(as when an apply is stopped mid-way); remove what is listed and decommission again: the product stays until nothing of it is left",
			left, r.Domain, r.Product)
	}
	lw.line("meshplane: the data plane holds nothing of the product any more")
	if note := s.sourceLeftovers(ctx, r); note != "" {
		lw.line("meshplane: " + note)
	}
	return ""
}

// sourceLeftovers says what a decommissioned product leaves in its source
// database: Debezium keeps a PostgreSQL source's replication slot and
// publication when the connector is deleted (so that a restart resumes),
// and a slot nobody reads holds back the database's WAL until it is
// dropped. meshplane has no credentials for the source database, so its
// owner drops them; "" when there is nothing to say.
func (s *Service) sourceLeftovers(ctx context.Context, r *ent.ProvisioningRun) string {
	p, err := s.store.Client.DataProduct.Get(ctx, r.ProductID)
	if err != nil || p.Source.Kind != spec.SourcePostgres {
		return ""
	}
	slot := render.SlotName(r.Environment, r.Domain, r.Product)
	return fmt.Sprintf("the source database %s:%d/%s keeps replication slot %s and publication %s, which hold back its WAL until dropped; "+
		"its owner drops them with: SELECT pg_drop_replication_slot('%s'); DROP PUBLICATION %s;",
		p.Source.Host, p.Source.Port, p.Source.Database, slot, slot, slot, slot)
}

// leftovers returns what the data plane still holds of the product of run
// r, asking again for up to the grace period while anything remains or the
// data plane cannot be asked.
func (s *Service) leftovers(ctx context.Context, r *ent.ProvisioningRun) (Resources, error) {
	env, err := s.runEnvironment(r)
	if err != nil {
		return Resources{}, err
	}
	if env.DataPlane == nil {
		return Resources{}, errNoDataPlane
	}
	p, err := s.store.Client.DataProduct.Get(ctx, r.ProductID)
	if err != nil {
		return Resources{}, fmt.Errorf("reading product: %w", err)
	}
	w, err := render.Render(render.Input{Domain: r.Domain, Product: r.Product, Spec: productSpec(p), Env: env.Render})
	if err != nil {
		return Resources{}, err
	}
	owned := Resources{Topics: w.Topics, Connectors: w.Connectors}
	deadline := time.Now().Add(s.cfg.LeftoverGrace)
	for {
		left, err := env.DataPlane.Existing(ctx, owned)
		// A failed look (a broker reconnecting) is asked again too: only
		// what the grace period ends on counts.
		if (err == nil && left.Empty()) || time.Now().After(deadline) {
			return left, err
		}
		select {
		case <-ctx.Done():
			return left, ctx.Err()
		case <-time.After(leftoverPoll):
		}
	}
}

// leftElsewhere names the environments other than env whose data plane
// still holds topics or connectors of run r's product; one that cannot be
// asked counts as holding some, so the product is not retired on a guess.
func (s *Service) leftElsewhere(ctx context.Context, r *ent.ProvisioningRun, env string, lw *runLog) []string {
	p, err := s.store.Client.DataProduct.Get(ctx, r.ProductID)
	if err != nil {
		lw.line("meshplane: could not read the product to look at the other environments: " + err.Error())
		return []string{"(unknown)"}
	}
	var out []string
	for i := range s.cfg.Environments {
		e := &s.cfg.Environments[i]
		if e.Name == env {
			continue
		}
		if e.DataPlane == nil {
			out = append(out, e.Name)
			continue
		}
		w, err := render.Render(render.Input{Domain: r.Domain, Product: r.Product, Spec: productSpec(p), Env: e.Render})
		if err != nil {
			out = append(out, e.Name)
			continue
		}
		left, err := e.DataPlane.Existing(ctx, Resources{Topics: w.Topics, Connectors: w.Connectors})
		switch {
		case err != nil:
			lw.line(fmt.Sprintf("meshplane: could not look at environment %s: %s", e.Name, s.scrub(err.Error())))
			out = append(out, e.Name)
		case !left.Empty():
			lw.line(fmt.Sprintf("meshplane: environment %s still holds %s", e.Name, left))
			out = append(out, e.Name)
		}
	}
	return out
}

// adoptFile holds the import blocks of a workspace's adopted topics.
const adoptFile = "adopt.tf.json"

// adoptTopics adds an import block for every topic the workspace creates
// that already exists in the data plane. An apply stopped between creating
// a topic and recording it leaves one the state does not know, and every
// later apply would fail on "already exists"; imported, it is managed again.
// Import blocks are idempotent: one for a topic the state already holds
// changes nothing. When the data plane cannot be asked, nothing is adopted
// and the plan says so.
func (s *Service) adoptTopics(ctx context.Context, env *Environment, w *render.Workspace, lw *runLog) {
	if env.DataPlane == nil || len(w.Topics) == 0 {
		return
	}
	found, err := env.DataPlane.Existing(ctx, Resources{Topics: w.Topics})
	if err != nil {
		lw.line("meshplane: could not look for existing topics to adopt: " + err.Error())
		return
	}
	type block struct {
		To string `json:"to"`
		ID string `json:"id"`
	}
	var imports []block
	for _, t := range found.Topics {
		if addr, ok := w.TopicAddresses[t]; ok {
			imports = append(imports, block{To: addr, ID: t})
		}
	}
	if len(imports) == 0 {
		return
	}
	b, err := json.MarshalIndent(map[string]any{"import": imports}, "", "  ")
	if err != nil {
		lw.line("meshplane: could not write topic imports: " + err.Error())
		return
	}
	w.Files[adoptFile] = append(b, '\n')
}
