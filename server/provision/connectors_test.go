package provision

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/meshplane/meshplane/server/errs"
)

// TestConnectorTracesAreScrubbed: what Kafka Connect reports is passed on
// without meshplane's secrets, URL passwords or password settings.
func TestConnectorTracesAreScrubbed(t *testing.T) {
	s := &Service{secretValues: Secrets{ConnectPassword: "c0nnect-pw", KafkaPassword: "kafka-pw"}.values()}
	for in, want := range map[string]string{
		"auth failed for c0nnect-pw and kafka-pw":                          "auth failed for (sensitive) and (sensitive)",
		"jdbc:postgresql://debezium:hunter2@db:5432/orders failed":         "jdbc:postgresql://(sensitive)@db:5432/orders failed",
		"jdbc:postgresql://db/orders?user=u&password=hunter2&ssl=true":     "jdbc:postgresql://db/orders?user=u&password=(sensitive)&ssl=true",
		`database.password = "hunter2", next`:                              `database.password = "(sensitive)", next`,
		"environment variable SALES__DB_PASSWORD is not set":               "environment variable SALES__DB_PASSWORD is not set",
		"setting database.password: environment variable X is not set":     "setting database.password: environment variable X is not set",
		"org.apache.kafka.connect.errors.ConnectException: timed out at …": "org.apache.kafka.connect.errors.ConnectException: timed out at …",
	} {
		if got := s.redact(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
	long := strings.Repeat("é", maxTrace)
	if got := truncateTrace(long); len(got) > maxTrace+len("\n… (cut)") || !strings.HasSuffix(got, "… (cut)") || !strings.HasPrefix(got, "é") {
		t.Errorf("a long trace is cut to %d bytes: %q…", len(got), got[:8])
	}
	if known("RUNNING") != ConnectorRunning || known("HIBERNATING") != ConnectorUnknown || known("") != ConnectorUnknown {
		t.Error("states Kafka Connect may add are passed on as unknown")
	}
}

// TestConnectErrors: each way a call to Kafka Connect fails reaches the
// caller as an error of its own kind and reason, secrets scrubbed.
func TestConnectErrors(t *testing.T) {
	s := &Service{secretValues: Secrets{ConnectPassword: "c0nnect-pw"}.values()}
	for _, tt := range []struct {
		err          error
		kind         errs.Kind
		reason, text string
	}{
		{&ConnectRefusal{Status: 409, Message: "rebalance underway"}, errs.KindUnavailable, ReasonConnectRefused, "409 Conflict: rebalance underway"},
		{&ConnectRefusal{Status: 500, Message: "worker trouble"}, errs.KindUnavailable, ReasonConnectRefused, "500"},
		{&ConnectRefusal{Status: 404, Message: "GET /connectors answered 404 Not Found"}, errs.KindFailedPrecondition, ReasonConnectRefused, "404"},
		{&ConnectRefusal{Status: 401, Message: "bad password c0nnect-pw"}, errs.KindFailedPrecondition, ReasonConnectRefused, "bad password (sensitive)"},
		{ErrConnectorNotFound, errs.KindFailedPrecondition, ReasonConnectorNotDeployed, "no longer deployed"},
		{fmt.Errorf("dial tcp: connection refused"), errs.KindUnavailable, ReasonConnectUnreachable, "connection refused"},
	} {
		got := s.connectError(tt.err, "pausing x")
		var e *errs.Error
		if !errors.As(got, &e) || e.Kind != tt.kind || e.Reason != tt.reason || !strings.Contains(e.Message, tt.text) || strings.Contains(e.Message, "c0nnect-pw") {
			t.Errorf("connectError(%v) = %#v, want kind %v, reason %s, saying %q", tt.err, got, tt.kind, tt.reason, tt.text)
		}
	}
	if got := s.connectError(context.Canceled, "pausing x"); !errors.Is(got, context.Canceled) {
		t.Errorf("a caller's cancellation is %v", got)
	}
}
