package portal

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func TestHandler(t *testing.T) {
	h := Handler(fstest.MapFS{
		"index.html":            {Data: []byte("<!doctype html><title>app</title>")},
		"assets/index-Ab12.js":  {Data: []byte("console.log(1)")},
		"assets/index-Cd34.css": {Data: []byte("body{}")},
		"favicon.svg":           {Data: []byte("<svg/>")},
	})
	for _, c := range []struct {
		method, path string
		status       int
		cache, body  string
		ctype        string
	}{
		{"GET", "/", 200, "no-store", "<title>app</title>", "text/html"},
		{"GET", "/index.html", 200, "no-store", "<title>app</title>", "text/html"},
		{"GET", "/products/sales/orders/runs", 200, "no-store", "<title>app</title>", "text/html"},
		{"HEAD", "/access", 200, "no-store", "", "text/html"},
		{"GET", "/assets/index-Ab12.js", 200, "public, max-age=31536000, immutable", "console.log(1)", "javascript"},
		{"GET", "/assets/index-Cd34.css", 200, "public, max-age=31536000, immutable", "body{}", "text/css"},
		{"GET", "/favicon.svg", 200, "no-cache", "<svg/>", "image/svg+xml"},
		{"GET", "/assets/index-gone.js", 404, "", "not found", "text/plain"},
		{"GET", "/robots.txt", 404, "", "not found", "text/plain"},
		{"GET", "/../../etc/passwd", 200, "no-store", "<title>app</title>", "text/html"}, // a route of the app, never a host file
		{"GET", "/../../etc/hosts.txt", 404, "", "not found", "text/plain"},
		{"POST", "/", 405, "", "method not allowed", "text/plain"},
	} {
		r := httptest.NewRequest(c.method, "http://x"+c.path, nil)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != c.status || !strings.Contains(w.Body.String(), c.body) || w.Header().Get("Cache-Control") != c.cache ||
			!strings.Contains(w.Header().Get("Content-Type"), c.ctype) {
			t.Errorf("%s %s: %d %q cache %q type %q", c.method, c.path, w.Code, w.Body.String(), w.Header().Get("Cache-Control"), w.Header().Get("Content-Type"))
		}
		if w.Header().Get("Content-Security-Policy") != ContentSecurityPolicy || w.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s: security headers missing: %v", c.method, c.path, w.Header())
		}
	}
}

func TestHandlerWithoutIndex(t *testing.T) {
	w := httptest.NewRecorder()
	Handler(fstest.MapFS{}).ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != http.StatusNotFound {
		t.Fatalf("no index.html: %d", w.Code)
	}
}
