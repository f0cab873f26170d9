package events

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshplane/meshplane/policies"
	"github.com/meshplane/meshplane/server/access"
	"github.com/meshplane/meshplane/server/actor"
	"github.com/meshplane/meshplane/server/audit"
	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/ent/webhookdelivery"
	"github.com/meshplane/meshplane/server/store"
)

func TestFilterMatch(t *testing.T) {
	for _, tc := range []struct {
		f           Filter
		domain, typ string
		want        bool
	}{
		{Filter{}, "sales", "dev.meshplane.catalog.CreateDataProduct", true},
		{Filter{}, "", "dev.meshplane.policy.Publish", true},
		{Filter{Domain: "*"}, "", "dev.meshplane.policy.Publish", true},
		{Filter{Domain: "sales"}, "", "dev.meshplane.policy.Publish", false},
		{Filter{Domain: "sales"}, "hr", "dev.meshplane.catalog.CreateDataProduct", false},
		{Filter{Domain: "sales", Types: []string{"dev.meshplane.catalog.*"}}, "sales", "dev.meshplane.catalog.UpdateDataProduct", true},
		{Filter{Types: []string{"dev.meshplane.catalog.*"}}, "sales", "dev.meshplane.catalogue.X", false},
		{Filter{Types: []string{"dev.meshplane.provision.RunApplied"}}, "sales", "dev.meshplane.provision.RunApplied", true},
		{Filter{Types: []string{"dev.meshplane.provision.RunApplied"}}, "sales", "dev.meshplane.provision.RunAppliedLater", false},
		{Filter{Types: []string{"dev.meshplane.*"}}, "sales", "dev.meshplane.access.GrantActivated", true},
	} {
		if got := tc.f.Match(tc.domain, tc.typ); got != tc.want {
			t.Errorf("%+v.Match(%q, %q) = %v, want %v", tc.f, tc.domain, tc.typ, got, tc.want)
		}
	}
}

func TestSignAndVerify(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	secret := secretFor([]byte("key"), "w1", 1)
	if !strings.HasPrefix(secret, SecretPrefix) || secret == secretFor([]byte("key"), "w1", 2) || secret == secretFor([]byte("key"), "w2", 1) ||
		secret == secretFor([]byte("other key"), "w1", 1) {
		t.Fatalf("secrets must differ by webhook, generation and key: %s", secret)
	}
	body := []byte(`{"id":"7"}`)
	sig := Sign(secret, "7", now, body)
	ts := "1800000000"
	for _, tc := range []struct {
		name                   string
		secret, id, ts, header string
		body                   []byte
		want                   bool
	}{
		{"as signed", secret, "7", ts, sig, body, true},
		{"one of several", secret, "7", ts, "v1,AAAA " + sig + " v2,x", body, true},
		{"another body", secret, "7", ts, sig, []byte(`{"id":"8"}`), false},
		{"another id", secret, "8", ts, sig, body, false},
		{"another time", secret, "7", "1800000001", sig, body, false},
		{"another secret", secretFor([]byte("key"), "w1", 2), "7", ts, sig, body, false},
		{"too old", secret, "7", "1799999000", Sign(secret, "7", time.Unix(1799999000, 0), body), body, false},
		{"no version", secret, "7", ts, strings.TrimPrefix(sig, "v1,"), body, false},
		{"garbage", secret, "7", "x", "v1,!!!", body, false},
	} {
		if got := Verify(tc.secret, tc.id, tc.ts, tc.header, tc.body, now, 5*time.Minute); got != tc.want {
			t.Errorf("%s: Verify = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// testService is a service on a fresh SQLite catalog whose dispatcher is
// called by hand.
func testService(t testing.TB, c Config) *Service {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite://"+t.TempDir()+"/catalog.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	authz, err := access.New(policies.RBACModel, policies.RBACPolicy)
	if err != nil {
		t.Fatal(err)
	}
	c.Store, c.Authz, c.Logger, c.Key = st, authz, slog.New(slog.NewTextHandler(io.Discard, nil)), []byte("key")
	c.AllowPrivateNetworks = true // the test receivers listen on loopback
	s, err := New(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// change records an audit event in domain, as a change would.
func change(t testing.TB, s *Service, domain, action string) {
	t.Helper()
	ctx := actor.With(context.Background(), actor.Actor{Name: "olivia"})
	if err := s.store.Tx(ctx, func(tx *ent.Tx) error {
		return audit.Record(ctx, tx, s.store.Dialect, audit.Change{Action: action, ResourceType: "product", Resource: domain + "/p", Domain: domain})
	}); err != nil {
		t.Fatal(err)
	}
}

func hookAt(t testing.TB, s *Service, domain, url string, types ...string) *ent.Webhook {
	t.Helper()
	w, err := s.store.Client.Webhook.Create().SetDomain(domain).SetName("w-" + domain).SetURL(url).SetTypes(types).Save(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func deliveries(t *testing.T, s *Service, w *ent.Webhook) []*ent.WebhookDelivery {
	t.Helper()
	ds, err := s.store.Client.WebhookDelivery.Query().Where(webhookdelivery.WebhookID(w.ID)).
		Order(ent.Asc(webhookdelivery.FieldSequence)).All(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// TestFanOutFollowsFiltersAndHolds: deliveries are written for the events
// a webhook's domain and types select, from its cursor on; an inactive
// webhook accrues nothing until it is active again, then gets its backlog.
func TestFanOutFollowsFiltersAndHolds(t *testing.T) {
	s := testService(t, Config{})
	ctx := context.Background()
	sales := hookAt(t, s, "sales", "http://127.0.0.1:1/", "dev.meshplane.catalog.*")
	all := hookAt(t, s, "*", "http://127.0.0.1:1/")
	paused, err := s.store.Client.Webhook.Create().SetDomain("hr").SetName("paused").SetURL("http://127.0.0.1:1/").SetActive(false).Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	change(t, s, "sales", "catalog.CreateDataProduct")
	change(t, s, "sales", "provision.Plan")
	change(t, s, "hr", "catalog.CreateDataProduct")
	change(t, s, "", "policy.Publish")
	if err := s.fanOut(ctx); err != nil {
		t.Fatal(err)
	}
	types := func(w *ent.Webhook) string {
		var out []string
		for _, d := range deliveries(t, s, w) {
			out = append(out, strings.TrimPrefix(d.Type, TypePrefix))
		}
		return strings.Join(out, ",")
	}
	if got := types(sales); got != "catalog.CreateDataProduct" {
		t.Errorf("sales webhook owes %s", got)
	}
	if got := types(all); got != "catalog.CreateDataProduct,provision.Plan,catalog.CreateDataProduct,policy.Publish" {
		t.Errorf("global webhook owes %s", got)
	}
	if got := types(paused); got != "" {
		t.Errorf("an inactive webhook owes %s", got)
	}
	// A second fan-out writes nothing twice.
	if err := s.fanOut(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(deliveries(t, s, all)); n != 4 {
		t.Errorf("after a second fan-out the global webhook owes %d", n)
	}
	if err := s.store.Client.Webhook.UpdateOne(paused).SetActive(true).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.fanOut(ctx); err != nil {
		t.Fatal(err)
	}
	if got := types(paused); got != "catalog.CreateDataProduct" {
		t.Errorf("reactivated, the hr webhook owes %q, want its backlog", got)
	}
}

// TestDeliveryRetriesInOrderThenFails: a receiver that keeps failing is
// asked once per backoff, oldest event first; after MaxAttempts the
// delivery is failed and the next event's turn comes; the failure names
// no URL.
func TestDeliveryRetriesInOrderThenFails(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get(HeaderID))
		mu.Unlock()
		http.Error(w, "secret internal detail", http.StatusInternalServerError)
	}))
	defer rcv.Close()
	s := testService(t, Config{RetryBase: 30 * time.Millisecond, MaxAttempts: 3})
	ctx := context.Background()
	w := hookAt(t, s, "sales", rcv.URL+"/hook?token=sensitive")
	change(t, s, "sales", "catalog.CreateDataProduct")
	change(t, s, "sales", "catalog.UpdateDataProduct")
	deadline := time.Now().Add(20 * time.Second)
	for {
		if err := s.Dispatch(ctx); err != nil {
			t.Fatal(err)
		}
		ds := deliveries(t, s, w)
		if len(ds) == 2 && ds[1].State == webhookdelivery.StateFailed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries never failed: %+v", ds)
		}
		time.Sleep(5 * time.Millisecond)
	}
	ds := deliveries(t, s, w)
	first, second := ds[0], ds[1]
	mu.Lock()
	got := strings.Join(seen, ",")
	mu.Unlock()
	id1, id2 := strconv.FormatInt(first.Sequence, 10), strconv.FormatInt(second.Sequence, 10)
	if got != strings.Join([]string{id1, id1, id1, id2, id2, id2}, ",") {
		t.Errorf("attempts in order %s, want each event three times, oldest first", got)
	}
	for _, d := range ds {
		if d.State != webhookdelivery.StateFailed || d.Attempts != 3 || d.ResponseStatus != 500 || d.LastAttemptTime == nil || d.DeliverTime != nil {
			t.Errorf("delivery %d: %+v", d.Sequence, d)
		}
		if strings.Contains(d.LastError, "sensitive") || strings.Contains(d.LastError, "internal detail") || !strings.Contains(d.LastError, "500") {
			t.Errorf("delivery %d's error: %q", d.Sequence, d.LastError)
		}
	}
	// A receiver that cannot be reached: the error is the cause, not the URL.
	rcv.Close()
	if _, err := s.store.Client.WebhookDelivery.UpdateOne(first).SetState(webhookdelivery.StatePending).SetAttempts(0).SetNextAttemptTime(now()).Save(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.deliverDue(ctx); err != nil {
		t.Fatal(err)
	}
	d, err := s.store.Client.WebhookDelivery.Get(ctx, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.State != webhookdelivery.StatePending || d.Attempts != 1 || d.ResponseStatus != 0 || d.LastError == "" || strings.Contains(d.LastError, "sensitive") ||
		!d.NextAttemptTime.After(*d.LastAttemptTime) {
		t.Errorf("after a refused connection: %+v", d)
	}
}

// BenchmarkDispatch measures one dispatcher pass that writes and sends the
// deliveries of 1,000 events to a webhook whose receiver answers at once,
// against the same pass writing the deliveries alone (the fan-out).
func BenchmarkDispatch(b *testing.B) {
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()
	const n = 1000
	for _, mode := range []string{"fan-out", "fan-out+send"} {
		b.Run(mode, func(b *testing.B) {
			s := testService(b, Config{})
			ctx := context.Background()
			w := hookAt(b, s, "sales", rcv.URL)
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				for range n {
					change(b, s, "sales", "catalog.UpdateDataProduct")
				}
				b.StartTimer()
				if err := s.fanOut(ctx); err != nil {
					b.Fatal(err)
				}
				if mode == "fan-out+send" {
					for {
						if err := s.deliverDue(ctx); err != nil {
							b.Fatal(err)
						}
						pending, err := s.store.Client.WebhookDelivery.Query().Where(webhookdelivery.WebhookID(w.ID),
							webhookdelivery.StateEQ(webhookdelivery.StatePending)).Exist(ctx)
						if err != nil {
							b.Fatal(err)
						}
						if !pending {
							break
						}
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/event")
		})
	}
}

// receiverCounting answers 204 and counts requests per webhook-id.
func receiverCounting(t *testing.T) (*httptest.Server, func() map[string]int) {
	var mu sync.Mutex
	got := map[string]int{}
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got[r.Header.Get(HeaderID)]++
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rcv.Close)
	return rcv, func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		out := map[string]int{}
		for k, v := range got {
			out[k] = v
		}
		return out
	}
}

// TestConcurrentDispatchersSendOnce: two dispatchers at once (a job the
// queue handed to another replica while it still ran) send each event once.
func TestConcurrentDispatchersSendOnce(t *testing.T) {
	rcv, got := receiverCounting(t)
	s := testService(t, Config{})
	ctx := context.Background()
	w := hookAt(t, s, "sales", rcv.URL)
	for range 20 {
		change(t, s, "sales", "catalog.UpdateDataProduct")
	}
	if err := s.fanOut(ctx); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if err := s.deliverDue(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if err := s.deliverDue(ctx); err != nil { // whatever a lost claim left
		t.Fatal(err)
	}
	for _, d := range deliveries(t, s, w) {
		id := strconv.FormatInt(d.Sequence, 10)
		if got()[id] != 1 || d.Attempts != 1 || d.State != webhookdelivery.StateDelivered {
			t.Errorf("event %s: sent %d times, delivery %+v", id, got()[id], d)
		}
	}
}

// TestLaterEventsWaitForARetry: an event that comes while an earlier one
// waits for its retry waits too, so a receiver gets them in order; and a
// paused webhook's backlog holds up no other webhook.
func TestLaterEventsWaitForARetry(t *testing.T) {
	var mu sync.Mutex
	failing := true
	var seen []string
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, r.Header.Get(HeaderID))
		if failing {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()
	other, got := receiverCounting(t)
	s := testService(t, Config{RetryBase: 300 * time.Millisecond})
	ctx := context.Background()
	w := hookAt(t, s, "sales", rcv.URL)
	paused := hookAt(t, s, "hr", rcv.URL)
	for range perWebhookBatch + 5 {
		change(t, s, "hr", "catalog.UpdateDataProduct")
	}
	if err := s.Dispatch(ctx); err != nil { // hr's backlog is written, and fails once
		t.Fatal(err)
	}
	if err := s.store.Client.Webhook.UpdateOne(paused).SetActive(false).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	seen = nil
	mu.Unlock()
	change(t, s, "sales", "catalog.CreateDataProduct")
	if err := s.Dispatch(ctx); err != nil { // the first sales event fails
		t.Fatal(err)
	}
	change(t, s, "sales", "catalog.UpdateDataProduct")
	kept := hookAt(t, s, "*", other.URL)
	head, err := auditHead(ctx, s.store.Client.AuditEvent.Query())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.store.Client.Webhook.UpdateOne(kept).SetCursor(head).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	change(t, s, "sales", "catalog.DeleteDataProduct")
	if err := s.Dispatch(ctx); err != nil { // the second waits behind the first
		t.Fatal(err)
	}
	ds := deliveries(t, s, w)
	mu.Lock()
	if len(seen) != 1 || len(ds) != 3 || seen[0] != strconv.FormatInt(ds[0].Sequence, 10) {
		t.Fatalf("while the first event waits for its retry the receiver got %v (deliveries %d)", seen, len(ds))
	}
	failing = false
	mu.Unlock()
	if n := len(got()); n != 1 {
		t.Errorf("the global webhook got %d events, want the one after its creation despite hr's paused backlog", n)
	}
	deadline := time.Now().Add(10 * time.Second)
	for deliveries(t, s, w)[2].State != webhookdelivery.StateDelivered {
		if time.Now().After(deadline) {
			t.Fatal("the sales events were never delivered")
		}
		if err := s.Dispatch(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{strconv.FormatInt(ds[0].Sequence, 10), strconv.FormatInt(ds[0].Sequence, 10), strconv.FormatInt(ds[1].Sequence, 10), strconv.FormatInt(ds[2].Sequence, 10)}
	if strings.Join(seen, ",") != strings.Join(want, ",") {
		t.Errorf("the receiver got %v, want %v", seen, want)
	}
}

// TestWebhooksReachPublicAddressesOnly: by default a webhook cannot reach
// this host or a private network, whatever its URL or DNS says; the
// failure says so in fixed words.
func TestWebhooksReachPublicAddressesOnly(t *testing.T) {
	for _, a := range []string{"127.0.0.1:80", "[::1]:443", "10.1.2.3:80", "192.168.0.1:80", "172.16.0.1:80", "169.254.169.254:80",
		"0.0.0.0:80", "100.64.0.1:80", "[fe80::1]:80", "[::ffff:127.0.0.1]:80", "[fd00::1]:80"} {
		if publicOnly("tcp", a, nil) == nil {
			t.Errorf("%s is reachable", a)
		}
	}
	for _, a := range []string{"93.184.216.34:443", "[2606:4700::1]:443"} {
		if err := publicOnly("tcp", a, nil); err != nil {
			t.Errorf("%s: %v", a, err)
		}
	}
	rcv, got := receiverCounting(t)
	s := testService(t, Config{})
	s.cfg.Client = newClient(false)
	ctx := context.Background()
	w := hookAt(t, s, "sales", rcv.URL)
	change(t, s, "sales", "catalog.CreateDataProduct")
	if err := s.Dispatch(ctx); err != nil {
		t.Fatal(err)
	}
	d := deliveries(t, s, w)[0]
	if len(got()) != 0 || d.Attempts != 1 || !strings.Contains(d.LastError, "loopback, private or link-local") || strings.Contains(d.LastError, "127.0.0.1") {
		t.Errorf("a loopback receiver: got %v, delivery %+v", got(), d)
	}
}

// TestDeliveryLogIsPruned: settled deliveries leave the log after the
// retention (failed ones four times later); pending ones stay.
func TestDeliveryLogIsPruned(t *testing.T) {
	s := testService(t, Config{Retention: time.Hour})
	ctx := context.Background()
	w := hookAt(t, s, "sales", "http://127.0.0.1:1/")
	old := now().Add(-2 * time.Hour)
	for i, st := range []webhookdelivery.State{webhookdelivery.StateDelivered, webhookdelivery.StateFailed, webhookdelivery.StatePending} {
		if err := s.store.Client.WebhookDelivery.Create().SetWebhookID(w.ID).SetSequence(int64(i + 1)).SetType("t").SetState(st).
			SetNextAttemptTime(now().Add(time.Hour)).SetUpdateTime(old).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.prune(ctx); err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, d := range deliveries(t, s, w) {
		left = append(left, string(d.State))
	}
	if strings.Join(left, ",") != "failed,pending" {
		t.Errorf("after pruning: %v", left)
	}
}
