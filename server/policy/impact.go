package policy

import (
	"context"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/meshplane/meshplane/server/access"
	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/ent/dataproduct"
	"github.com/meshplane/meshplane/server/ent/deployment"
	"github.com/meshplane/meshplane/server/masking"
	"github.com/meshplane/meshplane/server/policy/engine"
	"github.com/meshplane/meshplane/server/spec"
)

// Impact compares the draft of a module with the published policy over
// every product in the catalog.
type Impact struct {
	Module            string
	PublishedVersion  int
	ProductsEvaluated int
	Admission         []AdmissionChange
	Masking           []MaskingChange
	Connectors        []ConnectorChange
	// AccessRequestsEvaluated pending access requests were decided again;
	// Access lists those whose approvers, duration or auto-approval change.
	AccessRequestsEvaluated int
	Access                  []AccessChange
	Duration                time.Duration
}

// AdmissionChange is a product whose admission result or messages change,
// in one environment it is provisioned in ("" for a product provisioned
// nowhere, judged as a catalog write).
type AdmissionChange struct {
	Domain, Product             string
	Environment                 string
	AllowedBefore, AllowedAfter bool
	Before, After               []engine.Violation
}

// MaskingChange is one field whose masking decision changes; Before or
// After is nil when the decision exists on one side only.
type MaskingChange struct {
	Domain, Product string
	Environment     string
	Before, After   *engine.Decision
}

// ConnectorChange is a connector whose configuration would change.
type ConnectorChange struct {
	Domain, Product, Connector string
	// Environment is where the connector runs; "" for a product
	// provisioned nowhere.
	Environment string
	Keys        []string
	// Provisioned is set when the product has infrastructure, so a publish
	// queues a plan for it.
	Provisioned bool
}

// Impact evaluates the module's draft and the published policy side by side
// over every product that is not retired.
func (s *Service) Impact(ctx context.Context, name string) (*Impact, error) {
	if err := s.authz.Require(ctx, access.AllDomains, ObjPolicy, ActTest); err != nil {
		return nil, err
	}
	m, err := s.module(ctx, name)
	if err != nil {
		return nil, err
	}
	candidate, err := s.compile(ctx, draft(name, m.Draft))
	if err != nil {
		return nil, compileViolations(err)
	}
	out, err := s.evaluateImpact(ctx, name, s.engine.Current(), candidate)
	if err != nil {
		return nil, err
	}
	out.PublishedVersion = m.PublishedVersion
	return out, nil
}

// impactPage is how many products are read at a time.
const impactPage = 500

// evaluateImpact compares before and after over the whole catalog, reading
// it in pages and evaluating on every CPU.
func (s *Service) evaluateImpact(ctx context.Context, module string, before, after *engine.Set) (*Impact, error) {
	start := time.Now()
	out := &Impact{Module: module}
	var mu sync.Mutex
	lastID := ""
	for {
		q := s.store.Client.DataProduct.Query().Where(dataproduct.LifecycleNEQ(dataproduct.LifecycleRetired))
		if lastID != "" {
			q = q.Where(dataproduct.IDGT(lastID))
		}
		batch, err := q.Order(ent.Asc(dataproduct.FieldID)).Limit(impactPage).All(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading products: %w", err)
		}
		if len(batch) == 0 {
			break
		}
		lastID = batch[len(batch)-1].ID
		ids := make([]string, len(batch))
		for i, p := range batch {
			ids[i] = p.ID
		}
		// Each product is judged for every environment it runs in, with
		// that environment's parameters.
		deps, err := s.store.Client.Deployment.Query().Where(deployment.ProductIDIn(ids...), deployment.ProvisionedVersionNotNil()).
			Select(deployment.FieldProductID, deployment.FieldEnvironment).All(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading deployments: %w", err)
		}
		runsIn := map[string][]engine.Environment{}
		for _, e := range s.cfg.Environments {
			for _, d := range deps {
				if d.Environment == e.Name {
					runsIn[d.ProductID] = append(runsIn[d.ProductID], e)
				}
			}
		}
		work := make(chan *ent.DataProduct)
		var wg sync.WaitGroup
		for range max(1, runtime.GOMAXPROCS(0)) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for p := range work {
					d := s.compareIn(ctx, p, runsIn[p.ID], before, after)
					mu.Lock()
					out.ProductsEvaluated++
					out.Admission = append(out.Admission, d.Admission...)
					out.Masking = append(out.Masking, d.Masking...)
					out.Connectors = append(out.Connectors, d.Connectors...)
					mu.Unlock()
				}
			}()
		}
		for _, p := range batch {
			work <- p
		}
		close(work)
		wg.Wait()
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(out.Admission, func(a, b AdmissionChange) int {
		return strings.Compare(a.Domain+"/"+a.Product+"@"+a.Environment, b.Domain+"/"+b.Product+"@"+b.Environment)
	})
	slices.SortFunc(out.Masking, func(a, b MaskingChange) int {
		return strings.Compare(maskKey(a), maskKey(b))
	})
	slices.SortFunc(out.Connectors, func(a, b ConnectorChange) int {
		return strings.Compare(a.Domain+"/"+a.Product+"@"+a.Environment+"/"+a.Connector, b.Domain+"/"+b.Product+"@"+b.Environment+"/"+b.Connector)
	})
	n, changes, err := s.accessImpact(ctx, before, after)
	if err != nil {
		return nil, err
	}
	out.AccessRequestsEvaluated, out.Access = n, changes
	slices.SortFunc(out.Access, func(a, b AccessChange) int { return strings.Compare(accessKey(a), accessKey(b)) })
	out.Duration = time.Since(start)
	return out, nil
}

func maskKey(c MaskingChange) string {
	d := c.After
	if d == nil {
		d = c.Before
	}
	return c.Domain + "/" + c.Product + "@" + c.Environment + "/" + d.Port + "/" + d.Field + "/" + d.Sink
}

// evaluation is one product judged by one policy: the policy's masking
// answer, what it compiles into, and admission.
type evaluation struct {
	Masking    engine.Masking
	Connectors masking.Connectors
	Admission  engine.Admission
}

// evaluate judges p with set: masking first, compiled into connector
// settings, then admission, which sees the decisions as enforced.
func (s *Governor) evaluate(ctx context.Context, set *engine.Set, p engine.Product) evaluation {
	m := set.Mask(ctx, p)
	c := masking.Compile(p.Domain, p.Name, p.Spec, m.Decisions, s.salts)
	return evaluation{Masking: m, Connectors: c, Admission: set.Admit(ctx, p, c.Decisions)}
}

// input returns the policy input for a stored product.
func input(p *ent.DataProduct) engine.Product {
	return engine.Product{Domain: p.Domain, Name: p.Name, Lifecycle: string(p.Lifecycle), Spec: spec.Product{
		Description: p.Description, Owner: p.Owner, Labels: p.Labels, Source: p.Source, Ports: p.Ports, Sinks: p.Sinks,
	}}
}

// compare evaluates one product with both policies and returns the differences.
func (s *Service) compareIn(ctx context.Context, p *ent.DataProduct, envs []engine.Environment, before, after *engine.Set) Impact {
	if len(envs) == 0 {
		// Provisioned nowhere: judged as a catalog write is.
		return s.compare(ctx, p, engine.Environment{}, false, before, after)
	}
	var out Impact
	for _, e := range envs {
		d := s.compare(ctx, p, e, true, before, after)
		out.Admission = append(out.Admission, d.Admission...)
		out.Masking = append(out.Masking, d.Masking...)
		out.Connectors = append(out.Connectors, d.Connectors...)
	}
	return out
}

// compare evaluates one product in env with both policies and returns the
// differences.
func (s *Service) compare(ctx context.Context, p *ent.DataProduct, env engine.Environment, provisioned bool, before, after *engine.Set) Impact {
	in := input(p)
	in.Environment = env
	b, a := s.evaluate(ctx, before, in), s.evaluate(ctx, after, in)
	var out Impact
	if b.Admission.Allowed != a.Admission.Allowed || !slices.Equal(b.Admission.Violations, a.Admission.Violations) {
		out.Admission = append(out.Admission, AdmissionChange{
			Domain: p.Domain, Product: p.Name, Environment: env.Name,
			AllowedBefore: b.Admission.Allowed, AllowedAfter: a.Admission.Allowed,
			Before: b.Admission.Violations, After: a.Admission.Violations,
		})
	}
	type key struct{ port, field, sink string }
	index := func(ds []engine.Decision) map[key]engine.Decision {
		m := make(map[key]engine.Decision, len(ds))
		for _, d := range ds {
			m[key{d.Port, d.Field, d.Sink}] = d
		}
		return m
	}
	bi, ai := index(b.Connectors.Decisions), index(a.Connectors.Decisions)
	for k, bd := range bi {
		ad, ok := ai[k]
		if !ok {
			out.Masking = append(out.Masking, MaskingChange{Domain: p.Domain, Product: p.Name, Environment: env.Name, Before: &bd})
		} else if !sameDecision(bd, ad) {
			out.Masking = append(out.Masking, MaskingChange{Domain: p.Domain, Product: p.Name, Environment: env.Name, Before: &bd, After: &ad})
		}
	}
	for k, ad := range ai {
		if _, ok := bi[k]; !ok {
			out.Masking = append(out.Masking, MaskingChange{Domain: p.Domain, Product: p.Name, Environment: env.Name, After: &ad})
		}
	}
	changed := masking.Changed(p.Domain, p.Name, b.Connectors, a.Connectors)
	for _, conn := range slices.Sorted(maps.Keys(changed)) {
		out.Connectors = append(out.Connectors, ConnectorChange{
			Domain: p.Domain, Product: p.Name, Connector: conn, Keys: changed[conn], Environment: env.Name,
			Provisioned: provisioned,
		})
	}
	return out
}

// sameDecision compares what a decision does, not why.
func sameDecision(a, b engine.Decision) bool {
	return a.Action == b.Action && a.Algorithm == b.Algorithm && a.Salt == b.Salt &&
		a.Chars == b.Chars && a.Length == b.Length && a.Fallback == b.Fallback
}
