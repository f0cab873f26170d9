package rpc

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"connectrpc.com/connect"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/api/gen/meshplane/v1/meshplanev1connect"
)

// quotaCatalog refuses every domain with the service's own
// resource_exhausted, as a quota would.
type quotaCatalog struct {
	meshplanev1connect.UnimplementedCatalogServiceHandler
}

func (quotaCatalog) CreateDomain(context.Context, *connect.Request[v1.CreateDomainRequest]) (*connect.Response[v1.CreateDomainResponse], error) {
	return nil, connect.NewError(connect.CodeResourceExhausted, errors.New("domain quota reached"))
}

func newLimitServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle(limitBody(meshplanev1connect.NewCatalogServiceHandler(quotaCatalog{},
		connect.WithInterceptors(markDecoded()), connect.WithReadMaxBytes(MaxRequestBytes))))
	srv := httptest.NewUnstartedServer(mux)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// postCreateDomain sends body to CreateDomain over the Connect protocol, as
// any HTTP client would, and returns the status and the decoded Connect error.
func postCreateDomain(t *testing.T, srv *httptest.Server, body io.Reader, header ...string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+meshplanev1connect.CatalogServiceCreateDomainProcedure, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("status %d, body is not a Connect error: %v: %.200s", resp.StatusCode, err, raw)
	}
	return resp.StatusCode, out
}

func oversizedDomain() []byte {
	return []byte(`{"name":"big","description":"` + strings.Repeat("x", MaxRequestBytes) + `"}`)
}

// TestOversizedConnectRequestIs413 proves an oversized Connect request is
// answered 413 with a Connect error whose code is resource_exhausted, whether
// its size is declared, streamed without a length or only reached once
// decompressed, while the service's own resource_exhausted keeps 429.
func TestOversizedConnectRequestIs413(t *testing.T) {
	t.Parallel()
	srv := newLimitServer(t)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(oversizedDomain())
	_ = zw.Close()
	if gz.Len() > MaxRequestBytes/100 {
		t.Fatalf("compressed body is %d bytes", gz.Len())
	}
	for name, c := range map[string]struct {
		body   io.Reader
		header []string
	}{
		"with content length": {body: bytes.NewReader(oversizedDomain())},
		// io.MultiReader hides the length, so the body is sent chunked.
		"without content length":  {body: io.MultiReader(bytes.NewReader(oversizedDomain()))},
		"gzip, small on the wire": {body: bytes.NewReader(gz.Bytes()), header: []string{"Content-Encoding", "gzip"}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			status, e := postCreateDomain(t, srv, c.body, c.header...)
			if status != http.StatusRequestEntityTooLarge || e["code"] != "resource_exhausted" {
				t.Fatalf("status %d, error %v; want 413 resource_exhausted", status, e)
			}
		})
	}

	status, e := postCreateDomain(t, srv, strings.NewReader(`{"name":"small"}`))
	if status != http.StatusTooManyRequests || e["code"] != "resource_exhausted" || e["message"] != "domain quota reached" {
		t.Errorf("the service's own resource_exhausted: status %d, error %v; want 429", status, e)
	}
}

// TestOversizedRequestOverEachProtocol proves each protocol's client still
// reads resource_exhausted for an oversized request; gRPC and gRPC-Web carry
// it in their own status, with HTTP 200.
func TestOversizedRequestOverEachProtocol(t *testing.T) {
	t.Parallel()
	srv := newLimitServer(t)
	big := &v1.CreateDomainRequest{Name: "big", Description: strings.Repeat("x", MaxRequestBytes)}
	for name, opts := range map[string][]connect.ClientOption{
		"connect":      nil,
		"connect json": {connect.WithProtoJSON()},
		"grpc":         {connect.WithGRPC()},
		"grpc-web":     {connect.WithGRPCWeb()},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var status int
			hc := *srv.Client()
			base := hc.Transport
			hc.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
				resp, err := base.RoundTrip(r)
				if err == nil {
					status = resp.StatusCode
				}
				return resp, err
			})
			cl := meshplanev1connect.NewCatalogServiceClient(&hc, srv.URL, opts...)
			_, err := cl.CreateDomain(context.Background(), connect.NewRequest(big))
			if connect.CodeOf(err) != connect.CodeResourceExhausted {
				t.Fatalf("oversized request: %v", err)
			}
			want := http.StatusOK
			if opts == nil || name == "connect json" {
				want = http.StatusRequestEntityTooLarge
			}
			if status != want {
				t.Errorf("HTTP status %d, want %d", status, want)
			}
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
