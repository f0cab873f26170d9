// Package tftest runs the project's pinned terraform binary and offline
// provider mirror from tests. Without them tests are skipped, unless
// MESHPLANE_REQUIRE_TOOLS=1, when they fail instead.
package tftest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Tools locates terraform and the plugin mirror built by scripts/tools.sh.
type Tools struct {
	Terraform string // the terraform binary
	PluginDir string // the mirror passed to terraform init -plugin-dir
}

// Find returns the tools, skipping (or, with MESHPLANE_REQUIRE_TOOLS=1,
// failing) the test when they are missing. MESHPLANE_TERRAFORM and
// MESHPLANE_TERRAFORM_PLUGINS override the default locations under .tools/.
func Find(t testing.TB) Tools {
	t.Helper()
	var tools Tools
	root, err := moduleRoot()
	if err == nil {
		tools = Tools{
			Terraform: filepath.Join(root, ".tools", "bin", "terraform"),
			PluginDir: filepath.Join(root, ".tools", "terraform-plugins"),
		}
	}
	if v := os.Getenv("MESHPLANE_TERRAFORM"); v != "" {
		tools.Terraform = v
	}
	if v := os.Getenv("MESHPLANE_TERRAFORM_PLUGINS"); v != "" {
		tools.PluginDir = v
	}
	missing := ""
	switch {
	case tools.Terraform == "":
		missing = "module root not found: " + err.Error()
	case !isFile(tools.Terraform):
		missing = "no terraform at " + tools.Terraform
	case !isDir(tools.PluginDir):
		missing = "no provider mirror at " + tools.PluginDir
	}
	if missing != "" {
		if os.Getenv("MESHPLANE_REQUIRE_TOOLS") == "1" {
			t.Fatalf("%s (build it with scripts/tools.sh terraform)", missing)
		}
		t.Skipf("%s (build it with scripts/tools.sh terraform; MESHPLANE_REQUIRE_TOOLS=1 makes this a failure)", missing)
	}
	return tools
}

// Env is the whole environment terraform gets: nothing is inherited from the
// test process, so no TF_* variable, credential or plugin cache leaks in, and
// nothing reaches the network (no CLI config, no version checkpoint).
func (tl Tools) Env(t testing.TB, extra ...string) []string {
	t.Helper()
	home := t.TempDir()
	cliConfig := filepath.Join(home, "terraformrc")
	if err := os.WriteFile(cliConfig, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"HOME=" + home,
		"TF_IN_AUTOMATION=1",
		"TF_INPUT=0",
		"CHECKPOINT_DISABLE=1",
		"TF_CLI_CONFIG_FILE=" + cliConfig,
	}
	return append(env, extra...)
}

// Run runs terraform with args in dir and returns its stdout; a non-zero exit
// fails the test with both outputs.
func (tl Tools) Run(t testing.TB, dir string, env []string, args ...string) string {
	t.Helper()
	out, err := tl.Try(t, dir, env, args...)
	if err != nil {
		t.Fatalf("terraform %v in %s: %v", args, dir, err)
	}
	return out
}

// Try is Run returning the failure instead of failing the test.
func (tl Tools) Try(t testing.TB, dir string, env []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tl.Terraform, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), &RunError{Err: err, Stdout: stdout.String(), Stderr: stderr.String()}
	}
	return stdout.String(), nil
}

// Init runs terraform init against the plugin mirror only.
func (tl Tools) Init(t testing.TB, dir string, env []string, args ...string) {
	t.Helper()
	tl.Run(t, dir, env, append([]string{"init", "-input=false", "-no-color", "-plugin-dir=" + tl.PluginDir}, args...)...)
}

// RunError is a failed terraform run with its output.
type RunError struct {
	Err            error
	Stdout, Stderr string
}

func (e *RunError) Error() string {
	return e.Err.Error() + "\nstdout:\n" + e.Stdout + "\nstderr:\n" + e.Stderr
}

func (e *RunError) Unwrap() error { return e.Err }

// WriteFiles writes files (paths relative to dir, slash-separated) under dir.
func WriteFiles(t testing.TB, dir string, files map[string][]byte) {
	t.Helper()
	for name, b := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if isFile(filepath.Join(dir, "go.mod")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
