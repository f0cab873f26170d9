package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/meshplane/meshplane/server/sandbox/internal/atomicfile"
)

// credentialsFile is the admin credentials file's name under DataDir/sandbox.
const credentialsFile = "credentials"

type credentials struct {
	Password string
}

// loadOrCreateCredentials reads the admin credentials, or generates them on
// first start. The file is a librdkafka properties file; once the broker
// listens, writeCredentials adds its bootstrap servers, so
// `kcat -F <file> -L` reaches and signs in to it. If the broker already
// has persisted state but the file is gone, the password the broker knows is
// lost with it; that is reported rather than papered over. Start has made
// the file 0600 (restrictTree) before it is read.
func loadOrCreateCredentials(path, kafkaDir string, logger *slog.Logger) (credentials, error) {
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		c, err := parseCredentials(data)
		if err != nil {
			return credentials{}, fmt.Errorf("reading %s: %w", path, err)
		}
		return c, nil
	case !errors.Is(err, os.ErrNotExist):
		return credentials{}, fmt.Errorf("reading %s: %w", path, err)
	}
	if _, err := os.Stat(filepath.Join(kafkaDir, "meta.json")); err == nil {
		return credentials{}, fmt.Errorf("sandbox credentials file %s is missing but broker state exists in %s: restore the file, or remove %s to reset the sandbox (its topics, ACLs and users are lost)",
			path, kafkaDir, filepath.Dir(path))
	}
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return credentials{}, fmt.Errorf("generating the sandbox admin password: %w", err)
	}
	c := credentials{Password: hex.EncodeToString(buf)}
	if err := writeCredentials(path, c, nil); err != nil {
		return credentials{}, err
	}
	logger.Info("generated sandbox admin credentials", "path", path, "username", AdminUsername)
	return c, nil
}

// writeCredentials replaces the credentials file at path, naming bootstrap
// as the brokers to reach when it is not empty. Ports picked at start may
// change between runs, so Start rewrites the file once the broker listens.
func writeCredentials(path string, c credentials, bootstrap []string) error {
	if err := atomicfile.Write(path, formatCredentials(c, bootstrap), 0o600); err != nil {
		return fmt.Errorf("writing the sandbox credentials: %w", err)
	}
	return nil
}

func formatCredentials(c credentials, bootstrap []string) []byte {
	var b bytes.Buffer
	b.WriteString("# meshplane sandbox data plane: Kafka admin credentials, generated on first start.\n")
	b.WriteString("# Keep this file private. Use with: kcat -F <this file> -L\n")
	if len(bootstrap) > 0 {
		b.WriteString("bootstrap.servers=" + strings.Join(bootstrap, ",") + "\n")
	}
	b.WriteString("security.protocol=SASL_PLAINTEXT\n")
	b.WriteString("sasl.mechanisms=SCRAM-SHA-512\n")
	b.WriteString("sasl.username=" + AdminUsername + "\n")
	b.WriteString("sasl.password=" + c.Password + "\n")
	return b.Bytes()
}

func parseCredentials(data []byte) (credentials, error) {
	var c credentials
	var user string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "sasl.username":
			user = strings.TrimSpace(v)
		case "sasl.password":
			c.Password = strings.TrimSpace(v)
		}
	}
	if err := sc.Err(); err != nil {
		return credentials{}, err
	}
	if user != AdminUsername {
		return credentials{}, fmt.Errorf("sasl.username is %q, want %q", user, AdminUsername)
	}
	if c.Password == "" {
		return credentials{}, errors.New("sasl.password is empty")
	}
	return c, nil
}

// newClusterID returns a random cluster ID shaped like Kafka's (a URL-safe
// base64 UUID).
func newClusterID() string {
	buf := make([]byte, 16)
	_, _ = rand.Read(buf)
	return base64.RawURLEncoding.EncodeToString(buf)
}

func kmsgMetadata() *kmsg.MetadataRequest {
	req := kmsg.NewPtrMetadataRequest()
	req.Topics = []kmsg.MetadataRequestTopic{}
	return req
}

// kfakeLogger routes the broker's warnings and errors to slog; its
// per-request info and debug lines stay at debug.
type kfakeLogger struct{ l *slog.Logger }

func (k kfakeLogger) Logf(level kfake.LogLevel, format string, args ...any) {
	var lv slog.Level
	switch level {
	case kfake.LogLevelError:
		lv = slog.LevelError
	case kfake.LogLevelWarn:
		lv = slog.LevelWarn
	case kfake.LogLevelNone:
		return
	default:
		lv = slog.LevelDebug
	}
	if !k.l.Enabled(context.Background(), lv) {
		return
	}
	k.l.Log(context.Background(), lv, fmt.Sprintf(format, args...), "component", "sandbox-kafka")
}
