// Package telemetry exposes Prometheus metrics for both doors: request
// counts, latencies and errors per procedure.
package telemetry

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds meshplane's collectors in their own registry.
type Metrics struct {
	Registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inflight prometheus.Gauge
}

// New registers meshplane's collectors plus the Go and process collectors.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshplane_requests_total",
			Help: "API requests by door, procedure and result code.",
		}, []string{"door", "procedure", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "meshplane_request_duration_seconds",
			Help:    "API request latency by door and procedure.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"door", "procedure"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "meshplane_requests_in_flight",
			Help: "API requests being served.",
		}),
	}
	reg.MustRegister(m.requests, m.duration, m.inflight,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Observe records one finished request.
func (m *Metrics) Observe(door, procedure, code string, took time.Duration) {
	m.requests.WithLabelValues(door, procedure, code).Inc()
	m.duration.WithLabelValues(door, procedure).Observe(took.Seconds())
}

// Begin counts a request in flight; call the returned func when it ends.
func (m *Metrics) Begin() func() {
	m.inflight.Inc()
	return m.inflight.Dec
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}
