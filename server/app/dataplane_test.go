package app

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/meshplane/meshplane/server/provision"
)

// TestConnectRESTClient drives the Connect REST client against a recording
// server: names stay one path segment, basic auth is sent, tasks come back
// in order, a 404 is a missing connector and a refusal carries Connect's
// message.
func TestConnectRESTClient(t *testing.T) {
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		seen = append(seen, r.Method+" "+r.URL.EscapedPath()+"?"+r.URL.RawQuery+" "+user+":"+pass)
		switch {
		case r.URL.EscapedPath() == "/connectors/sales.odd%2Fname%3F/status":
			w.Write([]byte(`{"name":"x","connector":{"state":"RUNNING","worker_id":"w1"},"tasks":[{"id":1,"state":"FAILED","worker_id":"w2","trace":"boom"},{"id":0,"state":"RUNNING","worker_id":"w1"}],"type":"source"}`))
		case strings.HasSuffix(r.URL.Path, "/missing/status"):
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"error_code":404,"message":"Connector missing not found"}`))
		case strings.HasSuffix(r.URL.Path, "/elsewhere/status"):
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`<html>404 page not found</html>`))
		case strings.HasSuffix(r.URL.Path, "/busy/restart"):
			w.WriteHeader(http.StatusConflict)
			w.Write([]byte(`{"error_code":409,"message":"Cannot complete request momentarily due to no known leader URL, likely because a rebalance was underway."}`))
		default:
			w.WriteHeader(http.StatusAccepted)
		}
	}))
	defer srv.Close()
	d := &dataPlane{connectURL: srv.URL + "/", connectUser: "ops", connectPassword: "s3cret"}
	ctx := context.Background()

	st, err := d.Status(ctx, "sales.odd/name?")
	if err != nil {
		t.Fatal(err)
	}
	if st.State != "RUNNING" || st.WorkerID != "w1" || len(st.Tasks) != 2 || st.Tasks[0].ID != 0 || st.Tasks[1].State != "FAILED" || st.Tasks[1].Trace != "boom" {
		t.Errorf("status = %+v", st)
	}
	if _, err := d.Status(ctx, "missing"); !errors.Is(err, provision.ErrConnectorNotFound) {
		t.Errorf("missing connector: %v", err)
	}
	// A 404 that is not Connect's answer for a missing connector (a wrong
	// base URL, a proxy) is a refusal, not an undeployed connector.
	var refusal *provision.ConnectRefusal
	if _, err := d.Status(ctx, "elsewhere"); !errors.As(err, &refusal) || refusal.Status != http.StatusNotFound || errors.Is(err, provision.ErrConnectorNotFound) {
		t.Errorf("a foreign 404: %v", err)
	}
	err = d.Restart(ctx, "busy", nil)
	if err == nil || !strings.Contains(err.Error(), "409 Conflict") || !strings.Contains(err.Error(), "rebalance was underway") {
		t.Errorf("refused restart: %v", err)
	}
	task := 2
	for _, err := range []error{d.Restart(ctx, "a", &task), d.Pause(ctx, "a"), d.Resume(ctx, "a")} {
		if err != nil {
			t.Error(err)
		}
	}
	want := []string{
		"GET /connectors/sales.odd%2Fname%3F/status? ops:s3cret",
		"GET /connectors/missing/status? ops:s3cret",
		"GET /connectors/elsewhere/status? ops:s3cret",
		"POST /connectors/busy/restart?includeTasks=true&onlyFailed=false ops:s3cret",
		"POST /connectors/a/tasks/2/restart? ops:s3cret",
		"PUT /connectors/a/pause? ops:s3cret",
		"PUT /connectors/a/resume? ops:s3cret",
	}
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
}
