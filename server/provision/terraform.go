package provision

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-exec/tfexec"
	tfjson "github.com/hashicorp/terraform-json"
)

// Secrets reach terraform only through its environment, never through files.
type Secrets struct {
	KafkaPassword   string
	ConnectPassword string
	// PGConnStr is the connection string of Terraform's pg backend.
	PGConnStr string
}

func (s Secrets) values() []string {
	var out []string
	for _, v := range []string{s.KafkaPassword, s.ConnectPassword, s.PGConnStr} {
		if v != "" {
			out = append(out, v)
		}
	}
	if pw := connPassword(s.PGConnStr); pw != "" {
		out = append(out, pw)
	}
	return out
}

// scrub replaces every environment's secrets in text by "(sensitive)".
func (s *Service) scrub(text string) string {
	for _, sec := range s.secretValues {
		text = strings.ReplaceAll(text, sec, "(sensitive)")
	}
	return text
}

// connPassword extracts the password of a postgres:// URL, so it is redacted too.
func connPassword(conn string) string {
	_, rest, ok := strings.Cut(conn, "://")
	if !ok {
		return ""
	}
	userinfo, _, ok := strings.Cut(rest, "@")
	if !ok {
		return ""
	}
	_, pw, _ := strings.Cut(userinfo, ":")
	return pw
}

// lockTimeout is how long terraform waits for a state lock. Terraform's pg
// backend takes one advisory lock for creating any workspace's state, shared
// by every product in the database, so first plans of different products
// queue on it rather than fail.
const lockTimeout = "5m"

// workspace runs terraform in one product's directory.
type workspace struct {
	dir       string
	binary    string
	pluginDir string
	secrets   Secrets
	grace     time.Duration
	out       io.Writer
}

// env is terraform's whole environment: nothing is inherited from the server.
func (w *workspace) env() (map[string]string, error) {
	home := filepath.Join(w.dir, ".home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, err
	}
	cli := filepath.Join(home, "terraformrc")
	if err := os.WriteFile(cli, nil, 0o600); err != nil {
		return nil, err
	}
	env := map[string]string{
		"PATH":               "/usr/local/bin:/usr/bin:/bin",
		"HOME":               home,
		"TF_CLI_CONFIG_FILE": cli,
		"CHECKPOINT_DISABLE": "1",
	}
	// The providers read their passwords from these variables when the
	// configuration leaves them out, which the rendered configuration does.
	if w.secrets.KafkaPassword != "" {
		env["KAFKA_SASL_PASSWORD"] = w.secrets.KafkaPassword
	}
	if w.secrets.ConnectPassword != "" {
		env["KAFKA_CONNECT_BASIC_AUTH_PASSWORD"] = w.secrets.ConnectPassword
	}
	if w.secrets.PGConnStr != "" {
		env["PG_CONN_STR"] = w.secrets.PGConnStr
	}
	return env, nil
}

func (w *workspace) tf() (*tfexec.Terraform, error) {
	tf, err := tfexec.NewTerraform(w.dir, w.binary)
	if err != nil {
		return nil, err
	}
	env, err := w.env()
	if err != nil {
		return nil, err
	}
	if err := tf.SetEnv(env); err != nil {
		return nil, err
	}
	if err := tf.SetWaitDelay(w.grace); err != nil {
		return nil, err
	}
	tf.SetStdout(w.out)
	tf.SetStderr(w.out)
	return tf, nil
}

// writeFiles replaces the workspace's configuration with files, keeping
// terraform's own state: .terraform, state files and saved plans.
func (w *workspace) writeFiles(files map[string][]byte) error {
	if err := os.MkdirAll(w.dir, 0o700); err != nil {
		return err
	}
	for _, stale := range []string{"main.tf.json", adoptFile, "modules"} {
		if err := os.RemoveAll(filepath.Join(w.dir, stale)); err != nil {
			return err
		}
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(w.dir, filepath.FromSlash(n))
		if !strings.HasPrefix(p, w.dir+string(filepath.Separator)) {
			return fmt.Errorf("rendered file %q escapes the workspace", n)
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(p, files[n], 0o600); err != nil {
			return err
		}
	}
	return nil
}

// init runs terraform init against the local provider mirror.
func (w *workspace) init(ctx context.Context) error {
	tf, err := w.tf()
	if err != nil {
		return err
	}
	if err := tf.Init(ctx, tfexec.PluginDir(w.pluginDir), tfexec.Upgrade(false)); err != nil {
		return fmt.Errorf("terraform init: %w", err)
	}
	return nil
}

// plan saves a plan of the workspace, of only the targets when there are any.
func (w *workspace) plan(ctx context.Context, planFile string, destroy bool, targets ...string) (*tfjson.Plan, string, error) {
	tf, err := w.tf()
	if err != nil {
		return nil, "", err
	}
	if err := tf.Init(ctx, tfexec.PluginDir(w.pluginDir), tfexec.Upgrade(false)); err != nil {
		return nil, "", fmt.Errorf("terraform init: %w", err)
	}
	opts := []tfexec.PlanOption{tfexec.Out(planFile), tfexec.Destroy(destroy), tfexec.LockTimeout(lockTimeout)}
	for _, t := range targets {
		opts = append(opts, tfexec.Target(t))
	}
	_, err = tf.Plan(ctx, opts...)
	if transient(err) && ctx.Err() == nil {
		fmt.Fprintln(w.out, "meshplane: the Kafka provider lost a broker connection while refreshing; planning once more")
		_, err = tf.Plan(ctx, opts...)
	}
	if err != nil {
		return nil, "", fmt.Errorf("terraform plan: %w", err)
	}
	return w.show(ctx, tf, planFile)
}

func (w *workspace) show(ctx context.Context, tf *tfexec.Terraform, planFile string) (*tfjson.Plan, string, error) {
	// show -json prints the plan on stdout: keep it out of the run log.
	tf.SetStdout(io.Discard)
	p, err := tf.ShowPlanFile(ctx, planFile)
	tf.SetStdout(w.out)
	if err != nil {
		return nil, "", fmt.Errorf("terraform show: %w", err)
	}
	digest, err := fileDigest(filepath.Join(w.dir, planFile))
	if err != nil {
		return nil, "", err
	}
	return p, digest, nil
}

// apply applies the saved plan, refusing a plan file whose digest differs
// from the reviewed one.
func (w *workspace) apply(ctx context.Context, planFile, digest string) error {
	got, err := fileDigest(filepath.Join(w.dir, planFile))
	if err != nil {
		return fmt.Errorf("reading the approved plan: %w", err)
	}
	if got != digest {
		return errors.New("the saved plan differs from the approved one; plan again")
	}
	tf, err := w.tf()
	if err != nil {
		return err
	}
	if err := tf.Apply(ctx, tfexec.DirOrPlan(planFile), tfexec.LockTimeout(lockTimeout)); err != nil {
		return fmt.Errorf("terraform apply: %w", err)
	}
	return nil
}

// refreshPlan runs a refresh-only plan and returns it; it never applies.
// forget removes resource instances from the workspace's state without
// touching them, so that destroying the workspace leaves them be; an
// address the state does not hold is fine.
func (w *workspace) forget(ctx context.Context, addrs []string) error {
	if len(addrs) == 0 {
		return nil
	}
	tf, err := w.tf()
	if err != nil {
		return err
	}
	if err := tf.Init(ctx, tfexec.PluginDir(w.pluginDir), tfexec.Upgrade(false)); err != nil {
		return fmt.Errorf("terraform init: %w", err)
	}
	for _, a := range addrs {
		if err := tf.StateRm(ctx, a, tfexec.LockTimeout(lockTimeout)); err != nil && !strings.Contains(err.Error(), "No matching objects found") {
			return fmt.Errorf("terraform state rm: %w", err)
		}
	}
	return nil
}

func (w *workspace) refreshPlan(ctx context.Context, planFile string) (*tfjson.Plan, error) {
	tf, err := w.tf()
	if err != nil {
		return nil, err
	}
	if err := tf.Init(ctx, tfexec.PluginDir(w.pluginDir), tfexec.Upgrade(false)); err != nil {
		return nil, fmt.Errorf("terraform init: %w", err)
	}
	if _, err := tf.Plan(ctx, tfexec.Out(planFile), tfexec.RefreshOnly(true), tfexec.LockTimeout(lockTimeout)); err != nil {
		return nil, fmt.Errorf("terraform plan -refresh-only: %w", err)
	}
	p, _, err := w.show(ctx, tf, planFile)
	return p, err
}

// transient reports a plan failure worth one more try: the Kafka provider
// (v0.13.1) opens and closes shared broker connections from concurrent
// refreshes and sometimes fails a read with "broker not connected". A plan
// changes nothing, so planning again is safe; applies are never retried.
func transient(err error) bool {
	return err != nil && strings.Contains(err.Error(), "kafka: broker not connected")
}

func fileDigest(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// lockInfo is the file terraform's local backend leaves while holding the state lock.
const lockInfo = ".terraform.tfstate.lock.info"

// releaseStaleLock removes a leftover local state lock, but only when no
// terraform process works in dir: a live process still holds the lock.
func releaseStaleLock(dir, binary string) (bool, error) {
	if _, err := os.Stat(filepath.Join(dir, lockInfo)); errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if terraformRunningIn(dir, binary) {
		return false, nil
	}
	if err := os.Remove(filepath.Join(dir, lockInfo)); err != nil {
		return false, err
	}
	return true, nil
}

// terraformRunningIn reports whether a terraform process (binary, not a
// provider plugin it left behind) has dir as its working directory, by reading /proc.
func terraformRunningIn(dir, binary string) bool {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		if err != nil || cwd != dir {
			continue
		}
		exe, _ := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if filepath.Base(exe) == filepath.Base(binary) {
			return true
		}
	}
	return false
}

// logSink collects a run's output line by line, redacting secrets, and
// hands each line to a callback.
type logSink struct {
	mu      sync.Mutex
	partial bytes.Buffer
	secrets []string
	line    func(string)
}

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial.Write(p)
	for {
		b := l.partial.Bytes()
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			break
		}
		line := string(b[:i])
		l.partial.Next(i + 1)
		l.emit(line)
	}
	return len(p), nil
}

func (l *logSink) emit(line string) {
	for _, s := range l.secrets {
		line = strings.ReplaceAll(line, s, "(sensitive)")
	}
	l.line(line)
}

// Flush emits a final line without a newline.
func (l *logSink) Flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.partial.Len() > 0 {
		l.emit(l.partial.String())
		l.partial.Reset()
	}
}
