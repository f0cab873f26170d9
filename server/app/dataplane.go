package app

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/meshplane/meshplane/server/policy"
)

// kafkaOptions are the client settings for a configured Kafka cluster.
func kafkaOptions(dp DataPlane) []kgo.Opt {
	if len(dp.KafkaBootstrap) == 0 {
		return nil
	}
	opts := []kgo.Opt{kgo.SeedBrokers(dp.KafkaBootstrap...)}
	switch dp.SASLMechanism {
	case "plain":
		opts = append(opts, kgo.SASL(plain.Auth{User: dp.KafkaUsername, Pass: dp.KafkaPassword}.AsMechanism()))
	case "scram-sha256":
		opts = append(opts, kgo.SASL(scram.Auth{User: dp.KafkaUsername, Pass: dp.KafkaPassword}.AsSha256Mechanism()))
	case "scram-sha512":
		opts = append(opts, kgo.SASL(scram.Auth{User: dp.KafkaUsername, Pass: dp.KafkaPassword}.AsSha512Mechanism()))
	}
	if dp.KafkaTLS {
		opts = append(opts, kgo.DialTLSConfig(&tls.Config{MinVersion: tls.VersionTLS12}))
	}
	return opts
}

// loadSalts reads the masking key, creating DATA_DIR/masking.key (0600) on
// first start when no key file is configured.
func loadSalts(c Config) (policy.Salts, error) {
	path := c.MaskingKeyFile
	if path == "" {
		path = filepath.Join(c.DataDir, "masking.key")
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			key := make([]byte, 32)
			if _, err := rand.Read(key); err != nil {
				return policy.Salts{}, err
			}
			if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
				return policy.Salts{}, err
			}
			if err := os.WriteFile(path, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
				return policy.Salts{}, fmt.Errorf("writing masking key: %w", err)
			}
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return policy.Salts{}, fmt.Errorf("reading masking key: %w", err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		return policy.Salts{}, fmt.Errorf("masking key %s must be hex: %w", path, err)
	}
	return policy.NewSalts(key)
}
