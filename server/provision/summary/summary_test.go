package summary_test

import (
	"slices"
	"strings"
	"testing"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/meshplane/meshplane/server/provision/summary"
)

func topic(retention string) map[string]any {
	return map[string]any{"name": "sales.orders.orders.v1", "partitions": float64(3),
		"config": map[string]any{"retention.ms": retention, "cleanup.policy": "delete"}}
}

func rc(addr, typ string, acts tfjson.Actions, before, after any) *tfjson.ResourceChange {
	return &tfjson.ResourceChange{Address: addr, Type: typ, Change: &tfjson.Change{Actions: acts, Before: before, After: after}}
}

func TestDestructiveChanges(t *testing.T) {
	tests := []struct {
		name        string
		change      *tfjson.ResourceChange
		action      string
		destructive bool
	}{
		{"create topic", rc("t", "kafka_topic", tfjson.Actions{tfjson.ActionCreate}, nil, topic("1000")), "create", false},
		{"longer retention", rc("t", "kafka_topic", tfjson.Actions{tfjson.ActionUpdate}, topic("1000"), topic("2000")), "update", false},
		{"shorter retention", rc("t", "kafka_topic", tfjson.Actions{tfjson.ActionUpdate}, topic("2000"), topic("1000")), "update", true},
		{"unlimited to limited", rc("t", "kafka_topic", tfjson.Actions{tfjson.ActionUpdate}, topic("-1"), topic("1000")), "update", true},
		{"delete topic", rc("t", "kafka_topic", tfjson.Actions{tfjson.ActionDelete}, topic("1000"), nil), "delete", true},
		{"replace topic", rc("t", "kafka_topic", tfjson.Actions{tfjson.ActionDelete, tfjson.ActionCreate}, topic("1000"), topic("1000")), "replace", true},
		{"delete connector", rc("c", "kafka-connect_connector", tfjson.Actions{tfjson.ActionDelete}, map[string]any{"name": "x"}, nil), "delete", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := summary.FromPlan(&tfjson.Plan{ResourceChanges: []*tfjson.ResourceChange{tt.change}})
			if len(s.Resources) != 1 || s.Resources[0].Action != tt.action || s.Destructive != tt.destructive || (len(s.Reasons) > 0) != tt.destructive {
				t.Fatalf("summary = %+v", s)
			}
		})
	}
}

func TestChangedAttributesAndRedaction(t *testing.T) {
	before := map[string]any{"name": "c", "config": map[string]any{"tasks.max": "1"}, "config_sensitive": map[string]any{"database.password": "old-hunter2"}}
	after := map[string]any{"name": "c", "config": map[string]any{"tasks.max": "2", "note": "uses s3cr3t-value"}, "config_sensitive": map[string]any{"database.password": "new-hunter2"}}
	ch := rc("c", "kafka-connect_connector", tfjson.Actions{tfjson.ActionUpdate}, before, after)
	ch.Change.BeforeSensitive = map[string]any{"config_sensitive": true}
	ch.Change.AfterSensitive = map[string]any{"config_sensitive": true}
	s := summary.FromPlan(&tfjson.Plan{ResourceChanges: []*tfjson.ResourceChange{ch}}, "s3cr3t-value")
	got := map[string][2]string{}
	for _, a := range s.Resources[0].Attributes {
		got[a.Path] = [2]string{a.Before, a.After}
	}
	if got[`config["tasks.max"]`] != [2]string{`"1"`, `"2"`} {
		t.Errorf("tasks.max change = %v", got)
	}
	if got[`config["note"]`][1] != summary.Redacted {
		t.Errorf("a known secret inside a value was not redacted: %v", got)
	}
	for _, a := range s.Resources[0].Attributes {
		if strings.Contains(a.Before+a.After, "hunter2") {
			t.Errorf("sensitive value leaked at %s", a.Path)
		}
	}
	if _, ok := got["name"]; ok {
		t.Error("unchanged attributes are listed")
	}
}

func TestDriftIgnoresEmptySensitiveReadBack(t *testing.T) {
	ch := rc("c", "kafka-connect_connector", tfjson.Actions{tfjson.ActionUpdate},
		map[string]any{"name": "c", "config_sensitive": nil}, map[string]any{"name": "c", "config_sensitive": map[string]any{}})
	ch.Change.AfterSensitive = map[string]any{"config_sensitive": true}
	gone := rc("t", "kafka_topic", tfjson.Actions{tfjson.ActionDelete}, topic("1000"), nil)
	d := summary.Drift(&tfjson.Plan{ResourceDrift: []*tfjson.ResourceChange{ch, gone}})
	if len(d) != 1 || d[0].Address != "t" || d[0].Action != "delete" {
		t.Fatalf("drift = %+v", d)
	}
}

func TestConnectorSecretRefs(t *testing.T) {
	config := func(password string) map[string]any {
		return map[string]any{"name": "sales.orders.source", "config": map[string]any{
			"database.password": password, "database.hostname": "db.internal", "note": "${env:SALES__NOTE} and more",
			"aws.access.key.id": "${vault:secret/data/sales/lake:key_id}", "leaky": "${env:HUNTER2_SECRET}",
		}, "config_sensitive": map[string]any{"connection.password": "${env:HIDDEN}"}}
	}
	create := rc("module.source.kafka-connect_connector.this", "kafka-connect_connector", tfjson.Actions{tfjson.ActionCreate}, nil, config("${env:SALES__ORDERS_DB_PASSWORD}"))
	create.Change.AfterSensitive = map[string]any{"config_sensitive": true}
	update := rc("module.sink.kafka-connect_connector.this", "kafka-connect_connector", tfjson.Actions{tfjson.ActionUpdate}, config("${env:SALES__OLD}"), config("${file:/etc/meshplane/secrets/sales/db.properties:password}"))
	update.Change.AfterSensitive = map[string]any{"config": map[string]any{"aws.access.key.id": true}}
	gone := rc("module.gone.kafka-connect_connector.this", "kafka-connect_connector", tfjson.Actions{tfjson.ActionDelete}, config("${env:SALES__GONE}"), nil)
	hidden := rc("module.hidden.kafka-connect_connector.this", "kafka-connect_connector", tfjson.Actions{tfjson.ActionCreate}, nil, config("${env:SALES__X}"))
	hidden.Change.AfterSensitive = map[string]any{"config": true}
	s := summary.FromPlan(&tfjson.Plan{ResourceChanges: []*tfjson.ResourceChange{create, update, gone, hidden}}, "HUNTER2")
	got := map[string][]summary.SecretRef{}
	for _, r := range s.Resources {
		got[r.Address] = r.SecretRefs
	}
	want := map[string][]summary.SecretRef{
		"module.source.kafka-connect_connector.this": {
			{Setting: "aws.access.key.id", Ref: "vault:secret/data/sales/lake:key_id"},
			{Setting: "database.password", Ref: "env:SALES__ORDERS_DB_PASSWORD"},
		},
		// A setting Terraform marks sensitive is never read.
		"module.sink.kafka-connect_connector.this": {{Setting: "database.password", Ref: "file:/etc/meshplane/secrets/sales/db.properties:password"}},
		"module.gone.kafka-connect_connector.this": {
			{Setting: "aws.access.key.id", Ref: "vault:secret/data/sales/lake:key_id"},
			{Setting: "database.password", Ref: "env:SALES__GONE"},
		},
		"module.hidden.kafka-connect_connector.this": nil,
	}
	for addr, w := range want {
		if !slices.Equal(got[addr], w) {
			t.Errorf("%s: secret refs %+v, want %+v", addr, got[addr], w)
		}
	}
	if d := summary.Drift(&tfjson.Plan{ResourceDrift: []*tfjson.ResourceChange{update}}); len(d) != 1 || d[0].SecretRefs != nil {
		t.Errorf("drift lists secret refs: %+v", d)
	}
}
