package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/meshplane/meshplane/server/policy/engine"
	"github.com/meshplane/meshplane/server/policy/engine/enginetest"
)

// approvedSet compiles the default policies with the policy's own list of
// ports approved for raw PII naming sales/orders/orders, as a published
// version would.
func approvedSet(t testing.TB) *engine.Set {
	t.Helper()
	files := engine.Defaults()
	src := files["masking.rego"]
	const none = "raw_pii_ports := set()"
	if !strings.Contains(src, none) {
		t.Fatalf("masking.rego no longer declares %q", none)
	}
	files["masking.rego"] = strings.Replace(src, none, `raw_pii_ports := {"sales/orders/orders"}`, 1)
	s, err := engine.Compile(context.Background(), "approved", files, engine.Options{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The shared fixtures, by their short names here.
var (
	orders  = enginetest.Orders
	typical = enginetest.Typical
	wide    = enginetest.Wide
)

// generous keeps slow, shared test machines from timing out evaluations
// that are not about timeouts.
var generous = engine.Options{Timeout: 10 * time.Second}

func defaults(t testing.TB) *engine.Set {
	t.Helper()
	s, err := engine.Compile(context.Background(), "defaults", engine.Defaults(), generous)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func compile(t testing.TB, files engine.Files) *engine.Set {
	t.Helper()
	s, err := engine.Compile(context.Background(), "test", files, generous)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
