// Package audit writes every change to a tamper-evident log in the same
// transaction as the change, and reads and verifies that log.
package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"entgo.io/ent/dialect"

	"github.com/meshplane/meshplane/server/access"
	"github.com/meshplane/meshplane/server/actor"
	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/ent/auditevent"
	"github.com/meshplane/meshplane/server/ent/predicate"
	"github.com/meshplane/meshplane/server/errs"
	"github.com/meshplane/meshplane/server/page"
	"github.com/meshplane/meshplane/server/store"
)

// chainLock is the PostgreSQL advisory lock that serializes appends to the
// chain. SQLite needs none: every write transaction begins IMMEDIATE.
const chainLock = 0x6d657368617564 // "meshaud"

// Change describes one mutation to record.
type Change struct {
	Action       string
	ResourceType string
	Resource     string
	// Domain is the domain the resource belongs to; "" for global resources.
	Domain string
	Before any
	After  any
}

// Record appends c to the chain inside tx, so the event commits or rolls back with the change.
func Record(ctx context.Context, tx *ent.Tx, dialectName string, c Change) error {
	if dialectName == dialect.Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, chainLock); err != nil {
			return fmt.Errorf("locking audit chain: %w", err)
		}
	}
	before, err := snapshot(c.Before)
	if err != nil {
		return err
	}
	after, err := snapshot(c.After)
	if err != nil {
		return err
	}
	var seq int64 = 1
	prev := ""
	head, err := tx.AuditEvent.Query().Order(ent.Desc(auditevent.FieldID)).First(ctx)
	switch {
	case ent.IsNotFound(err):
	case err != nil:
		return fmt.Errorf("reading audit chain head: %w", err)
	default:
		seq, prev = head.ID+1, head.Hash
	}
	who, _ := actor.From(ctx)
	ev := &ent.AuditEvent{
		ID:           seq,
		Time:         time.Now().UTC().Truncate(time.Microsecond),
		Actor:        who.Name,
		Action:       c.Action,
		ResourceType: c.ResourceType,
		Resource:     c.Resource,
		Domain:       c.Domain,
		Before:       before,
		After:        after,
		RequestID:    actor.RequestID(ctx),
		PrevHash:     prev,
	}
	ev.Hash = Hash(ev)
	err = tx.AuditEvent.Create().
		SetID(ev.ID).SetTime(ev.Time).SetActor(ev.Actor).SetAction(ev.Action).
		SetResourceType(ev.ResourceType).SetResource(ev.Resource).SetDomain(ev.Domain).
		SetBefore(ev.Before).SetAfter(ev.After).SetRequestID(ev.RequestID).
		SetPrevHash(ev.PrevHash).SetHash(ev.Hash).Exec(ctx)
	if err != nil {
		return fmt.Errorf("writing audit event: %w", err)
	}
	return nil
}

func snapshot(v any) (string, error) {
	if v == nil {
		return "", nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encoding audit snapshot: %w", err)
	}
	return string(b), nil
}

// hashed is the content an event's hash covers, in a fixed field order.
type hashed struct {
	Seq          int64  `json:"seq"`
	Time         string `json:"time"`
	Actor        string `json:"actor"`
	Action       string `json:"action"`
	ResourceType string `json:"resourceType"`
	Resource     string `json:"resource"`
	Domain       string `json:"domain"`
	Before       string `json:"before"`
	After        string `json:"after"`
	RequestID    string `json:"requestId"`
	PrevHash     string `json:"prevHash"`
}

// Hash returns the hex SHA-256 over the event's content and its predecessor's hash.
func Hash(e *ent.AuditEvent) string {
	b, _ := json.Marshal(hashed{
		Seq: e.ID, Time: e.Time.UTC().Format(time.RFC3339Nano), Actor: e.Actor, Action: e.Action,
		ResourceType: e.ResourceType, Resource: e.Resource, Domain: e.Domain,
		Before: e.Before, After: e.After, RequestID: e.RequestID, PrevHash: e.PrevHash,
	})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Service reads and verifies the audit log.
type Service struct {
	store *store.Store
	authz *access.Authorizer
}

// NewService returns the audit log reader.
func NewService(st *store.Store, authz *access.Authorizer) (*Service, error) {
	if st == nil || authz == nil {
		return nil, fmt.Errorf("audit service needs a store and an authorizer")
	}
	return &Service{store: st, authz: authz}, nil
}

// ListInput filters the log; empty fields match everything.
type ListInput struct {
	Domain       string
	ResourceType string
	Resource     string
	Actor        string
	PageSize     int
	PageToken    string
}

// List returns events newest first, limited to the domains whose audit the
// caller may read; events of global resources need audit read in every domain.
func (s *Service) List(ctx context.Context, in ListInput) (page.Page[*ent.AuditEvent], error) {
	var none page.Page[*ent.AuditEvent]
	size, cur, err := page.Start(in.PageSize, in.PageToken, "seq", true)
	if err != nil {
		return none, err
	}
	scope := s.authz.ScopeOf(ctx, access.ObjAudit, access.ActRead)
	var preds []predicate.AuditEvent
	switch {
	case in.Domain != "":
		if !scope.Contains(in.Domain) {
			return none, nil
		}
		preds = append(preds, auditevent.Domain(in.Domain))
	case !scope.All:
		if len(scope.Domains) == 0 {
			return none, nil
		}
		preds = append(preds, auditevent.DomainIn(scope.Domains...))
	}
	if in.ResourceType != "" {
		preds = append(preds, auditevent.ResourceType(in.ResourceType))
	}
	if in.Resource != "" {
		preds = append(preds, auditevent.Resource(in.Resource))
	}
	if in.Actor != "" {
		preds = append(preds, auditevent.Actor(in.Actor))
	}
	if cur != nil {
		id, err := strconv.ParseInt(cur.Key, 10, 64)
		if err != nil {
			var v errs.Violations
			v.Add("pageToken", "is not a page token returned by this list")
			return none, v.Err()
		}
		preds = append(preds, auditevent.IDLT(id))
	}
	events, err := s.store.Client.AuditEvent.Query().Where(preds...).
		Order(ent.Desc(auditevent.FieldID)).Limit(size + 1).All(ctx)
	if err != nil {
		return none, fmt.Errorf("listing audit events: %w", err)
	}
	return page.Of(events, size, func(e *ent.AuditEvent) page.Cursor {
		return page.Cursor{Order: "seq", Desc: true, Key: strconv.FormatInt(e.ID, 10)}
	}), nil
}

// Verification is the result of checking the whole chain.
type Verification struct {
	OK                  bool
	EventsChecked       int64
	FirstBrokenSequence int64
	HeadHash            string
}

// Verify recomputes every event's hash in sequence order and checks the links
// and that no sequence number is missing. It needs audit read in every domain.
func (s *Service) Verify(ctx context.Context) (Verification, error) {
	if err := s.authz.Require(ctx, access.AllDomains, access.ObjAudit, access.ActRead); err != nil {
		return Verification{}, err
	}
	const batch = 1000
	var (
		v    = Verification{OK: true}
		prev = ""
		last int64
	)
	for {
		events, err := s.store.Client.AuditEvent.Query().Where(auditevent.IDGT(last)).
			Order(ent.Asc(auditevent.FieldID)).Limit(batch).All(ctx)
		if err != nil {
			return v, fmt.Errorf("reading audit events: %w", err)
		}
		for _, e := range events {
			v.EventsChecked++
			if e.ID != last+1 || e.PrevHash != prev || Hash(e) != e.Hash {
				v.OK = false
				v.FirstBrokenSequence = last + 1
				return v, nil
			}
			prev, last = e.Hash, e.ID
		}
		if len(events) < batch {
			v.HeadHash = prev
			return v, nil
		}
	}
}
