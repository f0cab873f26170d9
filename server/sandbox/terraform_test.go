package sandbox_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/meshplane/meshplane/server/sandbox"
)

// Tools built by scripts/tools.sh; this test is skipped without them unless
// MESHPLANE_REQUIRE_TOOLS=1, when it fails instead.
const (
	terraformBin  = "../../.tools/bin/terraform"
	pluginsMirror = "../../.tools/terraform-plugins"
)

func requireTools(t *testing.T) (terraform, mirror string) {
	t.Helper()
	terraform, _ = filepath.Abs(terraformBin)
	mirror, _ = filepath.Abs(pluginsMirror)
	providers := []string{
		"registry.terraform.io/mongey/kafka/0.13.1/linux_amd64/terraform-provider-kafka_v0.13.1",
		"registry.terraform.io/mongey/kafka-connect/0.5.0/linux_amd64/terraform-provider-kafka-connect_v0.5.0",
	}
	var missing []string
	for _, p := range append([]string{terraform}, prefixAll(mirror, providers)...) {
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		msg := fmt.Sprintf("terraform or providers not built (run scripts/tools.sh terraform): missing %s", strings.Join(missing, ", "))
		if os.Getenv("MESHPLANE_REQUIRE_TOOLS") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return terraform, mirror
}

func prefixAll(dir string, paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = filepath.Join(dir, p)
	}
	return out
}

// rootModule is a workspace like meshplane provisions: a topic, an ACL on it
// and a Debezium source, against the sandbox, with secrets passed as
// variables from the environment.
const rootModule = `
terraform {
  required_providers {
    kafka = {
      source  = "Mongey/kafka"
      version = "0.13.1"
    }
    kafka-connect = {
      source  = "Mongey/kafka-connect"
      version = "0.5.0"
    }
  }
}

variable "kafka_password" {
  type      = string
  sensitive = true
}

variable "pg_password" {
  type      = string
  sensitive = true
}

provider "kafka" {
  bootstrap_servers = %s
  tls_enabled       = false
  sasl_mechanism    = "scram-sha512"
  sasl_username     = "%s"
  sasl_password     = var.kafka_password
}

provider "kafka-connect" {
  url                 = "%s"
  basic_auth_username = "%s"
  basic_auth_password = var.kafka_password
}

resource "kafka_topic" "orders" {
  name               = "sales.orders.public.v1"
  partitions         = 3
  replication_factor = 3
  config = {
    "cleanup.policy" = "delete"
    "retention.ms"   = "604800000"
  }
}

resource "kafka_acl" "analytics_read" {
  resource_name       = kafka_topic.orders.name
  resource_type       = "Topic"
  acl_principal       = "User:svc-analytics"
  acl_host            = "*"
  acl_operation       = "Read"
  acl_permission_type = "Allow"
}

resource "kafka-connect_connector" "orders_source" {
  name = "sales-orders-source"
  config = {
    "name"               = "sales-orders-source"
    "connector.class"    = "io.debezium.connector.postgresql.PostgresConnector"
    "tasks.max"          = "1"
    "topic.prefix"       = "sales.orders"
    "database.hostname"  = "pg.internal"
    "database.port"      = "5432"
    "database.user"      = "debezium"
    "database.dbname"    = "sales"
    "plugin.name"        = "pgoutput"
    "slot.name"          = "meshplane_sales_orders"
    "table.include.list" = "public.orders"
    "column.mask.hash.SHA-256.with.salt.meshplane" = "public.orders.email"
  }
  config_sensitive = {
    "database.password" = var.pg_password
  }
  depends_on = [kafka_topic.orders]
}
`

// TestTerraformAgainstSandbox runs the real terraform 1.5.7 with the real
// Mongey kafka and kafka-connect providers against a started sandbox: apply
// creates what the broker and the emulator then report, a second plan shows
// no changes, and destroy removes it all.
func TestTerraformAgainstSandbox(t *testing.T) {
	terraform, mirror := requireTools(t)
	t.Parallel()

	cfg := testConfig(t.TempDir())
	cfg.ConnectBasicAuth = true
	sb := start(t, cfg)
	st := sb.Settings()

	work := t.TempDir()
	servers := `["` + strings.Join(st.BootstrapServers, `", "`) + `"]`
	module := fmt.Sprintf(rootModule, servers, st.AdminUsername, st.ConnectURL, st.ConnectUsername)
	if err := os.WriteFile(filepath.Join(work, "main.tf"), []byte(module), 0o600); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	cliConfig := filepath.Join(home, "terraform.rc")
	if err := os.WriteFile(cliConfig, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"TF_IN_AUTOMATION=1",
		"TF_CLI_CONFIG_FILE=" + cliConfig,
		"CHECKPOINT_DISABLE=1",
		"TF_VAR_kafka_password=" + sb.AdminPassword(),
		"TF_VAR_pg_password=${file:/opt/secrets/sales.properties:pg_password}",
	}
	tf := func(args ...string) (int, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, terraform, args...)
		cmd.Dir = work
		cmd.Env = env
		cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
		cmd.WaitDelay = 15 * time.Second
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		var exit *exec.ExitError
		switch {
		case err == nil:
			return 0, out.String()
		case errors.As(err, &exit):
			return exit.ExitCode(), out.String()
		default:
			t.Fatalf("terraform %s: %v\n%s", args[0], err, out.String())
			return -1, ""
		}
	}
	mustTF := func(args ...string) string {
		t.Helper()
		code, out := tf(args...)
		if code != 0 {
			t.Fatalf("terraform %s exited %d:\n%s", strings.Join(args, " "), code, out)
		}
		return out
	}

	mustTF("init", "-input=false", "-no-color", "-plugin-dir="+mirror)
	mustTF("apply", "-auto-approve", "-input=false", "-no-color")

	adm := adminClient(t, sb)
	details, err := adm.ListTopics(ctxTimeout(t), "sales.orders.public.v1")
	if err != nil || details["sales.orders.public.v1"].Err != nil || len(details["sales.orders.public.v1"].Partitions) != 3 {
		t.Fatalf("topic after apply: %v %+v", err, details)
	}
	acls, err := adm.DescribeACLs(ctxTimeout(t), kadm.NewACLs().Topics("sales.orders.public.v1").
		Allow("User:svc-analytics").AllowHosts("*").ResourcePatternType(kadm.ACLPatternLiteral).Operations(kadm.OpRead))
	if err != nil || len(acls) != 1 || acls[0].Err != nil || len(acls[0].Described) != 1 {
		t.Fatalf("ACL after apply: %v %+v", err, acls)
	}
	code, body := connectGet(t, sb, "/connectors/sales-orders-source/config")
	if code != http.StatusOK || !strings.Contains(body, `"topic.prefix":"sales.orders"`) ||
		!strings.Contains(body, `"database.password":"${file:/opt/secrets/sales.properties:pg_password}"`) {
		t.Fatalf("connector after apply: %d %s", code, body)
	}

	if code, out := tf("plan", "-detailed-exitcode", "-input=false", "-no-color"); code != 0 {
		t.Fatalf("plan after apply exited %d, want 0 (no changes):\n%s", code, out)
	}

	// An update the connector would reject fails the apply with the worker's
	// message; a valid one is applied in place and re-plans clean.
	writeModule := func(extra string) {
		t.Helper()
		m := strings.Replace(module, `"plugin.name"        = "pgoutput"`, `"plugin.name"        = "pgoutput"`+"\n    "+extra, 1)
		if err := os.WriteFile(filepath.Join(work, "main.tf"), []byte(m), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeModule(`"database.server.name" = "sales"`)
	code, out := tf("apply", "-auto-approve", "-input=false", "-no-color")
	if code == 0 || !strings.Contains(out, "Connector configuration is invalid") || !strings.Contains(out, "was removed in Debezium 2.0") {
		t.Fatalf("apply of a removed Debezium setting exited %d, want a failure naming it:\n%s", code, out)
	}
	writeModule(`"snapshot.mode" = "no_data"`)
	mustTF("apply", "-auto-approve", "-input=false", "-no-color")
	if code, body := connectGet(t, sb, "/connectors/sales-orders-source/config"); code != http.StatusOK || !strings.Contains(body, `"snapshot.mode":"no_data"`) {
		t.Fatalf("connector after update: %d %s", code, body)
	}
	if code, out := tf("plan", "-detailed-exitcode", "-input=false", "-no-color"); code != 0 {
		t.Fatalf("plan after update exited %d, want 0 (no changes):\n%s", code, out)
	}

	mustTF("destroy", "-auto-approve", "-input=false", "-no-color")
	if code, body := connectGet(t, sb, "/connectors/sales-orders-source"); code != http.StatusNotFound {
		t.Errorf("connector after destroy: %d %s", code, body)
	}
	details, err = adm.ListTopics(ctxTimeout(t), "sales.orders.public.v1")
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := details["sales.orders.public.v1"]; ok && d.Err == nil {
		t.Errorf("topic still exists after destroy: %+v", d)
	}
	acls, err = adm.DescribeACLs(ctxTimeout(t), kadm.NewACLs().Topics("sales.orders.public.v1").
		Allow("User:svc-analytics").AllowHosts("*").ResourcePatternType(kadm.ACLPatternLiteral).Operations(kadm.OpRead))
	if err != nil || len(acls) != 1 || len(acls[0].Described) != 0 {
		t.Errorf("ACL after destroy: %v %+v", err, acls)
	}
}

func connectGet(t *testing.T, sb *sandbox.Sandbox, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxTimeout(t), http.MethodGet, sb.Settings().ConnectURL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(sandbox.AdminUsername, sb.AdminPassword())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}
