package app_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/twmb/franz-go/pkg/kgo"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/server/app/apptest"
)

// cdcDatabase is a database of its own on the test PostgreSQL server.
type cdcDatabase struct {
	name, host string
	port       int
	conn       *pgx.Conn
}

func newCDCDatabase(t *testing.T) *cdcDatabase {
	t.Helper()
	base := os.Getenv(apptest.PostgresEnv)
	if base == "" {
		t.Skipf("%s is not set: the sandbox's data-moving connectors need a PostgreSQL server with wal_level=logical", apptest.PostgresEnv)
	}
	raw := apptest.NewPostgresDatabase(t, base)
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(u.Port())
	conn, err := pgx.Connect(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	db := &cdcDatabase{name: strings.TrimPrefix(u.Path, "/"), host: u.Hostname(), port: port, conn: conn}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return db
}

func (db *cdcDatabase) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := db.conn.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// shopSpec is a product over public.customers with a hashed, a masked, a
// dropped and an undeclared column, and a JDBC sink the policy keeps one
// more column out of.
func shopSpec(src, sink *cdcDatabase) *v1.DataProductSpec {
	return &v1.DataProductSpec{
		Description: "Customers of the web shop, as they change.",
		Owner:       "shop-team@example.com",
		Source: &v1.Source{
			Kind: v1.SourceKind_SOURCE_KIND_POSTGRES, Host: src.host, Port: int32(src.port),
			Database: src.name, Tables: []string{"public.customers"},
			Username: "postgres", SecretRef: apptest.EnvSecretRef("sales", "SHOP_DB_PASSWORD"),
		},
		Ports: []*v1.OutputPort{{
			Name: "customers", Description: "Customer master data.", Table: "public.customers", Partitions: 3,
			CleanupPolicy: v1.CleanupPolicy_CLEANUP_POLICY_DELETE,
			Fields: []*v1.Field{
				{Name: "customer_id", Type: v1.FieldType_FIELD_TYPE_INT64, Classification: v1.Classification_CLASSIFICATION_NONE, Key: true},
				{Name: "email", Type: v1.FieldType_FIELD_TYPE_STRING, Nullable: true, Classification: v1.Classification_CLASSIFICATION_PII, Tags: []string{"withhold"}},
				{Name: "name", Type: v1.FieldType_FIELD_TYPE_STRING, Nullable: true, Classification: v1.Classification_CLASSIFICATION_PII, Tags: []string{"mask"}},
				{Name: "city", Type: v1.FieldType_FIELD_TYPE_STRING, Nullable: true, Classification: v1.Classification_CLASSIFICATION_INTERNAL, Tags: []string{"no-warehouse"}},
				{Name: "ssn", Type: v1.FieldType_FIELD_TYPE_STRING, Nullable: true, Classification: v1.Classification_CLASSIFICATION_SENSITIVE},
			},
		}},
		Sinks: []*v1.Sink{{
			Name: "warehouse", Ports: []string{"customers"},
			Kind: &v1.Sink_Jdbc{Jdbc: &v1.JdbcSink{
				Url:      fmt.Sprintf("jdbc:postgresql://%s:%d/%s", sink.host, sink.port, sink.name),
				Username: "postgres", SecretRef: apptest.EnvSecretRef("sales", "WAREHOUSE_PASSWORD"),
				InsertMode: "upsert", DeleteEnabled: true,
			}},
		}},
	}
}

// publishMasking publishes the masking module with more decisions: rules
// define extra, which joins the module's own decisions.
func publishMasking(t *testing.T, gov apptest.Clients, message, rules string) {
	t.Helper()
	ctx := context.Background()
	mod := policyModule(t, gov, "masking")
	head := regexp.MustCompile(`(?m)^decisions :=`)
	src := mod.GetFiles()["masking.rego"]
	if !strings.Contains(src, "usual_decisions :=") {
		if !head.MatchString(src) {
			t.Fatalf("masking.rego no longer defines decisions at the start of a line:\n%s", src)
		}
		src = head.ReplaceAllString(src, "usual_decisions :=") + "\ndecisions := usual_decisions | extra\n"
	}
	saved, err := gov.Policy.SavePolicyDraft(ctx, connect.NewRequest(&v1.SavePolicyDraftRequest{Name: "masking",
		Files: withFile(mod.GetFiles(), "masking.rego", src+rules), Version: mod.GetVersion()}))
	if err != nil {
		t.Fatalf("saving masking: %v %v", err, fieldViolations(err))
	}
	if _, err := gov.Policy.PublishPolicy(ctx, connect.NewRequest(&v1.PublishPolicyRequest{Name: "masking", Message: message,
		Version: saved.Msg.GetModule().GetVersion()})); err != nil {
		t.Fatalf("publishing masking: %v %v", err, fieldViolations(err))
	}
}

// warehouseDrops keeps fields tagged no-warehouse out of JDBC sinks.
const warehouseDrops = `
extra contains {"port": port.name, "field": field.name, "sink": sink.name, "action": "drop", "reason": "kept out of warehouses"} if {
	some sink in input.product.sinks
	sink.kind == "jdbc"
	some port in input.product.ports
	port.name in sink.ports
	some field in port.fields
	"no-warehouse" in field.tags
}
`

// withheldFields drops fields tagged withhold at the topic.
const withheldFields = `
extra contains {"port": port.name, "field": field.name, "action": "drop", "reason": "withheld from now on"} if {
	some port in input.product.ports
	some field in port.fields
	"withhold" in field.tags
}
`

// topicRecords reads every record of topic from the start as the admin.
func topicRecords(t *testing.T, env *apptest.Env, topic string) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(append(env.Server.Sandbox.ClientOptions(), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var out []*kgo.Record
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return out
		}
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
}

// afterImages decodes the after images of topic's change events, by key.
func afterImages(t *testing.T, recs []*kgo.Record) map[int64][]map[string]any {
	t.Helper()
	out := map[int64][]map[string]any{}
	for _, r := range recs {
		if r.Value == nil {
			continue
		}
		var ev struct {
			Payload struct {
				Op    string         `json:"op"`
				After map[string]any `json:"after"`
			} `json:"payload"`
		}
		if err := json.Unmarshal(r.Value, &ev); err != nil {
			t.Fatalf("record %s: %v", r.Value, err)
		}
		if ev.Payload.After == nil {
			continue
		}
		id := int64(ev.Payload.After["customer_id"].(float64))
		out[id] = append(out[id], ev.Payload.After)
	}
	return out
}

// sinkRows reads the sink table; it waits until ready says the rows are
// what the test waits for.
func sinkRows(t *testing.T, sink *cdcDatabase, table string, ready func(map[int64]map[string]any) bool) map[int64]map[string]any {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last map[int64]map[string]any
	for time.Now().Before(deadline) {
		rows, err := sink.conn.Query(context.Background(), `SELECT * FROM `+pgx.Identifier{table}.Sanitize())
		if err == nil {
			last = map[int64]map[string]any{}
			for rows.Next() {
				m, err := pgx.RowToMap(rows)
				if err != nil {
					t.Fatal(err)
				}
				last[m["customer_id"].(int64)] = m
			}
			rows.Close()
			if ready(last) {
				return last
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("sink table %s never got the rows waited for; last read: %v", table, last)
	return nil
}

func debeziumHash(salt, v string) string {
	h := sha256.Sum256([]byte(salt + v))
	return hex.EncodeToString(h[:])
}

// TestSandboxMovesMaskedData registers a product over a real PostgreSQL
// table, applies its plan and watches rows travel: snapshot and changes
// reach the topic hashed, masked and filtered exactly as the policy
// decided, the JDBC sink table holds them with its own drop applied and
// loses deleted rows, a stricter policy published later changes what new
// rows carry, and no raw PII value of hundreds of random rows is found in
// any record or sink row.
func TestSandboxMovesMaskedData(t *testing.T) {
	apptest.RequireTools(t)
	src := newCDCDatabase(t)
	sink := newCDCDatabase(t)
	t.Setenv("SALES__SHOP_DB_PASSWORD", "unused-trust-auth")
	t.Setenv("SALES__WAREHOUSE_PASSWORD", "unused-trust-auth")
	src.exec(t, `CREATE TABLE customers (customer_id bigint PRIMARY KEY, email text, name text NOT NULL, city text, ssn text, notes text)`)
	src.exec(t, `INSERT INTO customers VALUES (1, 'ann@example.com', 'Ann', 'Oslo', '111-11-1111', 'vip-ann'), (2, 'bob@example.com', 'Bob', 'Lima', '222-22-2222', 'vip-bob')`)

	env := apptest.New(t)
	ctx := context.Background()
	env.Domain("sales")
	owner := env.Clients(apptest.ProtocolConnect, env.User("olga", "domain-owner", "sales"))
	gov := env.Clients(apptest.ProtocolConnect, env.User("gina", "governance-officer", "*"))
	publishMasking(t, gov, "keep no-warehouse fields out of warehouses", warehouseDrops)
	if _, err := owner.Catalog.CreateDataProduct(ctx, connect.NewRequest(&v1.CreateDataProductRequest{Domain: "sales", Name: "shop", Spec: shopSpec(src, sink)})); err != nil {
		t.Fatalf("creating the product: %v %v", err, fieldViolations(err))
	}
	approve(t, owner, plan(t, owner, "sales", "shop"), false)

	configs := connectorConfigs(t, env)
	var salt string
	for k := range configs["sales.shop.source"] {
		if s, ok := strings.CutPrefix(k, "column.mask.hash.v2.SHA-256.with.salt."); ok {
			salt = s
		}
	}
	if salt == "" {
		t.Fatalf("the source connector hashes nothing: %v", configs["sales.shop.source"])
	}

	// The snapshot reaches the sink: email hashed, name masked, city kept
	// out by the sink's own drop, ssn and notes never captured.
	table := "sales_shop_customers_v1"
	rows := sinkRows(t, sink, table, func(m map[int64]map[string]any) bool { return len(m) == 2 })
	ann := rows[1]
	if ann["email"] != debeziumHash(salt, "ann@example.com") || ann["name"] != "********" {
		t.Errorf("ann in the sink = %v", ann)
	}
	for _, col := range []string{"city", "ssn", "notes"} {
		if v, ok := ann[col]; ok {
			t.Errorf("column %s reached the sink table: %v", col, v)
		}
	}

	// Changes: an insert, an update, a delete.
	src.exec(t, `INSERT INTO customers VALUES (3, 'cy@example.com', 'Cy', 'Rome', '333-33-3333', 'vip-cy')`)
	src.exec(t, `UPDATE customers SET email = 'ann@new.example.com' WHERE customer_id = 1`)
	src.exec(t, `DELETE FROM customers WHERE customer_id = 2`)
	rows = sinkRows(t, sink, table, func(m map[int64]map[string]any) bool {
		_, bob := m[2]
		return len(m) == 2 && !bob && m[1]["email"] == debeziumHash(salt, "ann@new.example.com")
	})
	if rows[3]["email"] != debeziumHash(salt, "cy@example.com") {
		t.Errorf("cy in the sink = %v", rows[3])
	}
	topic := "sales.shop.customers.v1"
	recs := topicRecords(t, env, topic)
	images := afterImages(t, recs)
	if len(images[1]) != 2 || images[1][1]["email"] != debeziumHash(salt, "ann@new.example.com") || images[1][0]["city"] != "Oslo" {
		t.Errorf("ann's events on the topic = %v", images[1])
	}
	// The port's published schema describes every record that arrived.
	sch, err := owner.Catalog.GetPortSchema(ctx, connect.NewRequest(&v1.GetPortSchemaRequest{Domain: "sales", Name: "shop", Port: "customers"}))
	if err != nil {
		t.Fatalf("port schema: %v", err)
	}
	validateEvents(t, sch.Msg.GetSchema(), recs)
	var tombstones int
	for _, r := range recs {
		if r.Value == nil {
			tombstones++
			if string(r.Key) == "" || !strings.Contains(string(r.Key), `"customer_id":2`) {
				t.Errorf("tombstone key = %s", r.Key)
			}
		}
		if !strings.Contains(string(r.Key), `"payload":{"customer_id":`) {
			t.Errorf("record key = %s, want the declared key column only", r.Key)
		}
	}
	if tombstones != 1 {
		t.Errorf("%d tombstones, want 1 after one delete", tombstones)
	}

	// The preview shows the rows as they arrived.
	pv, err := owner.Catalog.GetPortPreview(ctx, connect.NewRequest(&v1.GetPortPreviewRequest{Domain: "sales", Product: "shop", Port: "customers", Limit: 20}))
	if err != nil {
		t.Fatalf("preview: %v", err)
	}
	if n := len(pv.Msg.GetRecords()); n < 5 {
		t.Errorf("preview holds %d records", n)
	}
	if strings.Contains(fmt.Sprint(pv.Msg.GetRecords()), "cy@example.com") {
		t.Error("the preview holds a raw email")
	}

	// Hundreds of random rows: no raw PII value anywhere.
	type secret struct{ email, name, ssn, notes, city string }
	var secrets []secret
	for i := range 300 {
		s := secret{email: randomWord() + "@" + randomWord() + ".example", name: randomWord(), ssn: randomWord(), notes: randomWord(), city: randomWord()}
		secrets = append(secrets, s)
		src.exec(t, `INSERT INTO customers VALUES ($1, $2, $3, $4, $5, $6)`, 1000+i, s.email, s.name, s.city, s.ssn, s.notes)
	}
	rows = sinkRows(t, sink, table, func(m map[int64]map[string]any) bool { return len(m) == 302 })
	recs = topicRecords(t, env, topic)
	var everything strings.Builder
	for _, r := range recs {
		everything.Write(r.Key)
		everything.Write(r.Value)
	}
	sinkDump := fmt.Sprint(rows)
	for id, row := range rows {
		for _, col := range []string{"city", "ssn", "notes"} {
			if _, ok := row[col]; ok {
				t.Fatalf("row %d of the sink table has a %s column", id, col)
			}
		}
	}
	for _, s := range secrets {
		for _, v := range []string{s.email, s.name, s.ssn, s.notes} {
			if strings.Contains(everything.String(), v) || strings.Contains(sinkDump, v) {
				t.Fatalf("raw value %q was found in the topic or the sink table", v)
			}
		}
		if strings.Contains(sinkDump, s.city) {
			t.Fatalf("city %q, kept out of warehouses, was found in the sink table", s.city)
		}
	}

	// A stricter policy: emails are withheld from the topic altogether.
	// Publishing plans every product whose masking changes; the owner
	// reviews and approves that plan.
	publishMasking(t, gov, "withhold emails", withheldFields)
	approve(t, owner, policyPlan(t, owner, "sales", "shop"), false)
	src.exec(t, `INSERT INTO customers VALUES (4, 'dee@example.com', 'Dee', 'Kyiv', '444-44-4444', 'vip-dee')`)
	rows = sinkRows(t, sink, table, func(m map[int64]map[string]any) bool { _, ok := m[4]; return ok })
	if rows[4]["email"] != nil || rows[4]["name"] != "********" {
		t.Errorf("dee in the sink after the stricter policy = %v", rows[4])
	}
	images = afterImages(t, topicRecords(t, env, topic))
	if dee := images[4]; len(dee) != 1 || dee[0]["email"] != nil {
		t.Errorf("dee's event on the topic = %v", dee)
	} else if _, ok := dee[0]["email"]; ok {
		t.Errorf("dee's event still has an email field: %v", dee[0])
	}
}

// policyPlan waits for the run a policy publish queued for a product and
// returns it once planned.
func policyPlan(t *testing.T, c apptest.Clients, domain, product string) *v1.Run {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		runs, err := c.Provision.ListRuns(context.Background(), connect.NewRequest(&v1.ListRunsRequest{Domain: domain, Product: product}))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range runs.Msg.GetRuns() {
			if r.GetTrigger() == "policy" {
				r = waitRun(t, c, r.GetId())
				if r.GetState() != v1.RunState_RUN_STATE_PLANNED {
					t.Fatalf("the policy's plan ended %v: %s", r.GetState(), r.GetError())
				}
				return r
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("publishing queued no plan for %s/%s", domain, product)
	return nil
}

func randomWord() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	return "w" + strconv.FormatInt(n.Int64(), 36)
}

// validateEvents checks every change event of recs against a port's JSON Schema.
func validateEvents(t *testing.T, schemaText string, recs []*kgo.Record) {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(schemaText))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("port.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("port.json")
	if err != nil {
		t.Fatalf("the port schema does not compile: %v", err)
	}
	n := 0
	for _, r := range recs {
		if r.Value == nil {
			continue
		}
		var ev struct {
			Payload json.RawMessage `json:"payload"`
		}
		if err := json.Unmarshal(r.Value, &ev); err != nil {
			t.Fatal(err)
		}
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(string(ev.Payload)))
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(v); err != nil {
			t.Errorf("a change event does not match the port schema: %v\n%s", err, ev.Payload)
			return
		}
		n++
	}
	if n == 0 {
		t.Error("no change event to check against the schema")
	}
}
