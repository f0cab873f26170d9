package preview_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/meshplane/meshplane/server/errs"
	"github.com/meshplane/meshplane/server/preview"
)

// broker starts an in-process Kafka broker and returns options to reach it.
func broker(t *testing.T) []kgo.Opt {
	t.Helper()
	_, seeds := cluster(t)
	return seeds
}

func cluster(t *testing.T) (*kfake.Cluster, []kgo.Opt) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatalf("starting broker: %v", err)
	}
	t.Cleanup(c.Close)
	return c, []kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...)}
}

func client(t *testing.T, seeds []kgo.Opt, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append(slices.Clone(seeds), opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func timeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

func createTopic(t *testing.T, seeds []kgo.Opt, topic string, partitions int32) {
	t.Helper()
	resp, err := kadm.NewClient(client(t, seeds)).CreateTopic(timeout(t, 10*time.Second), partitions, 1, nil, topic)
	if err != nil || resp.Err != nil {
		t.Fatalf("creating topic %s: %v %v", topic, err, resp.Err)
	}
}

// produce writes records to the partitions they name, in order.
func produce(t *testing.T, seeds []kgo.Opt, recs []*kgo.Record) {
	t.Helper()
	cl := client(t, seeds, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err := cl.ProduceSync(timeout(t, 10*time.Second), recs...).FirstErr(); err != nil {
		t.Fatalf("producing: %v", err)
	}
}

var base = time.UnixMilli(1_700_000_000_000)

// mixedRecords returns n records spread round-robin over three partitions,
// one second apart, cycling through every value shape a port may hold.
func mixedRecords(topic string, n int) []*kgo.Record {
	shapes := [][]byte{
		[]byte(row),
		[]byte(created),
		[]byte(`{"schema":` + schema + `,"payload":` + row + `}`),
		[]byte(`{"schema":` + schema + `,"payload":` + updated + `}`),
		nil,
		[]byte(nonJSON),
		[]byte(deleted),
	}
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{
			Topic:     topic,
			Partition: int32(i % 3),
			Timestamp: base.Add(time.Duration(i) * time.Second),
			Key:       fmt.Appendf(nil, `{"id":%d}`, i),
			Value:     shapes[i%len(shapes)],
		}
	}
	return recs
}

// assertRecords checks that got holds exactly want, in order.
func assertRecords(t *testing.T, got []preview.RawRecord, want []*kgo.Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Partition != w.Partition || !g.Timestamp.Equal(w.Timestamp) || !bytes.Equal(g.Key, w.Key) || !bytes.Equal(g.Value, w.Value) || (g.Value == nil) != (w.Value == nil) {
			t.Errorf("record %d = p%d@%d %v %s %q, want p%d %v %s %q", i, g.Partition, g.Offset, g.Timestamp, g.Key, g.Value, w.Partition, w.Timestamp, w.Key, w.Value)
		}
	}
}

// TestLast reads the tail of a three-partition topic holding every value
// shape: the n newest across partitions, oldest first.
func TestLast(t *testing.T) {
	t.Parallel()
	seeds := broker(t)
	createTopic(t, seeds, "shop.customers.v1", 3)
	recs := mixedRecords("shop.customers.v1", 50)
	produce(t, seeds, recs)
	r := preview.NewReader(seeds...)

	for _, tc := range []struct {
		n    int
		want []*kgo.Record
	}{
		{n: 10, want: recs[40:]},
		{n: 1, want: recs[49:]},
		{n: 17, want: recs[33:]},
		{n: 50, want: recs},
		{n: preview.MaxRecords, want: recs},
	} {
		t.Run(fmt.Sprint(tc.n), func(t *testing.T) {
			got, err := r.Last(timeout(t, 5*time.Second), "shop.customers.v1", tc.n)
			if err != nil {
				t.Fatalf("Last: %v", err)
			}
			assertRecords(t, got, tc.want)
			for i, g := range got {
				if want := int64(slices.Index(recs, tc.want[i]) / 3); g.Offset != want {
					t.Errorf("record %d offset = %d, want %d", i, g.Offset, want)
				}
			}
		})
	}
}

// TestLastThenMask runs a preview end to end for a viewer without RawPII:
// nothing raw from a classified or unlisted field reaches the output.
func TestLastThenMask(t *testing.T) {
	t.Parallel()
	seeds := broker(t)
	createTopic(t, seeds, "shop.customers.v1", 3)
	produce(t, seeds, mixedRecords("shop.customers.v1", 21))

	got, err := preview.NewReader(seeds...).Last(timeout(t, 5*time.Second), "shop.customers.v1", 14)
	if err != nil {
		t.Fatalf("Last: %v", err)
	}
	if len(got) != 14 {
		t.Fatalf("got %d records, want 14", len(got))
	}
	var withheld, tombstones int
	for _, raw := range got {
		for _, v := range []preview.Viewer{{}, {Hash: hash}} {
			rec := preview.Mask(raw, customerFields, v)
			assertNoSecrets(t, rec, raw.Value)
			if string(rec.Key) != string(raw.Key) {
				t.Errorf("key = %s, want %s", rec.Key, raw.Key)
			}
			switch {
			case raw.Value == nil:
				tombstones++
			case rec.Note == "value is not JSON and the port holds classified fields: withheld":
				withheld++
			}
		}
		if rec := preview.Mask(raw, customerFields, preview.Viewer{RawPII: true}); json.Valid(raw.Value) && !bytes.Equal(rec.Value, raw.Value) {
			t.Errorf("entitled viewer sees %s, want the value as stored: %s", rec.Value, raw.Value)
		}
	}
	if withheld != 4 || tombstones != 4 {
		t.Errorf("withheld %d and tombstones %d, want 4 and 4 (two of each, masked for two viewers)", withheld, tombstones)
	}
}

// TestLastOrdersTies orders records with one timestamp by partition, then
// offset.
func TestLastOrdersTies(t *testing.T) {
	t.Parallel()
	seeds := broker(t)
	createTopic(t, seeds, "ties", 3)
	var recs []*kgo.Record
	for _, p := range []int32{2, 0, 1, 2, 0, 1} {
		recs = append(recs, &kgo.Record{Topic: "ties", Partition: p, Timestamp: base, Value: fmt.Appendf(nil, `{"id":%d}`, len(recs))})
	}
	produce(t, seeds, recs)

	got, err := preview.NewReader(seeds...).Last(timeout(t, 5*time.Second), "ties", 4)
	if err != nil {
		t.Fatalf("Last: %v", err)
	}
	// p0: 1, 4; p1: 2, 5; p2: 0, 3 — the last four are p1's and p2's.
	assertRecords(t, got, []*kgo.Record{recs[2], recs[5], recs[0], recs[3]})
}

// TestLastEmptyTopic returns no records, at once, for a topic without any.
func TestLastEmptyTopic(t *testing.T) {
	t.Parallel()
	seeds := broker(t)
	createTopic(t, seeds, "empty", 3)
	got, err := preview.NewReader(seeds...).Last(timeout(t, 5*time.Second), "empty", 10)
	if err != nil {
		t.Fatalf("Last: %v", err)
	}
	if got == nil || len(got) != 0 {
		t.Fatalf("got %v, want an empty list", got)
	}
}

// TestLastAfterDeletedRecords starts a partition at its log start when fewer
// than n records remain there.
func TestLastAfterDeletedRecords(t *testing.T) {
	t.Parallel()
	seeds := broker(t)
	createTopic(t, seeds, "trimmed", 3)
	recs := mixedRecords("trimmed", 30)
	produce(t, seeds, recs)
	deleted, err := kadm.NewClient(client(t, seeds)).DeleteRecords(timeout(t, 5*time.Second), kadm.Offsets{"trimmed": {
		0: {Topic: "trimmed", Partition: 0, At: 8},
	}})
	if err != nil || deleted.Error() != nil {
		t.Fatalf("deleting records: %v %v", err, deleted.Error())
	}

	got, err := preview.NewReader(seeds...).Last(timeout(t, 5*time.Second), "trimmed", preview.MaxRecords)
	if err != nil {
		t.Fatalf("Last: %v", err)
	}
	var want []*kgo.Record
	for i, r := range recs {
		if r.Partition != 0 || i/3 >= 8 {
			want = append(want, r)
		}
	}
	assertRecords(t, got, want)
}

// TestLastTransactional reads partitions that end in transaction markers to
// their end rather than waiting for a record that never comes.
func TestLastTransactional(t *testing.T) {
	t.Parallel()
	seeds := broker(t)
	createTopic(t, seeds, "txn", 3)
	cl := client(t, seeds, kgo.TransactionalID("preview-test"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	recs := mixedRecords("txn", 9)
	ctx := timeout(t, 10*time.Second)
	for _, batch := range [][]*kgo.Record{recs[:6], recs[6:]} {
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := cl.ProduceSync(ctx, batch...).FirstErr(); err != nil {
			t.Fatalf("producing: %v", err)
		}
		if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
			t.Fatalf("committing: %v", err)
		}
	}

	// The deadline is far off: reaching it would mean the markers were
	// never seen.
	got, err := preview.NewReader(seeds...).Last(timeout(t, time.Minute), "txn", 5)
	if err != nil {
		t.Fatalf("Last: %v", err)
	}
	assertRecords(t, got, recs[4:])
}

// TestLastIncomplete returns what it read, with ErrIncomplete, when a
// partition does not reach its end before the deadline: the broker here
// never serves partition 2.
func TestLastIncomplete(t *testing.T) {
	t.Parallel()
	c, seeds := cluster(t)
	createTopic(t, seeds, "stuck", 3)
	recs := mixedRecords("stuck", 12)
	produce(t, seeds, recs)
	c.ControlKey(int16(kmsg.Fetch), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		for i := range req.(*kmsg.FetchRequest).Topics {
			rt := &req.(*kmsg.FetchRequest).Topics[i]
			rt.Partitions = slices.DeleteFunc(rt.Partitions, func(p kmsg.FetchRequestTopicPartition) bool { return p.Partition == 2 })
		}
		return nil, nil, false
	})

	// Without fetch sessions every request names its partitions, so
	// removing one from each request hides it for good.
	r := preview.NewReader(append(seeds, kgo.DisableFetchSessions())...)
	got, err := r.Last(timeout(t, 2*time.Second), "stuck", 3)
	if !errors.Is(err, preview.ErrIncomplete) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Last = %v, want ErrIncomplete and the deadline", err)
	}
	if errs.KindOf(err) != errs.KindUnavailable {
		t.Errorf("kind = %v, want UNAVAILABLE", errs.KindOf(err))
	}
	// The newest three of partitions 0 and 1.
	assertRecords(t, got, []*kgo.Record{recs[7], recs[9], recs[10]})
}

// TestLastUnknownTopic reports ErrUnknownTopic, a not-found error.
func TestLastUnknownTopic(t *testing.T) {
	t.Parallel()
	r := preview.NewReader(broker(t)...)
	for _, topic := range []string{"no.such.topic", ""} {
		_, err := r.Last(timeout(t, 5*time.Second), topic, 10)
		if !errors.Is(err, preview.ErrUnknownTopic) {
			t.Errorf("Last(%q) = %v, want ErrUnknownTopic", topic, err)
		}
		if errs.KindOf(err) != errs.KindNotFound {
			t.Errorf("Last(%q) kind = %v, want NOT_FOUND", topic, errs.KindOf(err))
		}
	}
}

// TestLastInvalidCount refuses sizes outside 1..MaxRecords before connecting.
func TestLastInvalidCount(t *testing.T) {
	t.Parallel()
	r := preview.NewReader(kgo.SeedBrokers("127.0.0.1:1"))
	for _, n := range []int{0, -1, preview.MaxRecords + 1} {
		_, err := r.Last(t.Context(), "shop.customers.v1", n)
		if errs.KindOf(err) != errs.KindInvalidArgument {
			t.Errorf("Last(n=%d) = %v, want an invalid-argument error", n, err)
		}
	}
}

// TestLastRefusesConsumingOptions refuses client options that would consume
// on their own.
func TestLastRefusesConsumingOptions(t *testing.T) {
	t.Parallel()
	seeds := broker(t)
	createTopic(t, seeds, "shop.customers.v1", 1)
	for name, opt := range map[string]kgo.Opt{
		"group":      kgo.ConsumerGroup("previewers"),
		"topics":     kgo.ConsumeTopics("shop.customers.v1"),
		"partitions": kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"shop.customers.v1": {0: kgo.NewOffset()}}),
	} {
		r := preview.NewReader(append(slices.Clone(seeds), opt)...)
		if _, err := r.Last(timeout(t, 5*time.Second), "shop.customers.v1", 10); err == nil {
			t.Errorf("%s: Last succeeded, want an error", name)
		}
	}
}
