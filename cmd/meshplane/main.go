// Command meshplane is the data mesh control plane: `meshplane serve` runs the
// server, `meshplane migrate` applies catalog migrations.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/meshplane/meshplane/server/app"
	"github.com/meshplane/meshplane/server/store"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `meshplane — a self-service data mesh control plane

Usage:
  meshplane serve   [--addr HOST:PORT] [--data-dir DIR] [--database-url URL] [--environments FILE] [flags]
  meshplane migrate [--data-dir DIR] [--database-url URL] [--status]
  meshplane sandbox --data-dir DIR [--kafka-addr HOST:PORT] [--connect-addr HOST:PORT] [--brokers N]
  meshplane version

Client (a server's URL and token from --server and --token, MESHPLANE_URL
and MESHPLANE_TOKEN, or the file login writes):
  meshplane login   --server URL --token TOKEN [--ca-file PEM]
  meshplane get     products [--domain D] [-o text|json|yaml] | product DOMAIN/NAME [-o yaml|json|text]
                    | schema DOMAIN/NAME/PORT [--major N] [--format json-schema|avro]
  meshplane diff    -f FILE_OR_DIR [-o json]          exit 0: no change, 1: changes, 2: error
  meshplane apply   -f FILE_OR_DIR [--dry-run] [--prune] [-o json]   exit 0, or 2 when anything was refused
  meshplane export  DOMAIN/NAME [--dir DIR] [--kafka-bootstrap H:P,…]   ODPS v1.0.0 and ODCS v3.1.0 documents
  meshplane import  --odps FILE [--odcs FILE …]       prints the product as a descriptor; notes what is not modelled
  meshplane plan    DOMAIN/NAME [--env ENV] [--wait=false]   queue a plan and show it once it is ready for review
  meshplane promote DOMAIN/NAME --from ENV --to ENV   plan the version applied in one environment in another
  meshplane approve RUN_ID [--confirm-destructive]    approve a planned run (it applies once every approval it needs is given)
  meshplane watch   RUN_ID                            stream a run's log until it settles
  meshplane request-access --consumer SA --port DOMAIN/PRODUCT/PORT --purpose TEXT [--duration 720h] [--env ENV]
  meshplane completion bash|zsh                       a shell completion script

Run "meshplane COMMAND -h" for a command's flags. Every flag can also be set
through the environment as MESHPLANE_<FLAG> (e.g. MESHPLANE_DATABASE_URL).
`

func main() {
	exit(run(os.Args[1:], os.Stdout, os.Stderr), os.Stderr)
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("a command is required")
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stderr)
	case "migrate":
		return migrate(args[1:], stdout, stderr)
	case "sandbox":
		return runSandbox(args[1:], stderr)
	case "login":
		return login(args[1:], stdout, stderr)
	case "get":
		return getCmd(args[1:], stdout, stderr)
	case "diff":
		return diffCmd(args[1:], stdout, stderr)
	case "apply":
		return applyCmd(args[1:], stdout, stderr)
	case "export":
		return exportCmd(args[1:], stdout, stderr)
	case "plan":
		return planCmd(args[1:], stdout, stderr)
	case "promote":
		return promoteCmd(args[1:], stdout, stderr)
	case "approve":
		return approveCmd(args[1:], stdout, stderr)
	case "watch":
		return watchCmd(args[1:], stdout, stderr)
	case "request-access":
		return requestAccessCmd(args[1:], stdout, stderr)
	case "completion":
		return completion(args[1:], stdout)
	case "import":
		return importCmd(args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "meshplane", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

type common struct {
	dataDir     string
	databaseURL string
	logFormat   string
	logLevel    string
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.dataDir, "data-dir", envOr("MESHPLANE_DATA_DIR", "./meshplane-data"), "directory for the embedded catalog, the admin token and workspaces")
	fs.StringVar(&c.databaseURL, "database-url", os.Getenv("MESHPLANE_DATABASE_URL"), "catalog database (postgres://…); empty uses SQLite in the data dir")
	fs.StringVar(&c.logFormat, "log-format", envOr("MESHPLANE_LOG_FORMAT", "text"), "log format: text or json")
	fs.StringVar(&c.logLevel, "log-level", envOr("MESHPLANE_LOG_LEVEL", "info"), "log level: debug, info, warn or error")
}

func (c *common) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format must be text or json, got %q", c.logFormat)
}

// open returns the logger and the absolute data dir, created when missing.
func (c *common) open(stderr io.Writer) (*slog.Logger, string, error) {
	log, err := c.logger(stderr)
	if err != nil {
		return nil, "", err
	}
	dataDir, err := filepath.Abs(c.dataDir)
	if err != nil {
		return nil, "", err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, "", fmt.Errorf("creating data dir: %w", err)
	}
	return log, dataDir, nil
}

func (c *common) dbURL() (string, error) {
	if c.databaseURL != "" {
		return c.databaseURL, nil
	}
	abs, err := filepath.Abs(c.dataDir)
	if err != nil {
		return "", err
	}
	return "sqlite://" + filepath.Join(abs, "catalog.db"), nil
}

func envOr(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}

func serve(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs)
	addr := fs.String("addr", envOr("MESHPLANE_ADDR", "127.0.0.1:8080"), "address to listen on (HTTP/1.1 and h2c)")
	noMigrate := fs.Bool("no-migrate", false, "refuse to start with pending migrations instead of applying them")
	grace := fs.Duration("shutdown-grace", 30*time.Second, "how long in-flight requests may run after SIGTERM")
	accessLog := fs.Bool("access-log", false, "log every request")
	var dp app.DataPlane
	bootstrap := fs.String("kafka-bootstrap", os.Getenv("MESHPLANE_KAFKA_BOOTSTRAP"), "comma-separated Kafka bootstrap servers; empty starts the in-process sandbox")
	fs.StringVar(&dp.SASLMechanism, "kafka-sasl-mechanism", os.Getenv("MESHPLANE_KAFKA_SASL_MECHANISM"), "plain, scram-sha256 or scram-sha512 (password from MESHPLANE_KAFKA_PASSWORD)")
	fs.StringVar(&dp.KafkaUsername, "kafka-username", os.Getenv("MESHPLANE_KAFKA_USERNAME"), "Kafka SASL username")
	fs.BoolVar(&dp.KafkaTLS, "kafka-tls", os.Getenv("MESHPLANE_KAFKA_TLS") == "true", "connect to Kafka over TLS")
	fs.StringVar(&dp.ConnectURL, "connect-url", os.Getenv("MESHPLANE_CONNECT_URL"), "Kafka Connect REST URL")
	fs.StringVar(&dp.ConnectUsername, "connect-username", os.Getenv("MESHPLANE_CONNECT_USERNAME"), "Kafka Connect basic-auth username (password from MESHPLANE_CONNECT_PASSWORD)")
	sandboxDir := fs.String("sandbox", os.Getenv("MESHPLANE_SANDBOX"), "data dir of a running meshplane sandbox to use as the data plane (several replicas can share one)")
	fs.IntVar(&dp.ReplicationFactor, "replication-factor", 3, "replication factor of provisioned topics (the sandbox uses 1)")
	toolsDir := fs.String("tools-dir", envOr("MESHPLANE_TOOLS_DIR", ".tools"), "directory with bin/terraform and the provider mirror terraform-plugins/ (built by scripts/tools.sh)")
	terraform := fs.String("terraform", os.Getenv("MESHPLANE_TERRAFORM"), "terraform binary (>= 1.5) to run; default TOOLS_DIR/bin/terraform")
	drift := fs.Duration("drift-interval", 10*time.Minute, "how often provisioned products are checked for drift (0 disables)")
	maskingKey := fs.String("masking-key-file", "", "file holding the hex key masking salts and preview pseudonyms derive from (default DATA_DIR/masking.key, created on first start)")
	policyTimeout := fs.Duration("policy-timeout", 200*time.Millisecond, "longest one policy evaluation may run; a slower one fails closed")
	grantInterval := fs.Duration("grant-interval", 5*time.Second, "how often grants are expired and waiting grant plans queued")
	webhookInterval := fs.Duration("webhook-interval", time.Second, "how often events are fanned out to webhooks and due deliveries sent")
	webhookRetry := fs.Duration("webhook-retry-base", 10*time.Second, "wait after a webhook delivery's first failed attempt; doubled after each next one, up to an hour")
	webhookAttempts := fs.Int("webhook-max-attempts", 12, "attempts before a webhook delivery is marked failed, to be replayed")
	webhookPrivate := fs.Bool("webhook-allow-private-networks", false, "let webhooks reach loopback, private and link-local addresses (receivers inside your network)")
	envFile := fs.String("environments", os.Getenv("MESHPLANE_ENVIRONMENTS"), "YAML file naming the environments products are provisioned into (dev, prod, …), each with its data plane or a sandbox of its own and its policy parameters; replaces the data-plane flags")
	workers := fs.Int("workers", 4, "how many jobs (provisioning runs, drift checks) this replica works at once; 0 makes a replica that serves the APIs and queues jobs for the others")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var envs []app.EnvironmentConfig
	if *envFile != "" {
		if *sandboxDir != "" || *bootstrap != "" {
			return errors.New("--environments names every environment's data plane: it cannot be combined with --sandbox or --kafka-bootstrap")
		}
		var err error
		if envs, err = app.LoadEnvironments(*envFile); err != nil {
			return fmt.Errorf("--environments: %w", err)
		}
	}
	if *sandboxDir != "" {
		if err := useSandbox(fs, *sandboxDir, &dp); err != nil {
			return err
		}
	}
	if *bootstrap != "" {
		for _, b := range strings.Split(*bootstrap, ",") {
			if b = strings.TrimSpace(b); b != "" {
				dp.KafkaBootstrap = append(dp.KafkaBootstrap, b)
			}
		}
		if dp.ConnectURL == "" {
			return errors.New("--connect-url is required with --kafka-bootstrap")
		}
		dp.KafkaPassword = os.Getenv("MESHPLANE_KAFKA_PASSWORD")
		dp.ConnectPassword = os.Getenv("MESHPLANE_CONNECT_PASSWORD")
	}
	log, dataDir, err := c.open(stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	srv, err := app.New(ctx, app.Config{
		DataDir: dataDir, DatabaseURL: c.databaseURL, Logger: log,
		AutoMigrate: !*noMigrate, BindingReload: 30 * time.Second, AccessLog: *accessLog,
		DataPlane: dp, Environments: envs, ToolsDir: *toolsDir, Terraform: *terraform, DriftInterval: *drift, Workers: apiOnly(*workers),
		MaskingKeyFile: *maskingKey, PolicyTimeout: *policyTimeout, GrantInterval: *grantInterval,
		Webhooks: app.WebhookConfig{Interval: *webhookInterval, RetryBase: *webhookRetry, MaxAttempts: *webhookAttempts, AllowPrivateNetworks: *webhookPrivate},
	})
	if err != nil {
		return err
	}
	defer srv.Close()
	log.Info("catalog ready", "database", srv.Store.URL)
	if srv.AdminTokenPath != "" {
		log.Info("initial admin token written; use it as Authorization: Bearer <token>", "path", srv.AdminTokenPath)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	log.Info("meshplane listening", "addr", "http://"+ln.Addr().String(), "graphql", "http://"+ln.Addr().String()+"/graphql", "version", version)
	return srv.Serve(ctx, ln, *grace)
}

func migrate(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs)
	status := fs.Bool("status", false, "print applied and pending migrations without applying them")
	if err := fs.Parse(args); err != nil {
		return err
	}
	url, err := c.dbURL()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	st, err := store.Open(ctx, url)
	if err != nil {
		return err
	}
	defer st.Close()
	if *status {
		s, err := st.Status(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "database: %s\napplied: %d\npending: %d\nlatest known: %s\njob queue migrations pending: %d\n", st.URL, len(s.Applied), len(s.Pending), s.Latest, len(s.JobQueuePending))
		for _, m := range s.Pending {
			fmt.Fprintf(stdout, "  pending %s_%s\n", m.Version, m.Name)
		}
		return nil
	}
	applied, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(stdout, "catalog is up to date")
		return nil
	}
	for _, v := range applied {
		fmt.Fprintln(stdout, "applied", v)
	}
	return nil
}

// apiOnly maps --workers 0, a replica that works no jobs, to the server's
// negative worker count (its zero value means the default).
func apiOnly(workers int) int {
	if workers <= 0 {
		return -1
	}
	return workers
}
