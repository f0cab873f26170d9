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

// TestChangedDefaultsAreProposedAsDrafts: a release whose default rules
// changed proposes them as the draft of each module still running
// meshplane's earlier default, and changes no decision until a governance
// officer publishes; a module an officer published or is editing is left
// alone, a restart proposes nothing twice, a proposal the officer turned
// down stays turned down, and one a later release no longer makes is
// withdrawn.
func TestChangedDefaultsAreProposedAsDrafts(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	c := s.store.Client
	published := map[string]map[string]string{}
	mods, err := s.modules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mods {
		published[m.Name] = m.Draft
	}
	// An officer is editing masking's draft and published admission@2.
	editing := map[string]string{"masking.rego": "package meshplane.masking\n"}
	if err := c.PolicyModule.Update().Where(policymodule.Name("masking")).SetDraft(editing).SetDraftUpdatedBy("gina").Exec(ctx); err != nil {
		t.Fatal(err)
	}
	adm := map[string]string{"admission.rego": engine.Defaults()["admission.rego"]}
	if _, err := c.PolicyVersion.Create().SetModule("admission").SetNumber(2).SetFiles(adm).SetDigest(digest(adm)).
		SetMessage("ours").SetPublishedBy("gina").Save(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.PolicyModule.Update().Where(policymodule.Name("admission")).SetPublishedVersion(2).Exec(ctx); err != nil {
		t.Fatal(err)
	}

	changed := func(files ...string) engine.Files {
		d := engine.Defaults()
		for _, f := range files {
			d[f] += "\n# changed in this release\n"
		}
		return d
	}
	module := func(d engine.Files, name string) map[string]string {
		out := map[string]string{}
		for f, src := range d {
			if moduleOf(f) == name {
				out[f] = src
			}
		}
		return out
	}
	next := changed("access.rego", "admission.rego", "masking.rego", "provision.rego")
	check := func(step string, proposals int, drafts map[string]map[string]string) {
		t.Helper()
		mods, err := s.modules(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range mods {
			if digest(m.Draft) != digest(drafts[m.Name]) {
				t.Errorf("%s: the %s draft has %v", step, m.Name, slices.Sorted(maps.Keys(m.Draft)))
			}
		}
		n, err := c.AuditEvent.Query().Where(auditevent.Action("policy.SaveDraft"), auditevent.Actor(SystemActor)).Count(ctx)
		if err != nil || n != proposals {
			t.Errorf("%s: %d drafts by meshplane (%v), want %d", step, n, err, proposals)
		}
		if got := s.engine.Current().Version(); got != "access@1,admission@2,masking@1,provision@1" {
			t.Errorf("%s: the policy in force is %s: proposing published something", step, got)
		}
	}
	want := map[string]map[string]string{"access": module(next, "access"), "admission": published["admission"],
		"masking": editing, "provision": module(next, "provision")}
	s = startService(t, s.store, next)
	check("the upgrade", 2, want)
	s = startService(t, s.store, next)
	check("a restart", 2, want)

	// The officer turns access's proposal down by saving the published
	// rules back; no restart proposes it again.
	if err := c.PolicyModule.Update().Where(policymodule.Name("access")).SetDraft(published["access"]).SetDraftUpdatedBy("gina").Exec(ctx); err != nil {
		t.Fatal(err)
	}
	want["access"] = published["access"]
	s = startService(t, s.store, next)
	check("a restart after turning access down", 2, want)

	// A release whose provision defaults are back to what is published
	// withdraws that proposal.
	want["provision"] = published["provision"]
	s = startService(t, s.store, changed("access.rego", "admission.rego", "masking.rego"))
	check("a release reverting provision", 3, want)
}

// Module names cannot contain "_", the separator of file-name suffixes, so
// no module's files can shadow another's: "admission_extra.rego" belongs to
// module admission only.
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
