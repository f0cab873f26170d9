package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// stats summarises one measured run.
type stats struct {
	Requests int           // completed without error
	Errors   int           // failed calls
	FirstErr error         // the first failure, for the report
	Elapsed  time.Duration // wall time of the run
	CPU      time.Duration // user+system CPU time of this whole process during the run
	Lat      []time.Duration
}

// RPS is the completed requests per second of wall time.
func (s stats) RPS() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Requests) / s.Elapsed.Seconds()
}

// Pct returns the p-th percentile (0 < p ≤ 100) by nearest rank of the
// successful calls' latencies, which are sorted.
func (s stats) Pct(p float64) time.Duration {
	if len(s.Lat) == 0 {
		return 0
	}
	i := int(float64(len(s.Lat))*p/100+0.999999) - 1
	return s.Lat[max(0, min(i, len(s.Lat)-1))]
}

// Max is the slowest successful call.
func (s stats) Max() time.Duration {
	if len(s.Lat) == 0 {
		return 0
	}
	return s.Lat[len(s.Lat)-1]
}

// CPUPerRequest is the process's CPU time per completed request, client and
// server together; unlike throughput it hardly moves when other processes
// take CPU from this one.
func (s stats) CPUPerRequest() time.Duration {
	if s.Requests == 0 {
		return 0
	}
	return s.CPU / time.Duration(s.Requests)
}

func (s *stats) finish() { slices.Sort(s.Lat) }

// processCPU returns the user+system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// merge folds o into s, keeping the longer elapsed time.
func (s *stats) merge(o stats) {
	s.Requests += o.Requests
	s.Errors += o.Errors
	if s.FirstErr == nil {
		s.FirstErr = o.FirstErr
	}
	s.Elapsed += o.Elapsed
	s.CPU += o.CPU
	s.Lat = append(s.Lat, o.Lat...)
	s.finish()
}

// call performs request i of a run.
type call func(ctx context.Context, i int) error

// closedLoop runs workers goroutines that each send the next request as soon
// as their previous one returns, until maxRequests have been started or dur
// has passed, whichever comes first.
func closedLoop(ctx context.Context, workers int, dur time.Duration, maxRequests int, fn call) stats {
	var (
		next     atomic.Int64
		mu       sync.Mutex
		out      stats
		wg       sync.WaitGroup
		cpu0     = processCPU()
		start    = time.Now()
		deadline = start.Add(dur)
	)
	for range workers {
		wg.Go(func() {
			local := stats{Lat: make([]time.Duration, 0, 4096)}
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= maxRequests {
					break
				}
				t0 := time.Now()
				if t0.After(deadline) {
					break
				}
				err := fn(ctx, i)
				d := time.Since(t0)
				if err != nil {
					local.Errors++
					if local.FirstErr == nil {
						local.FirstErr = err
					}
					continue
				}
				local.Requests++
				local.Lat = append(local.Lat, d)
			}
			mu.Lock()
			out.Requests += local.Requests
			out.Errors += local.Errors
			if out.FirstErr == nil {
				out.FirstErr = local.FirstErr
			}
			out.Lat = append(out.Lat, local.Lat...)
			mu.Unlock()
		})
	}
	wg.Wait()
	out.Elapsed = time.Since(start)
	out.CPU = processCPU() - cpu0
	out.finish()
	return out
}

// openLoopStats adds how late the dispatcher sent requests to stats.
type openLoopStats struct {
	stats
	Target  float64       // requested rate, req/s
	SendLag time.Duration // worst lateness of a send against its schedule
}

// openLoop sends requests at a fixed rate for dur, each on its own goroutine
// so a slow response never delays the next send, and measures every latency
// from the request's scheduled send time rather than its actual one: when the
// sender falls behind, the delay counts against the server (no coordinated
// omission). Requests still in flight after dur are waited for.
func openLoop(ctx context.Context, rate int, dur time.Duration, fn call) openLoopStats {
	n := int(float64(rate) * dur.Seconds())
	interval := time.Second / time.Duration(rate)
	lat := make([]time.Duration, n)
	failed := make([]error, n)
	var wg sync.WaitGroup
	start := time.Now().Add(5 * time.Millisecond)
	var lag time.Duration
	sent := 0
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		sched := start.Add(time.Duration(i) * interval)
		if d := time.Until(sched); d > 0 {
			time.Sleep(d)
		}
		lag = max(lag, time.Since(sched))
		sent++
		wg.Go(func() {
			failed[i] = fn(ctx, i)
			lat[i] = time.Since(sched)
		})
	}
	wg.Wait()
	out := openLoopStats{Target: float64(rate), SendLag: lag}
	out.Elapsed = time.Since(start)
	for i := range sent {
		if failed[i] != nil {
			out.Errors++
			if out.FirstErr == nil {
				out.FirstErr = failed[i]
			}
			continue
		}
		out.Requests++
		out.Lat = append(out.Lat, lat[i])
	}
	out.finish()
	return out
}

// timeOps calls op(i) for i = 0, 1, … until maxOps calls or dur has passed
// and returns the mean time per call. The clock is read every 256 calls.
func timeOps(maxOps int, dur time.Duration, op func(i int)) (perOp time.Duration, ops int) {
	start := time.Now()
	deadline := start.Add(dur)
	for ops < maxOps {
		op(ops)
		ops++
		if ops%256 == 0 && time.Now().After(deadline) {
			break
		}
	}
	return time.Since(start) / time.Duration(ops), ops
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
}
