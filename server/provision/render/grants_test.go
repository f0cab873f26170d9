package render

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/meshplane/meshplane/server/errs"
	"github.com/meshplane/meshplane/server/spec"
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
				Tables: []string{"public.orders", "public.customers"}, Username: "debezium", SecretRef: "env:SALES__ORDERS_DB_PASSWORD",
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

// consumerBlock is the rendered kafka_acl block of one consumer but for its
// for_each: every instance is an ACL allowed from any host, taken from the
// instance's value.
var consumerBlock = map[string]any{
	"acl_principal":                "${each.value.principal}",
	"acl_host":                     "*",
	"acl_operation":                "${each.value.operation}",
	"acl_permission_type":          "Allow",
	"resource_name":                "${each.value.resource_name}",
	"resource_type":                "${each.value.resource_type}",
	"resource_pattern_type_filter": "${each.value.pattern_type}",
}

// consumerResourcesOf returns the rendered consumer ACL resource blocks by
// name, checking that every resource is a kafka_acl block named
// ConsumerResource of the one principal all its ACLs share.
func consumerResourcesOf(t *testing.T, in Input) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	resources, _ := decode(t, mustRender(t, in))["resource"].(map[string]any)
	for typ := range resources {
		if typ != "kafka_acl" {
			t.Errorf("resource type %s rendered", typ)
		}
	}
	blocks, _ := resources["kafka_acl"].(map[string]any)
	for name, b := range blocks {
		block := b.(map[string]any)
		rest := maps.Clone(block)
		delete(rest, "for_each")
		if !equalJSON(rest, consumerBlock) {
			t.Errorf("kafka_acl.%s = %v, want %v and for_each", name, rest, consumerBlock)
		}
		acls, _ := block["for_each"].(map[string]any)
		if len(acls) == 0 {
			t.Errorf("kafka_acl.%s holds no ACLs", name)
		}
		for key := range acls {
			principal, _, _ := strings.Cut(key, "|")
			if want := ConsumerResource(principal); name != want {
				t.Errorf("%s is in kafka_acl.%s, want kafka_acl.%s", key, name, want)
			}
		}
		out[name] = block
	}
	return out
}

// consumerACLsOf returns the rendered consumer ACLs of all resources by key.
func consumerACLsOf(t *testing.T, in Input) map[string]any {
	t.Helper()
	out := map[string]any{}
	for _, block := range consumerResourcesOf(t, in) {
		maps.Copy(out, block["for_each"].(map[string]any))
	}
	return out
}

func TestConsumerResource(t *testing.T) {
	// The names are part of every consumer ACL's address in the state:
	// changing how they are derived would replace every applied ACL.
	for principal, want := range map[string]string{
		"User:marketing.reporter": "consumer_5e6d1c5d1e7bc498",
		"User:finance.ledger":     "consumer_1eba8c79210b189e",
	} {
		if got := ConsumerResource(principal); got != want {
			t.Errorf("ConsumerResource(%q) = %s, want %s", principal, got, want)
		}
	}
	names := regexp.MustCompile(`^consumer_[0-9a-f]{16}$`)
	for _, principal := range []string{"", "User:a.b", `User:"${x}%{y}\`, "User:\n\u00a0"} {
		if got := ConsumerResource(principal); !names.MatchString(got) || !validIdent(got) {
			t.Errorf("ConsumerResource(%q) = %q, not a plain resource name", principal, got)
		}
	}
}

// TestGrantsRendered checks that grants render as one kafka_acl resource
// per consumer holding exactly the grants' ACLs, and as nothing else: the
// workspace is otherwise the one rendered without grants.
func TestGrantsRendered(t *testing.T) {
	in := grantsCase()
	blocks := consumerResourcesOf(t, in)
	if len(blocks) != 2 {
		t.Errorf("consumer resources %v, want one for each of the 2 consumers", slices.Sorted(maps.Keys(blocks)))
	}
	acls := consumerACLsOf(t, in)
	want := map[string]any{}
	for key, a := range GrantACLs(in.Grants) {
		want[key] = map[string]any{
			"principal": a.Principal, "resource_type": a.ResourceType, "resource_name": a.ResourceName,
			"pattern_type": a.PatternType, "operation": a.Operation,
		}
	}
	if !equalJSON(acls, want) {
		t.Errorf("for_each = %v, want %v", acls, want)
	}

	ws := mustRender(t, in)
	without := in
	without.Grants = nil
	bare := mustRender(t, without)
	if got, want := slices.Sorted(maps.Keys(ws.Files)), slices.Sorted(maps.Keys(bare.Files)); !slices.Equal(got, want) {
		t.Errorf("files %q, want %q as without grants", got, want)
	}
	doc, bareDoc := decode(t, ws), decode(t, bare)
	delete(doc, "resource")
	if !equalJSON(doc, bareDoc) {
		t.Error("grants changed the workspace outside its resource blocks")
	}
}

// TestGrantKeysStable checks that adding or removing one consumer's grant
// leaves every other ACL's key and value, and every other consumer's
// resource block, exactly as it was, whatever the grants' order.
func TestGrantKeysStable(t *testing.T) {
	base := grantsCase()
	before := consumerACLsOf(t, base)
	beforeBlocks := consumerResourcesOf(t, base)

	more := grantsCase()
	more.Grants = append([]Grant{{ID: "g-4", Principal: "User:ops.audit", Topic: "sales.orders.customers.v1", GroupPrefix: "ops.audit."}}, more.Grants...)
	after := consumerACLsOf(t, more)
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
	checkOtherResources(t, beforeBlocks, consumerResourcesOf(t, more), ConsumerResource("User:ops.audit"))

	fewer := grantsCase()
	fewer.Grants = slices.Delete(slices.Clone(fewer.Grants), 2, 3) // finance's
	left := consumerACLsOf(t, fewer)
	for key, v := range left {
		if !equalJSON(before[key], v) {
			t.Errorf("%s changed from %v to %v", key, before[key], v)
		}
	}
	if len(left) != len(before)-3 {
		t.Errorf("removing one grant left %d of %d ACLs, want 3 fewer", len(left), len(before))
	}
	checkOtherResources(t, beforeBlocks, consumerResourcesOf(t, fewer), ConsumerResource("User:finance.ledger"))

	reversed := grantsCase()
	slices.Reverse(reversed.Grants)
	if !bytes.Equal(mustRender(t, reversed).Files[MainFile], mustRender(t, base).Files[MainFile]) {
		t.Error("the grants' order changed the workspace")
	}
}

// checkOtherResources checks that the consumer resource blocks before and
// after one consumer's grants changed are the same but for that consumer's
// block, changed: terraform then plans nothing for anyone else.
func checkOtherResources(t *testing.T, before, after map[string]map[string]any, changed string) {
	t.Helper()
	if equalJSON(before[changed], after[changed]) {
		t.Errorf("kafka_acl.%s did not change", changed)
	}
	for _, name := range slices.Sorted(maps.Keys(before)) {
		if name != changed && !equalJSON(before[name], after[name]) {
			t.Errorf("kafka_acl.%s changed from %v to %v", name, before[name], after[name])
		}
	}
	for name := range after {
		if _, ok := before[name]; !ok && name != changed {
			t.Errorf("new kafka_acl.%s", name)
		}
	}
}

// TestNoGrantsUnchanged checks that a product without grants renders as it
// did before grants existed: no resource block.
func TestNoGrantsUnchanged(t *testing.T) {
	for _, tc := range cases() {
		if len(tc.in.Grants) > 0 {
			continue
		}
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
		if _, ok := decode(t, empty)["resource"]; ok {
			t.Errorf("%s: resource blocks rendered without grants", tc.name)
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
		"User:marketing.reporter|Topic|Literal|sales.orders.customers.v1|Read": `kafka_acl.consumer_5e6d1c5d1e7bc498["User:marketing.reporter|Topic|Literal|sales.orders.customers.v1|Read"]`,
		"User:finance.ledger|Group|Prefixed|finance.ledger.orders-|Read":       `kafka_acl.consumer_1eba8c79210b189e["User:finance.ledger|Group|Prefixed|finance.ledger.orders-|Read"]`,
		`User:a.b|Topic|Literal|a"b\c|Read`:                                    `kafka_acl.consumer_10aa37f7b1a02a09["User:a.b|Topic|Literal|a\"b\\c|Read"]`,
		"User:a.b|Topic|Literal|${x}%{y}$z%|Read":                              `kafka_acl.consumer_10aa37f7b1a02a09["User:a.b|Topic|Literal|$${x}%%{y}$z%|Read"]`,
		"User:a.b|Topic|Literal|l\n\t\r\x01\u00a0|Read":                        `kafka_acl.consumer_10aa37f7b1a02a09["User:a.b|Topic|Literal|l\n\t\r\u0001\u00a0|Read"]`,
	} {
		if got := ConsumerACLAddress(key); got != want {
			t.Errorf("ConsumerACLAddress(%q) = %s, want %s", key, got, want)
		}
	}
	// The resource is the principal's, whatever the rest of the key holds.
	for key := range GrantACLs(grantsCase().Grants) {
		principal, _, _ := strings.Cut(key, "|")
		if got, prefix := ConsumerACLAddress(key), "kafka_acl."+ConsumerResource(principal)+"["; !strings.HasPrefix(got, prefix) {
			t.Errorf("ConsumerACLAddress(%q) = %s, want it in %s", key, got, prefix)
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
		if !strings.HasPrefix(rc.Address, "kafka_acl.consumer_") {
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
// metacharacters, in resource names and in a principal, to the rendered
// consumer block, one per principal as Render names them, bypassing
// Render's validation: the rendered keys reach terraform as data, and
// terraform's addresses are exactly ConsumerACLAddress.
func TestConsumerACLAddressMatchesTerraform(t *testing.T) {
	tools := tftest.Find(t)
	in := grantsCase()
	ws := mustRender(t, in)
	doc := decode(t, ws)
	blocks := doc["resource"].(map[string]any)["kafka_acl"].(map[string]any)
	rendered := blocks[ConsumerResource("User:marketing.reporter")].(map[string]any)
	clear(blocks)
	hostile := []ACL{
		{Principal: "User:a.b", ResourceType: "Topic", ResourceName: `t"${x}%{ if true }y%{ endif }\z`, PatternType: "Literal", Operation: "Read"},
		{Principal: "User:a.b", ResourceType: "Group", ResourceName: "g$${y}%%{z}$", PatternType: "Prefixed", Operation: "Read"},
		{Principal: `User:"${p}%{q}\`, ResourceType: "Topic", ResourceName: "t", PatternType: "Literal", Operation: "Describe"},
	}
	byResource := map[string]map[string]any{}
	for _, a := range hostile {
		name := ConsumerResource(a.Principal)
		if byResource[name] == nil {
			byResource[name] = map[string]any{}
		}
		byResource[name][a.Key()] = map[string]any{
			"principal": a.Principal, "resource_type": a.ResourceType, "resource_name": a.ResourceName,
			"pattern_type": a.PatternType, "operation": a.Operation,
		}
	}
	for name, acls := range byResource {
		forEach, err := literal(acls, true)
		if err != nil {
			t.Fatal(err)
		}
		block := maps.Clone(rendered)
		block["for_each"] = forEach
		blocks[name] = block
	}
	main, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range hostile {
		checkTemplate(t, "for_each key", escapeTemplate(a.Key()))
	}
	files := maps.Clone(ws.Files)
	files[MainFile] = main
	plan := planWorkspace(t, tools, Workspace{Files: files})
	for _, a := range hostile {
		found := false
		for _, rc := range plan.ResourceChanges {
			if rc.Address == ConsumerACLAddress(a.Key()) {
				found = true
				if rc.Change.After["resource_name"] != a.ResourceName || rc.Change.After["acl_principal"] != a.Principal {
					t.Errorf("%s: principal %q, resource_name %q, want %q, %q", rc.Address,
						rc.Change.After["acl_principal"], rc.Change.After["resource_name"], a.Principal, a.ResourceName)
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
