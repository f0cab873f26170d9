package policy

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/meshplane/meshplane/policies"
	"github.com/meshplane/meshplane/server/access"
	"github.com/meshplane/meshplane/server/ent/auditevent"
	"github.com/meshplane/meshplane/server/ent/policymodule"
	"github.com/meshplane/meshplane/server/errs"
	"github.com/meshplane/meshplane/server/masking"
	"github.com/meshplane/meshplane/server/policy/engine"
	"github.com/meshplane/meshplane/server/policy/engine/enginetest"
	"github.com/meshplane/meshplane/server/store"
)

// newService opens a throwaway SQLite catalog with the default policies.
func newService(tb testing.TB) *Service {
	tb.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite://"+tb.TempDir()+"/catalog.db")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	return startService(tb, st, nil)
}

// startService starts the policy service on st with defaults (the
// release's when nil).
func startService(tb testing.TB, st *store.Store, defaults engine.Files) *Service {
	tb.Helper()
	ctx := context.Background()
	authz, err := access.New(policies.RBACModel, policies.RBACPolicy)
	if err != nil {
		tb.Fatal(err)
	}
	salts, err := masking.NewSalts([]byte(strings.Repeat("k", 32)))
	if err != nil {
		tb.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	gov, err := NewGovernor(st, log, salts)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := New(Config{Store: st, Authz: authz, Logger: log, Governor: gov, Defaults: defaults})
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	return s
}

// BenchmarkImpact1000 measures an impact dry-run of a stricter masking
// policy over 1,000 products: every product is evaluated by both policies
// and its connector settings compared.
func BenchmarkImpact1000(b *testing.B) {
	s := newService(b)
	ctx := context.Background()
	p := enginetest.Orders().Spec
	for i := range 1000 {
		dom := fmt.Sprintf("d%02d", i%20)
		if i < 20 {
			if _, err := s.store.Client.Domain.Create().SetName(dom).Save(ctx); err != nil {
				b.Fatal(err)
			}
		}
		_, err := s.store.Client.DataProduct.Create().SetDomain(dom).SetName(fmt.Sprintf("p%04d", i)).
			SetDescription(p.Description).SetOwner(p.Owner).SetSource(p.Source).SetPorts(p.Ports).SetSinks(p.Sinks).Save(ctx)
		if err != nil {
			b.Fatal(err)
		}
	}
	files := engine.Defaults()
	stricter := engine.Files{}
	for k, v := range files {
		if strings.HasPrefix(k, "masking") {
			stricter[k] = v
		}
	}
	stricter["masking.rego"] = strings.Replace(stricter["masking.rego"], `topic(port, field) := {"action": "drop"`,
		`topic(port, field) := {"action": "mask", "params": {"chars": 4}} if {
	field.classification == "internal"
} else := {"action": "drop"`, 1)
	var im *Impact
	b.ResetTimer()
	for range b.N {
		// Fresh policy sets each time, so no decision comes from the cache
		// of an earlier iteration: this is a dry-run of a new draft.
		b.StopTimer()
		published, err := s.compile(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		candidate, err := s.compile(ctx, draft("masking", stricter))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if im, err = s.evaluateImpact(ctx, "masking", published, candidate); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if im.ProductsEvaluated != 1000 || len(im.Masking) != 1000 || len(im.Connectors) != 1000 {
		b.Fatalf("impact evaluated %d products with %d masking and %d connector changes, want 1000 each",
			im.ProductsEvaluated, len(im.Masking), len(im.Connectors))
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/dry-run")
	// Over 1,000 products, milliseconds per dry-run are also microseconds per product.
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "µs/product")
}

// Module names cannot contain "_", the separator of file-name suffixes, so
// no module's files can shadow another's: "admission_extra.rego" belongs to
// module admission only.
// TestChangedDefaultsAreProposedAsDrafts: a release whose default rules
// changed proposes them as the draft of each module still running
// meshplane's earlier default, and changes no decision until a governance
// officer publishes; a module an officer published or is editing is left
// alone, and a restart proposes nothing twice.
func TestChangedDefaultsAreProposedAsDrafts(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	c := s.store.Client
	before, err := s.modules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// An officer is editing masking's draft and published admission@2.
	if err := c.PolicyModule.Update().Where(policymodule.Name("masking")).SetDraft(map[string]string{"masking.rego": "package meshplane.masking\n"}).
		SetDraftUpdatedBy("gina").Exec(ctx); err != nil {
		t.Fatal(err)
	}
	adm := engine.Defaults()
	if _, err := c.PolicyVersion.Create().SetModule("admission").SetNumber(2).SetFiles(map[string]string{"admission.rego": adm["admission.rego"]}).
		SetDigest(digest(map[string]string{"admission.rego": adm["admission.rego"]})).SetMessage("ours").SetPublishedBy("gina").Save(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.PolicyModule.Update().Where(policymodule.Name("admission")).SetPublishedVersion(2).Exec(ctx); err != nil {
		t.Fatal(err)
	}

	next := engine.Defaults()
	for _, f := range []string{"access.rego", "admission.rego", "masking.rego"} {
		next[f] += "\n# changed in this release\n"
	}
	s2 := startService(t, s.store, next)
	for i := 0; i < 2; i++ { // a restart proposes nothing twice
		if i == 1 {
			s2 = startService(t, s.store, next)
		}
		after, err := s2.modules(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for j, m := range after {
			want := before[j].Draft
			switch m.Name {
			case "access":
				want = map[string]string{"access.rego": next["access.rego"], "access_test.rego": next["access_test.rego"]}
				if m.DraftUpdatedBy != SystemActor {
					t.Errorf("access draft by %q", m.DraftUpdatedBy)
				}
			case "masking":
				want = map[string]string{"masking.rego": "package meshplane.masking\n"}
			}
			if digest(m.Draft) != digest(want) {
				t.Errorf("start %d: %s draft has %v", i, m.Name, slices.Sorted(maps.Keys(m.Draft)))
			}
			if m.Name == "access" && m.PublishedVersion != 1 {
				t.Errorf("access published version %d: proposing published it", m.PublishedVersion)
			}
		}
		n, err := c.AuditEvent.Query().Where(auditevent.Action("policy.SaveDraft"), auditevent.Actor(SystemActor)).Count(ctx)
		if err != nil || n != 1 {
			t.Errorf("start %d: %d drafts proposed (%v), want 1", i, n, err)
		}
		if got := s2.engine.Current().Version(); got != "access@1,admission@2,masking@1,provision@1" {
			t.Errorf("the policy in force is %s: proposing published something", got)
		}
	}
}

func TestModuleNamesCannotShadowFiles(t *testing.T) {
	s := newService(t)
	_, err := s.CreateModule(context.Background(), "admission_extra", "", map[string]string{"admission_extra.rego": "package x\n"})
	e := errs.As(err)
	if e.Kind != errs.KindInvalidArgument || len(e.Fields) == 0 || e.Fields[0].Path != "name" {
		t.Fatalf("CreateModule(admission_extra) = %v", err)
	}
	var v errs.Violations
	checkFiles(&v, "admission", map[string]string{"admission_extra.rego": "", "masking.rego": ""})
	if v.Len() != 1 || v.List()[0].Path != `files["masking.rego"]` {
		t.Errorf("checkFiles = %+v", v.List())
	}
}
