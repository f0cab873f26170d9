package engine

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// The queries a policy set answers.
const (
	AdmissionQuery = "data.meshplane.admission.deny"
	MaskingQuery   = "data.meshplane.masking.decisions"
	AccessQuery    = "data.meshplane.access.decision"
)

// DefaultTimeout bounds one evaluation when Options leaves it unset.
const DefaultTimeout = 200 * time.Millisecond

// DefaultTestTimeout bounds one test rule when Options leaves it unset.
const DefaultTestTimeout = 5 * time.Second

// Options tune how a policy set is evaluated.
type Options struct {
	Timeout     time.Duration // per evaluation; default 200ms
	TestTimeout time.Duration // per test rule in RunTests; default 5s
}

func (o Options) timeout() time.Duration {
	if o.Timeout > 0 {
		return o.Timeout
	}
	return DefaultTimeout
}

func (o Options) testTimeout() time.Duration {
	if o.TestTimeout > 0 {
		return o.TestTimeout
	}
	return DefaultTestTimeout
}

// Errors a failed evaluation wraps; meshplane fails closed on each of them.
var (
	ErrTimeout   = errors.New("policy evaluation timed out")
	ErrUndefined = errors.New("policy result is undefined")
	ErrMalformed = errors.New("policy result is malformed")
)

// Set is a compiled policy set with its queries prepared. It is immutable
// and safe for concurrent use.
type Set struct {
	version   string
	timeout   time.Duration
	admission rego.PreparedEvalQuery
	masking   rego.PreparedEvalQuery
	access    rego.PreparedEvalQuery
	approvers rego.PreparedEvalQuery
	// Decisions already made by this version, by input digest.
	admitted decisionCache[Admission]
	masked   decisionCache[Masking]
	accessed decisionCache[AccessDecision]
}

// Compile compiles the non-test files of a policy set against the
// restricted capabilities in strict mode and prepares the admission,
// masking and access queries once. A set need not define all three: asking
// one it lacks is undefined, and meshplane fails closed. version is an
// opaque label recorded in every result, such as "admission@3,masking@1".
func Compile(ctx context.Context, version string, files Files, opts Options) (*Set, error) {
	c, err := compile(files, false)
	if err != nil {
		return nil, err
	}
	// One empty store for every evaluation: policies read input only.
	store := inmem.NewWithOpts(inmem.OptRoundTripOnWrite(false))
	s := &Set{version: version, timeout: opts.timeout()}
	for _, q := range []struct {
		query string
		into  *rego.PreparedEvalQuery
	}{{AdmissionQuery, &s.admission}, {MaskingQuery, &s.masking}, {AccessQuery, &s.access}, {ApproversQuery, &s.approvers}} {
		pq, err := rego.New(
			rego.Query(q.query),
			rego.Compiler(c),
			rego.Store(store),
			rego.Capabilities(Capabilities()),
			rego.StrictBuiltinErrors(true),
			rego.Strict(true),
		).PrepareForEval(ctx)
		if err != nil {
			var errs ast.Errors
			if errors.As(err, &errs) {
				return nil, compileError(errs)
			}
			return nil, fmt.Errorf("preparing %s: %w", q.query, err)
		}
		*q.into = pq
	}
	return s, nil
}

// Version returns the label the set was compiled with.
func (s *Set) Version() string { return s.version }

// asTerm keeps results as the evaluator produced them, skipping the
// conversion to Go values.
var asTerm = rego.EvalGenerateJSON(func(t *ast.Term, _ *rego.EvalContext) (any, error) { return t, nil })

// eval runs a prepared query against input within the set's time budget and
// returns its single value, or an error wrapping ErrTimeout, ErrUndefined or
// the evaluator's error.
//
// Cancellation reaches the evaluator through a flag set by a timer and by
// ctx's AfterFunc, rather than through a watcher goroutine and a timeout
// context per evaluation; neither costs anything unless it fires.
func (s *Set) eval(ctx context.Context, pq rego.PreparedEvalQuery, query string, input *ast.Term) (_ *ast.Term, err error) {
	// The evaluator notices cancellation asynchronously, so a quick policy
	// could finish for a caller that has already given up.
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("evaluating %s: %w", query, err)
	}
	cancel := topdown.NewCancel()
	// Whichever stops the evaluation first is its cause.
	var cause atomic.Int32
	stop := func(why int32) func() {
		return func() {
			cause.CompareAndSwap(0, why)
			cancel.Cancel()
		}
	}
	timer := time.AfterFunc(s.timeout, stop(causeTimeout))
	defer timer.Stop()
	defer context.AfterFunc(ctx, stop(causeCaller))()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("evaluating %s: panic: %v", query, r)
		}
	}()
	rs, err := pq.Eval(ctx, rego.EvalParsedInput(input.Value), rego.EvalExternalCancel(cancel), rego.EvalMetrics(noMetrics), asTerm)
	switch {
	case err != nil && cause.Load() == causeTimeout:
		return nil, fmt.Errorf("evaluating %s: %w after %s", query, ErrTimeout, s.timeout)
	case err != nil && ctx.Err() != nil:
		return nil, fmt.Errorf("evaluating %s: %w", query, ctx.Err())
	case err != nil:
		return nil, fmt.Errorf("evaluating %s: %w", query, err)
	case len(rs) == 0 || len(rs[0].Expressions) == 0:
		return nil, fmt.Errorf("evaluating %s: %w", query, ErrUndefined)
	}
	t, ok := rs[0].Expressions[0].Value.(*ast.Term)
	if !ok {
		return nil, fmt.Errorf("evaluating %s: %w: unexpected result %T", query, ErrMalformed, rs[0].Expressions[0].Value)
	}
	return t, nil
}

// What stopped an evaluation early.
const (
	causeTimeout int32 = iota + 1
	causeCaller
)

// noMetrics spares each evaluation the timers and counters nobody reads.
var noMetrics = metrics.NoOp()

// Engine holds the policy set in force; Swap replaces it atomically while
// evaluations in flight finish with the set they started with.
type Engine struct {
	cur atomic.Pointer[Set]
}

// NewEngine returns an engine evaluating s.
func NewEngine(s *Set) *Engine {
	e := &Engine{}
	e.cur.Store(s)
	return e
}

// Current returns the policy set in force.
func (e *Engine) Current() *Set { return e.cur.Load() }

// Swap puts s in force.
func (e *Engine) Swap(s *Set) { e.cur.Store(s) }
