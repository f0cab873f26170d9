package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/meshplane/meshplane/server/sandbox/internal/atomicfile"
)

// connectionFile records, under DataDir/sandbox, how the last sandbox started
// there is reached, so other processes (meshplane serve --sandbox) can share
// it. It holds no password: that stays in the credentials file beside it.
const connectionFile = "connection.json"

// Connection is everything a client needs to reach a sandbox data plane as
// its admin. The passwords are never written to the connection file.
type Connection struct {
	BootstrapServers []string `json:"bootstrap_servers"`
	// SASLMechanism is spelled as meshplane's data plane settings spell it.
	SASLMechanism string `json:"sasl_mechanism"`
	Username      string `json:"username"`
	Password      string `json:"-"`
	ConnectURL    string `json:"connect_url"`
	// ConnectUsername is empty when the Connect emulator requires no basic
	// auth; otherwise the admin signs in with the admin password.
	ConnectUsername string `json:"connect_username,omitempty"`
	ConnectPassword string `json:"-"`
	// CredentialsFile is the 0600 librdkafka properties file holding the
	// password.
	CredentialsFile string `json:"credentials_file"`
}

// ConnectionPath is where a sandbox started with dataDir records its
// Connection.
func ConnectionPath(dataDir string) string {
	return filepath.Join(dataDir, "sandbox", connectionFile)
}

// connection is how clients reach s; the passwords are left out.
func (s *Sandbox) connection() Connection {
	c := Connection{
		BootstrapServers: slices.Clone(s.bootstrap),
		SASLMechanism:    "scram-sha512",
		Username:         AdminUsername,
		ConnectURL:       s.connectURL(),
		CredentialsFile:  s.credsPath,
	}
	if s.cfg.ConnectBasicAuth {
		c.ConnectUsername = AdminUsername
	}
	return c
}

func writeConnection(path string, c Connection) error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the sandbox connection: %w", err)
	}
	if err := atomicfile.Write(path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("writing the sandbox connection: %w", err)
	}
	return nil
}

// ReadConnection reads how to reach the sandbox last started with dataDir,
// with the admin password from its credentials file. It does not check that
// the sandbox is still running.
func ReadConnection(dataDir string) (Connection, error) {
	dir := filepath.Join(dataDir, "sandbox")
	path := filepath.Join(dir, connectionFile)
	restart := fmt.Sprintf("restart `meshplane sandbox --data-dir %s` to rewrite it", dataDir)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Connection{}, fmt.Errorf("no sandbox has run in %s: start one with `meshplane sandbox --data-dir %s`", dataDir, dataDir)
	}
	if err != nil {
		return Connection{}, fmt.Errorf("reading the sandbox connection: %w", err)
	}
	var c Connection
	if err := json.Unmarshal(data, &c); err != nil {
		return Connection{}, fmt.Errorf("reading %s: %w; %s", path, err, restart)
	}
	if err := c.validate(); err != nil {
		return Connection{}, fmt.Errorf("reading %s: %w; %s", path, err, restart)
	}
	// The file beside it, wherever the data dir has moved since.
	c.CredentialsFile = filepath.Join(dir, credentialsFile)
	creds, err := os.ReadFile(c.CredentialsFile)
	if errors.Is(err, fs.ErrNotExist) {
		return Connection{}, fmt.Errorf("sandbox credentials file %s is missing: without it the admin cannot sign in; restore it, or remove %s to reset the sandbox", c.CredentialsFile, dir)
	}
	if err != nil {
		return Connection{}, fmt.Errorf("reading the sandbox credentials: %w", err)
	}
	cr, err := parseCredentials(creds)
	if err != nil {
		return Connection{}, fmt.Errorf("reading %s: %w", c.CredentialsFile, err)
	}
	c.Password = cr.Password
	if c.ConnectUsername != "" {
		c.ConnectPassword = cr.Password
	}
	return c, nil
}

// validate reports the first thing in c a client could not work with.
func (c Connection) validate() error {
	switch {
	case len(c.BootstrapServers) == 0 || slices.Contains(c.BootstrapServers, ""):
		return errors.New("no bootstrap servers")
	case c.SASLMechanism != "scram-sha512":
		return fmt.Errorf("sasl_mechanism is %q, want scram-sha512", c.SASLMechanism)
	case c.Username != AdminUsername:
		return fmt.Errorf("username is %q, want %q", c.Username, AdminUsername)
	case c.ConnectURL == "":
		return errors.New("no connect_url")
	case c.ConnectUsername != "" && c.ConnectUsername != AdminUsername:
		return fmt.Errorf("connect_username is %q, want %q or none", c.ConnectUsername, AdminUsername)
	}
	return nil
}
