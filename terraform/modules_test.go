package terraform_test

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/meshplane/meshplane/terraform"
	"github.com/meshplane/meshplane/terraform/tftest"
)

var wantKinds = []string{
	"debezium-mysql", "debezium-postgres", "kafka-acl", "kafka-topic",
	"sink-bigquery", "sink-elasticsearch", "sink-jdbc", "sink-s3",
}

func TestKinds(t *testing.T) {
	if got := terraform.Kinds(); !slices.Equal(got, wantKinds) {
		t.Fatalf("Kinds() = %v, want %v", got, wantKinds)
	}
	for _, kind := range wantKinds {
		files, err := terraform.ModuleFiles(kind)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"versions.tf", "variables.tf", "main.tf", "outputs.tf"} {
			if _, ok := files[name]; !ok {
				t.Errorf("module %s has no %s", kind, name)
			}
		}
		if !strings.Contains(string(files["versions.tf"]), `required_version = ">= 1.5.0"`) {
			t.Errorf("module %s does not require terraform >= 1.5.0", kind)
		}
	}
	if _, err := terraform.ModuleFiles("no-such-kind"); err == nil {
		t.Error("ModuleFiles of an unknown kind succeeded")
	}
}

// TestModules checks every module with the pinned terraform and the real
// providers from the offline mirror: formatted, and valid.
func TestModules(t *testing.T) {
	tools := tftest.Find(t)
	for _, kind := range terraform.Kinds() {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			files, err := terraform.ModuleFiles(kind)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			tftest.WriteFiles(t, dir, files)
			env := tools.Env(t)
			if out, err := tools.Try(t, dir, env, "fmt", "-check", "-diff", "-no-color"); err != nil {
				t.Fatalf("terraform fmt -check: %s\n%v", out, err)
			}
			tools.Init(t, dir, env, "-backend=false")
			tools.Run(t, dir, env, "validate", "-no-color")
			// Nothing may be left in the source tree by the checks.
			if _, err := os.Stat(filepath.Join("modules", kind, ".terraform")); err == nil {
				t.Errorf("modules/%s/.terraform exists", kind)
			}
		})
	}
}

// TestModuleGuards checks that modules refuse what must never be applied:
// literal secrets, misspelled enumerations, invalid names.
func TestModuleGuards(t *testing.T) {
	tools := tftest.Find(t)
	pg := map[string]any{
		"name": "sales.orders.source", "database_hostname": "db", "database_user": "u",
		"database_password": "$${env:PG_PASSWORD}", "database_dbname": "shop", "topic_prefix": "sales.orders",
		"slot_name": "sales_orders", "publication_name": "sales_orders",
		"routes": map[string]string{"public.orders": "sales.orders.orders.v1"},
	}
	with := func(base map[string]any, k string, v any) map[string]any {
		out := map[string]any{}
		for key, val := range base {
			out[key] = val
		}
		out[k] = v
		return out
	}
	jdbc := map[string]any{
		"name": "s.p.dwh", "topics": []string{"s.p.o.v1"}, "dlq_topic": "s.p.dwh.dlq",
		"connection_url": "jdbc:postgresql://dwh:5432/dwh", "connection_username": "loader", "connection_password": "$${vault:db/dwh:password}",
	}
	bq := map[string]any{
		"name": "s.p.bq", "topics": []string{"s.p.o.v1"}, "dlq_topic": "s.p.bq.dlq",
		"project": "acme-analytics", "default_dataset": "sales", "keyfile": "$${vault:gcp/bq:key}",
	}
	acl := map[string]any{"principal": "User:s.p.source", "resource_type": "Topic", "resource_name": "s.p.o.v1", "operations": []string{"Write"}}
	topic := map[string]any{"name": "s.p.o.v1", "partitions": 3, "replication_factor": 1}
	for _, tc := range []struct {
		name, kind string
		args       map[string]any
		want       string // "" when valid
	}{
		{"postgres valid", "debezium-postgres", pg, ""},
		{"postgres literal password", "debezium-postgres", with(pg, "database_password", "hunter2"), "never a literal password"},
		{"postgres slot with hyphen", "debezium-postgres", with(pg, "slot_name", "sales-orders"), "slot name"},
		{"postgres unqualified table", "debezium-postgres", with(pg, "routes", map[string]string{"orders": "t"}), "schema.table"},
		{"postgres unknown snapshot mode", "debezium-postgres", with(pg, "snapshot_mode", "schema_only"), "snapshot mode"},
		{"jdbc valid", "sink-jdbc", jdbc, ""},
		{"jdbc literal password", "sink-jdbc", with(jdbc, "connection_password", "hunter2"), "never a literal password"},
		{"jdbc credentials in url", "sink-jdbc", with(jdbc, "connection_url", "jdbc:postgresql://u:p@dwh:5432/dwh"), "without credentials"},
		{"jdbc field transforms", "sink-jdbc", with(with(jdbc, "drop_fields", []string{"email"}), "mask_fields", []string{"phone"}), ""},
		{"jdbc field to drop not a name", "sink-jdbc", with(jdbc, "drop_fields", []string{"email,phone"}), "Fields to drop must be field names"},
		{"bigquery valid", "sink-bigquery", bq, ""},
		{"bigquery literal key", "sink-bigquery", with(bq, "keyfile", `{"type": "service_account"}`), "never the key itself"},
		{"acl valid", "kafka-acl", acl, ""},
		{"acl upper-case operation", "kafka-acl", with(acl, "operations", []string{"WRITE"}), "Operations must be"},
		{"topic valid", "kafka-topic", topic, ""},
		{"topic cleanup policy", "kafka-topic", with(topic, "cleanup_policy", "compact, delete"), "cleanup policy"},
		{"topic retention in extra config", "kafka-topic", with(topic, "extra_config", map[string]string{"retention.ms": "1"}), "retention_ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			files, err := terraform.ModuleFiles(tc.kind)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			all := map[string][]byte{}
			for name, b := range files {
				all["m/"+name] = b
			}
			module := map[string]any{"source": "./m"}
			for k, v := range tc.args {
				module[k] = v
			}
			root, err := json.Marshal(map[string]any{
				"terraform": map[string]any{"required_providers": map[string]any{
					"kafka":         map[string]any{"source": "mongey/kafka", "version": "0.13.1"},
					"kafka-connect": map[string]any{"source": "mongey/kafka-connect", "version": "0.5.0"},
				}},
				"module": map[string]any{"m": module},
			})
			if err != nil {
				t.Fatal(err)
			}
			all["main.tf.json"] = root
			tftest.WriteFiles(t, dir, all)
			env := tools.Env(t)
			tools.Init(t, dir, env, "-backend=false")
			_, err = tools.Try(t, dir, env, "validate", "-no-color")
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("validate refused valid arguments: %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("validate accepted %s", tc.name)
			case tc.want != "" && !strings.Contains(strings.Join(strings.Fields(err.Error()), " "), tc.want):
				t.Fatalf("validate error does not mention %q: %v", tc.want, err)
			}
		})
	}
}

// planModule plans module kind with args against the pinned providers and
// returns the planned config of its connector; the plan contacts nothing.
func planModule(t *testing.T, tools tftest.Tools, kind string, args map[string]any) (map[string]string, error) {
	t.Helper()
	files, err := terraform.ModuleFiles(kind)
	if err != nil {
		t.Fatal(err)
	}
	all := map[string][]byte{}
	for name, b := range files {
		all["m/"+name] = b
	}
	module := map[string]any{"source": "./m"}
	for k, v := range args {
		module[k] = v
	}
	root, err := json.Marshal(map[string]any{
		"terraform": map[string]any{"required_providers": map[string]any{
			"kafka-connect": map[string]any{"source": "mongey/kafka-connect", "version": "0.5.0"},
		}},
		"provider": map[string]any{"kafka-connect": map[string]any{"url": "http://127.0.0.1:1"}},
		"module":   map[string]any{"m": module},
	})
	if err != nil {
		t.Fatal(err)
	}
	all["main.tf.json"] = root
	dir := t.TempDir()
	tftest.WriteFiles(t, dir, all)
	env := tools.Env(t)
	tools.Init(t, dir, env)
	if _, err := tools.Try(t, dir, env, "plan", "-input=false", "-no-color", "-refresh=false", "-out=plan.tfplan"); err != nil {
		return nil, err
	}
	var plan struct {
		ResourceChanges []struct {
			Address string `json:"address"`
			Change  struct {
				After struct {
					Config map[string]string `json:"config"`
				} `json:"after"`
			} `json:"change"`
		} `json:"resource_changes"`
	}
	if err := json.Unmarshal([]byte(tools.Run(t, dir, env, "show", "-json", "-no-color", "plan.tfplan")), &plan); err != nil {
		t.Fatalf("decoding plan: %v", err)
	}
	for _, rc := range plan.ResourceChanges {
		if rc.Address == "module.m.kafka-connect_connector.this" {
			return rc.Change.After.Config, nil
		}
	}
	t.Fatal("no connector planned")
	return nil, nil
}

// TestSinkJDBCConfig plans the JDBC sink: it unwraps the change event, deletes
// arriving as tombstones, then drops and masks the row's fields like the other
// sinks; extra_config can override none of it.
func TestSinkJDBCConfig(t *testing.T) {
	tools := tftest.Find(t)
	jdbc := map[string]any{
		"name": "s.p.dwh", "topics": []string{"s.p.o.v1"}, "dlq_topic": "s.p.dwh.dlq",
		"connection_url": "jdbc:postgresql://dwh:5432/dwh", "connection_username": "loader", "connection_password": "$${vault:db/dwh:password}",
		"primary_key_fields": []string{"id"},
	}
	with := func(kv ...any) map[string]any {
		out := map[string]any{}
		for k, v := range jdbc {
			out[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i].(string)] = kv[i+1]
		}
		return out
	}
	want := map[string]string{
		"name":                "s.p.dwh",
		"connector.class":     "io.debezium.connector.jdbc.JdbcSinkConnector",
		"tasks.max":           "1",
		"topics":              "s.p.o.v1",
		"connection.url":      "jdbc:postgresql://dwh:5432/dwh",
		"connection.username": "loader",
		"connection.password": "${vault:db/dwh:password}",
		"insert.mode":         "upsert",
		"primary.key.mode":    "record_key",
		"primary.key.fields":  "id",
		"delete.enabled":      "true",
		"schema.evolution":    "basic",

		"errors.tolerance":                                "all",
		"errors.deadletterqueue.topic.name":               "s.p.dwh.dlq",
		"errors.deadletterqueue.topic.replication.factor": "3",
		"errors.deadletterqueue.context.headers.enable":   "true",
		"errors.log.enable":                               "true",
		"errors.log.include.messages":                     "false",

		"transforms":             "unwrap",
		"transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
		"transforms.unwrap.delete.tombstone.handling.mode": "delete-to-tombstone",
	}
	masked := map[string]string{
		"transforms":                      "unwrap,dropfields,maskfields",
		"transforms.dropfields.type":      "org.apache.kafka.connect.transforms.ReplaceField$Value",
		"transforms.dropfields.exclude":   "email,national_id",
		"transforms.maskfields.type":      "org.apache.kafka.connect.transforms.MaskField$Value",
		"transforms.maskfields.fields":    "phone",
		"transforms.maskfields.predicate": "tombstone",
		"transforms.maskfields.negate":    "true",
		"predicates":                      "tombstone",
		"predicates.tombstone.type":       "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
	}
	wantMasked := maps.Clone(want)
	maps.Copy(wantMasked, masked)

	for _, tc := range []struct {
		name   string
		args   map[string]any
		want   map[string]string // nil when refused
		reason string            // what the refusal says
	}{
		{"without field transforms", jdbc, want, ""},
		{"drop and mask", with("drop_fields", []string{"email", "national_id"}, "mask_fields", []string{"phone"}), wantMasked, ""},
		{"extra_config overriding the unwrap", with("extra_config", map[string]string{"transforms.unwrap.delete.tombstone.handling.mode": "rewrite"}),
			nil, "must not override settings the module manages: transforms.unwrap.delete.tombstone.handling.mode."},
		{"extra_config replacing the chain", with("drop_fields", []string{"email"}, "extra_config", map[string]string{"transforms": "unwrap"}),
			nil, "must not override settings the module manages: transforms."},
		{"extra_config widening the drop", with("drop_fields", []string{"email"}, "extra_config", map[string]string{"transforms.dropfields.exclude": ""}),
			nil, "must not override settings the module manages: transforms.dropfields.exclude."},
		{"extra_config replacing the predicate", with("mask_fields", []string{"phone"}, "extra_config", map[string]string{"predicates.tombstone.type": "x"}),
			nil, "must not override settings the module manages: predicates.tombstone.type."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := planModule(t, tools, "sink-jdbc", tc.args)
			switch {
			case tc.want != nil && err != nil:
				t.Fatalf("plan refused valid arguments: %v", err)
			case tc.want == nil && err == nil:
				t.Fatalf("plan accepted %s: %v", tc.name, got)
			case tc.want == nil && !strings.Contains(strings.Join(strings.Fields(err.Error()), " "), tc.reason):
				t.Fatalf("plan error does not mention %q: %v", tc.reason, err)
			case tc.want != nil && !maps.Equal(got, tc.want):
				for k := range maps.Keys(merged(got, tc.want)) {
					if got[k] != tc.want[k] {
						t.Errorf("%s = %q, want %q", k, got[k], tc.want[k])
					}
				}
			}
		})
	}
}

func merged(a, b map[string]string) map[string]string {
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}
