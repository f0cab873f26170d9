package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/meshplane/meshplane/server/app"
	"github.com/meshplane/meshplane/server/sandbox"
)

// runSandbox runs the sandbox data plane on its own, so several serve
// replicas can share it (serve --sandbox) and outlive one another.
func runSandbox(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	fs.StringVar(&c.dataDir, "data-dir", os.Getenv("MESHPLANE_DATA_DIR"), "directory for the data plane's state and connection settings, under DIR/sandbox (required)")
	fs.StringVar(&c.logFormat, "log-format", envOr("MESHPLANE_LOG_FORMAT", "text"), "log format: text or json")
	fs.StringVar(&c.logLevel, "log-level", envOr("MESHPLANE_LOG_LEVEL", "info"), "log level: debug, info, warn or error")
	kafkaAddr := fs.String("kafka-addr", envOr("MESHPLANE_KAFKA_ADDR", "127.0.0.1:0"), "first broker's listen address; port P gives brokers P, P+1, …; port 0 picks free ports on first start and keeps them while they stay free")
	connectAddr := fs.String("connect-addr", envOr("MESHPLANE_CONNECT_ADDR", "127.0.0.1:0"), "Kafka Connect emulator's listen address; port 0 as for --kafka-addr")
	brokers := fs.Int("brokers", 1, "number of brokers, 1 to 5")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.dataDir == "" {
		return errors.New("--data-dir is required")
	}
	if *brokers < 1 {
		return fmt.Errorf("--brokers must be between 1 and 5, got %d", *brokers)
	}
	log, dataDir, err := c.open(stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	sb, err := sandbox.Start(ctx, sandbox.Config{DataDir: dataDir, Logger: log.With("component", "sandbox"),
		KafkaAddr: *kafkaAddr, ConnectAddr: *connectAddr, Brokers: *brokers, ConnectBasicAuth: true})
	if err != nil {
		return fmt.Errorf("starting the sandbox data plane: %w", err)
	}
	st := sb.Settings()
	log.Info("sandbox data plane ready; share it with meshplane serve --sandbox "+dataDir,
		"kafka", st.BootstrapServers, "connect", st.ConnectURL,
		"connection_file", sandbox.ConnectionPath(dataDir), "credentials_file", st.CredentialsFile, "version", version)
	<-ctx.Done()
	log.Info("shutting down the sandbox data plane")
	return sb.Close()
}

// dataPlaneFlags are serve's flags that configure an external data plane,
// which --sandbox replaces.
var dataPlaneFlags = []string{"kafka-bootstrap", "kafka-sasl-mechanism", "kafka-username", "kafka-tls", "connect-url", "connect-username"}

// useSandbox fills dp from the connection settings of the sandbox started
// with dir, as though they had been given as an external data plane's flags.
// fs must be parsed.
func useSandbox(fs *flag.FlagSet, dir string, dp *app.DataPlane) error {
	var set []string
	for _, name := range dataPlaneFlags {
		// Flags default to their environment variables, so a value counts
		// wherever it came from.
		if v := fs.Lookup(name).Value.String(); v != "" && v != "false" {
			set = append(set, "--"+name)
		}
	}
	if len(set) > 0 {
		return fmt.Errorf("--sandbox cannot be combined with %s: the sandbox's connection file supplies the data plane (check MESHPLANE_ variables too)", strings.Join(set, ", "))
	}
	conn, err := sandbox.ReadConnection(dir)
	if err != nil {
		return fmt.Errorf("--sandbox: %w", err)
	}
	dp.KafkaBootstrap = conn.BootstrapServers
	dp.SASLMechanism = conn.SASLMechanism
	dp.KafkaUsername, dp.KafkaPassword = conn.Username, conn.Password
	dp.ConnectURL = conn.ConnectURL
	dp.ConnectUsername, dp.ConnectPassword = conn.ConnectUsername, conn.ConnectPassword
	explicit := false
	fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "replication-factor" })
	if !explicit {
		// The broker refuses a replication factor above its broker count.
		dp.ReplicationFactor = min(dp.ReplicationFactor, len(conn.BootstrapServers))
	}
	return nil
}
