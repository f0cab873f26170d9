// Package sandbox runs the embedded data plane meshplane uses when no Kafka is
// configured: a Kafka-protocol broker (franz-go's kfake) with SASL and ACLs
// enforced, so grants and denials are real at the wire, and a Kafka Connect
// REST emulator that validates connector configurations, runs the connector
// classes a local machine can serve (Debezium's PostgreSQL source and JDBC
// sink, see connectrun) and leaves every other class validate-only.
// Topics, ACLs, SCRAM users and connectors persist under DataDir/sandbox, a
// 0700 directory whose files are 0600; SCRAM users are persisted as salted
// keys, and the one password on disk is the admin's, in the credentials file.
// It runs inside meshplane serve, or on its own (meshplane sandbox) for
// several serve replicas to share through the connection file it writes
// (ReadConnection).
package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/meshplane/meshplane/server/sandbox/connectemu"
	"github.com/meshplane/meshplane/server/sandbox/connectrun"
	"github.com/meshplane/meshplane/server/sandbox/internal/atomicfile"
)

// AdminUsername is the sandbox broker's superuser, which meshplane itself
// uses to provision topics, ACLs and SCRAM users.
const AdminUsername = "meshplane-admin"

// DefaultBrokers is how many brokers the sandbox cluster runs unless told
// otherwise: three, so replication factors a production module asks for
// (typically 3) are accepted unchanged.
const DefaultBrokers = 3

// Config configures the sandbox data plane.
type Config struct {
	// DataDir is meshplane's data directory; the sandbox keeps its state in
	// DataDir/sandbox (mode 0700).
	DataDir string
	// DeniedDirs are further directories connectors may not read secrets
	// from, besides DataDir: meshplane's own data directory when the
	// sandbox is one environment's among several.
	DeniedDirs []string
	Logger     *slog.Logger
	// KafkaAddr is the first broker's listen address. An explicit port P
	// gives brokers P, P+1, …; port 0 picks free ports on first start and
	// reuses them on later starts while they are free. The host must be a
	// specific address (brokers advertise the address they listen on).
	KafkaAddr string
	// ConnectAddr is the Kafka Connect emulator's listen address; port 0
	// behaves as for KafkaAddr.
	ConnectAddr string
	// Brokers is the number of brokers; 0 means DefaultBrokers.
	Brokers int
	// ConnectBasicAuth, when set, makes the Connect emulator require HTTP
	// basic auth with the admin username and password.
	ConnectBasicAuth bool
}

// Validate reports what is missing or malformed in c.
func (c Config) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("data dir is required"))
	}
	if c.Logger == nil {
		errs = append(errs, errors.New("logger is required"))
	}
	if c.Brokers < 0 || c.Brokers > 5 {
		errs = append(errs, fmt.Errorf("brokers must be between 1 and 5, got %d", c.Brokers))
	}
	if err := validateAddr(c.KafkaAddr, c.brokers()); err != nil {
		errs = append(errs, fmt.Errorf("kafka addr: %w", err))
	}
	if err := validateAddr(c.ConnectAddr, 1); err != nil {
		errs = append(errs, fmt.Errorf("connect addr: %w", err))
	}
	return errors.Join(errs...)
}

func (c Config) brokers() int {
	if c.Brokers == 0 {
		return DefaultBrokers
	}
	return c.Brokers
}

func validateAddr(addr string, ports int) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %w", addr, err)
	}
	if host == "" {
		return fmt.Errorf("%q has no host; use a specific address such as 127.0.0.1", addr)
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return fmt.Errorf("%q listens on every interface; use a specific address such as 127.0.0.1", addr)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("%q has an invalid port", addr)
	}
	if p != 0 && p+ports-1 > 65535 {
		return fmt.Errorf("%q leaves no room for %d consecutive ports", addr, ports)
	}
	return nil
}

// Settings is what clients need to reach the sandbox data plane. It never
// holds the admin password; CredentialsFile names the 0600 file that does.
type Settings struct {
	BootstrapServers []string `json:"bootstrap_servers"`
	SecurityProtocol string   `json:"security_protocol"`
	// SASLMechanism is the mechanism meshplane uses; SASLMechanisms lists
	// every mechanism the broker accepts.
	SASLMechanism    string              `json:"sasl_mechanism"`
	SASLMechanisms   []string            `json:"sasl_mechanisms"`
	AdminUsername    string              `json:"admin_username"`
	CredentialsFile  string              `json:"credentials_file"`
	ClusterID        string              `json:"cluster_id"`
	Brokers          int                 `json:"brokers"`
	ConnectURL       string              `json:"connect_url"`
	ConnectUsername  string              `json:"connect_username,omitempty"`
	ConnectVersion   string              `json:"connect_version"`
	ConnectorClasses []connectemu.Plugin `json:"connector_classes"`
	Notes            []string            `json:"notes"`
}

// Sandbox is a running sandbox data plane.
type Sandbox struct {
	cfg       Config
	dir       string
	creds     credentials
	credsPath string
	kafkaDir  string
	cluster   *kfake.Cluster
	clusterID string
	bootstrap []string
	connect   *http.Server
	connectLn net.Listener
	// previous holds the addresses of the last run, reused when free.
	previous listenerRecord

	// principalsMu serialises changes to the connector principals file.
	principalsMu sync.Mutex

	closeOnce sync.Once
	closeErr  error
	teardown  []func() error
}

// Start brings the broker and the Connect emulator up, restoring persisted
// state, and checks that the admin credentials work before returning. ctx
// bounds start-up only; Close stops the sandbox.
func Start(ctx context.Context, c Config) (_ *Sandbox, err error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("configuring the sandbox: %w", err)
	}
	s := &Sandbox{cfg: c, dir: filepath.Join(c.DataDir, "sandbox")}
	defer func() {
		if err != nil {
			s.runTeardown()
		}
	}()
	s.credsPath = filepath.Join(s.dir, credentialsFile)
	s.kafkaDir = filepath.Join(s.dir, "kafka")
	// Created before kfake would create it 0755.
	if err := os.MkdirAll(s.kafkaDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", s.kafkaDir, err)
	}
	unlock, err := lockDir(s.dir)
	if err != nil {
		return nil, err
	}
	s.onTeardown(unlock)
	changed, err := restrictTree(s.dir)
	if err != nil {
		return nil, err
	}
	if len(changed) > 0 {
		c.Logger.Warn("sandbox state was readable by others; restricted it to its owner", "dir", s.dir, "paths", len(changed))
	}
	dropped, err := dropPlainUsers(filepath.Join(s.kafkaDir, saslStateFile))
	if err != nil {
		return nil, err
	}
	if dropped {
		c.Logger.Warn("removed the clear-text PLAIN users from the sandbox broker's state; the broker no longer offers PLAIN sign-in, use SCRAM-SHA-512",
			"path", filepath.Join(s.kafkaDir, saslStateFile))
	}
	s.previous = readListeners(filepath.Join(s.dir, listenersFile))
	if s.creds, err = loadOrCreateCredentials(s.credsPath, s.kafkaDir, c.Logger); err != nil {
		return nil, err
	}
	if err := s.startBroker(ctx); err != nil {
		return nil, err
	}
	if err := s.startConnect(); err != nil {
		return nil, err
	}
	rec := listenerRecord{Kafka: s.bootstrap, Connect: s.connectLn.Addr().String()}
	if err := writeListeners(filepath.Join(s.dir, listenersFile), rec); err != nil {
		return nil, err
	}
	// The credentials first: a reader that finds the new connection file
	// finds the bootstrap servers it names in the credentials file too.
	if err := writeCredentials(s.credsPath, s.creds, s.bootstrap); err != nil {
		return nil, err
	}
	if err := writeConnection(filepath.Join(s.dir, connectionFile), s.connection()); err != nil {
		return nil, err
	}
	c.Logger.Info("sandbox data plane started",
		"bootstrap_servers", s.bootstrap,
		"connect_url", s.connectURL(),
		"credentials_file", s.credsPath,
		"connection_file", filepath.Join(s.dir, connectionFile),
		"state_dir", s.dir)
	return s, nil
}

// onTeardown registers fn to run, in reverse order of registration, on Close
// or when Start fails part way.
func (s *Sandbox) onTeardown(fn func() error) { s.teardown = append(s.teardown, fn) }

func (s *Sandbox) runTeardown() error {
	var errs []error
	for _, fn := range slices.Backward(s.teardown) {
		errs = append(errs, fn())
	}
	s.teardown = nil
	return errors.Join(errs...)
}

// startBroker starts kfake on the configured addresses with SASL and ACLs
// enabled and its state persisted under s.kafkaDir.
func (s *Sandbox) startBroker(ctx context.Context) error {
	n := s.cfg.brokers()
	listeners := make([]net.Listener, 0, n)
	closeListeners := func() {
		for _, ln := range listeners {
			ln.Close()
		}
	}
	for i := range n {
		var previous string
		if i < len(s.previous.Kafka) {
			previous = s.previous.Kafka[i]
		}
		ln, err := listen(s.cfg.KafkaAddr, i, previous)
		if err != nil {
			closeListeners()
			return fmt.Errorf("listening for kafka broker %d: %w", i, err)
		}
		listeners = append(listeners, ln)
	}
	var next int
	var mu sync.Mutex
	// kfake asks for one listener per broker, in order; hand it ours so the
	// configured host (not only 127.0.0.1) and ports are honoured.
	listen := func(string, string) (net.Listener, error) {
		mu.Lock()
		defer mu.Unlock()
		if next >= len(listeners) {
			return nil, errors.New("no listener left for an extra broker")
		}
		ln := listeners[next]
		next++
		return ln, nil
	}
	pw := s.creds.Password
	// The admin is a SCRAM user only: kfake persists SCRAM users as salted
	// keys, but would persist a PLAIN user's password in clear text. On a
	// restart the persisted users replace these seeds, salts included.
	cluster, err := kfake.NewCluster(
		kfake.NumBrokers(n),
		kfake.ListenFn(listen),
		kfake.DataDir(s.kafkaDir),
		kfake.ClusterID(newClusterID()), // first start only; a restart keeps the persisted ID
		kfake.EnableSASL(),
		kfake.Superuser("SCRAM-SHA-512", AdminUsername, pw),
		kfake.Superuser("SCRAM-SHA-256", AdminUsername, pw),
		kfake.EnableACLs(),
		kfake.WithLogger(kfakeLogger{s.cfg.Logger}),
	)
	if err != nil {
		closeListeners()
		return fmt.Errorf("starting the sandbox kafka broker: %w", err)
	}
	s.cluster = cluster
	// kfake saves its whole state on Close, as 0644 files.
	s.onTeardown(func() error {
		cluster.Close()
		_, err := restrictTree(s.kafkaDir)
		return err
	})
	if _, err := restrictTree(s.kafkaDir); err != nil {
		return err
	}
	s.bootstrap = cluster.ListenAddrs()

	cl, err := kgo.NewClient(s.ClientOptions()...)
	if err != nil {
		return fmt.Errorf("creating the sandbox admin client: %w", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if s.clusterID, err = s.checkAdmin(ctx, cl); err != nil {
		return err
	}
	return advertiseSASLHandshakeV0(ctx, cluster, cl)
}

// checkAdmin signs in as the admin, proving the credentials file matches the
// broker's persisted users, and returns the cluster ID.
func (s *Sandbox) checkAdmin(ctx context.Context, cl *kgo.Client) (string, error) {
	resp, err := kmsgMetadata().RequestWith(ctx, cl)
	if err != nil {
		return "", fmt.Errorf("signing in to the sandbox broker as %s (if %s was replaced, its password no longer matches the users persisted in %s): %w",
			AdminUsername, s.credsPath, s.kafkaDir, err)
	}
	if resp.ClusterID == nil {
		return "", errors.New("signing in to the sandbox broker: no cluster ID in metadata")
	}
	return *resp.ClusterID, nil
}

// startConnect starts the Kafka Connect emulator.
func (s *Sandbox) startConnect() error {
	ln, err := listen(s.cfg.ConnectAddr, 0, s.previous.Connect)
	if err != nil {
		return fmt.Errorf("listening for the connect emulator: %w", err)
	}
	s.connectLn = ln
	runner, err := connectrun.New(connectrun.Config{
		Logger:   s.cfg.Logger.With("component", "connect-runner"),
		StateDir: filepath.Join(s.dir, "connect-offsets"),
		Kafka:    s.connectorClient,
		// The data dir holds the admin token, the masking key and the
		// sandbox's credentials.
		DeniedDirs: append([]string{s.cfg.DataDir}, s.cfg.DeniedDirs...),
	})
	if err != nil {
		ln.Close()
		return err
	}
	// Registered first, so it runs after the REST API stopped taking
	// requests and before the broker closes.
	s.onTeardown(func() error { runner.Close(); return nil })
	ec := connectemu.Config{
		Runner:         runner,
		StatePath:      filepath.Join(s.dir, "connectors.json"),
		Logger:         s.cfg.Logger.With("component", "connect-emulator"),
		WorkerID:       ln.Addr().String(),
		KafkaClusterID: s.clusterID,
	}
	if s.cfg.ConnectBasicAuth {
		ec.Username, ec.Password = AdminUsername, s.creds.Password
	}
	emu, err := connectemu.New(ec)
	if err != nil {
		ln.Close()
		return fmt.Errorf("starting the connect emulator: %w", err)
	}
	if n := len(emu.Names()); n > 0 {
		s.cfg.Logger.Info("restored sandbox connectors", "count", n)
	}
	emu.StartRunners()
	srv := &http.Server{
		Handler:           emu.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelWarn),
	}
	s.connect = srv
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.cfg.Logger.Error("connect emulator stopped", "err", err)
		}
	}()
	s.onTeardown(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := srv.Shutdown(ctx)
		<-done
		if err != nil {
			return fmt.Errorf("stopping the connect emulator: %w", err)
		}
		return nil
	})
	return nil
}

// connectorClient signs a connector in as its own principal,
// User:<connector name>: it gives the principal a fresh SCRAM-SHA-512
// password, held in memory only, and returns options that use it. The ACLs
// a plan created for the connector are then what lets it read and write.
//
// A connector never takes over another principal's credentials: the admin's
// name is refused, and so is any SCRAM user the sandbox did not make for a
// connector itself (a service account's, say), which it records in
// connectorPrincipalsFile.
func (s *Sandbox) connectorClient(ctx context.Context, connector string) ([]kgo.Opt, error) {
	if connector == AdminUsername {
		return nil, fmt.Errorf("a connector cannot be named %s, the broker's superuser", AdminUsername)
	}
	cl, err := kgo.NewClient(s.ClientOptions()...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	s.principalsMu.Lock()
	defer s.principalsMu.Unlock()
	ours, err := readPrincipals(filepath.Join(s.dir, connectorPrincipalsFile))
	if err != nil {
		return nil, err
	}
	if !slices.Contains(ours, connector) {
		described, err := adm.DescribeUserSCRAMs(ctx, connector)
		if err != nil {
			return nil, fmt.Errorf("looking up User:%s: %w", connector, err)
		}
		if d, ok := described[connector]; ok && d.Err == nil && len(d.CredInfos) > 0 {
			return nil, fmt.Errorf("User:%s already has credentials that are not a connector's; a connector signs in as its own principal, so rename the connector", connector)
		}
		if err := writePrincipals(filepath.Join(s.dir, connectorPrincipalsFile), append(ours, connector)); err != nil {
			return nil, err
		}
	}
	password := rand.Text()
	res, err := adm.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{{
		User: connector, Mechanism: kadm.ScramSha512, Iterations: 4096, Password: password,
	}})
	if err == nil {
		err = res.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("creating the SCRAM credential of User:%s: %w", connector, err)
	}
	return []kgo.Opt{
		kgo.SeedBrokers(s.bootstrap...),
		kgo.SASL(scram.Auth{User: connector, Pass: password}.AsSha512Mechanism()),
	}, nil
}

// connectorPrincipalsFile lists the SCRAM users the sandbox made for
// connectors.
const connectorPrincipalsFile = "connector-principals.json"

func readPrincipals(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	var names []string
	if err := json.Unmarshal(data, &names); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return names, nil
}

func writePrincipals(path string, names []string) error {
	slices.Sort(names)
	data, err := json.Marshal(slices.Compact(names))
	if err != nil {
		return err
	}
	if err := atomicfile.Write(path, data, 0o600); err != nil {
		return fmt.Errorf("saving connector principals: %w", err)
	}
	return nil
}

func (s *Sandbox) connectURL() string { return "http://" + s.connectLn.Addr().String() }

// Settings returns how to reach the sandbox; it never includes the password.
func (s *Sandbox) Settings() Settings {
	st := Settings{
		BootstrapServers: slices.Clone(s.bootstrap),
		SecurityProtocol: "SASL_PLAINTEXT",
		SASLMechanism:    "SCRAM-SHA-512",
		SASLMechanisms:   []string{"SCRAM-SHA-512", "SCRAM-SHA-256"},
		AdminUsername:    AdminUsername,
		CredentialsFile:  s.credsPath,
		ClusterID:        s.clusterID,
		Brokers:          len(s.bootstrap),
		ConnectURL:       s.connectURL(),
		ConnectVersion:   connectemu.WorkerVersion,
		ConnectorClasses: connectemu.Plugins(),
		Notes: []string{
			"The Kafka broker is franz-go's kfake: it speaks the Kafka protocol, requires SASL and enforces ACLs; only " + AdminUsername + " is a superuser.",
			"The Kafka Connect REST API is emulated: each connector configuration is validated against its connector class's rules and stored.",
			"Debezium's PostgreSQL source (" + connectrun.PostgresSource + ") and JDBC sink into PostgreSQL (" + connectrun.JDBCSink + ") run in the sandbox and move data, as the connector's own principal (User:<connector name>), so the plan's ACLs apply; their statuses are real (RUNNING or FAILED with the error, and lag).",
			"Every other connector class is validate-only: it reports RUNNING while no connector or task runs, so it moves no data, and its status says so.",
			"The admin password is in the credentials file (mode 0600), never in this response; the file is a librdkafka properties file (kcat -F <file> -L).",
			"SASL/PLAIN is not offered: the broker would have to store PLAIN passwords in clear text, while SCRAM users are stored as salted keys.",
			"Topics, ACLs, SCRAM users and connectors persist in " + s.dir + ", readable only by its owner.",
		},
	}
	if s.cfg.ConnectBasicAuth {
		st.ConnectUsername = AdminUsername
	}
	if _, port, _ := net.SplitHostPort(s.cfg.KafkaAddr); port == "0" {
		st.Notes = append(st.Notes, "Ports were picked on first start and are reused across restarts while they stay free.")
	}
	return st
}

// AdminPassword returns the admin's password, for meshplane's own clients
// and the Terraform environment. Never log it or return it to API callers.
func (s *Sandbox) AdminPassword() string { return s.creds.Password }

// ClientOptions returns franz-go options that reach the sandbox as the admin
// over SCRAM-SHA-512. Clients built with them keep the broker's SASL state
// private after the SCRAM changes they make (see saslStateGuard).
func (s *Sandbox) ClientOptions() []kgo.Opt {
	return []kgo.Opt{
		kgo.SeedBrokers(s.bootstrap...),
		kgo.SASL(scram.Auth{User: AdminUsername, Pass: s.creds.Password}.AsSha512Mechanism()),
		kgo.WithHooks(saslStateGuard{path: filepath.Join(s.kafkaDir, saslStateFile), log: s.cfg.Logger}),
	}
}

// Handler serves GET /api/sandbox: the Settings as JSON.
func (s *Sandbox) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/sandbox", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(s.Settings())
	})
	return mux
}

// Close stops the Connect emulator, then the broker, persisting their state.
func (s *Sandbox) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = s.runTeardown()
		s.cfg.Logger.Info("sandbox data plane stopped")
	})
	return s.closeErr
}
