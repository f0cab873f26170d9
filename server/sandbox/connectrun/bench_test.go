package connectrun

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The data-moving benchmarks need a PostgreSQL server with wal_level=logical:
//
//	MESHPLANE_TEST_POSTGRES=postgres://… go test -run '^$' -bench . -benchtime 1x ./server/sandbox/connectrun
//
// Each runs a fixed workload once per iteration and reports its own
// figures; -benchtime 1x is enough.

// benchSource starts a source over public.customers (id, email hashed,
// name) writing to topic, and a consumer that calls seen for each record.
func benchSource(b *testing.B, topic string, seen func(id int, at time.Time)) (*testDB, func()) {
	b.Helper()
	db, broker, _ := benchSourceOnly(b, topic)
	return db, consume(b, broker, topic, seen)
}

// benchSourceOnly starts the source alone.
func benchSourceOnly(b *testing.B, topic string) (*testDB, *kfake.Cluster, *Runner) {
	b.Helper()
	db := newTestDB(b)
	db.exec(b, `CREATE TABLE customers (id int PRIMARY KEY, email text, name text)`)
	cfg := db.sourceConfig(topic)
	cfg["heartbeat.interval.ms"] = "0"
	cfg["column.mask.hash.v2.SHA-256.with.salt.bench"] = `public\.customers\.email`
	cfg["message.key.columns"] = `public\.customers:id`
	broker, r := runSource(b, cfg)
	return db, broker, r
}

// consume calls seen for each record of topic until the returned stop.
func consume(b *testing.B, broker *kfake.Cluster, topic string, seen func(id int, at time.Time)) func() {
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker.ListenAddrs()...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(10*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			now := time.Now()
			fs.EachRecord(func(rec *kgo.Record) {
				var ev struct {
					Payload struct {
						After struct {
							ID int `json:"id"`
						} `json:"after"`
					} `json:"payload"`
				}
				if json.Unmarshal(rec.Value, &ev) == nil {
					seen(ev.Payload.After.ID, now)
				}
			})
		}
	}()
	return func() { cancel(); <-done; cl.Close() }
}

// BenchmarkSourceLatency writes 1,000 rows a second for 5 seconds, one
// autocommitted INSERT each, and reports the time from sending each
// statement (its COMMIT included) to its change event being read from the
// topic by a consumer.
func BenchmarkSourceLatency(b *testing.B) {
	for b.Loop() {
		const rate, seconds = 1000, 5
		var mu sync.Mutex
		committed := map[int]time.Time{}
		arrived := map[int]time.Time{}
		db, stop := benchSource(b, "bench.latency.v1", func(id int, at time.Time) {
			mu.Lock()
			if _, dup := arrived[id]; !dup {
				arrived[id] = at
			}
			mu.Unlock()
		})
		conn, err := pgx.Connect(context.Background(), db.url)
		if err != nil {
			b.Fatal(err)
		}
		// The test cluster runs with synchronous_commit=off, which leaves
		// commits to the WAL writer (every 200 ms) before a walsender may
		// send them; a production database commits synchronously.
		if _, err := conn.Exec(context.Background(), `SET synchronous_commit = on`); err != nil {
			b.Fatal(err)
		}
		// One row first, so the topic exists and the consumer found it.
		if _, err := conn.Exec(context.Background(), `INSERT INTO customers VALUES (-1, 'warm@example.com', 'up')`); err != nil {
			b.Fatal(err)
		}
		for warm := false; !warm; time.Sleep(10 * time.Millisecond) {
			mu.Lock()
			_, warm = arrived[-1]
			mu.Unlock()
		}
		start := time.Now()
		for i := range rate * seconds {
			next := start.Add(time.Duration(i) * time.Second / rate)
			time.Sleep(time.Until(next))
			// The clock starts before the statement: a walsender may send
			// the change before the backend's reply reaches the client, so
			// timing from the reply would hide part of the latency.
			at := time.Now()
			if _, err := conn.Exec(context.Background(), `INSERT INTO customers VALUES ($1, $2, $3)`, i, fmt.Sprintf("c%d@example.com", i), "name"); err != nil {
				b.Fatal(err)
			}
			mu.Lock()
			committed[i] = at
			mu.Unlock()
		}
		achieved := float64(rate*seconds) / time.Since(start).Seconds()
		deadline := time.Now().Add(30 * time.Second)
		for {
			mu.Lock()
			n := len(arrived)
			mu.Unlock()
			if n >= rate*seconds+1 || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		stop()
		conn.Close(context.Background())
		var lat []time.Duration
		for id, at := range committed {
			if got, ok := arrived[id]; ok {
				lat = append(lat, max(got.Sub(at), 0))
			}
		}
		if len(lat) < rate*seconds {
			b.Fatalf("%d of %d rows arrived", len(lat), rate*seconds)
		}
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(achieved, "rows/s-offered")
	}
}

// BenchmarkSourceThroughput commits 50,000 rows in transactions of 1,000
// as fast as PostgreSQL takes them and reports the rows per second that
// reach the topic, against a bare producer writing records of the same
// size to the same broker in the same run.
func BenchmarkSourceThroughput(b *testing.B) {
	for b.Loop() {
		const rows, perTxn = 50_000, 1000
		var mu sync.Mutex
		arrived := map[int]bool{}
		all := make(chan struct{})
		var size int
		db, stop := benchSource(b, "bench.throughput.v1", func(id int, _ time.Time) {
			mu.Lock()
			defer mu.Unlock()
			if !arrived[id] {
				arrived[id] = true
				if len(arrived) == rows {
					close(all)
				}
			}
		})
		conn, err := pgx.Connect(context.Background(), db.url)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for i := 0; i < rows; i += perTxn {
			if _, err := conn.Exec(context.Background(), `INSERT INTO customers SELECT g, 'c' || g || '@example.com', 'name' FROM generate_series($1::int, $2::int) g`, i, i+perTxn-1); err != nil {
				b.Fatal(err)
			}
		}
		committedIn := time.Since(start)
		select {
		case <-all:
		case <-time.After(5 * time.Minute):
			b.Fatalf("only %d of %d rows arrived", len(arrived), rows)
		}
		elapsed := time.Since(start)
		stop()
		conn.Close(context.Background())
		b.ReportMetric(rows/elapsed.Seconds(), "rows/s")
		b.ReportMetric(rows/committedIn.Seconds(), "rows/s-committed")

		// Baseline: a bare producer writing change-event-sized records.
		broker := testBroker(b)
		cl, err := kgo.NewClient(kgo.SeedBrokers(broker.ListenAddrs()...), kgo.AllowAutoTopicCreation(), kgo.ProducerLinger(0))
		if err != nil {
			b.Fatal(err)
		}
		size = 1500 // a customers change event with its schema is about this long
		value := make([]byte, size)
		bstart := time.Now()
		var wg sync.WaitGroup
		for i := range rows {
			wg.Add(1)
			cl.Produce(context.Background(), &kgo.Record{Topic: "bench.bare", Key: []byte(fmt.Sprint(i)), Value: value}, func(*kgo.Record, error) { wg.Done() })
		}
		wg.Wait()
		bare := rows / time.Since(bstart).Seconds()
		cl.Close()
		b.ReportMetric(bare, "rows/s-bare-producer")
		b.ReportMetric((rows/elapsed.Seconds())/bare, "ratio-to-bare")
	}
}

// BenchmarkPipelineThroughput commits 50,000 rows into the source as fast
// as PostgreSQL takes them and reports the rows per second that reach a
// JDBC sink's table (source → topic → sink, configured as meshplane's module
// configures it), against the same rows upserted straight into a table by
// one connection in transactions of the sink's batch.size, in the same run.
func BenchmarkPipelineThroughput(b *testing.B) {
	for b.Loop() {
		const rows, perTxn = 50_000, 1000
		src, _, r := benchSourceOnly(b, "bench.pipeline.v1")
		sink := newTestDB(b)
		r.Start("bench.sink", map[string]string{
			"name":                   "bench.sink",
			"connector.class":        JDBCSink,
			"tasks.max":              "1",
			"topics":                 "bench.pipeline.v1",
			"connection.url":         fmt.Sprintf("jdbc:postgresql://%s:%s/%s?sslmode=disable", sink.host, sink.port, sink.name),
			"connection.username":    sink.user,
			"connection.password":    sink.password,
			"insert.mode":            "upsert",
			"primary.key.mode":       "record_key",
			"delete.enabled":         "true",
			"schema.evolution":       "basic",
			"transforms":             "unwrap",
			"transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
			"transforms.unwrap.delete.tombstone.handling.mode": "delete-to-tombstone",
		})
		count := func() int {
			var n int
			_ = sink.conn.QueryRow(context.Background(), `SELECT count(*) FROM bench_pipeline_v1`).Scan(&n)
			return n
		}
		conn, err := pgx.Connect(context.Background(), src.url)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for i := 0; i < rows; i += perTxn {
			if _, err := conn.Exec(context.Background(), `INSERT INTO customers SELECT g, 'c' || g || '@example.com', 'name' FROM generate_series($1::int, $2::int) g`, i, i+perTxn-1); err != nil {
				b.Fatal(err)
			}
		}
		conn.Close(context.Background())
		deadline := time.Now().Add(5 * time.Minute)
		for count() < rows {
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d rows reached the sink table: %+v", count(), rows, r.Status("bench.sink"))
			}
			time.Sleep(50 * time.Millisecond)
		}
		elapsed := time.Since(start)
		b.ReportMetric(rows/elapsed.Seconds(), "rows/s")

		// Baseline: the same upserts without Kafka, decoding or transforms.
		sink.exec(b, `CREATE TABLE bare (id bigint PRIMARY KEY, email text, name text)`)
		bstart := time.Now()
		for i := 0; i < rows; i += 500 {
			batch := &pgx.Batch{}
			for j := i; j < i+500; j++ {
				batch.Queue(`INSERT INTO bare VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET email = EXCLUDED.email, name = EXCLUDED.name`,
					j, sha256Hex("bench", fmt.Sprintf("c%d@example.com", j)), "name")
			}
			tx, err := sink.conn.Begin(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			if err := tx.SendBatch(context.Background(), batch).Close(); err != nil {
				b.Fatal(err)
			}
			if err := tx.Commit(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
		bare := rows / time.Since(bstart).Seconds()
		b.ReportMetric(bare, "rows/s-bare-upserts")
		b.ReportMetric((rows/elapsed.Seconds())/bare, "ratio-to-bare")
	}
}
