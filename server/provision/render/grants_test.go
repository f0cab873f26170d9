package render

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/meshplane/meshplane/server/errs"
	"github.com/meshplane/meshplane/server/spec"
	"github.com/meshplane/meshplane/terraform"
	"github.com/meshplane/meshplane/terraform/tftest"
)

// grantsCase is a product two teams consume: marketing's reporter reads both
// ports through one group prefix, finance's ledger reads one.
func grantsCase() Input {
	return Input{
		Domain: "sales", Product: "orders", Env: sandboxEnv(),
		Spec: normalized("sales", "orders", spec.Product{
			Description: "Orders and the customers who placed them.",
			Owner:       "sales-team@example.com",
			Source: spec.Source{
				Kind: spec.SourcePostgres, Host: "orders-db.internal", Port: 5432, Database: "shop",
				Tables: []string{"public.orders", "public.customers"}, Username: "debezium", SecretRef: "env:ORDERS_DB_PASSWORD",
			},
			Ports: []spec.OutputPort{
				{Name: "orders", Table: "public.orders", Partitions: 6, CleanupPolicy: spec.CleanupDelete,
					Fields: []spec.Field{{Name: "id", Type: spec.TypeInt64, Classification: spec.ClassNone}}},
				{Name: "customers", Table: "public.customers", Partitions: 3, CleanupPolicy: spec.CleanupCompact,
					Fields: []spec.Field{{Name: "id", Type: spec.TypeInt64, Classification: spec.ClassNone}}},
			},
		}),
		Grants: []Grant{
			{ID: "g-1", Principal: "User:marketing.reporter", Topic: "sales.orders.orders.v1", GroupPrefix: "marketing.reporter."},
			{ID: "g-2", Principal: "User:marketing.reporter", Topic: "sales.orders.customers.v1", GroupPrefix: "marketing.reporter."},
			{ID: "g-3", Principal: "User:finance.ledger", Topic: "sales.orders.orders.v1", GroupPrefix: "finance.ledger.orders-"},
		},
	}
}

// TestGoldenGrants renders the grants case to terraform/testdata/grants,
// like TestGolden the other cases (go test ./server/provision/render -update).
func TestGoldenGrants(t *testing.T) {
	in := grantsCase()
	var v errs.Violations
	in.Spec.Validate(&v, "spec")
	if err := v.Err(); err != nil {
		t.Fatalf("the fixture is not a valid product: %v", err)
	}
	got := mustRender(t, in).Files[MainFile]
	path := goldenPath("grants")
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
	for range 20 {
		if again := mustRender(t, in).Files[MainFile]; !bytes.Equal(again, got) {
			t.Fatal("two renderings differ")
		}
	}
}

func TestGrantACLs(t *testing.T) {
	acls := GrantACLs(grantsCase().Grants)
	want := []string{
		"User:finance.ledger|Group|Prefixed|finance.ledger.orders-|Read",
		"User:finance.ledger|Topic|Literal|sales.orders.orders.v1|Describe",
		"User:finance.ledger|Topic|Literal|sales.orders.orders.v1|Read",
		// Two grants of one consumer share the group ACL.
		"User:marketing.reporter|Group|Prefixed|marketing.reporter.|Read",
		"User:marketing.reporter|Topic|Literal|sales.orders.customers.v1|Describe",
		"User:marketing.reporter|Topic|Literal|sales.orders.customers.v1|Read",
		"User:marketing.reporter|Topic|Literal|sales.orders.orders.v1|Describe",
		"User:marketing.reporter|Topic|Literal|sales.orders.orders.v1|Read",
	}
	if got := slices.Sorted(maps.Keys(acls)); !slices.Equal(got, want) {
		t.Fatalf("keys = %q, want %q", got, want)
	}
	for key, a := range acls {
		if a.Key() != key {
			t.Errorf("ACL %+v under key %q has key %q", a, key, a.Key())
		}
	}
	if got := acls["User:marketing.reporter|Group|Prefixed|marketing.reporter.|Read"]; got != (ACL{
		Principal: "User:marketing.reporter", ResourceType: "Group", ResourceName: "marketing.reporter.", PatternType: "Prefixed", Operation: "Read",
	}) {
		t.Errorf("group ACL = %+v", got)
	}
	if got := (ACL{Principal: "User:marketing.reporter", ResourceType: "Topic", ResourceName: "sales.orders.customers.v1", PatternType: "Literal", Operation: "Read"}).Key(); got != "User:marketing.reporter|Topic|Literal|sales.orders.customers.v1|Read" {
		t.Errorf("Key() = %q", got)
	}
	// A repeated grant adds nothing; the grant's id is not part of any key.
	again := append(grantsCase().Grants, Grant{ID: "g-9", Principal: "User:finance.ledger", Topic: "sales.orders.orders.v1", GroupPrefix: "finance.ledger.orders-"})
	if !maps.Equal(GrantACLs(again), acls) {
		t.Error("a repeated grant with another id changed the ACLs")
	}
	if len(GrantACLs(nil)) != 0 {
		t.Error("no grants gave ACLs")
	}
}

// aclSetOf returns the consumer ACL module's acls argument as rendered.
func aclSetOf(t *testing.T, in Input) map[string]any {
	t.Helper()
	m, ok := modulesOf(t, mustRender(t, in))[ConsumerACLsModule]
	if !ok {
		t.Fatalf("no module %s", ConsumerACLsModule)
	}
	if m["source"] != "./modules/kafka-acl-set" {
		t.Errorf("source = %v", m["source"])
	}
	if len(m) != 2 {
		t.Errorf("module arguments %v, want source and acls only", slices.Sorted(maps.Keys(m)))
	}
	return m["acls"].(map[string]any)
}

func TestGrantsRendered(t *testing.T) {
	in := grantsCase()
	ws := mustRender(t, in)
	if _, ok := ws.Files["modules/kafka-acl-set/main.tf"]; !ok {
		t.Error("the workspace lacks the kafka-acl-set module")
	}
	acls := aclSetOf(t, in)
	want := map[string]any{}
	for key, a := range GrantACLs(in.Grants) {
		want[key] = map[string]any{
			"principal": a.Principal, "resource_type": a.ResourceType, "resource_name": a.ResourceName,
			"pattern_type": a.PatternType, "operation": a.Operation,
		}
	}
	if !equalJSON(acls, want) {
		t.Errorf("acls = %v, want %v", acls, want)
	}
}

// TestGrantKeysStable checks that adding or removing one consumer's grant
// leaves every other ACL's key and value exactly as it was, whatever the
// grants' order.
func TestGrantKeysStable(t *testing.T) {
	base := grantsCase()
	before := aclSetOf(t, base)

	more := grantsCase()
	more.Grants = append([]Grant{{ID: "g-4", Principal: "User:ops.audit", Topic: "sales.orders.customers.v1", GroupPrefix: "ops.audit."}}, more.Grants...)
	after := aclSetOf(t, more)
	added := 0
	for key, v := range after {
		old, ok := before[key]
		if !ok {
			added++
			if !strings.HasPrefix(key, "User:ops.audit|") {
				t.Errorf("new key %q", key)
			}
			continue
		}
		if !equalJSON(old, v) {
			t.Errorf("%s changed from %v to %v", key, old, v)
		}
	}
	if added != 3 || len(after) != len(before)+3 {
		t.Errorf("adding one grant added %d ACLs (%d → %d), want 3", added, len(before), len(after))
	}

	fewer := grantsCase()
	fewer.Grants = slices.Delete(slices.Clone(fewer.Grants), 2, 3) // finance's
	left := aclSetOf(t, fewer)
	for key, v := range left {
		if !equalJSON(before[key], v) {
			t.Errorf("%s changed from %v to %v", key, before[key], v)
		}
	}
	if len(left) != len(before)-3 {
		t.Errorf("removing one grant left %d of %d ACLs, want 3 fewer", len(left), len(before))
	}

	reversed := grantsCase()
	slices.Reverse(reversed.Grants)
	if !bytes.Equal(mustRender(t, reversed).Files[MainFile], mustRender(t, base).Files[MainFile]) {
		t.Error("the grants' order changed the workspace")
	}
}

// TestNoGrantsUnchanged checks that a product without grants renders as it
// did before grants existed: no module block and no module files.
func TestNoGrantsUnchanged(t *testing.T) {
	for _, tc := range cases() {
		without := mustRender(t, tc.in)
		tc.in.Grants = []Grant{}
		empty := mustRender(t, tc.in)
		if !maps.EqualFunc(without.Files, empty.Files, bytes.Equal) {
			t.Errorf("%s: an empty grant list changed the workspace", tc.name)
		}
		want, err := os.ReadFile(goldenPath(tc.name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(empty.Files[MainFile], want) {
			t.Errorf("%s: differs from its golden file", tc.name)
		}
		for name := range empty.Files {
			if strings.HasPrefix(name, "modules/kafka-acl-set/") {
				t.Errorf("%s: %s rendered without grants", tc.name, name)
			}
		}
	}
}

func TestGrantsRefused(t *testing.T) {
	long := "marketing.reporter." + strings.Repeat("x", 231)
	for _, tc := range []struct {
		name  string
		grant Grant
		path  string
		want  string
	}{
		{"topic of another product", Grant{ID: "g-7", Principal: "User:marketing.reporter", Topic: "sales.payments.payments.v1", GroupPrefix: "marketing.reporter."},
			"grants[3].topic", `"sales.payments.payments.v1" is not an output-port topic of sales.orders (grant "g-7"): want one of sales.orders.customers.v1, sales.orders.orders.v1`},
		{"heartbeat topic", Grant{Principal: "User:marketing.reporter", Topic: HeartbeatTopic("sales", "orders"), GroupPrefix: "marketing.reporter."},
			"grants[3].topic", "is not an output-port topic"},
		{"no topic", Grant{Principal: "User:marketing.reporter", GroupPrefix: "marketing.reporter."}, "grants[3].topic", "is not an output-port topic"},
		{"connector principal", Grant{Principal: Principal(SinkConnectorName("sales", "orders", "warehouse")), Topic: "sales.orders.orders.v1", GroupPrefix: "sales.orders.warehouse."},
			"grants[3].principal", "is not a consumer principal"},
		{"principal without type", Grant{Principal: "marketing.reporter", Topic: "sales.orders.orders.v1", GroupPrefix: "marketing.reporter."}, "grants[3].principal", "is not a consumer principal"},
		{"principal with template", Grant{Principal: "User:${x}.y", Topic: "sales.orders.orders.v1", GroupPrefix: "marketing.reporter."}, "grants[3].principal", "is not a consumer principal"},
		{"principal upper case", Grant{Principal: "User:Marketing.reporter", Topic: "sales.orders.orders.v1", GroupPrefix: "Marketing.reporter."}, "grants[3].principal", "is not a consumer principal"},
		{"another team's groups", Grant{Principal: "User:marketing.reporter", Topic: "sales.orders.orders.v1", GroupPrefix: "finance.ledger."},
			"grants[3].groupPrefix", `"finance.ledger." must start with "marketing.reporter."`},
		{"Connect's groups", Grant{Principal: "User:marketing.reporter", Topic: "sales.orders.orders.v1", GroupPrefix: "connect-"}, "grants[3].groupPrefix", "must start with"},
		{"every group", Grant{Principal: "User:marketing.reporter", Topic: "sales.orders.orders.v1", GroupPrefix: ""}, "grants[3].groupPrefix", "must be letters, digits"},
		{"prefix of the name only", Grant{Principal: "User:marketing.reporter", Topic: "sales.orders.orders.v1", GroupPrefix: "marketing.reporter"}, "grants[3].groupPrefix", "must start with"},
		{"longer principal name", Grant{Principal: "User:marketing.reporter", Topic: "sales.orders.orders.v1", GroupPrefix: "marketing.reporter-2."}, "grants[3].groupPrefix", "must start with"},
		{"group with template", Grant{Principal: "User:marketing.reporter", Topic: "sales.orders.orders.v1", GroupPrefix: "marketing.reporter.${x}"}, "grants[3].groupPrefix", "must be letters, digits"},
		{"group with separator", Grant{Principal: "User:marketing.reporter", Topic: "sales.orders.orders.v1", GroupPrefix: "marketing.reporter.|x"}, "grants[3].groupPrefix", "must be letters, digits"},
		{"group too long", Grant{Principal: "User:marketing.reporter", Topic: "sales.orders.orders.v1", GroupPrefix: long}, "grants[3].groupPrefix", "is 250 characters long, more than 249"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := grantsCase()
			in.Grants = append(in.Grants, tc.grant)
			checkViolation(t, in, tc.path, tc.want)
		})
	}

	ok := grantsCase()
	ok.Grants = append(ok.Grants, Grant{Principal: "User:marketing.reporter", Topic: "sales.orders.orders.v1", GroupPrefix: "marketing.reporter." + strings.Repeat("x", 230)})
	if _, err := Render(ok); err != nil {
		t.Errorf("a 249-character group prefix was refused: %v", err)
	}

	// Every bad grant is reported, each at its own path.
	in := grantsCase()
	in.Grants = []Grant{
		{Principal: "User:ab.cd", Topic: "nope", GroupPrefix: "ab.cd."},
		{Principal: "bad", Topic: "sales.orders.orders.v1", GroupPrefix: "a.b."},
	}
	_, err := Render(in)
	e := errs.As(err)
	if e == nil || e.Kind != errs.KindInvalidArgument {
		t.Fatalf("Render error = %v, want an invalid argument", err)
	}
	var paths []string
	for _, f := range e.Fields {
		paths = append(paths, f.Path)
	}
	if want := []string{"grants[0].topic", "grants[1].principal"}; !slices.Equal(paths, want) {
		t.Errorf("violations at %q, want %q", paths, want)
	}
}

func TestConsumerACLAddress(t *testing.T) {
	for key, want := range map[string]string{
		"User:marketing.reporter|Topic|Literal|sales.orders.customers.v1|Read": `module.consumer_acls.kafka_acl.this["User:marketing.reporter|Topic|Literal|sales.orders.customers.v1|Read"]`,
		`a"b\c`:             `module.consumer_acls.kafka_acl.this["a\"b\\c"]`,
		"${x}%{y}$z%":       `module.consumer_acls.kafka_acl.this["$${x}%%{y}$z%"]`,
		"l\n\t\r\x01\u00a0": `module.consumer_acls.kafka_acl.this["l\n\t\r\u0001\u00a0"]`,
	} {
		if got := ConsumerACLAddress(key); got != want {
			t.Errorf("ConsumerACLAddress(%q) = %s, want %s", key, got, want)
		}
	}
}

// TestGrantsTerraform validates and plans the grants case with the pinned
// terraform: one kafka_acl per key, at ConsumerACLAddress, allowing exactly
// the ACL from any host.
func TestGrantsTerraform(t *testing.T) {
	tools := tftest.Find(t)
	in := grantsCase()
	plan := planWorkspace(t, tools, mustRender(t, in))
	want := GrantACLs(in.Grants)
	got := map[string]bool{}
	for _, rc := range plan.ResourceChanges {
		if !strings.HasPrefix(rc.Address, "module."+ConsumerACLsModule+".") {
			continue
		}
		got[rc.Address] = true
		var acl *ACL
		for key, a := range want {
			if ConsumerACLAddress(key) == rc.Address {
				acl = &a
			}
		}
		if acl == nil {
			t.Errorf("unexpected %s", rc.Address)
			continue
		}
		after := rc.Change.After
		if rc.Type != "kafka_acl" || !slices.Equal(rc.Change.Actions, []string{"create"}) ||
			after["acl_principal"] != acl.Principal || after["resource_type"] != acl.ResourceType ||
			after["resource_name"] != acl.ResourceName || after["resource_pattern_type_filter"] != acl.PatternType ||
			after["acl_operation"] != acl.Operation || after["acl_host"] != "*" || after["acl_permission_type"] != "Allow" {
			t.Errorf("%s: %s %v %v", rc.Address, rc.Type, rc.Change.Actions, after)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d consumer ACLs planned, want %d", len(got), len(want))
	}
}

// TestConsumerACLAddressMatchesTerraform feeds keys holding HCL's
// metacharacters to the module, bypassing Render's validation: the rendered
// keys reach terraform as data, and terraform's addresses are exactly
// ConsumerACLAddress.
func TestConsumerACLAddressMatchesTerraform(t *testing.T) {
	tools := tftest.Find(t)
	in := grantsCase()
	in.Grants = nil
	ws := mustRender(t, in)
	hostile := []ACL{
		{Principal: "User:a.b", ResourceType: "Topic", ResourceName: `t"${x}%{ if true }y%{ endif }\z`, PatternType: "Literal", Operation: "Read"},
		{Principal: "User:a.b", ResourceType: "Group", ResourceName: "g$${y}%%{z}$", PatternType: "Prefixed", Operation: "Read"},
	}
	acls := map[string]any{}
	for _, a := range hostile {
		acls[a.Key()] = map[string]any{
			"principal": a.Principal, "resource_type": a.ResourceType, "resource_name": a.ResourceName,
			"pattern_type": a.PatternType, "operation": a.Operation,
		}
	}
	var doc map[string]any
	if err := json.Unmarshal(ws.Files[MainFile], &doc); err != nil {
		t.Fatal(err)
	}
	block, err := literal(map[string]any{"source": static{"./modules/kafka-acl-set"}, "acls": acls}, true)
	if err != nil {
		t.Fatal(err)
	}
	doc["module"].(map[string]any)[ConsumerACLsModule] = block
	main, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range hostile {
		checkTemplate(t, "acls key", escapeTemplate(a.Key()))
	}
	files := maps.Clone(ws.Files)
	files[MainFile] = main
	set, err := terraform.ModuleFiles("kafka-acl-set")
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range set {
		files["modules/kafka-acl-set/"+name] = b
	}
	plan := planWorkspace(t, tools, Workspace{Files: files})
	for _, a := range hostile {
		found := false
		for _, rc := range plan.ResourceChanges {
			if rc.Address == ConsumerACLAddress(a.Key()) {
				found = true
				if rc.Change.After["resource_name"] != a.ResourceName {
					t.Errorf("%s: resource_name %q, want %q", rc.Address, rc.Change.After["resource_name"], a.ResourceName)
				}
			}
		}
		if !found {
			var addrs []string
			for _, rc := range plan.ResourceChanges {
				addrs = append(addrs, rc.Address)
			}
			t.Errorf("no planned %s among %q", ConsumerACLAddress(a.Key()), addrs)
		}
	}
}

// planWorkspace validates a workspace and plans its creation without
// contacting Kafka or Kafka Connect.
func planWorkspace(t *testing.T, tools tftest.Tools, ws Workspace) planJSON {
	t.Helper()
	dir := t.TempDir()
	tftest.WriteFiles(t, dir, ws.Files)
	env := tools.Env(t)
	tools.Init(t, dir, env)
	tools.Run(t, dir, env, "validate", "-no-color")
	tools.Run(t, dir, env, "plan", "-input=false", "-no-color", "-refresh=false", "-out=plan.tfplan")
	return showPlan(t, tools, dir, env)
}
