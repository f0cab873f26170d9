package events

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/ent/webhook"
	"github.com/meshplane/meshplane/server/ent/webhookdelivery"
)

var (
	attemptsDesc = prometheus.NewDesc("meshplane_webhook_attempts_total",
		"Delivery attempts this replica made, by outcome: delivered, retry (failed, to be tried again) or failed (given up).", []string{"outcome"}, nil)
	deliveriesDesc = prometheus.NewDesc("meshplane_webhook_deliveries",
		"Deliveries in the catalog's delivery log that are pending or failed, over every webhook.", []string{"state"}, nil)
	oldestDesc = prometheus.NewDesc("meshplane_webhook_oldest_pending_seconds",
		"Age of the oldest pending delivery of an active webhook; 0 when none waits.", nil, nil)
	lagDesc = prometheus.NewDesc("meshplane_webhook_fanout_lag_events",
		"Events committed that an active webhook's cursor has not passed yet, for the webhook furthest behind.", nil, nil)
)

// Collector returns the webhooks' metrics: this replica's attempts, and
// what the catalog holds, read when scraped.
func (s *Service) Collector() prometheus.Collector { return collector{s} }

type collector struct{ s *Service }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- attemptsDesc
	ch <- deliveriesDesc
	ch <- oldestDesc
	ch <- lagDesc
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	for _, o := range []string{outcomeDelivered, outcomeRetry, outcomeFailed} {
		ch <- prometheus.MustNewConstMetric(attemptsDesc, prometheus.CounterValue, float64(s.attempts[o].Load()), o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	q := s.store.Client.WebhookDelivery.Query()
	for _, st := range []webhookdelivery.State{webhookdelivery.StatePending, webhookdelivery.StateFailed} {
		if n, err := q.Clone().Where(webhookdelivery.StateEQ(st)).Count(ctx); err == nil {
			ch <- prometheus.MustNewConstMetric(deliveriesDesc, prometheus.GaugeValue, float64(n), string(st))
		}
	}
	active, err := s.store.Client.Webhook.Query().Where(webhook.Active(true)).IDs(ctx)
	if err != nil {
		return
	}
	age := 0.0
	oldest, err := q.Clone().Where(webhookdelivery.StateEQ(webhookdelivery.StatePending),
		webhookdelivery.WebhookIDIn(active...)).Order(ent.Asc(webhookdelivery.FieldCreateTime)).First(ctx)
	if err == nil {
		age = time.Since(oldest.CreateTime).Seconds()
	}
	if err == nil || ent.IsNotFound(err) {
		ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, age)
	}
	head, err := auditHead(ctx, s.store.Client.AuditEvent.Query())
	if err != nil {
		return
	}
	behind, err := s.store.Client.Webhook.Query().Where(webhook.Active(true)).Order(ent.Asc(webhook.FieldCursor)).First(ctx)
	lag := 0.0
	if err == nil {
		lag = float64(head - behind.Cursor)
	}
	if err == nil || ent.IsNotFound(err) {
		ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, lag)
	}
}

// Outcomes of an attempt, as counted.
const (
	outcomeDelivered = "delivered"
	outcomeRetry     = "retry"
	outcomeFailed    = "failed"
)
