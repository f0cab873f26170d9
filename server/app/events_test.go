package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/coder/websocket/wsjson"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/server/app/apptest"
	"github.com/meshplane/meshplane/server/events"
)

// delivery is one request a receiver got.
type delivery struct {
	id, timestamp, signature, contentType string
	body                                  []byte
	event                                 events.Event
}

// receiver is a webhook endpoint that records every request and answers
// 503 while down, and to the first failFirst requests of each event.
type receiver struct {
	*httptest.Server
	mu        sync.Mutex
	got       []delivery
	down      bool
	failFirst int
	tries     map[string]int
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{tries: map[string]int{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		d := delivery{id: req.Header.Get(events.HeaderID), timestamp: req.Header.Get(events.HeaderTimestamp),
			signature: req.Header.Get(events.HeaderSignature), contentType: req.Header.Get("Content-Type"), body: body}
		if err := json.Unmarshal(body, &d.event); err != nil {
			t.Errorf("a delivery that is no event: %v: %s", err, body)
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		r.tries[d.id]++
		if r.down || r.tries[d.id] <= r.failFirst {
			http.Error(w, "not now", http.StatusServiceUnavailable)
			return
		}
		r.got = append(r.got, d)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) setDown(down bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down = down
}

// accepted returns the deliveries taken so far.
func (r *receiver) accepted() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// waitFor waits until the receiver has taken an event passing ok.
func (r *receiver) waitFor(t *testing.T, what string, ok func(events.Event) bool) delivery {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		for _, d := range r.accepted() {
			if ok(d.event) {
				return d
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the receiver never got %s; it got %d events", what, len(r.accepted()))
	return delivery{}
}

func ofType(typ string) func(events.Event) bool {
	return func(e events.Event) bool { return e.Type == events.TypePrefix+typ }
}

// auditSequences lists the audit log's sequence numbers in domain after seq, oldest first.
func auditSequences(t *testing.T, c apptest.Clients, domain string, after int64) []int64 {
	t.Helper()
	var out []int64
	token := ""
	for {
		res, err := c.Audit.ListAuditEvents(context.Background(), connect.NewRequest(&v1.ListAuditEventsRequest{Domain: domain, PageSize: 100, PageToken: token}))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range res.Msg.GetEvents() {
			if e.GetSequence() > after {
				out = append(out, e.GetSequence())
			}
		}
		if token = res.Msg.GetNextPageToken(); token == "" {
			break
		}
	}
	slices.Sort(out)
	return out
}

// TestWebhooksDeliverEveryEvent: a webhook sees every event of a
// register → plan → apply → grant scenario as a signed CloudEvent, in
// order; a receiver that fails three times gets the event on the fourth
// try; a restart while a receiver is down loses nothing; the delivery log
// and replay tell and redo what happened.
func TestWebhooksDeliverEveryEvent(t *testing.T) {
	f := newCatalogFixture(t)
	env, ctx := f.env, context.Background()
	sales, global := newReceiver(t), newReceiver(t)
	global.failFirst = 3

	// The owner registers a webhook for the sales domain over Connect; the
	// admin one for everything over GraphQL.
	created, err := f.owner.Events.CreateWebhook(ctx, connect.NewRequest(&v1.CreateWebhookRequest{Domain: "sales", Name: "ops", Url: sales.URL}))
	if err != nil {
		t.Fatal(err)
	}
	hook, secret := created.Msg.GetWebhook(), created.Msg.GetSecret()
	if !strings.HasPrefix(secret, events.SecretPrefix) || hook.GetDomain() != "sales" || !hook.GetActive() || hook.GetCreatedBy() != "olivia" {
		t.Fatalf("created: %+v", created.Msg)
	}
	gres := env.GraphQL(env.AdminToken, `mutation($in: CreateWebhookInput!) { createWebhook(input: $in) { secret webhook { id domain cursor } } }`,
		map[string]any{"in": map[string]any{"domain": "*", "name": "everything", "url": global.URL}})
	var gcreated struct {
		CreateWebhook struct {
			Secret  string
			Webhook struct{ ID, Domain string }
		}
	}
	if len(gres.Errors) > 0 || json.Unmarshal(gres.Data, &gcreated) != nil {
		t.Fatalf("createWebhook over GraphQL: %+v", gres)
	}
	globalSecret := gcreated.CreateWebhook.Secret
	if gcreated.CreateWebhook.Webhook.Domain != "*" || globalSecret == secret || !strings.HasPrefix(globalSecret, events.SecretPrefix) {
		t.Fatalf("created over GraphQL: %+v", gcreated)
	}
	start := auditSequences(t, f.admin, "sales", 0)
	startSeq := start[len(start)-1] // the sales webhook's own creation

	// The scenario: the product is planned, applied and consumed.
	provisionProduct(t, f.owner, "sales", "orders")
	if _, err := f.mOwn.Identity.CreatePrincipal(ctx, connect.NewRequest(&v1.CreatePrincipalRequest{
		Name: "auditor", Kind: v1.PrincipalKind_PRINCIPAL_KIND_SERVICE_ACCOUNT, Domain: "marketing"})); err != nil {
		t.Fatal(err)
	}
	req := f.request(t, f.mkt, &v1.RequestAccessRequest{Consumer: "reporter", Purpose: "churn", DurationSeconds: 3600,
		Ports: []*v1.PortRef{{Domain: "sales", Product: "orders", Port: "customers"}}})
	for _, c := range []apptest.Clients{f.owner, f.officer} {
		if _, err := c.Access.ApproveAccessRequest(ctx, connect.NewRequest(&v1.ApproveAccessRequestRequest{Id: req.GetId(), Reason: "ok"})); err != nil {
			t.Fatal(err)
		}
	}
	f.waitGrants(t, req.GetId(), v1.GrantState_GRANT_STATE_ACTIVE)
	sales.waitFor(t, "the grant's activation", ofType("access.GrantActivated"))

	// Every sales event since the webhook's creation arrived once, in
	// order, signed, as a CloudEvent; nothing of marketing did.
	want := auditSequences(t, f.admin, "sales", startSeq-1)
	var seqs []int64
	types := map[string]bool{}
	for _, d := range sales.accepted() {
		e := d.event
		seqs = append(seqs, e.Seq())
		types[strings.TrimPrefix(e.Type, events.TypePrefix)] = true
		if !events.Verify(secret, d.id, d.timestamp, d.signature, d.body, time.Now(), 5*time.Minute) {
			t.Errorf("event %s: signature %q does not verify", e.ID, d.signature)
		}
		if events.Verify(globalSecret, d.id, d.timestamp, d.signature, d.body, time.Now(), 5*time.Minute) {
			t.Errorf("event %s verifies with another webhook's secret", e.ID)
		}
		if e.SpecVersion != "1.0" || e.ID != strconv.FormatInt(e.Seq(), 10) || d.id != e.ID || e.Domain != "sales" ||
			!strings.HasPrefix(e.Source, "urn:meshplane:catalog:") || !strings.HasPrefix(d.contentType, "application/cloudevents+json") || e.Time.IsZero() {
			t.Errorf("event %s: %+v (content type %q)", e.ID, e, d.contentType)
		}
	}
	seqs = seqs[:min(len(seqs), len(want))]
	if !slices.Equal(seqs, want) {
		t.Errorf("sales receiver got %v, want the sales audit log since its creation %v", seqs, want)
	}
	for _, typ := range []string{"events.CreateWebhook", "provision.Plan", "provision.RunPlanned",
		"provision.ApproveRun", "provision.RunApplied", "access.GrantActivated"} {
		if !types[typ] {
			t.Errorf("the sales receiver never got a %s event; it got %v", typ, types)
		}
	}

	// The global receiver failed each event three times and took it on
	// the fourth try; the log says so. It also saw marketing's changes.
	global.waitFor(t, "marketing's new service account", func(e events.Event) bool {
		return e.Type == events.TypePrefix+"identity.CreatePrincipal" && strings.Contains(e.Subject, "auditor")
	})
	first := global.accepted()[0]
	if first.event.Type != events.TypePrefix+"events.CreateWebhook" {
		t.Errorf("the global webhook's first event is %s, want its own creation", first.event.Type)
	}
	if !events.Verify(globalSecret, first.id, first.timestamp, first.signature, first.body, time.Now(), 5*time.Minute) {
		t.Error("the global webhook's delivery does not verify with its secret")
	}
	log, err := f.admin.Events.ListWebhookDeliveries(ctx, connect.NewRequest(&v1.ListWebhookDeliveriesRequest{
		WebhookId: gcreated.CreateWebhook.Webhook.ID, State: v1.DeliveryState_DELIVERY_STATE_DELIVERED, PageSize: 1000}))
	if err != nil {
		t.Fatal(err)
	}
	var oldest *v1.WebhookDelivery
	for _, d := range log.Msg.GetDeliveries() {
		if d.GetSequence() == first.event.Seq() {
			oldest = d
		}
	}
	if oldest == nil || oldest.GetAttempts() != 4 || oldest.GetResponseStatus() != http.StatusNoContent || oldest.GetLastError() != "" || oldest.GetDeliverTime() == nil {
		t.Fatalf("the first delivery's log: %+v", oldest)
	}

	// Operators see the attempts and the log's state in the metrics.
	resp, err := env.HTTP.Client().Get(env.HTTP.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`meshplane_webhook_attempts_total{outcome="retry"} `, `meshplane_webhook_attempts_total{outcome="delivered"} `,
		`meshplane_webhook_deliveries{state="pending"} `, `meshplane_webhook_oldest_pending_seconds `, `meshplane_webhook_fanout_lag_events `} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(string(metrics), `meshplane_webhook_attempts_total{outcome="retry"} 0`) {
		t.Error("no retry counted")
	}

	// The receiver goes down; a change is made; meshplane restarts; the
	// receiver comes back: the change arrives.
	sales.setDown(true)
	if _, err := f.owner.Events.UpdateWebhook(ctx, connect.NewRequest(&v1.UpdateWebhookRequest{Id: hook.GetId(), Version: hook.GetVersion(),
		UpdateTypes: true, Types: []string{"dev.meshplane.catalog.*", "dev.meshplane.events.*"}})); err != nil {
		t.Fatal(err)
	}
	if _, err := f.owner.Catalog.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{Domain: "sales", Name: "refunds", Spec: apptest.ProductSpec()})); err != nil {
		t.Fatal(err)
	}
	env.Restart(apptest.Options{})
	owner := env.Clients(apptest.ProtocolGRPC, f.ownerTok)
	sales.setDown(false)
	refunds := sales.waitFor(t, "refunds' creation after the restart", func(e events.Event) bool {
		return e.Type == events.TypePrefix+"catalog.CreateDataProduct" && e.Data.Resource == "sales/refunds"
	})
	var product struct {
		Name, Domain string
	}
	if err := json.Unmarshal(refunds.event.Data.After, &product); err != nil || product.Name != "refunds" || refunds.event.Data.Actor != "olivia" {
		t.Errorf("the event's data: %s (%v)", refunds.body, err)
	}
	// The filter holds from the update on: catalog and events types only.
	for _, d := range sales.accepted() {
		if d.event.Seq() > refunds.event.Seq()-2 && !strings.HasPrefix(d.event.Type, events.TypePrefix+"catalog.") && !strings.HasPrefix(d.event.Type, events.TypePrefix+"events.") {
			t.Errorf("after the filter, the receiver got %s", d.event.Type)
		}
	}

	// Replay sends a delivered event again, with the same id. The receiver
	// has the newest event before the dispatcher records it delivered.
	var newest *v1.WebhookDelivery
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		dl, err := owner.Events.ListWebhookDeliveries(ctx, connect.NewRequest(&v1.ListWebhookDeliveriesRequest{WebhookId: hook.GetId(), PageSize: 1}))
		if err != nil || len(dl.Msg.GetDeliveries()) != 1 || dl.Msg.GetNextPageToken() == "" {
			t.Fatalf("the newest delivery: %v %v", dl, err)
		}
		newest = dl.Msg.GetDeliveries()[0]
		if newest.GetState() == v1.DeliveryState_DELIVERY_STATE_DELIVERED && newest.GetSequence() == refunds.event.Seq() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("newest delivery: %+v", newest)
		}
	}
	before := len(sales.accepted())
	rep, err := owner.Events.ReplayWebhookDelivery(ctx, connect.NewRequest(&v1.ReplayWebhookDeliveryRequest{Id: newest.GetId()}))
	if err != nil || rep.Msg.GetDelivery().GetState() != v1.DeliveryState_DELIVERY_STATE_PENDING {
		t.Fatalf("replay: %v %v", rep, err)
	}
	_, err = owner.Events.ReplayWebhookDelivery(ctx, connect.NewRequest(&v1.ReplayWebhookDeliveryRequest{Id: newest.GetId()}))
	wantError(t, "replaying a pending delivery", err, connect.CodeFailedPrecondition, events.ReasonNotReplayable)
	// The replay itself is a change of the webhook: its event comes too.
	sales.waitFor(t, "the replay's own event", ofType("events.ReplayWebhookDelivery"))
	deadline := time.Now().Add(time.Minute)
	for {
		var again []delivery
		for _, d := range sales.accepted() {
			if d.event.Seq() == newest.GetSequence() {
				again = append(again, d)
			}
		}
		if len(again) == 2 && again[1].id == again[0].id && len(sales.accepted()) == before+2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the replay: %d deliveries of event %d, %d in all (before %d)", len(again), newest.GetSequence(), len(sales.accepted()), before)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestEventsSubscriptionAndStream: a GraphQL subscription and a Connect
// stream see a run's state changes live, only for domains whose audit the
// caller may read, and resume after a sequence number.
func TestEventsSubscriptionAndStream(t *testing.T) {
	apptest.RequireTools(t)
	env := apptest.New(t)
	ctx := context.Background()
	env.Domain("sales")
	env.Domain("hr")
	ownerTok := env.User("olivia", "domain-owner", "sales")
	memberTok := env.User("mark", "domain-member", "sales")
	hrTok := env.User("harry", "domain-owner", "hr")
	owner := env.Clients(apptest.ProtocolConnect, ownerTok)
	if _, err := owner.Catalog.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{Domain: "sales", Name: "orders", Spec: apptest.ProductSpec()})); err != nil {
		t.Fatal(err)
	}

	// A member may not read the audit log: no events for them.
	c, err := subscribe(t, env, memberTok, `subscription { events(domain: "sales") { id } }`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if next, _ := drain(t, c); len(next) != 1 || !strings.Contains(string(next[0]), `"code":"PERMISSION_DENIED"`) {
		t.Fatalf("a member's subscription: %s", next)
	}
	c, err = subscribe(t, env, ownerTok, `subscription { events(types: ["dev.meshplane.provision.*"]) { id type subject domain sequence json } }`, nil)
	if err != nil {
		t.Fatal(err)
	}
	hr, err := subscribe(t, env, hrTok, `subscription { events { type domain } }`, nil)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := env.Clients(apptest.ProtocolGRPCWeb, ownerTok).Events.WatchEvents(ctx, connect.NewRequest(&v1.WatchEventsRequest{Domain: "sales"}))
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	if !stream.Receive() || stream.Msg().GetEvent() != nil || stream.Msg().GetStartSequence() == 0 {
		t.Fatalf("the stream's first message: %v %v", stream.Msg(), stream.Err())
	}
	time.Sleep(300 * time.Millisecond) // the subscriptions are at the head too

	run := approve(t, owner, plan(t, owner, "sales", "orders"), false)
	var gotTypes []string
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for !slices.Contains(gotTypes, "dev.meshplane.provision.RunApplied") {
		var m wsMessage
		if err := wsjson.Read(rctx, c, &m); err != nil {
			t.Fatalf("reading events: %v (so far %v)", err, gotTypes)
		}
		if m.Type != "next" {
			continue
		}
		var ev struct {
			Data struct {
				Events struct {
					ID, Type, Subject, JSON string
					Domain                  *string
					Sequence                int64
				}
			}
		}
		if err := json.Unmarshal(m.Payload, &ev); err != nil {
			t.Fatal(err)
		}
		e := ev.Data.Events
		var ce events.Event
		if err := json.Unmarshal([]byte(e.JSON), &ce); err != nil || ce.ID != e.ID || ce.Type != e.Type || e.Domain == nil || *e.Domain != "sales" {
			t.Fatalf("event %+v (%v)", e, err)
		}
		if !strings.HasPrefix(e.Type, "dev.meshplane.provision.") || e.Subject != "run/"+run.GetId() {
			t.Errorf("a filtered subscription got %s on %s", e.Type, e.Subject)
		}
		gotTypes = append(gotTypes, e.Type)
	}
	if want := []string{"dev.meshplane.provision.Plan", "dev.meshplane.provision.RunPlanned", "dev.meshplane.provision.ApproveRun", "dev.meshplane.provision.RunApplied"}; !slices.Equal(gotTypes, want) {
		t.Errorf("run events: %v, want %v", gotTypes, want)
	}

	// The Connect stream saw the same, and more of the domain.
	var streamed []*v1.Event
	for stream.Receive() {
		streamed = append(streamed, stream.Msg().GetEvent())
		if stream.Msg().GetEvent().GetType() == "dev.meshplane.provision.RunApplied" {
			break
		}
	}
	if len(streamed) < 4 || streamed[0].GetType() != "dev.meshplane.provision.Plan" {
		t.Fatalf("streamed: %v (%v)", streamed, stream.Err())
	}
	// Resuming after the first streamed event replays the rest, in order.
	resumed, err := owner.Events.WatchEvents(ctx, connect.NewRequest(&v1.WatchEventsRequest{Domain: "sales", AfterSequence: streamed[0].GetSequence()}))
	if err != nil {
		t.Fatal(err)
	}
	defer resumed.Close()
	if !resumed.Receive() || resumed.Msg().GetStartSequence() != streamed[0].GetSequence() {
		t.Fatalf("resumed: %v %v", resumed.Msg(), resumed.Err())
	}
	if !resumed.Receive() || resumed.Msg().GetEvent().GetSequence() != streamed[1].GetSequence() {
		t.Fatalf("resumed at %v, want %d (%v)", resumed.Msg(), streamed[1].GetSequence(), resumed.Err())
	}

	// hr's owner saw none of it: a change in hr reaches them, nothing before.
	if _, err := env.Clients(apptest.ProtocolConnect, hrTok).Catalog.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{
		Domain: "hr", Name: "staff", Spec: apptest.ProductSpecIn("hr")})); err != nil {
		t.Fatal(err)
	}
	var m wsMessage
	for m.Type != "next" {
		if err := wsjson.Read(rctx, hr, &m); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(string(m.Payload), `"domain":"hr"`) || !strings.Contains(string(m.Payload), "catalog.CreateDataProduct") {
		t.Fatalf("hr's first event: %s", m.Payload)
	}
}

// TestWebhookInputAndAccess: bad webhooks are refused field by field and
// change nothing; names are unique per domain; versions guard updates;
// another domain's webhook does not exist for a caller.
func TestWebhookInputAndAccess(t *testing.T) {
	env := apptest.New(t)
	ctx := context.Background()
	env.Domain("sales")
	env.Domain("hr")
	owner := env.Clients(apptest.ProtocolConnect, env.User("olivia", "domain-owner", "sales"))
	member := env.Clients(apptest.ProtocolConnect, env.User("mark", "domain-member", "sales"))
	hr := env.Clients(apptest.ProtocolConnect, env.User("harry", "domain-owner", "hr"))
	long := "https://example.com/" + strings.Repeat("a", events.MaxURLBytes)
	for _, tc := range []struct {
		in     *v1.CreateWebhookRequest
		fields []string
	}{
		{&v1.CreateWebhookRequest{Domain: "sales", Name: "x", Url: "https://example.com"}, []string{"name"}},
		{&v1.CreateWebhookRequest{Domain: "sales", Name: "a\"; drop", Url: "https://example.com"}, []string{"name"}},
		{&v1.CreateWebhookRequest{Domain: "sales", Name: "ok-name", Url: "ftp://example.com/x"}, []string{"url"}},
		{&v1.CreateWebhookRequest{Domain: "sales", Name: "ok-name", Url: "https://user:secret@example.com/x"}, []string{"url"}},
		{&v1.CreateWebhookRequest{Domain: "sales", Name: "ok-name", Url: "/relative"}, []string{"url"}},
		{&v1.CreateWebhookRequest{Domain: "sales", Name: "ok-name", Url: long}, []string{"url"}},
		{&v1.CreateWebhookRequest{Domain: "sales", Name: "ok-name", Url: "https://example.com", Types: []string{"catalog.*", "dev.meshplane.*.x"}}, []string{"types[0]", "types[1]"}},
		{&v1.CreateWebhookRequest{Name: "ok-name", Url: "https://example.com"}, []string{"domain"}},
	} {
		_, err := owner.Events.CreateWebhook(ctx, connect.NewRequest(tc.in))
		got := wantError(t, tc.in.GetName()+" "+tc.in.GetUrl(), err, connect.CodeInvalidArgument, "")
		for _, f := range tc.fields {
			if got[f] == "" {
				t.Errorf("%+v: no violation of %s in %v", tc.in, f, got)
			}
		}
		if strings.Contains(err.Error(), "secret@") {
			t.Errorf("the error repeats the URL's credentials: %v", err)
		}
	}
	_, err := owner.Events.CreateWebhook(ctx, connect.NewRequest(&v1.CreateWebhookRequest{Domain: "nowhere", Name: "ok-name", Url: "https://example.com"}))
	if c := connect.CodeOf(err); c != connect.CodeNotFound && c != connect.CodePermissionDenied {
		t.Errorf("a webhook in an unknown domain: %v", err)
	}
	_, err = member.Events.CreateWebhook(ctx, connect.NewRequest(&v1.CreateWebhookRequest{Domain: "sales", Name: "ok-name", Url: "https://example.com"}))
	wantError(t, "a member creating", err, connect.CodePermissionDenied, "")
	_, err = owner.Events.CreateWebhook(ctx, connect.NewRequest(&v1.CreateWebhookRequest{Domain: "*", Name: "ok-name", Url: "https://example.com"}))
	wantError(t, "an owner creating a global webhook", err, connect.CodePermissionDenied, "")
	if l, err := owner.Events.ListWebhooks(ctx, connect.NewRequest(&v1.ListWebhooksRequest{})); err != nil || len(l.Msg.GetWebhooks()) != 0 {
		t.Fatalf("refusals wrote webhooks: %v %v", l, err)
	}

	w, err := owner.Events.CreateWebhook(ctx, connect.NewRequest(&v1.CreateWebhookRequest{Domain: "sales", Name: "ok-name", Url: "https://example.com/hook?token=hunter2",
		Types: []string{"dev.meshplane.catalog.*", "dev.meshplane.provision.RunApplied"}}))
	if err != nil {
		t.Fatal(err)
	}
	hook := w.Msg.GetWebhook()
	_, err = owner.Events.CreateWebhook(ctx, connect.NewRequest(&v1.CreateWebhookRequest{Domain: "sales", Name: "ok-name", Url: "https://example.com"}))
	wantError(t, "a second webhook of the name", err, connect.CodeAlreadyExists, events.ReasonWebhookExists)
	_, err = hr.Events.GetWebhook(ctx, connect.NewRequest(&v1.GetWebhookRequest{Id: hook.GetId()}))
	wantError(t, "another domain's webhook", err, connect.CodeNotFound, "")
	_, err = hr.Events.DeleteWebhook(ctx, connect.NewRequest(&v1.DeleteWebhookRequest{Id: hook.GetId()}))
	wantError(t, "deleting another domain's webhook", err, connect.CodeNotFound, "")
	if l, _ := hr.Events.ListWebhooks(ctx, connect.NewRequest(&v1.ListWebhooksRequest{Domain: "sales"})); len(l.Msg.GetWebhooks()) != 0 {
		t.Errorf("hr lists sales' webhooks: %v", l.Msg.GetWebhooks())
	}
	bad := "https://u:p@example.com"
	_, err = owner.Events.UpdateWebhook(ctx, connect.NewRequest(&v1.UpdateWebhookRequest{Id: hook.GetId(), Version: hook.GetVersion(), Url: &bad}))
	wantError(t, "updating to a URL with credentials", err, connect.CodeInvalidArgument, "")
	off := false
	up, err := owner.Events.UpdateWebhook(ctx, connect.NewRequest(&v1.UpdateWebhookRequest{Id: hook.GetId(), Version: hook.GetVersion(), Active: &off}))
	if err != nil || up.Msg.GetWebhook().GetActive() || up.Msg.GetWebhook().GetVersion() != hook.GetVersion()+1 || len(up.Msg.GetWebhook().GetTypes()) != 2 {
		t.Fatalf("pausing: %v %v", up, err)
	}
	_, err = owner.Events.UpdateWebhook(ctx, connect.NewRequest(&v1.UpdateWebhookRequest{Id: hook.GetId(), Version: hook.GetVersion(), Active: &off}))
	wantError(t, "a stale update", err, connect.CodeAborted, "VERSION_CONFLICT")
	rot, err := owner.Events.RotateWebhookSecret(ctx, connect.NewRequest(&v1.RotateWebhookSecretRequest{Id: hook.GetId()}))
	if err != nil || rot.Msg.GetSecret() == w.Msg.GetSecret() || !strings.HasPrefix(rot.Msg.GetSecret(), events.SecretPrefix) {
		t.Fatalf("rotation: %v %v", rot, err)
	}
	// The audit log records the webhook, never its secret.
	al, err := owner.Audit.ListAuditEvents(ctx, connect.NewRequest(&v1.ListAuditEventsRequest{Domain: "sales", ResourceType: "webhook"}))
	if err != nil || len(al.Msg.GetEvents()) != 3 {
		t.Fatalf("webhook audit: %v %v", al, err)
	}
	for _, e := range al.Msg.GetEvents() {
		// Nor the URL's query, where receivers often take a token: events carry what the log holds.
		if !strings.Contains(e.GetAfter()+e.GetBefore(), "https://example.com/hook?") {
			t.Errorf("audit event %s does not name the URL: %s", e.GetAction(), e.GetAfter())
		}
		for _, s := range []string{w.Msg.GetSecret(), rot.Msg.GetSecret(), strings.TrimPrefix(rot.Msg.GetSecret(), events.SecretPrefix), "hunter2"} {
			if strings.Contains(e.GetBefore()+e.GetAfter(), s) {
				t.Errorf("audit event %s holds a signing secret", e.GetAction())
			}
		}
	}
	if w.Msg.GetWebhook().GetUrl() != "https://example.com/hook?token=hunter2" {
		t.Errorf("the webhook's own URL: %q", w.Msg.GetWebhook().GetUrl())
	}
	// A watch cannot resume after an event this catalog never sent.
	stream, err := owner.Events.WatchEvents(ctx, connect.NewRequest(&v1.WatchEventsRequest{Domain: "sales", AfterSequence: 1 << 40}))
	if err == nil {
		for stream.Receive() {
		}
		err = stream.Err()
	}
	if got := wantError(t, "resuming past the newest event", err, connect.CodeInvalidArgument, ""); got["afterSequence"] == "" {
		t.Errorf("no afterSequence violation: %v", got)
	}
	if _, err := owner.Events.DeleteWebhook(ctx, connect.NewRequest(&v1.DeleteWebhookRequest{Id: hook.GetId(), Version: 1})); connect.CodeOf(err) != connect.CodeAborted {
		t.Errorf("a stale delete: %v", err)
	}
	if _, err := owner.Events.DeleteWebhook(ctx, connect.NewRequest(&v1.DeleteWebhookRequest{Id: hook.GetId()})); err != nil {
		t.Fatal(err)
	}
	_, err = owner.Events.ListWebhookDeliveries(ctx, connect.NewRequest(&v1.ListWebhookDeliveriesRequest{WebhookId: hook.GetId()}))
	wantError(t, "a deleted webhook's deliveries", err, connect.CodeNotFound, "")
}
