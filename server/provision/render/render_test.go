package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/meshplane/meshplane/server/errs"
	"github.com/meshplane/meshplane/server/spec"
	"github.com/meshplane/meshplane/terraform"
)

var update = flag.Bool("update", false, "rewrite the golden files under terraform/testdata")

func goldenPath(name string) string {
	return filepath.Join("..", "..", "..", "terraform", "testdata", name, "main.tf.json.golden")
}

func mustRender(t *testing.T, in Input) Workspace {
	t.Helper()
	ws, err := Render(in)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	return ws
}

func TestGolden(t *testing.T) {
	for _, tc := range cases() {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.hostile {
				var v errs.Violations
				tc.in.Spec.Validate(&v, "spec")
				if err := v.Err(); err != nil {
					t.Fatalf("the fixture is not a valid product: %v", err)
				}
			}
			got := mustRender(t, tc.in).Files[MainFile]
			path := goldenPath(tc.name)
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./server/provision/render -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the rendered workspace (run go test ./server/provision/render -update and review the diff):\n%s", path, firstDiff(want, got))
			}
		})
	}
}

func firstDiff(want, got []byte) string {
	wl, gl := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + strconv.Itoa(i+1) + ":\n- " + w + "\n+ " + g
		}
	}
	return "(no line differs)"
}

func TestFormat(t *testing.T) {
	ws := mustRender(t, cases()[0].in)
	main := ws.Files[MainFile]
	if !bytes.HasSuffix(main, []byte("}\n")) || bytes.HasSuffix(main, []byte("\n\n")) {
		t.Error("main.tf.json must end with exactly one newline")
	}
	if !bytes.HasPrefix(main, []byte("{\n  \"module\": {\n    \"")) {
		t.Errorf("main.tf.json must be indented with two spaces, starts with %q", main[:min(40, len(main))])
	}
	var v map[string]any
	if err := json.Unmarshal(main, &v); err != nil {
		t.Fatalf("main.tf.json is not JSON: %v", err)
	}
}

// TestDeterministic renders every case repeatedly: Go randomizes map
// iteration, so any order leaking into the output would show.
func TestDeterministic(t *testing.T) {
	for _, tc := range cases() {
		first := mustRender(t, tc.in)
		for range 20 {
			again := mustRender(t, tc.in)
			if !maps.EqualFunc(first.Files, again.Files, bytes.Equal) {
				t.Fatalf("%s: two renderings differ", tc.name)
			}
		}
	}
}

func TestWorkspaceModules(t *testing.T) {
	ws := mustRender(t, cases()[1].in) // mysql → s3 + jdbc
	var kinds []string
	for name, b := range ws.Files {
		if name == MainFile {
			continue
		}
		dir, file, ok := strings.Cut(strings.TrimPrefix(name, "modules/"), "/")
		if !strings.HasPrefix(name, "modules/") || !ok || strings.Contains(file, "/") {
			t.Errorf("unexpected workspace file %q", name)
			continue
		}
		if !slices.Contains(kinds, dir) {
			kinds = append(kinds, dir)
		}
		want, err := terraform.ModuleFiles(dir)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, want[file]) {
			t.Errorf("%s differs from the embedded module", name)
		}
	}
	slices.Sort(kinds)
	if want := []string{"debezium-mysql", "kafka-acl", "kafka-topic", "sink-jdbc", "sink-s3"}; !slices.Equal(kinds, want) {
		t.Errorf("workspace modules = %v, want %v", kinds, want)
	}
}

// decode parses a rendered main.tf.json.
func decode(t *testing.T, ws Workspace) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(ws.Files[MainFile], &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func modulesOf(t *testing.T, ws Workspace) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for id, m := range decode(t, ws)["module"].(map[string]any) {
		out[id] = m.(map[string]any)
	}
	return out
}

var (
	escapedProviderRef = regexp.MustCompile(`^\$\$\{(env|file|vault):[^{}]+\}$`)
	passwordVar        = regexp.MustCompile(`^\$\{var\.(kafka|connect)_password\}$`)
)

// TestSecretsAreReferences checks that every credential in a workspace is a
// config-provider reference or a Terraform variable, never a value.
func TestSecretsAreReferences(t *testing.T) {
	for _, tc := range cases() {
		ws := mustRender(t, tc.in)
		var walk func(path string, v any)
		walk = func(path string, v any) {
			switch v := v.(type) {
			case map[string]any:
				for k, x := range v {
					walk(path+"."+k, x)
				}
			case string:
				key := strings.ToLower(path[strings.LastIndex(path, ".")+1:])
				if !strings.Contains(key, "password") && !strings.Contains(key, "secret") && key != "keyfile" && key != "aws_access_key_id" {
					return
				}
				if !escapedProviderRef.MatchString(v) && !passwordVar.MatchString(v) {
					t.Errorf("%s: %s = %q is neither a config-provider reference nor a password variable", tc.name, path, v)
				}
			}
		}
		doc := decode(t, ws)
		walk("module", doc["module"])
		walk("provider", doc["provider"])
		if strings.Contains(string(ws.Files[MainFile]), "conn_str") {
			t.Errorf("%s: the workspace sets conn_str; the pg backend must read PG_CONN_STR", tc.name)
		}
		main := string(ws.Files[MainFile])
		if _, ok := doc["variable"]; ok || strings.Contains(main, "sasl_password") || strings.Contains(main, "basic_auth_password") {
			t.Errorf("%s: the workspace mentions a password; the providers must read theirs from the environment", tc.name)
		}
	}
}

func TestModuleArguments(t *testing.T) {
	mods := modulesOf(t, mustRender(t, cases()[1].in))
	src := mods["source"]
	if src["source"] != "./modules/debezium-mysql" {
		t.Fatalf("source module = %v", src["source"])
	}
	if got := src["routes"]; !equalJSON(got, map[string]any{"warehouse.stock_levels": "inventory.stock.levels.v2"}) {
		t.Errorf("routes = %v", got)
	}
	if got := src["database_password"]; got != "$${file:/etc/meshplane/secrets/inventory/stock.properties:password}" {
		t.Errorf("database_password = %v", got)
	}
	if got := src["schema_history_bootstrap_servers"]; !equalJSON(got, []any{"kafka.internal:9093"}) {
		t.Errorf("schema history bootstrap = %v, want the Connect workers' bootstrap", got)
	}
	if id, ok := src["database_server_id"].(float64); !ok || id < minServerID || id > maxServerID {
		t.Errorf("database_server_id = %v", src["database_server_id"])
	}

	acl := func(id string) map[string]any {
		m, ok := mods[id]
		if !ok {
			t.Fatalf("no module %s among %v", id, slices.Sorted(maps.Keys(mods)))
		}
		return m
	}
	for id, want := range map[string][]any{
		"acl_source_topic__levels":     {"User:inventory.stock.source", "Topic", "inventory.stock.levels.v2", []any{"Write", "Describe"}},
		"acl_source_heartbeat":         {"User:inventory.stock.source", "Topic", "__debezium-heartbeat.inventory.stock", []any{"Write", "Describe"}},
		"acl_source_schema_history":    {"User:inventory.stock.source", "Topic", "inventory.stock.schema-history", []any{"Read", "Write", "Describe", "DescribeConfigs"}},
		"acl_sink_topic__lake__levels": {"User:inventory.stock.lake", "Topic", "inventory.stock.levels.v2", []any{"Read", "Describe"}},
		"acl_sink_group__lake":         {"User:inventory.stock.lake", "Group", "connect-inventory.stock.lake", []any{"Read"}},
		"acl_sink_dlq__reporting":      {"User:inventory.stock.reporting", "Topic", "inventory.stock.reporting.dlq", []any{"Write"}},
	} {
		m := acl(id)
		got := []any{m["principal"], m["resource_type"], m["resource_name"], m["operations"]}
		if !equalJSON(got, want) {
			t.Errorf("%s = %v, want %v", id, got, want)
		}
	}
	if got := acl("topic_dlq__lake")["name"]; got != "inventory.stock.lake.dlq" {
		t.Errorf("dead-letter topic = %v", got)
	}
	if got := acl("sink__lake")["dlq_topic"]; got != "inventory.stock.lake.dlq" {
		t.Errorf("sink dead-letter topic = %v", got)
	}
	if got := acl("sink__lake")["aws_access_key_id"]; got != "$${vault:secret/data/inventory/aws-lake:key_id}" {
		t.Errorf("aws_access_key_id = %v", got)
	}
	if got := acl("sink__lake")["topics_dir"]; got != "cdc/inventory" {
		t.Errorf("topics_dir = %v", got)
	}
	if got := acl("sink__reporting")["depends_on"]; !equalJSON(got, []any{
		"module.acl_sink_dlq__reporting", "module.acl_sink_group__reporting", "module.acl_sink_topic__reporting__levels",
		"module.topic__levels", "module.topic_dlq__reporting",
	}) {
		t.Errorf("reporting depends_on = %v", got)
	}
	if got := acl("topic_schema_history"); got["retention_ms"] != float64(-1) || got["partitions"] != float64(1) {
		t.Errorf("schema history topic = %v", got)
	}
}

func TestConnectorConfigMerged(t *testing.T) {
	tc := cases()[3] // pii
	mods := modulesOf(t, mustRender(t, tc.in))
	want := map[string]any{}
	for k, v := range tc.in.ConnectorConfig["identity.people.source"] {
		want[k] = v
	}
	if got := mods["source"]["extra_config"]; !equalJSON(got, want) {
		t.Errorf("extra_config = %v, want %v", got, want)
	}
	if _, ok := mods["sink__directory"]["extra_config"]; ok {
		t.Error("a sink without connector config got extra_config")
	}
}

func TestProviders(t *testing.T) {
	doc := decode(t, mustRender(t, cases()[1].in)) // production: SASL, TLS, basic auth, pg backend
	providers := doc["provider"].(map[string]any)
	wantKafka := map[string]any{
		"bootstrap_servers": []any{"b-1.kafka.internal:9096", "b-2.kafka.internal:9096", "b-3.kafka.internal:9096"},
		"tls_enabled":       true, "sasl_mechanism": "scram-sha512", "sasl_username": "meshplane",
	}
	if !equalJSON(providers["kafka"], wantKafka) {
		t.Errorf("kafka provider = %v", providers["kafka"])
	}
	wantConnect := map[string]any{
		"url": "https://connect.internal:8083", "basic_auth_username": "meshplane",
	}
	if !equalJSON(providers["kafka-connect"], wantConnect) {
		t.Errorf("kafka-connect provider = %v", providers["kafka-connect"])
	}
	backend := doc["terraform"].(map[string]any)["backend"]
	if !equalJSON(backend, map[string]any{"pg": map[string]any{"schema_name": "meshplane_production_inventory_stock"}}) {
		t.Errorf("backend = %v", backend)
	}

	sandbox := decode(t, mustRender(t, cases()[0].in))["provider"].(map[string]any)
	if !equalJSON(sandbox["kafka"], map[string]any{"bootstrap_servers": []any{"127.0.0.1:9092"}, "tls_enabled": false}) {
		t.Errorf("plaintext kafka provider = %v", sandbox["kafka"])
	}
}

func equalJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

func TestEscapeTemplate(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                  "plain",
		"${env:X}":               "$${env:X}",
		"%{ if x }":              "%%{ if x }",
		"$${x}":                  "$$${x}",
		"a $ b % c {d}":          "a $ b % c {d}",
		"${a}${b}%{c}":           "$${a}$${b}%%{c}",
		"\"\n\\":                 "\"\n\\",
		"${jndi:ldap://e/a}\"\n": "$${jndi:ldap://e/a}\"\n",
	} {
		if got := escapeTemplate(in); got != want {
			t.Errorf("escapeTemplate(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestHostileStringsEscaped checks the rendered text: no string a user
// controls can start an interpolation or a directive.
func TestHostileStringsEscaped(t *testing.T) {
	ws := mustRender(t, hostileInput())
	doc := decode(t, ws)
	var walk func(path string, v any, static bool)
	walk = func(path string, v any, static bool) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if !static {
					checkTemplate(t, path+" key", k)
				}
				walk(path+"."+k, x, static)
			}
		case []any:
			for _, x := range v {
				walk(path+"[]", x, static)
			}
		case string:
			if !static && !passwordVar.MatchString(v) && !strings.HasPrefix(v, "${module.") {
				checkTemplate(t, path, v)
			}
		}
	}
	walk("module", doc["module"], false)
	walk("provider", doc["provider"], false)
	walk("output", doc["output"], false)
	// The backend is read without evaluation: its path stays as given.
	local := doc["terraform"].(map[string]any)["backend"].(map[string]any)["local"].(map[string]any)
	if local["path"] != "state/${path.module}.tfstate" {
		t.Errorf("backend path = %q, want it literal", local["path"])
	}
	if strings.Contains(string(ws.Files[MainFile]), "ignore") {
		t.Error("the product description reached the workspace")
	}
}

// checkTemplate fails unless every "${" and "%{" in s is escaped.
func checkTemplate(t *testing.T, path, s string) {
	t.Helper()
	for i := 0; i < len(s); i++ {
		if (s[i] == '$' || s[i] == '%') && i+1 < len(s) && s[i+1] == '{' {
			t.Errorf("%s: unescaped %q in %q", path, s[i:i+2], s)
			return
		}
		if (s[i] == '$' || s[i] == '%') && i+2 < len(s) && s[i+1] == s[i] && s[i+2] == '{' {
			i += 2 // an escape: $${ or %%{
		}
	}
}

func TestIdent(t *testing.T) {
	for _, tc := range []struct {
		kind  string
		names []string
		want  string
	}{
		{"topic", []string{"orders"}, "topic__orders"},
		{"topic", []string{"orders-eu"}, "topic__orders-eu"},
		{"topic", []string{"a_b"}, "topic__a_5fb"},
		{"topic", []string{"A.b c"}, "topic___41_2eb_20c"},
		{"acl_sink_topic", []string{"lake", "levels"}, "acl_sink_topic__lake__levels"},
		{"topic_heartbeat", nil, "topic_heartbeat"},
		{"topic", []string{"${x}"}, "topic___24_7bx_7d"},
	} {
		got := ident(tc.kind, tc.names...)
		if got != tc.want {
			t.Errorf("ident(%q, %q) = %q, want %q", tc.kind, tc.names, got, tc.want)
		}
		if !validIdent(got) {
			t.Errorf("ident(%q, %q) = %q is not a valid identifier", tc.kind, tc.names, got)
		}
	}
}

func FuzzIdent(f *testing.F) {
	f.Add("orders", "lake")
	f.Add("a_b", "c")
	f.Add("a", "_b")
	f.Add("", "")
	f.Add("${x}", "\n\"")
	f.Fuzz(func(t *testing.T, a, b string) {
		one, two := ident("acl_sink_topic", a, b), ident("acl_sink_topic", b, a)
		if !validIdent(one) {
			t.Fatalf("ident(%q, %q) = %q is not a valid identifier", a, b, one)
		}
		if one == two && a != b {
			t.Fatalf("ident(%q, %q) = ident(%q, %q) = %q", a, b, b, a, one)
		}
		if ident("topic", a+"__"+b) == ident("topic", a, b) {
			t.Fatalf("names %q and %q collide with their concatenation", a, b)
		}
	})
}

func TestDerivedNames(t *testing.T) {
	long := strings.Repeat("x", 63)
	for _, name := range []string{slotName("sandbox", "sales", "orders"), slotName("production", long, long)} {
		if !regexp.MustCompile(`^[a-z0-9_]{1,63}$`).MatchString(name) {
			t.Errorf("slot name %q is not a valid replication slot name", name)
		}
	}
	if slotName("sandbox", "a-b", "c") == slotName("sandbox", "a", "b-c") {
		t.Error("slot names of different products collide")
	}
	if slotName("sandbox", "sales", "orders") == slotName("production", "sales", "orders") {
		t.Error("slot names of different environments collide")
	}
	if got := StateSchemaName("sandbox", "sales", "orders"); got != "meshplane_sandbox_sales_orders" {
		t.Errorf("StateSchemaName = %q", got)
	}
	if got := StateSchemaName("production", long, long); len(got) > 63 || got == StateSchemaName("production", long, long+"y") {
		t.Errorf("long StateSchemaName = %q", got)
	}
	if serverID("sandbox", "sales", "orders") == serverID("production", "sales", "orders") {
		t.Error("server ids of different environments collide")
	}
}

// TestOwnedNames checks that a workspace names every topic and connector it
// creates: a decommission looks for exactly these in the data plane.
func TestOwnedNames(t *testing.T) {
	for _, tc := range cases() {
		if tc.name != "mysql-s3-jdbc" {
			continue
		}
		ws := mustRender(t, tc.in)
		wantTopics := []string{"__debezium-heartbeat.inventory.stock", "inventory.stock.lake.dlq", "inventory.stock.levels.v2",
			"inventory.stock.reporting.dlq", "inventory.stock.schema-history"}
		if !slices.Equal(ws.Topics, wantTopics) {
			t.Errorf("topics = %q, want %q", ws.Topics, wantTopics)
		}
		wantConnectors := []string{"inventory.stock.lake", "inventory.stock.reporting", "inventory.stock.source"}
		if !slices.Equal(ws.Connectors, wantConnectors) {
			t.Errorf("connectors = %q, want %q", ws.Connectors, wantConnectors)
		}
		var modules struct {
			Module map[string]map[string]any `json:"module"`
		}
		if err := json.Unmarshal(ws.Files[MainFile], &modules); err != nil {
			t.Fatal(err)
		}
		var rendered []string
		for _, m := range modules.Module {
			if m["source"] == "./modules/kafka-topic" {
				rendered = append(rendered, m["name"].(string))
			}
		}
		if slices.Sort(rendered); !slices.Equal(rendered, ws.Topics) {
			t.Errorf("the workspace creates topics %q but names %q", rendered, ws.Topics)
		}
		return
	}
	t.Fatal("no mysql-s3-jdbc case")
}

func TestRenderErrors(t *testing.T) {
	base := func() Input { return cases()[0].in } // postgres → bigquery
	for _, tc := range []struct {
		name   string
		change func(*Input)
		want   string
	}{
		{"bad domain", func(in *Input) { in.Domain = "Sales" }, "domain"},
		{"sink named source", func(in *Input) {
			in.Spec.Sinks[0].Name = "source"
		}, "reserved for the source connector"},
		{"two ports on one table", func(in *Input) {
			p := in.Spec.Ports[0]
			p.Name, p.Topic = "again", ""
			in.Spec.Ports = append(in.Spec.Ports, p)
		}, "already feeds port"},
		{"table not captured", func(in *Input) { in.Spec.Ports[0].Table = "public.other" }, "must be one of the source's tables"},
		{"typed topic", func(in *Input) { in.Spec.Ports[0].Topic = "my-topic" }, "must be the derived topic"},
		{"unknown sink port", func(in *Input) { in.Spec.Sinks[0].Ports = []string{"nope"} }, "unknown output port"},
		{"secret value instead of reference", func(in *Input) { in.Spec.Source.SecretRef = "hunter2" }, "secret reference"},
		{"no sink kind", func(in *Input) { in.Spec.Sinks[0].BigQuery = nil }, "exactly one sink kind"},
		{"unknown connector in config", func(in *Input) {
			in.ConnectorConfig = map[string]map[string]string{"sales.orders.nope": {"a": "b"}}
		}, "no connector of this product"},
		{"empty config key", func(in *Input) {
			in.ConnectorConfig = map[string]map[string]string{"sales.orders.source": {"": "b"}}
		}, "must not be empty"},
		{"route collision", func(in *Input) {
			in.Spec.Source.Tables = []string{"public.orders", "public.v1"}
			in.Spec.Ports[0].Name, in.Spec.Ports[0].Topic, in.Spec.Ports[0].Table = "public", "", "public.orders"
			extra := in.Spec.Ports[0]
			extra.Name, extra.Table = "other", "public.v1"
			in.Spec.Ports = append(in.Spec.Ports, extra)
		}, "also the change topic"},
		{"no environment name", func(in *Input) { in.Env.Name = "" }, "environment name"},
		{"sasl without user", func(in *Input) { in.Env.KafkaSASLMechanism = SASLPlain }, "username"},
		{"unknown sasl", func(in *Input) { in.Env.KafkaSASLMechanism = "gssapi"; in.Env.KafkaUsername = "x" }, "unknown SASL"},
		{"no bootstrap", func(in *Input) { in.Env.KafkaBootstrap = nil }, "bootstrap"},
		{"connect url", func(in *Input) { in.Env.ConnectURL = "connect:8083" }, "Connect URL"},
		{"replication factor", func(in *Input) { in.Env.ReplicationFactor = 0 }, "replication factor"},
		{"backend", func(in *Input) { in.Env.Backend.Kind = "s3" }, "unknown backend"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := base()
			in.Spec.Ports = slices.Clone(in.Spec.Ports)
			in.Spec.Sinks = slices.Clone(in.Spec.Sinks)
			tc.change(&in)
			_, err := Render(in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Render error = %v, want one mentioning %q", err, tc.want)
			}
		})
	}

	// Problems with the product are invalid arguments with field paths;
	// problems with the environment are the server's configuration.
	in := base()
	in.Spec.Ports = slices.Clone(in.Spec.Ports)
	in.Spec.Ports[0].Table = "public.other"
	_, err := Render(in)
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != errs.KindInvalidArgument || len(e.Fields) == 0 || e.Fields[0].Path != "spec.ports[0].table" {
		t.Errorf("Render error = %#v, want an invalid argument at spec.ports[0].table", err)
	}
}

func TestUnnormalizedPortTable(t *testing.T) {
	// A single-table source feeds ports that name no table.
	in := cases()[0].in
	in.Spec.Ports = slices.Clone(in.Spec.Ports)
	in.Spec.Ports[0].Table = ""
	mods := modulesOf(t, mustRender(t, in))
	if !equalJSON(mods["source"]["routes"], map[string]any{"public.orders": "sales.orders.orders.v1"}) {
		t.Errorf("routes = %v", mods["source"]["routes"])
	}
}

// sinkMasksCase is the golden case with per-sink field transforms.
func sinkMasksCase(t *testing.T) Input {
	t.Helper()
	for _, tc := range cases() {
		if tc.name == "sink-masks" {
			return tc.in
		}
	}
	t.Fatal("no sink-masks case")
	return Input{}
}

func TestSinkMasks(t *testing.T) {
	in := sinkMasksCase(t)
	mods := modulesOf(t, mustRender(t, in))
	search, warehouse := mods["sink__search"], mods["sink__warehouse"]
	if !equalJSON(search["drop_fields"], []string{"requester_email"}) || !equalJSON(search["mask_fields"], []string{"requester_phone"}) {
		t.Errorf("search drop_fields %v, mask_fields %v", search["drop_fields"], search["mask_fields"])
	}
	if !equalJSON(warehouse["drop_fields"], []string{"body"}) {
		t.Errorf("warehouse drop_fields %v", warehouse["drop_fields"])
	}
	if _, ok := warehouse["mask_fields"]; ok {
		t.Error("a sink without fields to mask got mask_fields")
	}
	if replica := mods["sink__replica"]; replica["source"] != "./modules/sink-jdbc" ||
		!equalJSON(replica["drop_fields"], []string{"body"}) || !equalJSON(replica["mask_fields"], []string{"requester_phone"}) {
		t.Errorf("jdbc sink %v: drop_fields %v, mask_fields %v", replica["source"], replica["drop_fields"], replica["mask_fields"])
	}

	// Lists are sorted and without duplicates; a field both dropped and
	// masked is only dropped; a sink with empty lists gets no arguments.
	in.SinkMasks = map[string]FieldMasks{
		"search": {
			Drop: []string{"requester_phone", "requester_email", "requester_phone"},
			Mask: []string{"subject", "requester_phone", "body", "subject"},
		},
		"warehouse": {Drop: []string{}, Mask: nil},
	}
	mods = modulesOf(t, mustRender(t, in))
	search, warehouse = mods["sink__search"], mods["sink__warehouse"]
	if !equalJSON(search["drop_fields"], []string{"requester_email", "requester_phone"}) {
		t.Errorf("drop_fields = %v", search["drop_fields"])
	}
	if !equalJSON(search["mask_fields"], []string{"body", "subject"}) {
		t.Errorf("mask_fields = %v", search["mask_fields"])
	}
	for _, arg := range []string{"drop_fields", "mask_fields"} {
		if _, ok := warehouse[arg]; ok {
			t.Errorf("a sink with empty field lists got %s", arg)
		}
	}
}

func TestSinkMasksRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Input)
		path   string
		want   string
	}{
		{"unknown sink", func(in *Input) {
			in.SinkMasks["archive"] = FieldMasks{Drop: []string{"body"}}
		}, `sinkMasks["archive"]`, `no sink of this product is named "archive"`},
		{"unknown field", func(in *Input) {
			in.SinkMasks["search"] = FieldMasks{Drop: []string{"requester_email"}, Mask: []string{"requester_phone", "requester_name"}}
		}, `sinkMasks["search"].mask[1]`, `"requester_name" is not a field of the sink's ports (tickets)`},
		{"field of a port the sink does not read", func(in *Input) {
			in.Spec.Ports = append(in.Spec.Ports, spec.OutputPort{
				Name: "comments", Table: "public.comments", MajorVersion: 1, Partitions: 1,
				Fields: []spec.Field{{Name: "author_email", Type: spec.TypeString, Classification: spec.ClassPII}},
			})
			in.Spec.Ports[0].Table = "public.tickets"
			in.Spec.Source.Tables = []string{"public.tickets", "public.comments"}
			in.Spec.Sinks[0].Ports = []string{"tickets"}
			in.SinkMasks["search"] = FieldMasks{Drop: []string{"author_email"}}
		}, `sinkMasks["search"].drop[0]`, `"author_email" is not a field of the sink's ports (tickets)`},
		{"not a field name", func(in *Input) {
			in.SinkMasks["warehouse"] = FieldMasks{Drop: []string{"body,subject"}}
		}, `sinkMasks["warehouse"].drop[0]`, `"body,subject" is not a field name`},
		{"bytes field masked", func(in *Input) {
			in.Spec.Ports[0].Fields = append(in.Spec.Ports[0].Fields, spec.Field{Name: "attachment", Type: spec.TypeBytes, Classification: spec.ClassSensitive})
			in.SinkMasks["warehouse"] = FieldMasks{Drop: []string{"body"}, Mask: []string{"attachment"}}
		}, `sinkMasks["warehouse"].mask[0]`, `"attachment" is a bytes field, which a sink cannot mask: drop it instead`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := sinkMasksCase(t)
			in.SinkMasks = maps.Clone(in.SinkMasks)
			in.Spec.Ports = slices.Clone(in.Spec.Ports)
			in.Spec.Ports[0].Fields = slices.Clone(in.Spec.Ports[0].Fields)
			in.Spec.Sinks = slices.Clone(in.Spec.Sinks)
			in.Spec.Source.Tables = slices.Clone(in.Spec.Source.Tables)
			tc.change(&in)
			checkViolation(t, in, tc.path, tc.want)
		})
	}

	// A bytes field that is also dropped is only dropped: nothing to mask.
	in := sinkMasksCase(t)
	in.Spec.Ports = slices.Clone(in.Spec.Ports)
	in.Spec.Ports[0].Fields = append(slices.Clone(in.Spec.Ports[0].Fields), spec.Field{Name: "attachment", Type: spec.TypeBytes})
	in.SinkMasks = map[string]FieldMasks{"warehouse": {Drop: []string{"attachment"}, Mask: []string{"attachment"}}}
	if got := modulesOf(t, mustRender(t, in))["sink__warehouse"]; !equalJSON(got["drop_fields"], []string{"attachment"}) || got["mask_fields"] != nil {
		t.Errorf("drop_fields %v, mask_fields %v", got["drop_fields"], got["mask_fields"])
	}
}

// TestSinkMasksJDBC: a JDBC sink unwraps the change event like the other
// sinks, so its per-sink decisions become its own field transforms; the topic
// and the source connector stay as they are.
func TestSinkMasksJDBC(t *testing.T) {
	in := cases()[1].in // mysql → s3 "lake" + jdbc "reporting"
	plain := modulesOf(t, mustRender(t, in))
	in.SinkMasks = map[string]FieldMasks{"reporting": {Drop: []string{"quantity"}}}
	mods := modulesOf(t, mustRender(t, in))
	reporting := mods["sink__reporting"]
	if !equalJSON(reporting["drop_fields"], []string{"quantity"}) {
		t.Errorf("jdbc drop_fields = %v", reporting["drop_fields"])
	}
	if _, ok := reporting["mask_fields"]; ok {
		t.Errorf("jdbc mask_fields = %v, want none", reporting["mask_fields"])
	}
	// Only the sink's own module changes: the topic, the source connector
	// and the other sink are rendered as without the decision.
	for id, m := range plain {
		if id == "sink__reporting" {
			continue
		}
		if !equalJSON(mods[id], m) {
			t.Errorf("module %s changed: %v, want %v", id, mods[id], m)
		}
	}
	delete(reporting, "drop_fields")
	if !equalJSON(reporting, plain["sink__reporting"]) {
		t.Errorf("jdbc sink module %v, want %v with drop_fields", reporting, plain["sink__reporting"])
	}

	// Masks too, checked like any sink's.
	in.SinkMasks = map[string]FieldMasks{"reporting": {Drop: []string{"quantity"}, Mask: []string{"sku", "quantity"}}}
	reporting = modulesOf(t, mustRender(t, in))["sink__reporting"]
	if !equalJSON(reporting["drop_fields"], []string{"quantity"}) || !equalJSON(reporting["mask_fields"], []string{"sku"}) {
		t.Errorf("jdbc drop_fields %v, mask_fields %v", reporting["drop_fields"], reporting["mask_fields"])
	}
	in.SinkMasks = map[string]FieldMasks{"reporting": {Mask: []string{"price"}}}
	checkViolation(t, in, `sinkMasks["reporting"].mask[0]`, `"price" is not a field of the sink's ports (levels)`)
}

// checkViolation renders in and wants an invalid argument with a violation
// at path whose message contains want.
func checkViolation(t *testing.T, in Input, path, want string) {
	t.Helper()
	_, err := Render(in)
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != errs.KindInvalidArgument {
		t.Fatalf("Render error = %v, want an invalid argument", err)
	}
	for _, f := range e.Fields {
		if f.Path == path && strings.Contains(f.Message, want) {
			return
		}
	}
	t.Errorf("violations %+v, want one at %s mentioning %q", e.Fields, path, want)
}

// TestRetainedMajors: a port that moved to a new major keeps its earlier
// major's topic, as it was, at the address it always had; the new major
// gets an address of its own; grants may read either; the source writes
// and the sinks read the current one only.
func TestRetainedMajors(t *testing.T) {
	in := cases()[0].in
	in.Spec.Ports = slices.Clone(in.Spec.Ports)
	port := &in.Spec.Ports[0]
	port.MajorVersion, port.Topic, port.BaseMajor = 2, "sales.orders.orders.v2", 1
	port.Retained = []spec.RetainedMajor{{Major: 1, Partitions: 3, RetentionMs: 86_400_000, CleanupPolicy: spec.CleanupDelete}}
	in.Grants = []Grant{{Principal: "User:marketing.reporter", Topic: "sales.orders.orders.v1", GroupPrefix: "marketing.reporter."}}
	ws := mustRender(t, in)
	mods := modulesOf(t, ws)
	if m := mods["topic__orders"]; m["name"] != "sales.orders.orders.v1" || m["partitions"] != float64(3) || m["retention_ms"] != float64(86_400_000) {
		t.Errorf("the earlier major's topic: %v", m)
	}
	if m := mods["topic__orders__v2"]; m["name"] != "sales.orders.orders.v2" || m["partitions"] != float64(6) {
		t.Errorf("the new major's topic: %v", m)
	}
	if got := mods["acl_source_topic__orders"]["resource_name"]; got != "sales.orders.orders.v2" {
		t.Errorf("the source writes %v", got)
	}
	if got := decode(t, ws)["output"].(map[string]any)["topic_names"].(map[string]any)["value"].(map[string]any)["orders"]; got != "${module.topic__orders__v2.name}" {
		t.Errorf("topic_names.orders = %v", got)
	}
	// A grant of a major the port does not keep is refused.
	in.Grants[0].Topic = "sales.orders.orders.v3"
	if _, err := Render(in); err == nil || !strings.Contains(err.Error(), `"sales.orders.orders.v3" is not an output-port topic`) {
		t.Errorf("a grant of an unknown major: %v", err)
	}
	// Once the earlier major is retired, the current one keeps its own address.
	in.Grants = nil
	port.Retained = nil
	mods = modulesOf(t, mustRender(t, in))
	if _, ok := mods["topic__orders"]; ok || mods["topic__orders__v2"]["name"] != "sales.orders.orders.v2" {
		t.Errorf("after retiring v1: %v", slices.Sorted(maps.Keys(mods)))
	}
}
