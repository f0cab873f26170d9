package engine

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Files is a policy source set: file name ("admission.rego",
// "admission_test.rego", ...) → Rego source (Rego v1 syntax).
type Files map[string]string

// IsTest reports whether a file holds tests rather than policy.
func IsTest(name string) bool { return strings.HasSuffix(name, "_test.rego") }

// names returns the file names, sorted, so problems come out in a stable order.
func (f Files) names(tests bool) []string {
	var names []string
	for n := range f {
		if tests || !IsTest(n) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

// Problem is one thing wrong with a policy file.
type Problem struct {
	File      string
	Line, Col int
	Code      string // OPA's error code, such as rego_parse_error or rego_type_error
	Message   string
}

func (p Problem) String() string {
	return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Col, p.Message)
}

// CompileError lists every problem found compiling a policy set.
type CompileError struct {
	Problems []Problem
}

func (e *CompileError) Error() string {
	var b strings.Builder
	switch len(e.Problems) {
	case 0:
		return "policies do not compile"
	case 1:
		b.WriteString("policies do not compile: ")
	default:
		fmt.Fprintf(&b, "policies do not compile (%d problems):", len(e.Problems))
	}
	for i, p := range e.Problems {
		if len(e.Problems) > 1 || i > 0 {
			b.WriteString("\n\t")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Check compiles every file, tests included, against the restricted
// capabilities in strict mode, and returns a *CompileError naming the file,
// line and column of every problem.
func Check(files Files) error {
	_, err := compile(files, true)
	return err
}

// compile parses and compiles files (without tests unless tests is set).
func compile(files Files, tests bool) (*ast.Compiler, error) {
	modules, err := parse(files, tests)
	if err != nil {
		return nil, err
	}
	c := newCompiler()
	if c.Compile(modules); c.Failed() {
		return nil, compileError(c.Errors)
	}
	return c, nil
}

func parse(files Files, tests bool) (map[string]*ast.Module, error) {
	names := files.names(tests)
	if len(names) == 0 {
		return nil, &CompileError{Problems: []Problem{{Code: ast.CompileErr, Message: "no policy files"}}}
	}
	opts := ast.ParserOptions{RegoVersion: ast.RegoV1, Capabilities: Capabilities(), ProcessAnnotation: true}
	modules := make(map[string]*ast.Module, len(names))
	var problems []Problem
	for _, name := range names {
		m, err := ast.ParseModuleWithOpts(name, files[name], opts)
		if err != nil {
			problems = append(problems, problemsOf(name, err)...)
			continue
		}
		if m == nil {
			problems = append(problems, Problem{File: name, Line: 1, Col: 1, Code: ast.ParseErr, Message: "empty module: a policy file needs a package declaration"})
			continue
		}
		modules[name] = m
	}
	if len(problems) > 0 {
		return nil, &CompileError{Problems: problems}
	}
	return modules, nil
}

func newCompiler() *ast.Compiler {
	return ast.NewCompiler().
		WithCapabilities(Capabilities()).
		WithStrict(true).
		WithDefaultRegoVersion(ast.RegoV1).
		SetErrorLimit(0)
}

func problemsOf(file string, err error) []Problem {
	var errs ast.Errors
	if errors.As(err, &errs) {
		return compileError(errs).Problems
	}
	return []Problem{{File: file, Line: 1, Col: 1, Code: ast.ParseErr, Message: err.Error()}}
}

// compileError turns OPA's errors into problems, explaining calls to
// forbidden built-ins instead of calling them undefined.
func compileError(errs ast.Errors) *CompileError {
	e := &CompileError{}
	for _, x := range errs {
		p := Problem{Code: x.Code, Message: x.Message}
		if x.Location != nil {
			p.File, p.Line, p.Col = x.Location.File, x.Location.Row, x.Location.Col
		}
		if name, ok := strings.CutPrefix(x.Message, "undefined function "); ok {
			if reason := forbiddenReason(name); reason != "" {
				p.Message = fmt.Sprintf("builtin %s is not allowed in meshplane policies: %s", name, reason)
			}
		}
		e.Problems = append(e.Problems, p)
	}
	slices.SortStableFunc(e.Problems, func(a, b Problem) int {
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Col - b.Col
	})
	return e
}
