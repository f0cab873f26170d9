package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/meshplane/meshplane/server/policy/engine"
)

func TestDefaultsCheck(t *testing.T) {
	files := engine.Defaults()
	for _, name := range []string{"admission.rego", "admission_test.rego", "masking.rego", "masking_test.rego"} {
		if files[name] == "" {
			t.Errorf("Defaults() has no %s", name)
		}
	}
	if err := engine.Check(files); err != nil {
		t.Fatal(err)
	}
	s, err := engine.Compile(context.Background(), "admission@1,masking@1", files, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Version() != "admission@1,masking@1" {
		t.Errorf("Version() = %q", s.Version())
	}
}

// compileProblems returns the problems Check reports for files, failing
// the test when it reports none or fails otherwise.
func compileProblems(t *testing.T, files engine.Files) []engine.Problem {
	t.Helper()
	err := engine.Check(files)
	var ce *engine.CompileError
	if !errors.As(err, &ce) {
		t.Fatalf("Check() = %v, want a *CompileError", err)
	}
	if len(ce.Problems) == 0 {
		t.Fatal("CompileError without problems")
	}
	return ce.Problems
}

func TestCheckReportsWhereAndWhat(t *testing.T) {
	tests := []struct {
		name, src string
		want      string // Problem.String() of the first problem
	}{{
		name: "syntax error",
		src:  "package meshplane.admission\n\ndeny contains msg if {\n\tmsg := concat(\",\", [\"a\"]\n}\n",
		want: `policy.rego:5:1: unexpected } token: expected "," or ")"`,
	}, {
		name: "http.send",
		src:  "package meshplane.admission\n\ndeny contains msg if {\n\tresp := http.send({\"method\": \"GET\", \"url\": \"http://example.com\"})\n\tmsg := resp.body\n}\n",
		want: "policy.rego:4:10: builtin http.send is not allowed in meshplane policies: it reaches the network",
	}, {
		name: "network built-in",
		src:  "package meshplane.admission\n\ndeny contains \"private\" if {\n\tnet.cidr_contains(\"10.0.0.0/8\", input.product.source.host)\n}\n",
		want: "policy.rego:4:2: builtin net.cidr_contains is not allowed in meshplane policies: network built-ins are not available to meshplane policies",
	}, {
		name: "opa.runtime",
		src:  "package meshplane.admission\n\ndeny contains msg if {\n\tmsg := opa.runtime().env.HOME\n}\n",
		want: "policy.rego:4:9: builtin opa.runtime is not allowed in meshplane policies: it exposes the server's configuration and environment",
	}, {
		name: "memory bomb",
		src:  "package meshplane.admission\n\ndeny contains \"big\" if {\n\tcount(numbers.range(1, 100000000000)) > 0\n}\n",
		want: "policy.rego:4:8: builtin numbers.range is not allowed in meshplane policies: it builds its whole result in one call",
	}, {
		name: "unsafe variable",
		src:  "package meshplane.admission\n\ndeny contains msg if {\n\tinput.product.owner == \"\"\n}\n",
		want: "policy.rego:3:15: var msg is unsafe",
	}, {
		name: "type error",
		src:  "package meshplane.admission\n\ndeny contains msg if {\n\tmsg := 1 + \"a\"\n}\n",
		want: "policy.rego:4:9: plus: invalid argument(s)",
	}, {
		name: "strict: unused variable",
		src:  "package meshplane.admission\n\ndeny contains msg if {\n\tx := 1\n\tmsg := \"owner\"\n}\n",
		want: "policy.rego:4:2: assigned var x unused",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := compileProblems(t, engine.Files{"policy.rego": tt.src})[0]
			if s := got.String(); !strings.HasPrefix(s, tt.want) {
				t.Errorf("problem = %q\nwant prefix %q", s, tt.want)
			}
			if got.File != "policy.rego" || got.Line == 0 || got.Col == 0 {
				t.Errorf("problem %+v lacks its position", got)
			}
		})
	}
}

func TestCheckReportsEveryFile(t *testing.T) {
	problems := compileProblems(t, engine.Files{
		"a.rego": "package a\n\nx := \n",
		"b.rego": "package b\n\ny := [\n",
	})
	if problems[0].File != "a.rego" || problems[len(problems)-1].File != "b.rego" {
		t.Fatalf("problems = %v, want a.rego's, then b.rego's", problems)
	}
	err := engine.Check(engine.Files{"a.rego": "package a\n\nx := \n", "b.rego": "package b\n\ny := [\n"})
	if msg := err.Error(); !strings.Contains(msg, "a.rego:") || !strings.Contains(msg, "b.rego:") {
		t.Errorf("Error() = %q names not both files", msg)
	}
}

func TestCheckIncludesTestsCompileDoesNot(t *testing.T) {
	files := engine.Defaults()
	files["broken_test.rego"] = "package meshplane.broken_test\n\ntest_x if {\n\thttp.send({})\n}\n"
	problems := compileProblems(t, files)
	if p := problems[0]; p.File != "broken_test.rego" || p.Line != 4 || !strings.Contains(p.Message, "http.send") {
		t.Errorf("problem = %v, want http.send in broken_test.rego:4", p)
	}
	if _, err := engine.Compile(context.Background(), "v", files, engine.Options{}); err != nil {
		t.Errorf("Compile() = %v; test files are not part of the compiled set", err)
	}
}

func TestCompileRejectsWhatCheckRejects(t *testing.T) {
	_, err := engine.Compile(context.Background(), "v", engine.Files{
		"admission.rego": "package meshplane.admission\n\ndeny contains \"x\" if {\n\trand.intn(\"seed\", 10) == 1\n}\n",
	}, engine.Options{})
	var ce *engine.CompileError
	if !errors.As(err, &ce) || !strings.Contains(ce.Problems[0].String(), "admission.rego:4:2: builtin rand.intn is not allowed") {
		t.Fatalf("Compile() = %v, want rand.intn refused at admission.rego:4:2", err)
	}
	if _, err := engine.Compile(context.Background(), "v", engine.Files{}, engine.Options{}); err == nil {
		t.Error("Compile() of no files succeeded")
	}
}

func TestCapabilities(t *testing.T) {
	forbidden := engine.Forbidden()
	for _, name := range []string{"http.send", "net.lookup_ip_addr", "net.cidr_expand", "opa.runtime", "trace", "rand.intn", "numbers.range", "numbers.range_step"} {
		found := false
		for _, f := range forbidden {
			found = found || f == name
		}
		if !found {
			t.Errorf("Forbidden() lacks %s", name)
		}
	}
	allowed := map[string]bool{}
	for _, b := range engine.Capabilities().Builtins {
		allowed[b.Name] = true
	}
	for _, name := range forbidden {
		if allowed[name] {
			t.Errorf("Capabilities() still offers %s", name)
		}
	}
	for _, name := range []string{"sprintf", "regex.match", "object.get", "print", "time.parse_rfc3339_ns", "json.patch"} {
		if !allowed[name] {
			t.Errorf("Capabilities() lacks %s", name)
		}
	}
}

func TestRunTestsDefaults(t *testing.T) {
	files := engine.Defaults()
	results, err := engine.RunTests(context.Background(), files, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for name, src := range files {
		if engine.IsTest(name) {
			want += strings.Count(src, "\ntest_")
		}
	}
	if len(results) != want || want == 0 {
		t.Fatalf("%d test results, want one per test rule: %d", len(results), want)
	}
	for _, r := range results {
		if !r.Pass {
			t.Errorf("%s.%s (%s:%d) failed: %s", r.Package, r.Name, r.File, r.Line, r.Message)
		}
	}
}

func TestRunTestsReportsFailures(t *testing.T) {
	files := engine.Files{
		"admission.rego": "package meshplane.admission\n\ndeny contains \"no owner\" if input.product.owner == \"\"\n",
		"admission_test.rego": `package meshplane.admission_test

import data.meshplane.admission

test_denies_missing_owner if {
	admission.deny == {"no owner"} with input as {"product": {"owner": ""}}
}

test_admits_everything if {
	count(admission.deny) == 0 with input as {"product": {"owner": ""}}
}

cases := {"with owner": "a", "without owner": ""}

test_table[note] if {
	some note, owner in cases
	count(admission.deny) == 0 with input as {"product": {"owner": owner}}
}

todo_test_later if false
`,
	}
	results, err := engine.RunTests(context.Background(), files, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]engine.TestResult{}
	for _, r := range results {
		byName[r.Name] = r
	}
	if r := byName["test_denies_missing_owner"]; !r.Pass || r.Package != "meshplane.admission_test" || r.File != "admission_test.rego" || r.Line != 5 {
		t.Errorf("passing test = %+v", r)
	}
	if r := byName["test_admits_everything"]; r.Pass || r.Message == "" || r.Line != 9 {
		t.Errorf("failing test = %+v, want a failure with a message", r)
	}
	r := byName["test_table"]
	if r.Pass || len(r.FailedCases) != 1 || r.FailedCases[0] != "without owner" || !strings.Contains(r.Message, "without owner") {
		t.Errorf("table test = %+v, want only the case \"without owner\" failing", r)
	}
	if r := byName["todo_test_later"]; !r.Skipped || r.Pass {
		t.Errorf("todo test = %+v, want skipped", r)
	}
}

func TestRunTestsTimesOut(t *testing.T) {
	files := engine.Files{"slow_test.rego": slowModule("meshplane.slow_test", "test_slow")}
	results, err := engine.RunTests(context.Background(), files, engine.Options{TestTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 || results[0].Pass || !strings.Contains(results[0].Message, "in time") {
		t.Fatalf("results = %+v, want test_slow stopped in time", results)
	}
}

func TestRunTestsCompileErrors(t *testing.T) {
	_, err := engine.RunTests(context.Background(), engine.Files{"x_test.rego": "package x_test\n\ntest_a if {\n\ttrace(\"a\")\n}\n"}, engine.Options{})
	var ce *engine.CompileError
	if !errors.As(err, &ce) || !strings.Contains(ce.Problems[0].String(), "x_test.rego:4:2: builtin trace is not allowed") {
		t.Fatalf("RunTests() = %v, want trace refused at x_test.rego:4:2", err)
	}
}

// slowModule is a package whose rule name takes 10^8 iterations.
func slowModule(pkg, name string) string {
	return "package " + pkg + `

xs := [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]

` + name + ` if {
	count([1 |
		some a in xs
		some b in xs
		some c in xs
		some d in xs
		some e in xs
		some f in xs
		some g in xs
		some h in xs
		a + b + c + d + e + f + g + h > 0
	]) > 0
}
`
}
