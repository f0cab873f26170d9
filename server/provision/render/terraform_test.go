package render

import (
	"encoding/json"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/meshplane/meshplane/server/sandbox/connectemu"
	"github.com/meshplane/meshplane/terraform"
	"github.com/meshplane/meshplane/terraform/tftest"
)

// TestTerraform renders every case and has the pinned terraform, with the
// real providers from the offline mirror, validate the workspace and plan it.
// Planning creations contacts neither Kafka nor Kafka Connect, so the plan
// shows exactly what the providers would be asked to create.
func TestTerraform(t *testing.T) {
	tools := tftest.Find(t)
	for _, tc := range cases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			tftest.WriteFiles(t, dir, mustRender(t, tc.in).Files)
			env := tools.Env(t, "KAFKA_SASL_PASSWORD=kafka-secret", "KAFKA_CONNECT_BASIC_AUTH_PASSWORD=connect-secret")

			tools.Init(t, dir, env, "-backend=false")
			tools.Run(t, dir, env, "validate", "-no-color")

			if tc.in.Env.Backend.Kind == BackendPostgres {
				// Plan against local state: the pg backend needs a database.
				override := `{"terraform": {"backend": {"local": {}}}}`
				tftest.WriteFiles(t, dir, map[string][]byte{"backend_override.tf.json": []byte(override)})
			}
			tools.Init(t, dir, env)
			tools.Run(t, dir, env, "plan", "-input=false", "-no-color", "-refresh=false", "-out=plan.tfplan")
			plan := showPlan(t, tools, dir, env)
			checkPlan(t, tc, plan)
		})
	}
}

type planJSON struct {
	ResourceChanges []struct {
		Address string `json:"address"`
		Type    string `json:"type"`
		Change  struct {
			Actions []string       `json:"actions"`
			After   map[string]any `json:"after"`
		} `json:"change"`
	} `json:"resource_changes"`
}

func showPlan(t *testing.T, tools tftest.Tools, dir string, env []string) planJSON {
	t.Helper()
	out := tools.Run(t, dir, env, "show", "-json", "-no-color", "plan.tfplan")
	var plan planJSON
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		t.Fatalf("decoding plan: %v", err)
	}
	return plan
}

// connectorConfig returns the planned config of the connector in module mod.
func (p planJSON) connectorConfig(t *testing.T, mod string) map[string]string {
	t.Helper()
	for _, rc := range p.ResourceChanges {
		if rc.Address == "module."+mod+".kafka-connect_connector.this" {
			out := map[string]string{}
			for k, v := range rc.Change.After["config"].(map[string]any) {
				out[k] = v.(string)
			}
			return out
		}
	}
	t.Fatalf("no connector planned in module %s", mod)
	return nil
}

func checkPlan(t *testing.T, tc testCase, plan planJSON) {
	counts := map[string]int{}
	for _, rc := range plan.ResourceChanges {
		if len(rc.Change.Actions) != 1 || rc.Change.Actions[0] != "create" {
			t.Errorf("%s: actions %v, want create", rc.Address, rc.Change.Actions)
		}
		counts[rc.Type]++
	}
	ports, sinks := len(tc.in.Spec.Ports), len(tc.in.Spec.Sinks)
	if got, want := counts["kafka-connect_connector"], 1+sinks; got != want {
		t.Errorf("%d connectors planned, want %d", got, want)
	}
	extraTopics := 1 // heartbeat
	if tc.in.Spec.Source.Kind == "mysql" {
		extraTopics++ // schema history
	}
	if got, want := counts["kafka_topic"], ports+sinks+extraTopics; got != want {
		t.Errorf("%d topics planned, want %d", got, want)
	}

	src := plan.connectorConfig(t, "source")
	d, p := tc.in.Domain, tc.in.Product
	if src["name"] != SourceConnectorName(d, p) || src["topic.prefix"] != TopicPrefix(d, p) {
		t.Errorf("source name %q, topic.prefix %q", src["name"], src["topic.prefix"])
	}
	// The worker resolves the reference; Terraform must pass it through.
	if want := "${" + tc.in.Spec.Source.SecretRef + "}"; src["database.password"] != want {
		t.Errorf("database.password = %q, want %q", src["database.password"], want)
	}
	for k, v := range tc.in.ConnectorConfig[SourceConnectorName(d, p)] {
		if src[k] != v {
			t.Errorf("source config %q = %q, want %q", k, src[k], v)
		}
	}
	for _, s := range tc.in.Spec.Sinks {
		cfg := plan.connectorConfig(t, ident("sink", s.Name))
		if cfg["errors.deadletterqueue.topic.name"] != DLQTopic(d, p, s.Name) || cfg["errors.tolerance"] != "all" {
			t.Errorf("sink %s: dead-letter settings %q, %q", s.Name, cfg["errors.tolerance"], cfg["errors.deadletterqueue.topic.name"])
		}
		checkPlannedMasks(t, s.Name, tc.in.SinkMasks[s.Name], cfg)
	}

	if tc.hostile {
		checkHostilePlan(t, tc.in, plan, src)
	}
}

// checkPlannedMasks compares a sink's planned field transforms with its
// masks: every sink unwraps the change event, then drops, then masks, and
// has no field transform at all without masks.
func checkPlannedMasks(t *testing.T, sink string, fm FieldMasks, cfg map[string]string) {
	t.Helper()
	drop := slices.Compact(slices.Sorted(slices.Values(fm.Drop)))
	mask := slices.DeleteFunc(slices.Compact(slices.Sorted(slices.Values(fm.Mask))), func(f string) bool { return slices.Contains(drop, f) })
	want := map[string]string{}
	chain := []string{"unwrap"}
	if len(drop) > 0 {
		chain = append(chain, "dropfields")
		want["transforms.dropfields.type"] = "org.apache.kafka.connect.transforms.ReplaceField$Value"
		want["transforms.dropfields.exclude"] = strings.Join(drop, ",")
	}
	if len(mask) > 0 {
		chain = append(chain, "maskfields")
		want["transforms.maskfields.type"] = "org.apache.kafka.connect.transforms.MaskField$Value"
		want["transforms.maskfields.fields"] = strings.Join(mask, ",")
		want["transforms.maskfields.predicate"] = "tombstone"
		want["transforms.maskfields.negate"] = "true"
		want["predicates"] = "tombstone"
		want["predicates.tombstone.type"] = "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone"
	}
	got := map[string]string{}
	for k, v := range cfg {
		if strings.HasPrefix(k, "transforms.dropfields.") || strings.HasPrefix(k, "transforms.maskfields.") || strings.HasPrefix(k, "predicates") {
			got[k] = v
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("sink %s: field transform settings %v, want %v", sink, got, want)
	}
	if cfg["transforms.unwrap.type"] != "io.debezium.transforms.ExtractNewRecordState" {
		t.Errorf("sink %s: transforms.unwrap.type = %q, want the change event unwrapped", sink, cfg["transforms.unwrap.type"])
	}
	if have := strings.Split(cfg["transforms"], ","); !slices.Equal(have[:min(len(have), len(chain))], chain) ||
		slices.Contains(have[len(chain):], "dropfields") || slices.Contains(have[len(chain):], "maskfields") {
		t.Errorf("sink %s: transforms %q, want it to start with %q", sink, cfg["transforms"], strings.Join(chain, ","))
	}
}

// checkHostilePlan compares what Terraform would send with the input,
// byte for byte: hostile strings arrive as data, never evaluated.
func checkHostilePlan(t *testing.T, in Input, plan planJSON, src map[string]string) {
	t.Helper()
	for key, want := range map[string]string{
		"database.hostname":  in.Spec.Source.Host,
		"database.dbname":    in.Spec.Source.Database,
		"database.user":      in.Spec.Source.Username,
		"table.include.list": `public\.t\$x`,
	} {
		if src[key] != want {
			t.Errorf("source %s = %q, want %q", key, src[key], want)
		}
	}
	if got := src["transforms.route0.regex"]; got != `risky\.input\.public\.t\$x` {
		t.Errorf("route regex = %q", got)
	}
	es := plan.connectorConfig(t, ident("sink", "docs"))
	if es["connection.url"] != in.Spec.Sinks[0].Elasticsearch.URL || es["connection.username"] != in.Spec.Sinks[0].Elasticsearch.Username ||
		es["connection.password"] != "${env:ES_PASSWORD}" {
		t.Errorf("elasticsearch connection %q %q %q", es["connection.url"], es["connection.username"], es["connection.password"])
	}
}

// TestBackendPathLiteral checks that terraform init takes the local state
// path exactly as rendered: backend settings are not evaluated.
func TestBackendPathLiteral(t *testing.T) {
	tools := tftest.Find(t)
	in := hostileInput()
	dir := t.TempDir()
	tftest.WriteFiles(t, dir, mustRender(t, in).Files)
	env := tools.Env(t)
	tools.Init(t, dir, env)
	b, err := os.ReadFile(filepath.Join(dir, ".terraform", "terraform.tfstate"))
	if err != nil {
		t.Fatal(err)
	}
	var state struct {
		Backend struct {
			Type   string         `json:"type"`
			Config map[string]any `json:"config"`
		} `json:"backend"`
	}
	if err := json.Unmarshal(b, &state); err != nil {
		t.Fatal(err)
	}
	if state.Backend.Type != "local" || state.Backend.Config["path"] != in.Env.Backend.Path {
		t.Errorf("backend %s with path %v, want local with %q", state.Backend.Type, state.Backend.Config["path"], in.Env.Backend.Path)
	}
}

// TestPlanRefusesOverride checks the modules' guard: connector config from
// a policy cannot replace settings the module manages.
func TestPlanRefusesOverride(t *testing.T) {
	tools := tftest.Find(t)
	in := cases()[0].in
	in.ConnectorConfig = map[string]map[string]string{"sales.orders.source": {"slot.name": "stolen", "connector.class": "x"}}
	dir := t.TempDir()
	tftest.WriteFiles(t, dir, mustRender(t, in).Files)
	env := tools.Env(t)
	tools.Init(t, dir, env)
	_, err := tools.Try(t, dir, env, "plan", "-input=false", "-no-color", "-refresh=false")
	if err == nil || !strings.Contains(strings.Join(strings.Fields(err.Error()), " "), "must not override settings the module manages: connector.class, slot.name.") {
		t.Fatalf("plan error = %v, want the override refused", err)
	}
}

// connectEmulator is the part of the Kafka Connect REST API the provider
// uses, recording what it is sent.
type connectEmulator struct {
	mu         sync.Mutex
	connectors map[string]map[string]string
	users      map[string]bool // basic-auth user:password pairs seen
}

func (c *connectEmulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if user, pass, ok := r.BasicAuth(); ok {
		c.users[user+":"+pass] = true
	}
	reply := func(code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(v)
	}
	rest, _ := strings.CutPrefix(r.URL.Path, "/connectors")
	name, sub, _ := strings.Cut(strings.TrimPrefix(rest, "/"), "/")
	switch {
	case r.Method == http.MethodPost && name == "":
		var req struct {
			Name   string            `json:"name"`
			Config map[string]string `json:"config"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			reply(http.StatusBadRequest, map[string]string{"message": err.Error()})
			return
		}
		c.connectors[req.Name] = req.Config
		reply(http.StatusCreated, map[string]any{"name": req.Name, "config": req.Config, "tasks": []any{}})
	case r.Method == http.MethodGet && name != "":
		cfg, ok := c.connectors[name]
		switch {
		case !ok:
			reply(http.StatusNotFound, map[string]string{"message": "not found"})
		case sub == "config":
			reply(http.StatusOK, cfg)
		default:
			reply(http.StatusOK, map[string]any{"name": name, "config": cfg, "tasks": []any{}})
		}
	case r.Method == http.MethodDelete && name != "":
		delete(c.connectors, name)
		w.WriteHeader(http.StatusNoContent)
	default:
		reply(http.StatusNotFound, map[string]string{"message": "unsupported"})
	}
}

// TestApplyHostileConnectors applies the hostile product's connectors
// against a Kafka Connect emulator: what reaches Kafka Connect is exactly
// the input, config-provider references included, and a second plan finds
// nothing to change (the provider compares configs exactly).
func TestApplyHostileConnectors(t *testing.T) {
	tools := tftest.Find(t)
	connect := &connectEmulator{connectors: map[string]map[string]string{}, users: map[string]bool{}}
	srv := httptest.NewServer(connect)
	defer srv.Close()

	in := hostileInput()
	in.Env.ConnectURL = srv.URL
	in.Env.Backend = Backend{}
	ws := connectorsOnly(t, mustRender(t, in))

	dir := t.TempDir()
	tftest.WriteFiles(t, dir, ws.Files)
	env := tools.Env(t, "KAFKA_CONNECT_BASIC_AUTH_PASSWORD=connect-secret")
	tools.Init(t, dir, env)
	tools.Run(t, dir, env, "apply", "-input=false", "-no-color", "-auto-approve")

	// The server goroutines wrote under the lock: read a copy taken under it.
	connect.mu.Lock()
	users, connectors := maps.Clone(connect.users), maps.Clone(connect.connectors)
	connect.mu.Unlock()
	if !users[in.Env.ConnectUsername+":connect-secret"] {
		t.Errorf("basic auth seen %v, want user %q with the password from KAFKA_CONNECT_BASIC_AUTH_PASSWORD", users, in.Env.ConnectUsername)
	}
	src := connectors[SourceConnectorName(in.Domain, in.Product)]
	want := map[string]string{
		"database.hostname": in.Spec.Source.Host,
		"database.dbname":   in.Spec.Source.Database,
		"database.user":     in.Spec.Source.Username,
		"database.password": "${env:DB_PASSWORD}",
	}
	maps.Copy(want, in.ConnectorConfig[SourceConnectorName(in.Domain, in.Product)])
	for k, v := range want {
		if src[k] != v {
			t.Errorf("Kafka Connect received %s = %q, want %q", k, src[k], v)
		}
	}
	es := connectors[SinkConnectorName(in.Domain, in.Product, "docs")]
	if es["connection.url"] != in.Spec.Sinks[0].Elasticsearch.URL || es["connection.password"] != "${env:ES_PASSWORD}" {
		t.Errorf("Kafka Connect received elasticsearch %q %q", es["connection.url"], es["connection.password"])
	}

	if _, err := tools.Try(t, dir, env, "plan", "-input=false", "-no-color", "-detailed-exitcode"); err != nil {
		t.Errorf("plan after apply is not empty: %v", err)
	}
}

// connectorsOnly keeps a workspace's connectors: topics and ACLs would need a
// broker.
func connectorsOnly(t *testing.T, ws Workspace) Workspace {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(ws.Files[MainFile], &doc); err != nil {
		t.Fatal(err)
	}
	modules := doc["module"].(map[string]any)
	for id, m := range modules {
		if id != "source" && !strings.HasPrefix(id, "sink__") {
			delete(modules, id)
			continue
		}
		delete(m.(map[string]any), "depends_on")
	}
	delete(doc, "output")
	main, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	files := maps.Clone(ws.Files)
	files[MainFile] = main
	return Workspace{Files: files}
}

// TestApplySinkMasksToConnectEmulator applies the connectors of the golden
// case with per-sink field transforms to the sandbox's Kafka Connect
// emulator, which validates each config (transform classes and their
// settings included) as a worker would, and then plans again: nothing
// changes.
func TestApplySinkMasksToConnectEmulator(t *testing.T) {
	tools := tftest.Find(t)
	emu, err := connectemu.New(connectemu.Config{Logger: slog.New(slog.DiscardHandler), WorkerID: "127.0.0.1:8083"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu.Handler())
	defer srv.Close()

	in := sinkMasksCase(t)
	in.Env.ConnectURL = srv.URL
	dir := t.TempDir()
	tftest.WriteFiles(t, dir, connectorsOnly(t, mustRender(t, in)).Files)
	env := tools.Env(t)
	tools.Init(t, dir, env)
	tools.Run(t, dir, env, "apply", "-input=false", "-no-color", "-auto-approve")
	want := []string{
		SinkConnectorName(in.Domain, in.Product, "replica"), SinkConnectorName(in.Domain, in.Product, "search"),
		SourceConnectorName(in.Domain, in.Product), SinkConnectorName(in.Domain, in.Product, "warehouse"),
	}
	if got := emu.Names(); !slices.Equal(got, want) {
		t.Errorf("the emulator holds %v, want %v", got, want)
	}
	if _, err := tools.Try(t, dir, env, "plan", "-input=false", "-no-color", "-detailed-exitcode"); err != nil {
		t.Errorf("plan after apply is not empty: %v", err)
	}
}

// TestSinkMaskModuleGuards checks what the sink modules refuse about field
// transforms: malformed or repeated names, a field both dropped and masked,
// the S3 sink's partitioning field; and the chain of transforms each sink
// plans when they are valid, the JDBC sink's included.
func TestSinkMaskModuleGuards(t *testing.T) {
	tools := tftest.Find(t)
	base := map[string]any{"name": "s.p.x", "topics": []string{"s.p.o.v1"}, "dlq_topic": "s.p.x.dlq"}
	args := map[string]map[string]any{
		"sink-bigquery":      {"project": "acme-analytics", "default_dataset": "sales", "keyfile": "$${vault:gcp/bq:key}"},
		"sink-s3":            {"bucket": "acme-lake", "region": "eu-west-1"},
		"sink-elasticsearch": {"connection_url": "https://search.internal:9200", "key_field": "id", "index_prefix": "crm"},
		"sink-jdbc": {"connection_url": "jdbc:postgresql://dwh:5432/dwh", "connection_username": "loader",
			"connection_password": "$${vault:db/dwh:password}"},
	}
	for _, tc := range []struct {
		name, kind string
		drop, mask []string
		want       string // "" when valid
		chain      string // the planned transforms when valid
	}{
		{"elasticsearch keyed with both", "sink-elasticsearch", []string{"email"}, []string{"phone"}, "", "unwrap,dropfields,maskfields,key,index"},
		{"bigquery mask only", "sink-bigquery", nil, []string{"phone", "age"}, "", "unwrap,maskfields"},
		{"s3 drop only", "sink-s3", []string{"email"}, nil, "", "unwrap,dropfields"},
		{"field name with a comma", "sink-elasticsearch", []string{"email,phone"}, nil, "Fields to drop must be field names", ""},
		{"field name starting with a digit", "sink-s3", nil, []string{"1st_line"}, "Fields to mask must be field names", ""},
		{"field dropped twice", "sink-bigquery", []string{"email", "email"}, nil, "Fields to drop must not be listed twice", ""},
		{"field masked twice", "sink-elasticsearch", nil, []string{"phone", "phone"}, "Fields to mask must not be listed twice", ""},
		{"field dropped and masked", "sink-bigquery", []string{"email", "phone"}, []string{"phone"}, "A field is either dropped or masked, not both: phone.", ""},
		{"s3 partitioning field masked", "sink-s3", nil, []string{"__source_ts_ms"}, "The timestamp field __source_ts_ms partitions the objects", ""},
		{"jdbc without field transforms", "sink-jdbc", nil, nil, "", "unwrap"},
		{"jdbc drop", "sink-jdbc", []string{"email"}, nil, "", "unwrap,dropfields"},
		{"jdbc mask", "sink-jdbc", nil, []string{"phone"}, "", "unwrap,maskfields"},
		{"jdbc with both", "sink-jdbc", []string{"email", "national_id"}, []string{"phone"}, "", "unwrap,dropfields,maskfields"},
		{"jdbc field name with a comma", "sink-jdbc", nil, []string{"phone,email"}, "Fields to mask must be field names", ""},
		{"jdbc field dropped twice", "sink-jdbc", []string{"email", "email"}, nil, "Fields to drop must not be listed twice", ""},
		{"jdbc field dropped and masked", "sink-jdbc", []string{"email"}, []string{"email", "phone"}, "A field is either dropped or masked, not both: email.", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			files, err := terraform.ModuleFiles(tc.kind)
			if err != nil {
				t.Fatal(err)
			}
			all := map[string][]byte{}
			for name, b := range files {
				all["m/"+name] = b
			}
			module := map[string]any{"source": "./m"}
			maps.Copy(module, base)
			maps.Copy(module, args[tc.kind])
			if tc.drop != nil {
				module["drop_fields"] = tc.drop
			}
			if tc.mask != nil {
				module["mask_fields"] = tc.mask
			}
			root, err := json.Marshal(map[string]any{
				"terraform": map[string]any{"required_providers": map[string]any{
					"kafka-connect": map[string]any{"source": "mongey/kafka-connect", "version": ConnectProviderVersion},
				}},
				"provider": map[string]any{"kafka-connect": map[string]any{"url": "http://127.0.0.1:1"}},
				"module":   map[string]any{"m": module},
			})
			if err != nil {
				t.Fatal(err)
			}
			all[MainFile] = root
			dir := t.TempDir()
			tftest.WriteFiles(t, dir, all)
			env := tools.Env(t)
			tools.Init(t, dir, env)
			// Variable validation runs in validate, preconditions in plan.
			_, err = tools.Try(t, dir, env, "validate", "-no-color")
			if err == nil {
				_, err = tools.Try(t, dir, env, "plan", "-input=false", "-no-color", "-refresh=false", "-out=plan.tfplan")
			}
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused valid arguments: %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("accepted %s", tc.name)
			case tc.want != "" && !strings.Contains(strings.Join(strings.Fields(err.Error()), " "), tc.want):
				t.Fatalf("error does not mention %q: %v", tc.want, err)
			case tc.want == "":
				cfg := showPlan(t, tools, dir, env).connectorConfig(t, "m")
				if got := cfg["transforms"]; got != tc.chain {
					t.Errorf("transforms = %q, want %q", got, tc.chain)
				}
				if tc.kind != "sink-jdbc" {
					return
				}
				// The JDBC sink's settings in full (its lists are sorted
				// here, as render passes them); it deletes rows on
				// tombstones, which unwrap turns deletes into.
				checkPlannedMasks(t, tc.name, FieldMasks{Drop: tc.drop, Mask: tc.mask}, cfg)
				if got := cfg["transforms.unwrap.delete.tombstone.handling.mode"]; got != "delete-to-tombstone" {
					t.Errorf("transforms.unwrap.delete.tombstone.handling.mode = %q, want tombstone", got)
				}
			}
		})
	}
}
