package events

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/ent/auditevent"
	"github.com/meshplane/meshplane/server/ent/webhook"
	"github.com/meshplane/meshplane/server/ent/webhookdelivery"
)

// Bounds on one dispatch.
const (
	// fanOutBatch is how many events are looked at per webhook and query.
	fanOutBatch = 500
	// perWebhookBatch is how many deliveries one pass sends a webhook at most.
	perWebhookBatch = 100
	// passBudget bounds one pass of sending, well within the time after
	// which the job queue hands a running job to another replica.
	passBudget = 40 * time.Second
	// claimMargin is how much longer than an attempt's timeout a claim holds.
	claimMargin = 5 * time.Second
	// parallelWebhooks is how many receivers are sent to at once.
	parallelWebhooks = 8
	// maxRetryWait caps the wait between two attempts.
	maxRetryWait = time.Hour
)

// Dispatch writes the deliveries every active webhook is owed since its
// cursor, then sends the deliveries that are due: per webhook in event
// order, stopping at its first failure, so a receiver that is down is
// asked again after its backoff rather than once per event.
func (s *Service) Dispatch(ctx context.Context) error {
	if err := s.fanOut(ctx); err != nil {
		return err
	}
	if err := s.deliverDue(ctx); err != nil {
		return err
	}
	return s.prune(ctx)
}

// prune forgets deliveries settled longer ago than the retention: the
// delivery log keeps what people look at, the audit log keeps the events.
func (s *Service) prune(ctx context.Context) error {
	at := now()
	_, err := s.store.Client.WebhookDelivery.Delete().Where(webhookdelivery.Or(
		webhookdelivery.And(webhookdelivery.StateEQ(webhookdelivery.StateDelivered), webhookdelivery.UpdateTimeLT(at.Add(-s.cfg.Retention))),
		webhookdelivery.And(webhookdelivery.StateEQ(webhookdelivery.StateFailed), webhookdelivery.UpdateTimeLT(at.Add(-4*s.cfg.Retention))),
	)).Exec(ctx)
	if err != nil {
		return fmt.Errorf("pruning the delivery log: %w", err)
	}
	return nil
}

func (s *Service) fanOut(ctx context.Context) error {
	head, err := auditHead(ctx, s.store.Client.AuditEvent.Query())
	if err != nil {
		return err
	}
	hooks, err := s.store.Client.Webhook.Query().Where(webhook.Active(true), webhook.CursorLT(head)).All(ctx)
	if err != nil {
		return fmt.Errorf("reading webhooks: %w", err)
	}
	for _, w := range hooks {
		for w.Cursor < head {
			next, err := s.fanOutBatch(ctx, w, head)
			if err != nil {
				return err
			}
			w.Cursor = next
		}
	}
	return nil
}

// fanOutBatch writes w's deliveries of the next batch of events and moves
// its cursor past them, in one transaction; it returns the new cursor.
func (s *Service) fanOutBatch(ctx context.Context, w *ent.Webhook, head int64) (int64, error) {
	evs, err := s.store.Client.AuditEvent.Query().Where(auditevent.IDGT(w.Cursor), auditevent.IDLTE(head)).
		Order(ent.Asc(auditevent.FieldID)).Limit(fanOutBatch).
		Select(auditevent.FieldID, auditevent.FieldAction, auditevent.FieldDomain).All(ctx)
	if err != nil {
		return 0, fmt.Errorf("reading events: %w", err)
	}
	if len(evs) == 0 {
		return head, nil
	}
	f := Filter{Domain: w.Domain, Types: w.Types}
	at := now()
	var creates []*ent.WebhookDeliveryCreate
	err = s.store.Tx(ctx, func(tx *ent.Tx) error {
		for _, e := range evs {
			if !f.Match(e.Domain, TypeOf(e.Action)) {
				continue
			}
			creates = append(creates, tx.WebhookDelivery.Create().SetWebhookID(w.ID).SetSequence(e.ID).
				SetType(TypeOf(e.Action)).SetNextAttemptTime(at))
		}
		last := evs[len(evs)-1].ID
		// The cursor moves only from where this dispatch found it: a
		// dispatcher rescued while this one still ran writes nothing twice.
		n, err := tx.Webhook.Update().Where(webhook.ID(w.ID), webhook.Cursor(w.Cursor)).SetCursor(last).Save(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return errMoved
		}
		if len(creates) > 0 {
			return tx.WebhookDelivery.CreateBulk(creates...).Exec(ctx)
		}
		return nil
	})
	if errors.Is(err, errMoved) {
		cur, gerr := s.store.Client.Webhook.Get(ctx, w.ID)
		if ent.IsNotFound(gerr) {
			return head, nil // deleted meanwhile
		}
		if gerr != nil {
			return 0, gerr
		}
		return max(cur.Cursor, w.Cursor), nil
	}
	if err != nil {
		return 0, fmt.Errorf("writing deliveries: %w", err)
	}
	return evs[len(evs)-1].ID, nil
}

var errMoved = errors.New("the webhook's cursor moved")

func (s *Service) deliverDue(ctx context.Context) error {
	// A pass ends well before the job queue would take this dispatcher for
	// dead and start another; what is left waits for the next pass.
	ctx, cancel := context.WithTimeout(ctx, passBudget)
	defer cancel()
	hooks, err := s.store.Client.Webhook.Query().Where(webhook.Active(true)).All(ctx)
	if err != nil {
		return fmt.Errorf("reading webhooks: %w", err)
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, parallelWebhooks)
	for _, w := range hooks {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := s.deliverTo(ctx, w); err != nil && ctx.Err() == nil {
				s.log.Warn("delivering to a webhook", "webhook", w.Domain+"/"+w.Name, "error", err)
			}
		}()
	}
	wg.Wait()
	return nil
}

// deliverTo sends w's due deliveries, oldest event first, while they
// succeed. Only a run of due deliveries from w's oldest pending one is
// sent: a later event never overtakes an earlier one that waits for a retry.
func (s *Service) deliverTo(ctx context.Context, w *ent.Webhook) error {
	pending, err := s.store.Client.WebhookDelivery.Query().
		Where(webhookdelivery.WebhookID(w.ID), webhookdelivery.StateEQ(webhookdelivery.StatePending)).
		Order(ent.Asc(webhookdelivery.FieldSequence)).Limit(perWebhookBatch).All(ctx)
	if err != nil || len(pending) == 0 {
		return err
	}
	var seqs []int64
	at := now()
	for _, d := range pending {
		if d.NextAttemptTime.After(at) {
			break
		}
		seqs = append(seqs, d.Sequence)
	}
	if len(seqs) == 0 {
		return nil
	}
	evs, err := s.store.Client.AuditEvent.Query().Where(auditevent.IDIn(seqs...)).All(ctx)
	if err != nil {
		return err
	}
	events := make(map[int64]*ent.AuditEvent, len(evs))
	for _, e := range evs {
		events[e.ID] = e
	}
	for _, d := range pending[:len(seqs)] {
		// Claim the delivery: another dispatcher that found it due too
		// finds it claimed, and neither sends it twice.
		n, err := s.store.Client.WebhookDelivery.Update().Where(webhookdelivery.ID(d.ID),
			webhookdelivery.StateEQ(webhookdelivery.StatePending), webhookdelivery.Attempts(d.Attempts),
			webhookdelivery.NextAttemptTimeLTE(at)).SetNextAttemptTime(now().Add(s.cfg.Timeout + claimMargin)).Save(ctx)
		if err != nil || n == 0 || ctx.Err() != nil {
			return err
		}
		if !s.attempt(ctx, w, d, events[d.Sequence]) {
			return nil
		}
	}
	return nil
}

// attempt sends d to w once and records the outcome; it reports whether
// the receiver took it.
func (s *Service) attempt(ctx context.Context, w *ent.Webhook, d *ent.WebhookDelivery, a *ent.AuditEvent) bool {
	at := now()
	status, failure := 0, ""
	if a == nil {
		failure = "the event is no longer in the audit log"
	} else {
		status, failure = s.send(ctx, w, a)
	}
	if ctx.Err() != nil {
		// Stopping: the attempt does not count, and the claim is let go,
		// so the next dispatcher sends the delivery at once.
		err := s.store.Client.WebhookDelivery.UpdateOne(d).SetNextAttemptTime(d.NextAttemptTime).Exec(context.WithoutCancel(ctx))
		if err != nil {
			s.log.Warn("letting go of a webhook delivery", "webhook", w.Domain+"/"+w.Name, "sequence", d.Sequence, "error", err)
		}
		return false
	}
	u := s.store.Client.WebhookDelivery.UpdateOne(d).AddAttempts(1).SetLastAttemptTime(at).SetResponseStatus(status).SetLastError(failure)
	attempts := d.Attempts + 1
	ok := failure == ""
	var retryAt time.Time
	outcome := outcomeRetry
	switch {
	case ok:
		outcome = outcomeDelivered
		u = u.SetState(webhookdelivery.StateDelivered).SetDeliverTime(now())
	case attempts >= s.cfg.MaxAttempts || a == nil:
		outcome = outcomeFailed
		u = u.SetState(webhookdelivery.StateFailed)
	default:
		retryAt = at.Add(s.backoff(attempts))
		u = u.SetNextAttemptTime(retryAt)
	}
	s.attempts[outcome].Add(1)
	if err := u.Exec(context.WithoutCancel(ctx)); err != nil {
		// The claim still holds it back until its lease runs out.
		s.log.Warn("recording a webhook delivery", "webhook", w.Domain+"/"+w.Name, "sequence", d.Sequence, "error", err)
		return false
	}
	if !retryAt.IsZero() {
		// The deliveries behind this one wait for it: events reach a
		// receiver in order, and one that is down is asked once per backoff.
		err := s.store.Client.WebhookDelivery.Update().Where(webhookdelivery.WebhookID(w.ID),
			webhookdelivery.StateEQ(webhookdelivery.StatePending), webhookdelivery.SequenceGT(d.Sequence),
			webhookdelivery.NextAttemptTimeLT(retryAt)).SetNextAttemptTime(retryAt).Exec(ctx)
		if err != nil {
			s.log.Warn("holding a webhook's deliveries", "webhook", w.Domain+"/"+w.Name, "error", err)
		}
	}
	if !ok {
		s.log.Info("webhook delivery failed", "webhook", w.Domain+"/"+w.Name, "sequence", d.Sequence, "attempt", attempts, "status", status, "error", failure)
	}
	return ok
}

// backoff is the wait after the n-th failed attempt.
func (s *Service) backoff(n int) time.Duration {
	d := s.cfg.RetryBase
	for i := 1; i < n && d < maxRetryWait; i++ {
		d *= 2
	}
	return min(d, maxRetryWait)
}

// send posts the event to w's URL, signed; it returns the receiver's status
// and, unless it answered 2xx, why the attempt failed.
func (s *Service) send(ctx context.Context, w *ent.Webhook, a *ent.AuditEvent) (int, string) {
	ev := fromAudit(s.source, a)
	body, err := ev.JSON()
	if err != nil {
		return 0, "encoding the event: " + err.Error()
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return 0, "building the request: " + err.Error()
	}
	ts := time.Now()
	req.Header.Set("Content-Type", ContentType+"; charset=utf-8")
	req.Header.Set("User-Agent", "meshplane-webhooks/1")
	req.Header.Set(HeaderID, ev.ID)
	req.Header.Set(HeaderTimestamp, fmt.Sprint(ts.Unix()))
	req.Header.Set(HeaderSignature, Sign(secretFor(s.cfg.Key, w.ID, w.SecretGeneration), ev.ID, ts, body))
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		return 0, failureOf(err, s.cfg.Timeout)
	}
	defer resp.Body.Close()
	// Neither the answer's body nor its reason phrase is kept: a webhook
	// must not become a way to read what meshplane can reach.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Sprintf("the receiver answered %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	return resp.StatusCode, ""
}

// failureOf says why a request got no answer, in a few fixed words: the
// raw error would name addresses and hosts meshplane can reach.
func failureOf(err error, timeout time.Duration) string {
	var dns *net.DNSError
	var op *net.OpError
	var refused *privateAddressError
	switch {
	case errors.As(err, &refused):
		return refused.Error()
	case errors.Is(err, context.DeadlineExceeded) || os.IsTimeout(err):
		return fmt.Sprintf("no answer within %s", timeout)
	case errors.As(err, &dns):
		return "the receiver's host name could not be resolved"
	case errors.As(err, &op) && op.Op == "dial":
		return "the receiver could not be reached"
	case strings.Contains(err.Error(), "tls:") || strings.Contains(err.Error(), "x509:"):
		return "the receiver's TLS handshake failed"
	}
	return "the request failed before the receiver answered"
}
