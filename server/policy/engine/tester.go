package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/tester"
)

// TestResult is the outcome of one test rule (test_* in a package).
type TestResult struct {
	Package, Name string
	File          string
	Line          int
	Pass          bool
	Skipped       bool     // todo_test_* rules are skipped
	Message       string   // why it failed or errored
	FailedCases   []string // the failing cases of a table test (test_x[case])
	Output        string   // what print() wrote
	Duration      time.Duration
}

// RunTests runs every test rule in files with the OPA tester, compiled the
// way Compile compiles policies (restricted capabilities, strict mode) and
// with built-in errors raised as evaluation errors, as Admit and Mask do.
// Each rule is bounded by opts.TestTimeout. Compile errors come back as a
// *CompileError; failing tests are results, not errors.
func RunTests(ctx context.Context, files Files, opts Options) ([]TestResult, error) {
	modules, err := parse(files, true)
	if err != nil {
		return nil, err
	}
	runner := tester.NewRunner().
		SetCompiler(newCompiler().WithEnablePrintStatements(true)).
		SetModules(modules).
		SetTimeout(opts.testTimeout()).
		CapturePrintOutput(true).
		RaiseBuiltinErrors(true)
	ch, err := runner.RunTests(ctx, nil)
	if err != nil {
		var errs ast.Errors
		if errors.As(err, &errs) {
			return nil, compileError(errs)
		}
		return nil, fmt.Errorf("running policy tests: %w", err)
	}
	var results []TestResult
	for r := range ch {
		results = append(results, testResult(r))
	}
	if err := ctx.Err(); err != nil {
		return results, fmt.Errorf("running policy tests: %w", err)
	}
	slices.SortFunc(results, func(a, b TestResult) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Name, b.Name))
	})
	return results, nil
}

func testResult(r *tester.Result) TestResult {
	t := TestResult{
		Package:  strings.TrimPrefix(r.Package, "data."),
		Name:     r.Name,
		Pass:     r.Pass(),
		Skipped:  r.Skip,
		Output:   string(r.Output),
		Duration: r.Duration,
	}
	if r.Location != nil {
		t.File, t.Line = r.Location.File, r.Location.Row
	}
	for name, sr := range r.SubResults.Iter {
		if sr.Fail && len(sr.SubResults) == 0 {
			t.FailedCases = append(t.FailedCases, strings.Join(name, "/"))
		}
	}
	switch {
	case r.Error != nil:
		t.Message = r.Error.Error()
		if errors.Is(r.Error, context.DeadlineExceeded) || strings.Contains(t.Message, "timed out") || strings.Contains(t.Message, "cancel") {
			t.Message = "did not finish in time: " + t.Message
		}
	case r.Fail && len(t.FailedCases) > 0:
		t.Message = "failing cases: " + strings.Join(t.FailedCases, ", ")
	case r.Fail:
		t.Message = "test failed"
	}
	return t
}
