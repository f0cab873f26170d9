package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/meshplane/meshplane/server/access"
	"github.com/meshplane/meshplane/server/actor"
	"github.com/meshplane/meshplane/server/audit"
	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/ent/auditevent"
	entdomain "github.com/meshplane/meshplane/server/ent/domain"
	"github.com/meshplane/meshplane/server/ent/webhook"
	"github.com/meshplane/meshplane/server/ent/webhookdelivery"
	"github.com/meshplane/meshplane/server/errs"
	"github.com/meshplane/meshplane/server/jobs"
	"github.com/meshplane/meshplane/server/page"
	"github.com/meshplane/meshplane/server/store"
)

// Error reasons of the events service.
const (
	// ReasonWebhookExists: the domain has a webhook of that name already.
	ReasonWebhookExists = "WEBHOOK_EXISTS"
	// ReasonNotReplayable: only a delivered or failed delivery is sent again.
	ReasonNotReplayable = "DELIVERY_NOT_REPLAYABLE"
	// ReasonTooManyWebhooks: the domain has MaxWebhooksPerDomain webhooks already.
	ReasonTooManyWebhooks = "TOO_MANY_WEBHOOKS"
)

// Limits on what a webhook may name, and on how many a domain may have.
const (
	MaxURLBytes          = 2048
	MaxTypes             = 32
	MaxWebhooksPerDomain = 100
)

// sourceSetting names the catalog setting that holds the events' source, so
// every replica sharing the catalog publishes under the same one.
const sourceSetting = "event_source"

// Config configures the events service.
type Config struct {
	Store  *store.Store
	Authz  *access.Authorizer
	Logger *slog.Logger
	// Jobs runs the dispatcher on one replica at a time; without it,
	// Dispatch is called by hand.
	Jobs *jobs.Queue
	// Key derives the webhooks' signing secrets; the same on every replica.
	Key []byte
	// Interval is how often due deliveries are sent (default 1s).
	Interval time.Duration
	// RetryBase is the wait after a first failed attempt; each next wait
	// doubles, up to an hour (default 10s).
	RetryBase time.Duration
	// MaxAttempts is how often a delivery is tried before it is marked
	// failed, to be replayed by hand (default 12: about three and a half hours).
	MaxAttempts int
	// Timeout bounds one attempt, the receiver's answer included (default 10s).
	Timeout time.Duration
	// AllowPrivateNetworks lets webhooks reach loopback, private and
	// link-local addresses (receivers inside the deployment's network).
	AllowPrivateNetworks bool
	// Client sends deliveries instead of the default client; it is made
	// never to follow redirects.
	Client *http.Client
	// Poll is how often watchers look for new events (default 250ms).
	Poll time.Duration
	// Retention is how long delivered deliveries stay in the log (default
	// 7 days); failed ones stay four times as long, to be replayed.
	Retention time.Duration
}

// Service manages webhooks, delivers events and serves watchers.
type Service struct {
	cfg    Config
	store  *store.Store
	authz  *access.Authorizer
	log    *slog.Logger
	source string
	hub    *hub
	// attempts counts this replica's delivery attempts by outcome.
	attempts map[string]*atomic.Int64
}

// DispatchArgs is the periodic job that fans events out to webhooks and
// sends the deliveries due.
type DispatchArgs struct{}

// Kind names the job.
func (DispatchArgs) Kind() string { return "events.dispatch" }

// New returns the events service; with a job queue, it registers the
// dispatcher on it.
func New(ctx context.Context, c Config) (*Service, error) {
	if c.Store == nil || c.Authz == nil || c.Logger == nil || len(c.Key) == 0 {
		return nil, errors.New("events service needs a store, an authorizer, a logger and a key")
	}
	if c.Interval <= 0 {
		c.Interval = time.Second
	}
	if c.RetryBase <= 0 {
		c.RetryBase = 10 * time.Second
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 12
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Poll <= 0 {
		c.Poll = 250 * time.Millisecond
	}
	if c.Retention <= 0 {
		c.Retention = 7 * 24 * time.Hour
	}
	if c.Client == nil {
		c.Client = newClient(c.AllowPrivateNetworks)
	}
	client := *c.Client
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.Client = &client
	s := &Service{cfg: c, store: c.Store, authz: c.Authz, log: c.Logger, attempts: map[string]*atomic.Int64{}}
	for _, o := range []string{outcomeDelivered, outcomeRetry, outcomeFailed} {
		s.attempts[o] = new(atomic.Int64)
	}
	src, err := s.loadSource(ctx)
	if err != nil {
		return nil, err
	}
	s.source = src
	s.hub = newHub(c.Store, c.Poll)
	if c.Jobs != nil {
		jobs.Handle(c.Jobs, func(ctx context.Context, _ *river.Job[DispatchArgs]) error { return s.Dispatch(ctx) })
		c.Jobs.Every(c.Interval, DispatchArgs{})
	}
	return s, nil
}

// Source is the CloudEvents source of every event of this catalog.
func (s *Service) Source() string { return s.source }

// Close stops the watchers' poller.
func (s *Service) Close() { s.hub.close() }

func (s *Service) loadSource(ctx context.Context) (string, error) {
	get := func() (string, error) {
		v, err := s.store.Client.Setting.Get(ctx, sourceSetting)
		if err != nil {
			return "", err
		}
		return v.Value, nil
	}
	if v, err := get(); err == nil {
		return v, nil
	} else if !ent.IsNotFound(err) {
		return "", fmt.Errorf("reading the events' source: %w", err)
	}
	err := s.store.Client.Setting.Create().SetID(sourceSetting).SetValue("urn:meshplane:catalog:" + uuid.NewString()).Exec(ctx)
	if err != nil && !ent.IsConstraintError(err) {
		return "", fmt.Errorf("recording the events' source: %w", err)
	}
	// Another replica may have recorded its own first: every replica reads that one.
	return get()
}

// Webhook is an endpoint events are delivered to.
type Webhook struct {
	ID     string
	Domain string
	Name   string
	URL    string
	Types  []string
	Active bool
	// Version changes with every update; updates and deletes name the version they saw.
	Version    int64
	CreatedBy  string
	CreateTime time.Time
	UpdateTime time.Time
	// Cursor is the sequence number of the last event looked at for it.
	Cursor int64
}

func webhookOf(w *ent.Webhook) Webhook {
	return Webhook{ID: w.ID, Domain: w.Domain, Name: w.Name, URL: w.URL, Types: w.Types, Active: w.Active,
		Version: w.Version, CreatedBy: w.CreatedBy, CreateTime: w.CreateTime, UpdateTime: w.UpdateTime, Cursor: w.Cursor}
}

// snapshot is what the audit log records of a webhook.
type snapshot struct {
	ID      string   `json:"id"`
	Domain  string   `json:"domain"`
	Name    string   `json:"name"`
	URL     string   `json:"url"`
	Types   []string `json:"types"`
	Active  bool     `json:"active"`
	Version int64    `json:"version"`
	// SecretGeneration counts rotations; the secret itself is never recorded.
	SecretGeneration int `json:"secretGeneration"`
}

func snapshotOf(w *ent.Webhook) snapshot {
	return snapshot{ID: w.ID, Domain: w.Domain, Name: w.Name, URL: redactURL(w.URL), Types: w.Types, Active: w.Active,
		Version: w.Version, SecretGeneration: w.SecretGeneration}
}

// redactURL is a URL as the audit log (and so every event) records it:
// without its query, where receivers often take a token.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	if u.RawQuery != "" {
		u.RawQuery = "…"
	}
	return u.String()
}

// WithSecret is a webhook with its signing secret, returned when the secret
// is created or rotated and never again.
type WithSecret struct {
	Webhook Webhook
	Secret  string
}

// CreateInput registers a webhook.
type CreateInput struct {
	// Domain whose events are delivered; "*" for every domain and the global resources.
	Domain string
	Name   string
	URL    string
	Types  []string
}

var (
	namePattern = regexp.MustCompile(`^[a-z][a-z0-9-]{1,62}$`)
	typePattern = regexp.MustCompile(`^dev\.meshplane\.([A-Za-z][A-Za-z0-9]*\.)*([A-Za-z][A-Za-z0-9]*|\*)$`)
)

func validURL(v *errs.Violations, path, raw string) {
	if len(raw) > MaxURLBytes {
		v.Add(path, "is longer than %d bytes", MaxURLBytes)
		return
	}
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		v.Add(path, "is required")
	case err != nil || !u.IsAbs() || u.Host == "":
		v.Add(path, "must be an absolute http or https URL")
	case u.Scheme != "http" && u.Scheme != "https":
		v.Add(path, "must use http or https")
	case u.User != nil:
		v.Add(path, "must not carry credentials: deliveries are signed instead")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		v.Add(path, "must not have a fragment")
	case strings.ContainsAny(raw, " \t\r\n"):
		v.Add(path, "must not contain white space")
	}
}

func validTypes(v *errs.Violations, path string, types []string) {
	if len(types) > MaxTypes {
		v.Add(path, "names more than %d types", MaxTypes)
		return
	}
	for i, t := range types {
		if !typePattern.MatchString(t) {
			v.Add(fmt.Sprintf("%s[%d]", path, i), `must be an event type such as dev.meshplane.catalog.UpdateDataProduct, or a prefix of one ending in ".*"`)
		}
	}
}

// Create registers a webhook. Its first event is its own creation; the
// signing secret is returned this once.
func (s *Service) Create(ctx context.Context, in CreateInput) (WithSecret, error) {
	var none WithSecret
	var v errs.Violations
	if in.Domain == "" {
		v.Add("domain", `is required: a domain, or "*" for every domain`)
	}
	if !namePattern.MatchString(in.Name) {
		v.Add("name", "must be 2 to 63 lowercase letters, digits and hyphens, starting with a letter")
	}
	validURL(&v, "url", in.URL)
	validTypes(&v, "types", in.Types)
	if err := v.Err(); err != nil {
		return none, err
	}
	if err := s.authz.Require(ctx, in.Domain, access.ObjWebhook, access.ActCreate); err != nil {
		return none, err
	}
	// Events carry what the audit log records: a webhook may receive only
	// what its creator may read there.
	if err := s.authz.Require(ctx, in.Domain, access.ObjAudit, access.ActRead); err != nil {
		return none, err
	}
	who, _ := actor.From(ctx)
	var out *ent.Webhook
	err := s.store.Tx(ctx, func(tx *ent.Tx) error {
		if in.Domain != access.AllDomains {
			ok, err := tx.Domain.Query().Where(entdomain.Name(in.Domain)).Exist(ctx)
			if err != nil {
				return err
			}
			if !ok {
				return errs.NotFound("domain", in.Domain)
			}
		}
		if n, err := tx.Webhook.Query().Where(webhook.Domain(in.Domain)).Count(ctx); err != nil {
			return err
		} else if n >= MaxWebhooksPerDomain {
			return errs.New(errs.KindResourceExhausted, "domain %s has %d webhooks, the most it may have: delete one first", in.Domain, n).WithReason(ReasonTooManyWebhooks)
		}
		head, err := auditHead(ctx, tx.AuditEvent.Query())
		if err != nil {
			return err
		}
		out, err = tx.Webhook.Create().SetDomain(in.Domain).SetName(in.Name).SetURL(in.URL).SetTypes(in.Types).
			SetCursor(head).SetCreatedBy(who.Name).Save(ctx)
		if ent.IsConstraintError(err) {
			return errs.New(errs.KindAlreadyExists, "domain %s has a webhook named %q already", in.Domain, in.Name).WithReason(ReasonWebhookExists)
		}
		if err != nil {
			return err
		}
		return s.record(ctx, tx, "events.CreateWebhook", nil, out)
	})
	if err != nil {
		return none, err
	}
	return WithSecret{Webhook: webhookOf(out), Secret: secretFor(s.cfg.Key, out.ID, out.SecretGeneration)}, nil
}

func (s *Service) record(ctx context.Context, tx *ent.Tx, action string, before, after *ent.Webhook) error {
	c := audit.Change{Action: action, ResourceType: "webhook"}
	for _, w := range []*ent.Webhook{before, after} {
		if w != nil {
			c.Resource, c.Domain = w.Domain+"/"+w.Name, w.Domain
		}
	}
	if c.Domain == access.AllDomains {
		c.Domain = ""
	}
	if before != nil {
		c.Before = snapshotOf(before)
	}
	if after != nil {
		c.After = snapshotOf(after)
	}
	return audit.Record(ctx, tx, s.store.Dialect, c)
}

func auditHead(ctx context.Context, q *ent.AuditEventQuery) (int64, error) {
	head, err := q.Order(ent.Desc(auditevent.FieldID)).First(ctx)
	if ent.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading the audit log's head: %w", err)
	}
	return head.ID, nil
}

// load returns the webhook id if the caller may act on it; one it may not
// even read is not found.
func (s *Service) load(ctx context.Context, c *ent.Client, id, act string) (*ent.Webhook, error) {
	w, err := c.Webhook.Get(ctx, id)
	if ent.IsNotFound(err) || (err == nil && !s.authz.Can(ctx, w.Domain, access.ObjWebhook, access.ActRead)) {
		return nil, errs.NotFound("webhook", id)
	}
	if err != nil {
		return nil, err
	}
	if act != access.ActRead {
		if err := s.authz.Require(ctx, w.Domain, access.ObjWebhook, act); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// Get returns one webhook.
func (s *Service) Get(ctx context.Context, id string) (Webhook, error) {
	w, err := s.load(ctx, s.store.Client, id, access.ActRead)
	if err != nil {
		return Webhook{}, err
	}
	return webhookOf(w), nil
}

// List returns the webhooks of domain ("" for every domain the caller may
// read webhooks in), by domain and name.
func (s *Service) List(ctx context.Context, domain string) ([]Webhook, error) {
	q := s.store.Client.Webhook.Query()
	switch scope := s.authz.ScopeOf(ctx, access.ObjWebhook, access.ActRead); {
	case domain != "":
		if !scope.Contains(domain) && !s.authz.Can(ctx, domain, access.ObjWebhook, access.ActRead) {
			return nil, nil
		}
		q = q.Where(webhook.Domain(domain))
	case !scope.All:
		q = q.Where(webhook.DomainIn(scope.Domains...))
	}
	ws, err := q.Order(ent.Asc(webhook.FieldDomain), ent.Asc(webhook.FieldName)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing webhooks: %w", err)
	}
	out := make([]Webhook, len(ws))
	for i, w := range ws {
		out[i] = webhookOf(w)
	}
	return out, nil
}

// UpdateInput changes a webhook; nil fields stay as they are.
type UpdateInput struct {
	ID string
	// Version is the version the caller saw; a newer one is a conflict.
	Version int64
	URL     *string
	Types   *[]string
	// Active false holds deliveries: events still accrue and are delivered,
	// in order, once the webhook is active again.
	Active *bool
}

// Update changes a webhook's URL, types or activity.
func (s *Service) Update(ctx context.Context, in UpdateInput) (Webhook, error) {
	var v errs.Violations
	if in.Version <= 0 {
		v.Add("version", "is required: the version the change is based on")
	}
	if in.URL != nil {
		validURL(&v, "url", *in.URL)
	}
	if in.Types != nil {
		validTypes(&v, "types", *in.Types)
	}
	if err := v.Err(); err != nil {
		return Webhook{}, err
	}
	var out *ent.Webhook
	err := s.store.Tx(ctx, func(tx *ent.Tx) error {
		cur, err := s.load(ctx, tx.Client(), in.ID, access.ActUpdate)
		if err != nil {
			return err
		}
		if cur.Version != in.Version {
			return errs.Conflict("webhook", cur.Domain+"/"+cur.Name, in.Version, cur.Version)
		}
		if in.URL != nil || in.Types != nil {
			// Pointing a webhook elsewhere, or at more, is creating it anew.
			if err := s.authz.Require(ctx, cur.Domain, access.ObjAudit, access.ActRead); err != nil {
				return err
			}
		}
		u := tx.Webhook.Update().Where(webhook.ID(cur.ID), webhook.Version(cur.Version)).AddVersion(1)
		if in.URL != nil {
			u = u.SetURL(*in.URL)
		}
		if in.Types != nil {
			u = u.SetTypes(*in.Types)
		}
		if in.Active != nil {
			u = u.SetActive(*in.Active)
		}
		if out, err = saveVersioned(ctx, tx, cur, u); err != nil {
			return err
		}
		return s.record(ctx, tx, "events.UpdateWebhook", cur, out)
	})
	if err != nil {
		return Webhook{}, err
	}
	return webhookOf(out), nil
}

// RotateSecret replaces a webhook's signing secret and returns the new one;
// deliveries are signed with it from the next attempt on.
func (s *Service) RotateSecret(ctx context.Context, id string, version int64) (WithSecret, error) {
	var out *ent.Webhook
	err := s.store.Tx(ctx, func(tx *ent.Tx) error {
		cur, err := s.load(ctx, tx.Client(), id, access.ActUpdate)
		if err != nil {
			return err
		}
		if version > 0 && cur.Version != version {
			return errs.Conflict("webhook", cur.Domain+"/"+cur.Name, version, cur.Version)
		}
		u := tx.Webhook.Update().Where(webhook.ID(cur.ID), webhook.Version(cur.Version)).AddVersion(1).AddSecretGeneration(1)
		if out, err = saveVersioned(ctx, tx, cur, u); err != nil {
			return err
		}
		return s.record(ctx, tx, "events.RotateWebhookSecret", cur, out)
	})
	if err != nil {
		return WithSecret{}, err
	}
	return WithSecret{Webhook: webhookOf(out), Secret: secretFor(s.cfg.Key, out.ID, out.SecretGeneration)}, nil
}

// Delete removes a webhook and its delivery log.
func (s *Service) Delete(ctx context.Context, id string, version int64) error {
	return s.store.Tx(ctx, func(tx *ent.Tx) error {
		cur, err := s.load(ctx, tx.Client(), id, access.ActDelete)
		if err != nil {
			return err
		}
		if version > 0 && cur.Version != version {
			return errs.Conflict("webhook", cur.Domain+"/"+cur.Name, version, cur.Version)
		}
		// The webhook goes first: a fan-out waiting on its row then finds
		// none and writes nothing, so no delivery outlives it.
		n, err := tx.Webhook.Delete().Where(webhook.ID(cur.ID), webhook.Version(cur.Version)).Exec(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return errs.Conflict("webhook", cur.Domain+"/"+cur.Name, cur.Version, cur.Version+1)
		}
		if _, err := tx.WebhookDelivery.Delete().Where(webhookdelivery.WebhookID(id)).Exec(ctx); err != nil {
			return err
		}
		return s.record(ctx, tx, "events.DeleteWebhook", cur, nil)
	})
}

// saveVersioned applies u, which matches cur's id and version, and returns
// the webhook after it; a concurrent change in between is a conflict.
func saveVersioned(ctx context.Context, tx *ent.Tx, cur *ent.Webhook, u *ent.WebhookUpdate) (*ent.Webhook, error) {
	n, err := u.Save(ctx)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, errs.Conflict("webhook", cur.Domain+"/"+cur.Name, cur.Version, cur.Version+1)
	}
	return tx.Webhook.Get(ctx, cur.ID)
}

// Delivery states.
const (
	DeliveryPending   = string(webhookdelivery.StatePending)
	DeliveryDelivered = string(webhookdelivery.StateDelivered)
	DeliveryFailed    = string(webhookdelivery.StateFailed)
)

// Delivery is one event owed to a webhook and how sending it went.
type Delivery struct {
	ID        string `json:"id"`
	WebhookID string `json:"webhookId"`
	Sequence  int64  `json:"sequence"`
	Type      string `json:"type"`
	// State is pending (to be tried at NextAttemptTime), delivered or failed.
	State           string     `json:"state"`
	Attempts        int        `json:"attempts"`
	NextAttemptTime time.Time  `json:"nextAttemptTime"`
	LastAttemptTime *time.Time `json:"lastAttemptTime,omitempty"`
	// ResponseStatus is the receiver's HTTP status on the last attempt; 0 when none came.
	ResponseStatus int        `json:"responseStatus"`
	LastError      string     `json:"lastError"`
	DeliverTime    *time.Time `json:"deliverTime,omitempty"`
	CreateTime     time.Time  `json:"createTime"`
}

func deliveryOf(d *ent.WebhookDelivery) Delivery {
	return Delivery{ID: d.ID, WebhookID: d.WebhookID, Sequence: d.Sequence, Type: d.Type, State: string(d.State),
		Attempts: d.Attempts, NextAttemptTime: d.NextAttemptTime, LastAttemptTime: d.LastAttemptTime,
		ResponseStatus: d.ResponseStatus, LastError: d.LastError, DeliverTime: d.DeliverTime, CreateTime: d.CreateTime}
}

// DeliveriesInput lists a webhook's deliveries, newest event first.
type DeliveriesInput struct {
	WebhookID string
	// State filters: pending, delivered or failed; empty for all.
	State     string
	PageSize  int
	PageToken string
}

// Deliveries lists a webhook's delivery log.
func (s *Service) Deliveries(ctx context.Context, in DeliveriesInput) (page.Page[Delivery], error) {
	var none page.Page[Delivery]
	size, cur, err := page.Start(in.PageSize, in.PageToken, "sequence", true)
	if err != nil {
		return none, err
	}
	if in.State != "" {
		if err := webhookdelivery.StateValidator(webhookdelivery.State(in.State)); err != nil {
			var v errs.Violations
			v.Add("state", "must be pending, delivered or failed")
			return none, v.Err()
		}
	}
	if _, err := s.load(ctx, s.store.Client, in.WebhookID, access.ActRead); err != nil {
		return none, err
	}
	q := s.store.Client.WebhookDelivery.Query().Where(webhookdelivery.WebhookID(in.WebhookID))
	if in.State != "" {
		q = q.Where(webhookdelivery.StateEQ(webhookdelivery.State(in.State)))
	}
	if cur != nil {
		seq, err := strconv.ParseInt(cur.Key, 10, 64)
		if err != nil {
			var v errs.Violations
			v.Add("pageToken", "is not a page token returned by this list")
			return none, v.Err()
		}
		q = q.Where(webhookdelivery.SequenceLT(seq))
	}
	ds, err := q.Order(ent.Desc(webhookdelivery.FieldSequence)).Limit(size + 1).All(ctx)
	if err != nil {
		return none, fmt.Errorf("listing deliveries: %w", err)
	}
	items := make([]Delivery, len(ds))
	for i, d := range ds {
		items[i] = deliveryOf(d)
	}
	return page.Of(items, size, func(d Delivery) page.Cursor {
		return page.Cursor{Order: "sequence", Desc: true, Key: strconv.FormatInt(d.Sequence, 10)}
	}), nil
}

// Replay sends a delivered or failed delivery again, as soon as the
// dispatcher next runs, with a fresh set of attempts.
func (s *Service) Replay(ctx context.Context, id string) (Delivery, error) {
	var out *ent.WebhookDelivery
	err := s.store.Tx(ctx, func(tx *ent.Tx) error {
		d, err := tx.WebhookDelivery.Get(ctx, id)
		if ent.IsNotFound(err) {
			return errs.NotFound("delivery", id)
		}
		if err != nil {
			return err
		}
		w, err := s.load(ctx, tx.Client(), d.WebhookID, access.ActUpdate)
		if e := errs.As(err); err != nil && e.Kind == errs.KindNotFound {
			return errs.NotFound("delivery", id)
		}
		if err != nil {
			return err
		}
		if d.State == webhookdelivery.StatePending {
			return errs.New(errs.KindFailedPrecondition, "delivery %s is still pending: it is tried again at %s", id,
				d.NextAttemptTime.Format(time.RFC3339)).WithReason(ReasonNotReplayable)
		}
		if out, err = tx.WebhookDelivery.UpdateOne(d).SetState(webhookdelivery.StatePending).SetAttempts(0).
			SetNextAttemptTime(now()).Save(ctx); err != nil {
			return err
		}
		return audit.Record(ctx, tx, s.store.Dialect, audit.Change{Action: "events.ReplayWebhookDelivery", ResourceType: "webhook",
			Resource: w.Domain + "/" + w.Name, Domain: strings.TrimPrefix(w.Domain, access.AllDomains),
			Before: deliveryOf(d), After: deliveryOf(out)})
	})
	if err != nil {
		return Delivery{}, err
	}
	return deliveryOf(out), nil
}

func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
