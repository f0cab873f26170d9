package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeLifecycle runs `meshplane serve` as a user would: it starts on an
// empty data dir, writes the admin token (logging only its path), answers an
// authenticated call, and on SIGTERM lets an in-flight request finish before
// exiting cleanly.
func TestServeLifecycle(t *testing.T) {
	dir := t.TempDir()
	pr, pw := io.Pipe()
	var logs bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir, "--log-format", "json"}, io.Discard, pw)
		pw.Close()
	}()
	addrRe := regexp.MustCompile(`"addr":"(http://[^"]+)"`)
	var base string
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		logs.WriteString(sc.Text() + "\n")
		if m := addrRe.FindStringSubmatch(sc.Text()); m != nil {
			base = m[1]
			break
		}
	}
	if base == "" {
		t.Fatalf("server did not report its address:\n%s", logs.String())
	}
	// The rest of the log is collected until serve exits and closes the pipe.
	var rest bytes.Buffer
	drained := make(chan struct{})
	go func() {
		for sc.Scan() {
			rest.WriteString(sc.Text() + "\n")
		}
		close(drained)
	}()

	tokenPath := filepath.Join(dir, "admin.token")
	fi, err := os.Stat(tokenPath)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin.token: %v %v", fi, err)
	}
	raw, _ := os.ReadFile(tokenPath)
	token := strings.TrimSpace(string(raw))
	if !strings.Contains(logs.String(), tokenPath) || strings.Contains(logs.String(), token) {
		t.Fatalf("logs must name the token file and never the token:\n%s", logs.String())
	}

	resp, err := http.Get(base + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()

	// An in-flight request: its body is still being sent when SIGTERM arrives.
	bodyR, bodyW := io.Pipe()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, base+"/meshplane.v1.IdentityService/WhoAmI", bodyR)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	result := make(chan *http.Response, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("in-flight request: %v", err)
		}
		result <- resp
	}()
	_, _ = bodyW.Write([]byte("{"))
	time.Sleep(200 * time.Millisecond)
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	_, _ = bodyW.Write([]byte("}"))
	bodyW.Close()
	resp = <-result
	if resp == nil {
		t.Fatal("in-flight request failed")
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"name":"admin"`) {
		t.Fatalf("in-flight request: %d %s", resp.StatusCode, b)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not exit after SIGTERM")
	}
	<-drained
	if !strings.Contains(rest.String(), "shutting down") || strings.Contains(rest.String(), token) {
		t.Fatalf("want a shutdown log and no token:\n%s", rest.String())
	}
}

func TestMigrateCommand(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run([]string{"migrate", "--data-dir", dir}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "applied") {
		t.Fatalf("first migrate: %s", out.String())
	}
	out.Reset()
	if err := run([]string{"migrate", "--data-dir", dir}, &out, io.Discard); err != nil || !strings.Contains(out.String(), "up to date") {
		t.Fatalf("second migrate: %s %v", out.String(), err)
	}
	out.Reset()
	if err := run([]string{"migrate", "--data-dir", dir, "--status"}, &out, io.Discard); err != nil || !strings.Contains(out.String(), "pending: 0") {
		t.Fatalf("status: %s %v", out.String(), err)
	}
	if err := run([]string{"serve", "--log-format", "xml"}, io.Discard, io.Discard); err == nil {
		t.Fatal("a bad flag value must fail")
	}
}
