package connectemu_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/meshplane/meshplane/server/sandbox/connectemu"
)

// listMembers are the members a worker always answers as JSON arrays, empty
// or not.
var listMembers = []string{"tasks", "topics", "groups", "configs", "dependents", "recommended_values", "errors"}

// nullLists returns the paths in v, decoded JSON, at which a list member
// holds something other than an array (null, typically).
func nullLists(v any, path string) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			p := path + "." + k
			if _, isList := child.([]any); slices.Contains(listMembers, k) && !isList {
				out = append(out, fmt.Sprintf("%s = %v", p, child))
			}
			out = append(out, nullLists(child, p)...)
		}
	case []any:
		for i, child := range v {
			out = append(out, nullLists(child, fmt.Sprintf("%s[%d]", path, i))...)
		}
	}
	return out
}

// TestListsAreNeverNull proves every list the emulator answers is a JSON
// array when empty, as a worker's is: clients (the Terraform provider,
// scripts piping to jq) iterate over them and break on null.
func TestListsAreNeverNull(t *testing.T) {
	t.Parallel()
	w := newWorker(t, connectemu.Config{})

	get := func(path string) (string, any) {
		t.Helper()
		r := w.do(http.MethodGet, path, nil)
		if r.code != http.StatusOK {
			t.Fatalf("GET %s = %d %s", path, r.code, r.body)
		}
		var v any
		r.decode(t, &v)
		if bad := nullLists(v, "$"); len(bad) > 0 {
			t.Errorf("GET %s: lists that are not arrays: %v in %s", path, bad, r.body)
		}
		return strings.TrimSpace(string(r.body)), v
	}

	if body, _ := get("/connectors"); body != "[]" {
		t.Errorf("GET /connectors with none = %s, want []", body)
	}
	for _, q := range []string{"?expand=status", "?expand=info", "?expand=status&expand=info"} {
		if body, _ := get("/connectors" + q); body != "{}" {
			t.Errorf("GET /connectors%s with none = %s, want {}", q, body)
		}
	}
	if _, v := get("/connector-plugins"); len(v.([]any)) == 0 {
		t.Error("GET /connector-plugins lists no plugins")
	}
	for _, p := range connectemu.Plugins() {
		if _, v := get("/connector-plugins/" + p.Class + "/config"); len(v.([]any)) == 0 {
			t.Errorf("GET /connector-plugins/%s/config lists no settings", p.Class)
		}
	}

	if r := w.create("orders", postgresConfig()); r.code != http.StatusCreated {
		t.Fatalf("create: %d %s", r.code, r.body)
	}
	if body, _ := get("/connectors"); body != `["orders"]` {
		t.Errorf("GET /connectors = %s", body)
	}
	// A stopped connector runs no tasks: its task lists are empty, not null.
	if r := w.do(http.MethodPut, "/connectors/orders/stop", nil); r.code != http.StatusNoContent {
		t.Fatalf("stop: %d %s", r.code, r.body)
	}
	for _, path := range []string{"/connectors/orders", "/connectors/orders/status", "/connectors/orders/topics",
		"/connectors?expand=status&expand=info"} {
		get(path)
	}
	if body, _ := get("/connectors/orders/tasks"); body != "[]" {
		t.Errorf("GET /connectors/orders/tasks of a stopped connector = %s, want []", body)
	}

	r := w.do(http.MethodPut, "/connector-plugins/PostgresConnector/config/validate", map[string]string{
		"connector.class": "io.debezium.connector.postgresql.PostgresConnector"})
	var v any
	r.decode(t, &v)
	if bad := nullLists(v, "$"); r.code != http.StatusOK || len(bad) > 0 {
		t.Errorf("validate = %d, lists that are not arrays: %v", r.code, bad)
	}

	if r := w.do(http.MethodDelete, "/connectors/orders", nil); r.code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.code, r.body)
	}
	if body, _ := get("/connectors"); body != "[]" {
		t.Errorf("GET /connectors after deleting the last = %s, want []", body)
	}
}
