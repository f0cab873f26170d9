package events

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/meshplane/meshplane/server/access"
	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/ent/auditevent"
	"github.com/meshplane/meshplane/server/errs"
	"github.com/meshplane/meshplane/server/store"
)

// hub tells watchers when the audit log grows. One poller per process
// reads the log's head while anyone watches, whichever replica made the
// change.
type hub struct {
	store *store.Store
	poll  time.Duration

	mu      sync.Mutex
	head    int64
	grew    chan struct{}
	waiters int
	running bool
	stop    chan struct{}
}

func newHub(st *store.Store, poll time.Duration) *hub {
	return &hub{store: st, poll: poll, grew: make(chan struct{}), stop: make(chan struct{})}
}

// wait returns once the log's head is past after, or ctx ends.
func (h *hub) wait(ctx context.Context, after int64) error {
	h.mu.Lock()
	if h.head > after {
		h.mu.Unlock()
		return nil
	}
	h.waiters++
	if !h.running {
		h.running = true
		go h.run()
	}
	grew := h.grew
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		h.waiters--
		h.mu.Unlock()
	}()
	select {
	case <-grew:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-h.stop:
		return errs.New(errs.KindUnavailable, "meshplane is stopping")
	}
}

func (h *hub) run() {
	t := time.NewTicker(h.poll)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		head, err := auditHead(ctx, h.store.Client.AuditEvent.Query())
		cancel()
		h.mu.Lock()
		if err == nil && head > h.head {
			h.head = head
			close(h.grew)
			h.grew = make(chan struct{})
		}
		if h.waiters == 0 {
			h.running = false
			h.mu.Unlock()
			return
		}
		h.mu.Unlock()
	}
}

func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-h.stop:
	default:
		close(h.stop)
	}
}

// WatchInput selects the events a watcher receives.
type WatchInput struct {
	Filter
	// AfterSequence resumes after an event already seen; 0 starts with the
	// next change.
	AfterSequence int64
}

// watchBatch is how many events a watcher reads per query.
const watchBatch = 200

// MaxWatch is how long one watch runs at most.
const MaxWatch = 10 * time.Minute

// Watch sends each event passing in's filter, in order, as it commits,
// until ctx ends or send fails. Each event is checked against the caller's
// right to read the audit log of its domain when it is sent, so a role
// binding removed mid-watch takes effect at once.
//
// ready, when not nil, is called once the watch is live, with the sequence
// number it starts after.
func (s *Service) Watch(ctx context.Context, in WatchInput, ready func(after int64) error, send func(Event) error) error {
	if err := s.CheckWatch(ctx, in); err != nil {
		return err
	}
	head, err := auditHead(ctx, s.store.Client.AuditEvent.Query())
	if err != nil {
		return err
	}
	last := in.AfterSequence
	switch {
	case last == 0:
		last = head
	case last > head:
		var v errs.Violations
		v.Add("afterSequence", "is past the newest event (%d): resume after a sequence number this catalog sent", head)
		return v.Err()
	}
	// A watch ends after MaxWatch, as its caller was authenticated once,
	// at its start; the caller resumes after the last event it got.
	caller := ctx
	ctx, cancel := context.WithTimeout(ctx, MaxWatch)
	defer cancel()
	ended := func(err error) error {
		if caller.Err() == nil && ctx.Err() != nil {
			return nil // MaxWatch is up
		}
		return err
	}
	if ready != nil {
		if err := ready(last); err != nil {
			return err
		}
	}
	for {
		evs, err := s.store.Client.AuditEvent.Query().Where(auditevent.IDGT(last)).
			Order(ent.Asc(auditevent.FieldID)).Limit(watchBatch).All(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ended(ctx.Err())
			}
			return fmt.Errorf("reading events: %w", err)
		}
		for _, a := range evs {
			last = a.ID
			if !in.Match(a.Domain, TypeOf(a.Action)) || !s.mayRead(ctx, a.Domain) {
				continue
			}
			if err := send(fromAudit(s.source, a)); err != nil {
				return err
			}
		}
		if len(evs) == watchBatch {
			continue
		}
		if err := s.hub.wait(ctx, last); err != nil {
			return ended(err)
		}
	}
}

// CheckWatch refuses a watch Watch would refuse, before it starts.
func (s *Service) CheckWatch(ctx context.Context, in WatchInput) error {
	var v errs.Violations
	validTypes(&v, "types", in.Types)
	if in.AfterSequence < 0 {
		v.Add("afterSequence", "must not be negative")
	}
	if err := v.Err(); err != nil {
		return err
	}
	switch {
	case in.Domain != "" && in.Domain != access.AllDomains:
		if err := s.authz.Require(ctx, in.Domain, access.ObjAudit, access.ActRead); err != nil {
			return err
		}
	default:
		if sc := s.authz.ScopeOf(ctx, access.ObjAudit, access.ActRead); !sc.All && len(sc.Domains) == 0 {
			return errs.PermissionDenied("watching events needs audit read in at least one domain")
		}
	}
	return nil
}

// mayRead reports whether the caller may read the audit log of domain ("" for global resources).
func (s *Service) mayRead(ctx context.Context, domain string) bool {
	if domain == "" {
		domain = access.AllDomains
	}
	return s.authz.Can(ctx, domain, access.ObjAudit, access.ActRead)
}
