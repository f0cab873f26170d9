// Package preview reads the most recent records of an output port's Kafka
// topic and masks them for the viewer who asked, on top of whatever masking
// the connectors applied at the source.
package preview

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/meshplane/meshplane/server/errs"
)

// MaxRecords is the largest number of records Last returns.
const MaxRecords = 100

// DefaultTimeout bounds a read whose context carries no deadline: a partition
// whose tail holds no record (a compacted-away tombstone, say) is never seen
// to reach its end offset, so a read must not wait for it forever.
const DefaultTimeout = 5 * time.Second

var (
	// ErrUnknownTopic reports that the topic does not exist.
	ErrUnknownTopic = errs.New(errs.KindNotFound, "unknown topic").WithReason("UNKNOWN_TOPIC")
	// ErrIncomplete reports that the context ended before every partition
	// was read up to its end offset; Last returns the records it did read.
	ErrIncomplete = errs.New(errs.KindUnavailable, "preview incomplete: the topic was not read to its end in time").WithReason("PREVIEW_INCOMPLETE")
)

// RawRecord is one record as it is stored in the topic.
type RawRecord struct {
	Partition int32
	Offset    int64
	Timestamp time.Time
	Key       []byte
	Value     []byte
}

// Reader reads the tail of topics with a fixed set of client options.
//
// Each call builds its own short-lived client: a call assigns partitions at
// offsets of its own, and one shared client would mix concurrent calls'
// fetches in a single poll loop. Previews are rare and human-paced, so the
// cost of a connection and a metadata request per call does not matter.
type Reader struct {
	opts []kgo.Opt
}

// NewReader returns a reader whose clients use opts (seed brokers, SASL, TLS
// and the like). The options must not configure consuming: Last assigns
// partitions itself and refuses options naming groups or topics.
func NewReader(opts ...kgo.Opt) *Reader {
	return &Reader{opts: slices.Clone(opts)}
}

// Last returns up to n (1..MaxRecords) of the most recent records of topic
// across all partitions, oldest first, ordered by timestamp, then partition,
// then offset.
//
// It reads each partition from n records before the end offset listed at the
// start of the call up to that end offset; records produced later are left
// out. If ctx ends first, Last returns the newest records it read together
// with an error wrapping ErrIncomplete. A ctx without a deadline is given
// DefaultTimeout.
//
// Records are read uncommitted: the preview shows what the log holds,
// including records of open or aborted transactions.
func (r *Reader) Last(ctx context.Context, topic string, n int) ([]RawRecord, error) {
	if n < 1 || n > MaxRecords {
		return nil, errs.New(errs.KindInvalidArgument, "preview size must be between 1 and %d, not %d", MaxRecords, n).WithReason("INVALID_PREVIEW_SIZE")
	}
	if topic == "" {
		return nil, fmt.Errorf("reading the empty topic name: %w", ErrUnknownTopic)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}

	// Later options win: control records are kept so that a partition
	// ending in a transaction marker is seen to reach its end, and an
	// offset lost to retention mid-read resumes at the new log start.
	opts := append(slices.Clone(r.opts),
		kgo.KeepControlRecords(),
		kgo.FetchIsolationLevel(kgo.ReadUncommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("creating kafka client: %w", err)
	}
	defer cl.Close()
	if err := checkNotConsuming(cl); err != nil {
		return nil, err
	}

	from, ends, err := bounds(ctx, kadm.NewClient(cl), topic, int64(n))
	if err != nil {
		return nil, err
	}
	if len(from) == 0 {
		return []RawRecord{}, nil
	}
	cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{topic: from})

	t := tail{n: n}
	for len(ends) > 0 {
		fs := cl.PollFetches(ctx)
		var done []int32
		fs.EachRecord(func(rec *kgo.Record) {
			end, reading := ends[rec.Partition]
			if rec.Topic != topic || !reading || rec.Offset >= end {
				return
			}
			if rec.Offset+1 >= end {
				delete(ends, rec.Partition)
				done = append(done, rec.Partition)
			}
			if rec.Attrs.IsControl() {
				return
			}
			t.add(RawRecord{
				Partition: rec.Partition,
				Offset:    rec.Offset,
				Timestamp: rec.Timestamp,
				Key:       rec.Key,
				Value:     rec.Value,
			})
		})
		if len(done) > 0 {
			cl.PauseFetchPartitions(map[string][]int32{topic: done})
		}
		for _, fe := range fs.Errors() {
			var lost *kgo.ErrDataLoss
			switch {
			case errors.As(fe.Err, &lost):
				// Retention removed records between listing and
				// fetching; the client resumes at the new start.
			case errors.Is(fe.Err, context.Canceled), errors.Is(fe.Err, context.DeadlineExceeded):
				// Handled below, with the records read so far.
			default:
				return nil, fmt.Errorf("reading %s partition %d: %w", topic, fe.Partition, fe.Err)
			}
		}
		if len(ends) > 0 && ctx.Err() != nil {
			return t.sorted(), fmt.Errorf("reading %s: %w: %w", topic, ErrIncomplete, ctx.Err())
		}
	}
	return t.sorted(), nil
}

// checkNotConsuming refuses client options that would have the client consume
// on its own, which would break direct assignment or mix in other records.
func checkNotConsuming(cl *kgo.Client) error {
	if g, _ := cl.OptValue(kgo.ConsumerGroup).(string); g != "" {
		return fmt.Errorf("reader options name consumer group %q: a preview reads without a group", g)
	}
	if g, _ := cl.OptValue(kgo.ShareGroup).(string); g != "" {
		return fmt.Errorf("reader options name share group %q: a preview reads without a group", g)
	}
	if ts, _ := cl.OptValue(kgo.ConsumeTopics).(map[string]*regexp.Regexp); len(ts) > 0 {
		return errors.New("reader options name topics to consume: a preview assigns partitions itself")
	}
	if ps, _ := cl.OptValue(kgo.ConsumePartitions).(map[string]map[int32]kgo.Offset); len(ps) > 0 {
		return errors.New("reader options name partitions to consume: a preview assigns partitions itself")
	}
	return nil
}

// bounds lists topic's partitions and returns, for each partition holding
// records, the offset to start reading at and the end offset to read up to.
func bounds(ctx context.Context, adm *kadm.Client, topic string, n int64) (map[int32]kgo.Offset, map[int32]int64, error) {
	ends, err := listOffsets(ctx, adm.ListEndOffsets, topic)
	if err != nil {
		return nil, nil, fmt.Errorf("listing end offsets of %s: %w", topic, err)
	}
	starts, err := listOffsets(ctx, adm.ListStartOffsets, topic)
	if err != nil {
		return nil, nil, fmt.Errorf("listing start offsets of %s: %w", topic, err)
	}
	from := make(map[int32]kgo.Offset)
	to := make(map[int32]int64)
	for p, end := range ends {
		start, ok := starts[p]
		if !ok {
			return nil, nil, fmt.Errorf("listing start offsets of %s: partition %d missing", topic, p)
		}
		first := max(start, end-n)
		if first < end {
			from[p] = kgo.NewOffset().At(first)
			to[p] = end
		}
	}
	return from, to, nil
}

// listOffsets lists one kind of offset for every partition of topic.
func listOffsets(ctx context.Context, list func(context.Context, ...string) (kadm.ListedOffsets, error), topic string) (map[int32]int64, error) {
	listed, err := list(ctx, topic)
	if err != nil {
		return nil, err
	}
	ps, ok := listed[topic]
	if !ok {
		return nil, ErrUnknownTopic
	}
	offsets := make(map[int32]int64, len(ps))
	for p, o := range ps {
		if errors.Is(o.Err, kerr.UnknownTopicOrPartition) {
			return nil, ErrUnknownTopic
		}
		if o.Err != nil {
			return nil, fmt.Errorf("partition %d: %w", p, o.Err)
		}
		offsets[p] = o.Offset
	}
	if len(offsets) == 0 {
		return nil, ErrUnknownTopic
	}
	return offsets, nil
}

// tail keeps the n newest records added, holding at most 2n at a time.
type tail struct {
	n    int
	recs []RawRecord
}

func (t *tail) add(r RawRecord) {
	t.recs = append(t.recs, r)
	if len(t.recs) >= 2*t.n {
		t.trim()
	}
}

func (t *tail) trim() {
	slices.SortFunc(t.recs, compareRecords)
	if len(t.recs) > t.n {
		t.recs = slices.Delete(t.recs, 0, len(t.recs)-t.n)
	}
}

func (t *tail) sorted() []RawRecord {
	t.trim()
	if t.recs == nil {
		return []RawRecord{}
	}
	return t.recs
}

func compareRecords(a, b RawRecord) int {
	return cmp.Or(
		a.Timestamp.Compare(b.Timestamp),
		cmp.Compare(a.Partition, b.Partition),
		cmp.Compare(a.Offset, b.Offset),
	)
}
