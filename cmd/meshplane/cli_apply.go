package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/server/descriptor"
	"github.com/meshplane/meshplane/server/rpc"
	"github.com/meshplane/meshplane/server/spec"
)

// planned is what applying one descriptor does.
type planned struct {
	doc     *descriptor.Document
	current *v1.DataProduct // nil: the product is new
	changes []descriptor.Change
	// breaks are the changes that would break consumers of the product's
	// active ports without a new major: the server refuses them.
	breaks []spec.Break
	// outcome after apply: "created", "updated", "unchanged", "retired", or "" when refused.
	outcome string
	err     error
}

// report is one product in -o json.
type report struct {
	Product string              `json:"product"`
	Action  string              `json:"action"`
	Changes []descriptor.Change `json:"changes,omitempty"`
	// Breaking are the changes that break the consumers of active ports;
	// publish them as a new major (majorVersion + 1) of each port.
	Breaking []spec.Break `json:"breaking,omitempty"`
	Error    string       `json:"error,omitempty"`
	// Violations are the server's objections, each at its place in the descriptor.
	Violations []string `json:"violations,omitempty"`
}

// catalogOf reads every product of the descriptors' domains, by domain/name.
func catalogOf(ctx context.Context, a *api, docs []*descriptor.Document) (map[string]*v1.DataProduct, error) {
	domains := map[string]bool{}
	for _, d := range docs {
		domains[d.Metadata.Domain] = true
	}
	out := map[string]*v1.DataProduct{}
	for dom := range domains {
		token := ""
		for {
			res, err := a.catalog.ListDataProducts(ctx, connect.NewRequest(&v1.ListDataProductsRequest{Domain: dom, PageSize: 500, PageToken: token}))
			if err != nil {
				return nil, failed("listing the products of %s: %s", dom, message(err))
			}
			for _, p := range res.Msg.GetDataProducts() {
				out[p.GetDomain()+"/"+p.GetName()] = p
			}
			if token = res.Msg.GetNextPageToken(); token == "" {
				break
			}
		}
	}
	return out, nil
}

// plan compares each descriptor with the catalog.
func plan(ctx context.Context, a *api, docs []*descriptor.Document) ([]*planned, map[string]*v1.DataProduct, error) {
	current, err := catalogOf(ctx, a, docs)
	if err != nil {
		return nil, nil, err
	}
	out := make([]*planned, len(docs))
	for i, d := range docs {
		p := &planned{doc: d, current: current[d.Key()]}
		var cur *descriptor.Document
		if p.current != nil {
			lc, ps := rpc.ProductOf(p.current)
			cur = descriptor.Of(d.Metadata.Domain, d.Metadata.Name, lc, ps)
			if lc == spec.LifecycleActive || lc == spec.LifecycleDeprecated {
				want := d.Spec.Product
				want.Ports = slices.Clone(want.Ports)
				want.Normalize(d.Metadata.Domain, d.Metadata.Name)
				p.breaks = spec.PortBreaks(ps.Ports, want.Ports)
			}
		}
		p.changes = descriptor.Diff(cur, d)
		out[i] = p
	}
	return out, current, nil
}

func loadDescriptors(paths []string) ([]*descriptor.Document, error) {
	if len(paths) == 0 {
		return nil, failed("name the descriptors with -f FILE_OR_DIR")
	}
	var docs []*descriptor.Document
	var errs descriptor.Errors
	seen := map[string]*descriptor.Document{}
	for _, p := range paths {
		ds, err := descriptor.Load(p)
		var es descriptor.Errors
		switch {
		case errors.As(err, &es):
			errs = append(errs, es...)
		case err != nil:
			return nil, failed("%v", err)
		}
		for _, d := range ds {
			if prev, dup := seen[d.Key()]; dup {
				errs = append(errs, d.ErrorAt("metadata.name", fmt.Sprintf("product %s is described again: first at %s:%d", d.Key(), prev.File, prev.Line)))
				continue
			}
			seen[d.Key()] = d
			docs = append(docs, d)
		}
	}
	if len(errs) > 0 {
		return nil, failed("the descriptors are invalid; nothing was written:\n%s", errs.Error())
	}
	return docs, nil
}

// start parses a descriptor command's flags (fs holds its own), reads the
// descriptors and compares them with the catalog.
func start(ctx context.Context, fs *flag.FlagSet, c *clientConfig, args []string, stderr io.Writer) ([]*planned, map[string]*v1.DataProduct, *api, error) {
	fs.SetOutput(stderr)
	var files fileList
	c.register(fs, "text or json")
	fs.Var(&files, "f", "descriptor file or directory (repeatable)")
	if err := fs.Parse(args); err != nil {
		return nil, nil, nil, exitCode{code: exitFailed}
	}
	docs, err := loadDescriptors(files)
	if err != nil {
		return nil, nil, nil, err
	}
	a, err := c.connect()
	if err != nil {
		return nil, nil, nil, err
	}
	ps, current, err := plan(ctx, a, docs)
	return ps, current, a, err
}

type fileList []string

func (f *fileList) String() string     { return strings.Join(*f, ",") }
func (f *fileList) Set(v string) error { *f = append(*f, v); return nil }

// diffCmd shows what apply would change; it exits 1 when something would.
func diffCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("diff", flag.ContinueOnError)
	var c clientConfig
	ctx := context.Background()
	ps, _, _, err := start(ctx, fs, &c, args, stderr)
	if err != nil {
		return err
	}
	changed := 0
	var reports []report
	for _, p := range ps {
		action := "unchanged"
		switch {
		case p.current == nil:
			action = "create"
		case len(p.changes) > 0:
			action = "update"
		}
		if action != "unchanged" {
			changed++
		}
		reports = append(reports, report{Product: p.doc.Key(), Action: action, Changes: p.changes, Breaking: p.breaks})
	}
	if c.output == "json" {
		if err := json.NewEncoder(stdout).Encode(reports); err != nil {
			return err
		}
	} else {
		printDiff(stdout, reports)
	}
	if changed > 0 {
		return exitCode{code: exitChanges}
	}
	return nil
}

func printDiff(w io.Writer, reports []report) {
	unchanged := 0
	for _, r := range reports {
		switch r.Action {
		case "unchanged":
			unchanged++
			continue
		case "create":
			fmt.Fprintf(w, "+ %s (new product)\n", r.Product)
			continue
		default:
			fmt.Fprintf(w, "~ %s\n", r.Product)
		}
		printChanges(w, r.Changes)
		for _, b := range r.Breaking {
			fmt.Fprintf(w, "    ! breaking, %s: %s\n", b.Path, b.Reason)
		}
		if len(r.Breaking) > 0 {
			fmt.Fprintf(w, "    (refused unless each port it breaks moves to its next majorVersion, which keeps the current one beside it)\n")
		}
	}
	fmt.Fprintf(w, "%d to create, %d to update, %d unchanged\n", count(reports, "create"), count(reports, "update"), unchanged)
}

func printChanges(w io.Writer, changes []descriptor.Change) {
	for _, c := range changes {
		switch {
		case c.Before == "":
			fmt.Fprintf(w, "    + %s: %s\n", c.Path, c.After)
		case c.After == "":
			fmt.Fprintf(w, "    - %s: %s\n", c.Path, c.Before)
		default:
			fmt.Fprintf(w, "    ~ %s: %s → %s\n", c.Path, c.Before, c.After)
		}
	}
}

func count(rs []report, action string) int {
	n := 0
	for _, r := range rs {
		if r.Action == action {
			n++
		}
	}
	return n
}

// applyCmd creates and updates the described products; --dry-run asks the
// server to check every write and writes nothing.
func applyCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("apply", flag.ContinueOnError)
	var c clientConfig
	dryRun := fs.Bool("dry-run", false, "check every write with the server (validation, authorization, admission policy) and write nothing")
	prune := fs.Bool("prune", false, "retire the products of the descriptors' domains that no descriptor names (active and deprecated ones; drafts are deleted)")
	wait := fs.Bool("wait", false, "then plan every created or updated product that is not a draft, and show each plan once it is ready for review")
	parallel := fs.Int("parallel", 8, "writes at once")
	ctx := context.Background()
	ps, current, a, err := start(ctx, fs, &c, args, stderr)
	if err != nil {
		return err
	}
	docs := make([]*descriptor.Document, len(ps))
	for i, p := range ps {
		docs[i] = p.doc
	}
	var work []*planned
	for _, p := range ps {
		if p.current == nil || len(p.changes) > 0 {
			work = append(work, p)
		} else {
			p.outcome = "unchanged"
		}
	}
	var gone []*v1.DataProduct
	if *prune {
		named := map[string]bool{}
		for _, d := range docs {
			named[d.Key()] = true
		}
		for key, p := range current {
			if !named[key] && p.GetLifecycle() != v1.Lifecycle_LIFECYCLE_RETIRED {
				gone = append(gone, p)
			}
		}
		sort.Slice(gone, func(i, j int) bool {
			return gone[i].GetDomain()+"/"+gone[i].GetName() < gone[j].GetDomain()+"/"+gone[j].GetName()
		})
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(1, *parallel))
	for _, p := range work {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			p.outcome, p.err = write(ctx, a, p, *dryRun)
		}()
	}
	wg.Wait()
	var reports []report
	refused := 0
	for _, p := range ps {
		r := report{Product: p.doc.Key(), Action: p.outcome, Changes: p.changes}
		if p.outcome == "unchanged" {
			r.Changes = nil
		}
		if p.err != nil {
			refused++
			r.Action, r.Error = "refused", message(p.err)
			for _, v := range fieldErrors(p.err) {
				r.Violations = append(r.Violations, p.doc.ErrorAt(descriptorPath(v.GetField()), v.GetDescription()).Error())
			}
		}
		reports = append(reports, r)
	}
	for _, g := range gone {
		r := report{Product: g.GetDomain() + "/" + g.GetName(), Action: "retired"}
		if err := retire(ctx, a, g, *dryRun); err != nil {
			refused++
			r.Action, r.Error = "refused", message(err)
		} else if g.GetLifecycle() == v1.Lifecycle_LIFECYCLE_DRAFT {
			r.Action = "deleted"
		}
		reports = append(reports, r)
	}
	if c.output == "json" {
		if err := json.NewEncoder(stdout).Encode(reports); err != nil {
			return err
		}
	} else {
		printApply(stdout, reports, *dryRun)
	}
	if *wait && !*dryRun {
		for _, p := range ps {
			lc := p.doc.Spec.Lifecycle
			if lc == "" && p.current != nil {
				lc, _ = rpc.ProductOf(p.current)
			}
			if p.err != nil || p.outcome == "unchanged" || lc == "" || lc == spec.LifecycleDraft || lc == spec.LifecycleRetired {
				continue
			}
			fmt.Fprintf(stdout, "planning %s\n", p.doc.Key())
			res, err := a.provision.Plan(ctx, connect.NewRequest(&v1.PlanRequest{Domain: p.doc.Metadata.Domain, Product: p.doc.Metadata.Name}))
			if err != nil {
				refused++
				fmt.Fprintf(stdout, "✗ %s: %s\n", p.doc.Key(), message(err))
				continue
			}
			run, err := follow(ctx, a, res.Msg.GetRun().GetId(), stdout, false)
			if err == nil {
				err = reportRun(stdout, run)
			}
			if err != nil {
				refused++
				fmt.Fprintf(stdout, "✗ %s: %v\n", p.doc.Key(), err)
			}
		}
	}
	if refused > 0 {
		return exitCode{code: exitFailed, msg: fmt.Sprintf("%d of %d products were refused or failed to plan", refused, len(reports))}
	}
	return nil
}

// descriptorPath is where a server field path points in a descriptor:
// the catalog's lifecycle is the descriptor's spec.lifecycle.
func descriptorPath(p string) string {
	if p == "lifecycle" {
		return "spec.lifecycle"
	}
	return p
}

func printApply(w io.Writer, reports []report, dryRun bool) {
	verb := map[string]string{"created": "created", "updated": "updated", "retired": "retired", "deleted": "deleted"}
	if dryRun {
		verb = map[string]string{"created": "would be created", "updated": "would be updated", "retired": "would be retired", "deleted": "would be deleted"}
	}
	counts := map[string]int{}
	for _, r := range reports {
		counts[r.Action]++
		switch r.Action {
		case "unchanged":
			continue
		case "refused":
			fmt.Fprintf(w, "✗ %s refused: %s\n", r.Product, r.Error)
			for _, v := range r.Violations {
				fmt.Fprintf(w, "    %s\n", v)
			}
			continue
		}
		fmt.Fprintf(w, "✓ %s %s (admitted by policy)\n", r.Product, verb[r.Action])
		if r.Action != "updated" {
			continue
		}
		printChanges(w, r.Changes)
	}
	var parts []string
	for _, a := range []string{"created", "updated", "retired", "deleted", "unchanged", "refused"} {
		if counts[a] > 0 {
			name := a
			if dryRun && a != "unchanged" && a != "refused" {
				name = verb[a]
			}
			parts = append(parts, fmt.Sprintf("%d %s", counts[a], name))
		}
	}
	fmt.Fprintln(w, strings.Join(parts, ", "))
}

// write creates or updates one product (or, dry, checks that it could).
func write(ctx context.Context, a *api, p *planned, dry bool) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	d := p.doc
	sp := rpc.SpecPB(d.Spec.Product)
	lc := rpc.LifecyclePB(d.Spec.Lifecycle)
	if p.current == nil {
		res, err := a.catalog.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{
			Domain: d.Metadata.Domain, Name: d.Metadata.Name, Spec: sp, ValidateOnly: dry}))
		if err != nil {
			return "", err
		}
		if lc == v1.Lifecycle_LIFECYCLE_UNSPECIFIED || lc == v1.Lifecycle_LIFECYCLE_DRAFT || dry {
			return "created", nil
		}
		_, err = a.catalog.UpdateDataProduct(ctx, connect.NewRequest(&v1.UpdateDataProductRequest{Domain: d.Metadata.Domain, Name: d.Metadata.Name,
			Spec: sp, Lifecycle: lc, Version: res.Msg.GetDataProduct().GetVersion()}))
		if err != nil {
			return "", fmt.Errorf("created as a draft, but moving it to %s was refused: %w", d.Spec.Lifecycle, err)
		}
		return "created", nil
	}
	if lc == p.current.GetLifecycle() {
		lc = v1.Lifecycle_LIFECYCLE_UNSPECIFIED
	}
	_, err := a.catalog.UpdateDataProduct(ctx, connect.NewRequest(&v1.UpdateDataProductRequest{Domain: d.Metadata.Domain, Name: d.Metadata.Name,
		Spec: sp, Lifecycle: lc, Version: p.current.GetVersion(), ValidateOnly: dry}))
	if err != nil {
		return "", err
	}
	return "updated", nil
}

// retire takes a product no descriptor names out of service: a draft is
// deleted, others move to retired.
func retire(ctx context.Context, a *api, p *v1.DataProduct, dry bool) error {
	if p.GetLifecycle() == v1.Lifecycle_LIFECYCLE_DRAFT {
		if dry {
			return nil
		}
		_, err := a.catalog.DeleteDataProduct(ctx, connect.NewRequest(&v1.DeleteDataProductRequest{Domain: p.GetDomain(), Name: p.GetName(), Version: p.GetVersion()}))
		return err
	}
	_, ps := rpc.ProductOf(p)
	version := p.GetVersion()
	if p.GetLifecycle() == v1.Lifecycle_LIFECYCLE_ACTIVE {
		// Active products retire by way of deprecated.
		res, err := a.catalog.UpdateDataProduct(ctx, connect.NewRequest(&v1.UpdateDataProductRequest{Domain: p.GetDomain(), Name: p.GetName(),
			Spec: rpc.SpecPB(ps), Lifecycle: v1.Lifecycle_LIFECYCLE_DEPRECATED, Version: version, ValidateOnly: dry}))
		if err != nil || dry {
			return err
		}
		version = res.Msg.GetDataProduct().GetVersion()
	}
	_, err := a.catalog.UpdateDataProduct(ctx, connect.NewRequest(&v1.UpdateDataProductRequest{Domain: p.GetDomain(), Name: p.GetName(),
		Spec: rpc.SpecPB(ps), Lifecycle: v1.Lifecycle_LIFECYCLE_RETIRED, Version: version, ValidateOnly: dry}))
	return err
}
