package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/api/gen/meshplane/v1/meshplanev1connect"
)

// Targets of the GetDataProduct phase.
const (
	targetRatio   = 0.30
	targetOpenP99 = 5 * time.Millisecond
)

// benchGet measures GetDataProduct: closed loop against meshplane and against
// a bare handler, alternating in two rounds so drift from other load on the
// machine hits both alike, then an open loop at a fixed rate.
func benchGet(ctx context.Context, c config, e *env, rep *report, progress func(string, ...any)) error {
	progress("GetDataProduct: creating a domain, a product and a viewer over Connect")
	admin := meshplanev1connect.NewCatalogServiceClient(h2cClient(), e.url, bearer(e.adminToken))
	if _, err := admin.CreateDomain(ctx, connect.NewRequest(&v1.CreateDomainRequest{Name: "shop", Description: "the web shop"})); err != nil {
		return fmt.Errorf("creating a domain: %w", err)
	}
	if _, err := admin.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{Domain: "shop", Name: "orders", Spec: productSpec("shop")})); err != nil {
		return fmt.Errorf("creating a product: %w", err)
	}
	reader, err := e.user(ctx, "bench-viewer", "viewer", "shop")
	if err != nil {
		return err
	}

	mesh := meshplanev1connect.NewCatalogServiceClient(h2cClient(), e.url, bearer(reader))
	res, err := mesh.GetDataProduct(ctx, connect.NewRequest(&v1.GetDataProductRequest{Domain: "shop", Name: "orders"}))
	if err != nil {
		return fmt.Errorf("reading the product: %w", err)
	}
	body, err := proto.Marshal(res.Msg)
	if err != nil {
		return err
	}
	bareURL, stopBare, err := startBare(body)
	if err != nil {
		return err
	}
	defer stopBare()
	bare := meshplanev1connect.NewCatalogServiceClient(h2cClient(), bareURL, bearer(reader))

	get := func(cl meshplanev1connect.CatalogServiceClient) call {
		return func(ctx context.Context, _ int) error {
			_, err := cl.GetDataProduct(ctx, connect.NewRequest(&v1.GetDataProductRequest{Domain: "shop", Name: "orders"}))
			return err
		}
	}
	getMesh, getBare := get(mesh), get(bare)

	progress("GetDataProduct: warming up both servers")
	closedLoop(ctx, c.Workers, time.Second, c.MaxRequests, getMesh)
	closedLoop(ctx, c.Workers, time.Second, c.MaxRequests, getBare)

	var meshS, bareS stats
	const rounds = 2
	for r := range rounds {
		progress("GetDataProduct: closed loop round %d/%d, %d workers, %s per target", r+1, rounds, c.Workers, c.Duration/rounds)
		meshS.merge(closedLoop(ctx, c.Workers, c.Duration/rounds, c.MaxRequests/rounds, getMesh))
		bareS.merge(closedLoop(ctx, c.Workers, c.Duration/rounds, c.MaxRequests/rounds, getBare))
	}
	if err := profiled(c, "get", progress, func() { closedLoop(ctx, c.Workers, c.Duration, c.MaxRequests, getMesh) }); err != nil {
		return err
	}

	progress("GetDataProduct: open loop at %d req/s for %s", c.Rate, c.OpenFor)
	open := openLoop(ctx, c.Rate, c.OpenFor, getMesh)

	loop := fmt.Sprintf("%d workers, %s", c.Workers, c.Duration)
	rep.add("1a", "GetDataProduct, Connect+authn+authz, SQLite ("+loop+")",
		fmt.Sprintf("%s req/s  p50 %s  p99 %s", thousands(meshS.RPS()), ms(meshS.Pct(50)), ms(meshS.Pct(99))), "", errStatus(meshS, "info"))
	rep.add("1b", "bare net/http h2c handler, same client ("+loop+")",
		fmt.Sprintf("%s req/s  p50 %s  p99 %s", thousands(bareS.RPS()), ms(bareS.Pct(50)), ms(bareS.Pct(99))), "", errStatus(bareS, "info"))
	ratio := 0.0
	if bareS.RPS() > 0 {
		ratio = meshS.RPS() / bareS.RPS()
	}
	rep.add("1c", "throughput ratio meshplane / bare", fmt.Sprintf("%.3f", ratio), fmt.Sprintf(">= %.2f", targetRatio),
		errStatus(meshS, errStatus(bareS, verdict(ratio >= targetRatio))))
	rep.add("1d", fmt.Sprintf("GetDataProduct open loop %d req/s, %s (from scheduled send)", c.Rate, c.OpenFor),
		fmt.Sprintf("%s req/s  p50 %s  p99 %s  max %s", thousands(open.RPS()), ms(open.Pct(50)), ms(open.Pct(99)), ms(open.Max())),
		"p99 <= "+ms(targetOpenP99), errStatus(open.stats, verdict(open.Pct(99) <= targetOpenP99)))
	rep.note("1: response %d bytes of protobuf; the bare handler returns the same bytes with Content-Type application/proto, so one Connect client (connect protocol, protobuf codec, h2c) drives both. %d+%d requests measured; errors %d/%d%s.",
		len(body), meshS.Requests, bareS.Requests, meshS.Errors, bareS.Errors, firstErr(meshS, bareS))
	cpuRatio := 0.0
	if meshS.CPUPerRequest() > 0 {
		cpuRatio = float64(bareS.CPUPerRequest()) / float64(meshS.CPUPerRequest())
	}
	rep.note("1: process CPU per request (client and server together): meshplane %s, bare %s; their ratio %.3f is the throughput ratio with other load on the machine factored out. CPU used: %.0f%% of %d cores during meshplane rounds, %.0f%% during bare rounds.",
		us(meshS.CPUPerRequest()), us(bareS.CPUPerRequest()), cpuRatio,
		100*meshS.CPU.Seconds()/meshS.Elapsed.Seconds()/float64(runtime.GOMAXPROCS(0)), runtime.GOMAXPROCS(0),
		100*bareS.CPU.Seconds()/bareS.Elapsed.Seconds()/float64(runtime.GOMAXPROCS(0)))
	rep.note("1d: %d requests sent, %d errors%s; worst sender lateness %s (counted in the latencies).",
		open.Requests+open.Errors, open.Errors, firstErr(open.stats), ms(open.SendLag))
	return nil
}

// startBare serves body to every request on its own loopback h2c server, the
// way a minimal net/http service answers a Connect unary call.
func startBare(body []byte) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	srv := &http.Server{
		Protocols:         &p,
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/proto")
			_, _ = w.Write(body)
		}),
	}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

func firstErr(ss ...stats) string {
	for _, s := range ss {
		if s.FirstErr != nil {
			return fmt.Sprintf(" (first: %v)", s.FirstErr)
		}
	}
	return ""
}
