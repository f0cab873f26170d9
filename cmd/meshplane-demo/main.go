// Command meshplane-demo shows the sandbox moving data: against a running
// meshplane server and a PostgreSQL server with wal_level=logical, it creates
// a small shop database and a warehouse database, registers a data product
// with PII fields over the shop's customers, plans and applies it, runs a
// load generator, and prints what arrives in the port preview and in the
// JDBC sink's table. scripts/demo.sh (make demo) starts everything it needs.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/api/gen/meshplane/v1/meshplanev1connect"
)

func main() {
	server := flag.String("server", "http://127.0.0.1:8080", "meshplane server URL")
	tokenFile := flag.String("token-file", "meshplane-data/admin.token", "file holding an admin token")
	postgres := flag.String("postgres", "", "URL of a PostgreSQL server with wal_level=logical (a superuser, for CREATE DATABASE)")
	rate := flag.Int("rate", 20, "changes per second the load generator makes")
	duration := flag.Duration("duration", 0, "stop after this long (0: run until interrupted)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	if err := run(ctx, *server, *tokenFile, *postgres, *rate); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

type bearer string

func (b bearer) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		req.Header().Set("Authorization", "Bearer "+string(b))
		return next(ctx, req)
	}
}
func (b bearer) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}
func (b bearer) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

func say(format string, args ...any) { fmt.Printf("demo: "+format+"\n", args...) }

func run(ctx context.Context, server, tokenFile, pgURL string, rate int) error {
	if pgURL == "" {
		return errors.New("--postgres is required")
	}
	if err := waitReady(ctx, server); err != nil {
		return err
	}
	raw, err := os.ReadFile(tokenFile)
	if err != nil {
		return fmt.Errorf("reading the admin token: %w", err)
	}
	opts := connect.WithInterceptors(bearer(strings.TrimSpace(string(raw))))
	catalog := meshplanev1connect.NewCatalogServiceClient(http.DefaultClient, server, opts)
	prov := meshplanev1connect.NewProvisioningServiceClient(http.DefaultClient, server, opts)

	shop, warehouse, err := databases(ctx, pgURL)
	if err != nil {
		return err
	}
	if _, err := catalog.CreateDomain(ctx, connect.NewRequest(&v1.CreateDomainRequest{Name: "sales", Description: "The sales domain (demo)"})); err != nil && connect.CodeOf(err) != connect.CodeAlreadyExists {
		return fmt.Errorf("creating domain sales: %w", err)
	}
	spec := productSpec(shop, warehouse)
	if _, err := catalog.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{Domain: "sales", Name: "shop", Spec: spec})); err != nil {
		if connect.CodeOf(err) != connect.CodeAlreadyExists {
			return fmt.Errorf("registering sales/shop: %w", err)
		}
		say("sales/shop is already registered")
	} else {
		say("registered sales/shop: email (pii) is hashed at the source, name (pii, tagged mask) masked, ssn (sensitive) never captured, notes not declared")
	}
	if err := planAndApply(ctx, prov); err != nil {
		return err
	}
	say("load generator: %d changes per second (inserts, updates, deletes) into shop.public.customers", rate)
	go load(ctx, shop, rate)
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		show(ctx, catalog, shop, warehouse)
	}
}

func waitReady(ctx context.Context, server string) error {
	deadline := time.Now().Add(10 * time.Minute)
	for time.Now().Before(deadline) {
		res, err := http.Get(server + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	return fmt.Errorf("%s did not become ready", server)
}

// pgTarget is where a database lives, as a product spec names it.
type pgTarget struct {
	host string
	port int
	name string
	user string
	url  string
}

// databases creates the shop database (customers, seeded) and the empty
// warehouse database, keeping them when they exist.
func databases(ctx context.Context, pgURL string) (shop, warehouse pgTarget, err error) {
	admin, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		return shop, warehouse, fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	defer admin.Close(ctx)
	u, err := url.Parse(pgURL)
	if err != nil {
		return shop, warehouse, err
	}
	port, _ := strconv.Atoi(u.Port())
	target := func(name string) pgTarget {
		v := *u
		v.Path = "/" + name
		return pgTarget{host: u.Hostname(), port: port, name: name, user: u.User.Username(), url: v.String()}
	}
	for _, name := range []string{"demo_shop", "demo_warehouse"} {
		var exists bool
		if err := admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
			return shop, warehouse, err
		}
		if !exists {
			if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
				return shop, warehouse, err
			}
		}
	}
	shop, warehouse = target("demo_shop"), target("demo_warehouse")
	conn, err := pgx.Connect(ctx, shop.url)
	if err != nil {
		return shop, warehouse, err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS customers (
		customer_id bigint PRIMARY KEY,
		email text NOT NULL,
		name text,
		city text,
		ssn text,
		notes text,
		signed_up timestamptz NOT NULL DEFAULT now())`)
	if err != nil {
		return shop, warehouse, fmt.Errorf("creating shop.public.customers: %w", err)
	}
	_, err = conn.Exec(ctx, `INSERT INTO customers (customer_id, email, name, city, ssn, notes)
		SELECT i, 'customer' || i || '@example.com', 'Customer ' || i, (ARRAY['Oslo','Lima','Rome','Kyiv','Pune'])[1 + i % 5],
			lpad(i::text, 3, '0') || '-55-' || lpad(i::text, 4, '0'), 'internal note ' || i
		FROM generate_series(1, 20) AS i ON CONFLICT DO NOTHING`)
	if err != nil {
		return shop, warehouse, fmt.Errorf("seeding customers: %w", err)
	}
	say("shop database %s: public.customers seeded with 20 rows", shop.name)
	return shop, warehouse, nil
}

func productSpec(shop, warehouse pgTarget) *v1.DataProductSpec {
	return &v1.DataProductSpec{
		Description: "Customers of the demo shop, as they change.",
		Owner:       "shop-team@example.com",
		Source: &v1.Source{
			Kind: v1.SourceKind_SOURCE_KIND_POSTGRES, Host: shop.host, Port: int32(shop.port),
			Database: shop.name, Tables: []string{"public.customers"},
			Username: shop.user, SecretRef: "env:SALES__SHOP_DB_PASSWORD",
		},
		Ports: []*v1.OutputPort{{
			Name: "customers", Description: "Customer master data.", Table: "public.customers", Partitions: 3,
			CleanupPolicy: v1.CleanupPolicy_CLEANUP_POLICY_DELETE,
			Fields: []*v1.Field{
				{Name: "customer_id", Type: v1.FieldType_FIELD_TYPE_INT64, Classification: v1.Classification_CLASSIFICATION_NONE, Key: true},
				{Name: "email", Type: v1.FieldType_FIELD_TYPE_STRING, Classification: v1.Classification_CLASSIFICATION_PII},
				{Name: "name", Type: v1.FieldType_FIELD_TYPE_STRING, Nullable: true, Classification: v1.Classification_CLASSIFICATION_PII, Tags: []string{"mask"}},
				{Name: "city", Type: v1.FieldType_FIELD_TYPE_STRING, Nullable: true, Classification: v1.Classification_CLASSIFICATION_INTERNAL},
				{Name: "ssn", Type: v1.FieldType_FIELD_TYPE_STRING, Nullable: true, Classification: v1.Classification_CLASSIFICATION_SENSITIVE},
				{Name: "signed_up", Type: v1.FieldType_FIELD_TYPE_TIMESTAMP, Classification: v1.Classification_CLASSIFICATION_NONE},
			},
		}},
		Sinks: []*v1.Sink{{
			Name: "warehouse", Ports: []string{"customers"},
			Kind: &v1.Sink_Jdbc{Jdbc: &v1.JdbcSink{
				Url:      fmt.Sprintf("jdbc:postgresql://%s:%d/%s", warehouse.host, warehouse.port, warehouse.name),
				Username: warehouse.user, SecretRef: "env:SALES__WAREHOUSE_PASSWORD",
				InsertMode: "upsert", DeleteEnabled: true,
			}},
		}},
	}
}

func planAndApply(ctx context.Context, prov meshplanev1connect.ProvisioningServiceClient) error {
	res, err := prov.Plan(ctx, connect.NewRequest(&v1.PlanRequest{Domain: "sales", Product: "shop"}))
	if err != nil {
		return fmt.Errorf("planning: %w", err)
	}
	r, err := settle(ctx, prov, res.Msg.GetRun().GetId())
	if err != nil {
		return err
	}
	if r.GetState() != v1.RunState_RUN_STATE_PLANNED {
		return fmt.Errorf("the plan ended %s: %s", r.GetState(), r.GetError())
	}
	say("planned run %s: %s", r.GetId(), summary(r))
	if _, err := prov.ApproveRun(ctx, connect.NewRequest(&v1.ApproveRunRequest{Id: r.GetId()})); err != nil {
		return fmt.Errorf("approving: %w", err)
	}
	if r, err = settle(ctx, prov, r.GetId()); err != nil {
		return err
	}
	if r.GetState() != v1.RunState_RUN_STATE_APPLIED {
		return fmt.Errorf("the apply ended %s: %s", r.GetState(), r.GetError())
	}
	say("applied: the sandbox now runs the Debezium PostgreSQL source and the JDBC sink")
	return nil
}

func summary(r *v1.Run) string {
	counts := map[string]int{}
	for _, rc := range r.GetSummary().GetResources() {
		counts[rc.GetAction()]++
	}
	var parts []string
	for action, n := range counts {
		parts = append(parts, fmt.Sprintf("%d to %s", n, action))
	}
	if len(parts) == 0 {
		return "no changes"
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

func settle(ctx context.Context, prov meshplanev1connect.ProvisioningServiceClient, id string) (*v1.Run, error) {
	for {
		res, err := prov.GetRun(ctx, connect.NewRequest(&v1.GetRunRequest{Id: id}))
		if err != nil {
			return nil, err
		}
		switch r := res.Msg.GetRun(); r.GetState() {
		case v1.RunState_RUN_STATE_QUEUED, v1.RunState_RUN_STATE_PLANNING, v1.RunState_RUN_STATE_APPLYING:
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(300 * time.Millisecond):
			}
		default:
			return r, nil
		}
	}
}

// load inserts, updates and deletes customers at rate changes per second.
func load(ctx context.Context, shop pgTarget, rate int) {
	conn, err := pgx.Connect(ctx, shop.url)
	if err != nil {
		say("load generator: %v", err)
		return
	}
	defer conn.Close(context.Background())
	var next int64
	_ = conn.QueryRow(ctx, `SELECT coalesce(max(customer_id), 0) + 1 FROM customers`).Scan(&next)
	tick := time.NewTicker(time.Second / time.Duration(max(rate, 1)))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		var err error
		switch n := rand.IntN(10); {
		case n < 6:
			_, err = conn.Exec(ctx, `INSERT INTO customers (customer_id, email, name, city, ssn, notes) VALUES ($1, $2, $3, $4, $5, $6)`,
				next, fmt.Sprintf("user%d@example.com", next), fmt.Sprintf("User %d", next), []string{"Oslo", "Lima", "Rome", "Kyiv", "Pune"}[next%5],
				fmt.Sprintf("%03d-66-%04d", next%1000, next%10000), "note")
			next++
		case n < 9:
			_, err = conn.Exec(ctx, `UPDATE customers SET email = 'moved' || customer_id || '@example.com' WHERE customer_id = (SELECT customer_id FROM customers ORDER BY random() LIMIT 1)`)
		default:
			_, err = conn.Exec(ctx, `DELETE FROM customers WHERE customer_id = (SELECT customer_id FROM customers ORDER BY random() LIMIT 1)`)
		}
		if err != nil && ctx.Err() == nil {
			say("load generator: %v", err)
		}
	}
}

// show prints the newest records of the port as the preview shows them and
// what the warehouse table holds.
func show(ctx context.Context, catalog meshplanev1connect.CatalogServiceClient, shop, warehouse pgTarget) {
	res, err := catalog.GetPortPreview(ctx, connect.NewRequest(&v1.GetPortPreviewRequest{Domain: "sales", Product: "shop", Port: "customers", Limit: 3}))
	if err != nil {
		say("preview: %v", err)
	} else {
		say("newest records on %s (GetPortPreview):", res.Msg.GetTopic())
		for _, r := range res.Msg.GetRecords() {
			fmt.Printf("  offset %d key %s: %s\n", r.GetOffset(), payload(r.GetKey()), change(r.GetValue()))
		}
	}
	conn, err := pgx.Connect(ctx, warehouse.url)
	if err != nil {
		say("warehouse: %v", err)
		return
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM sales_shop_customers_v1`).Scan(&n); err != nil {
		say("warehouse table sales_shop_customers_v1: %v", err)
		return
	}
	var sourceRows int
	if src, err := pgx.Connect(ctx, shop.url); err == nil {
		_ = src.QueryRow(ctx, `SELECT count(*) FROM customers`).Scan(&sourceRows)
		src.Close(context.Background())
	}
	say("warehouse table %s.public.sales_shop_customers_v1 holds %d rows (the shop's customers: %d); the newest:", warehouse.name, n, sourceRows)
	rows, err := conn.Query(ctx, `SELECT * FROM sales_shop_customers_v1 ORDER BY customer_id DESC LIMIT 3`)
	if err != nil {
		say("warehouse: %v", err)
		return
	}
	for rows.Next() {
		m, err := pgx.RowToMap(rows)
		if err == nil {
			fmt.Printf("  %v\n", m)
		}
	}
	rows.Close()
}

// payload is the payload of a JSON converter record, without its schema.
func payload(record string) string {
	var r struct {
		Payload json.RawMessage `json:"payload"`
	}
	if json.Unmarshal([]byte(record), &r) != nil || r.Payload == nil {
		return record
	}
	return string(r.Payload)
}

// change describes a change event by its op and after image.
func change(record string) string {
	if record == "" || record == "null" {
		return "tombstone"
	}
	var r struct {
		Payload struct {
			Op    string          `json:"op"`
			After json.RawMessage `json:"after"`
		} `json:"payload"`
	}
	if json.Unmarshal([]byte(record), &r) != nil || r.Payload.Op == "" {
		return record
	}
	return fmt.Sprintf("op %s after %s", r.Payload.Op, r.Payload.After)
}
