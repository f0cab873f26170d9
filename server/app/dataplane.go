package app

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/provision"
	"github.com/meshplane/meshplane/server/store"
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
func loadMaskingKey(c Config) ([]byte, error) {
	path := c.MaskingKeyFile
	if path == "" {
		path = filepath.Join(c.DataDir, "masking.key")
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			key := make([]byte, 32)
			if _, err := rand.Read(key); err != nil {
				return nil, err
			}
			if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
				return nil, err
			}
			if err := os.WriteFile(path, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
				return nil, fmt.Errorf("writing masking key: %w", err)
			}
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading masking key: %w", err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("masking key %s must be hex: %w", path, err)
	}
	return key, nil
}

// maskingKeySetting is where the catalog keeps the masking key's fingerprint.
const maskingKeySetting = "masking_key_fingerprint"

// checkMaskingKey records the masking key's fingerprint in the catalog on
// first start and refuses a replica whose key differs: replicas sharing a
// catalog must mask and pseudonymize alike.
func checkMaskingKey(ctx context.Context, st *store.Store, key []byte, keyFile string) error {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("meshplane masking key fingerprint"))
	fp := "hmac-sha256:" + hex.EncodeToString(mac.Sum(nil)[:16])
	// The first replica to start records its key's; the others compare.
	err := st.Client.Setting.Create().SetID(maskingKeySetting).SetValue(fp).Exec(ctx)
	if err != nil && !ent.IsConstraintError(err) {
		return fmt.Errorf("recording the masking key's fingerprint: %w", err)
	}
	have, err := st.Client.Setting.Get(ctx, maskingKeySetting)
	if err != nil {
		return fmt.Errorf("reading the masking key's fingerprint: %w", err)
	}
	if have.Value != fp {
		return fmt.Errorf("the masking key in %s is not the one the catalog's other replicas use (fingerprint %s, the catalog expects %s): "+
			"give this replica the masking key file of the others (--masking-key-file)", keyFile, fp, have.Value)
	}
	return nil
}

// dataPlane looks up topics with the Kafka admin API and connectors with
// the Kafka Connect REST API, so a decommission can tell what a destroy
// left behind whatever Terraform's state recorded. It works the same on the
// sandbox and on a real data plane.
type dataPlane struct {
	// kafka connects as a principal that may describe every topic.
	kafka []kgo.Opt
	// connectURL is the Connect REST API; connectUser and connectPassword
	// its basic auth, when it has one.
	connectURL, connectUser, connectPassword string
}

var (
	_ provision.DataPlane  = (*dataPlane)(nil)
	_ provision.ConnectAPI = (*dataPlane)(nil)
)

// dataPlaneTimeout bounds one look at the data plane.
const dataPlaneTimeout = 30 * time.Second

// Existing returns which of the named topics and connectors exist.
func (d *dataPlane) Existing(ctx context.Context, names provision.Resources) (provision.Resources, error) {
	ctx, cancel := context.WithTimeout(ctx, dataPlaneTimeout)
	defer cancel()
	var out provision.Resources
	var err error
	if len(names.Topics) > 0 {
		if out.Topics, err = d.topics(ctx, names.Topics); err != nil {
			return provision.Resources{}, fmt.Errorf("looking for topics: %w", err)
		}
	}
	if len(names.Connectors) > 0 {
		if out.Connectors, err = d.connectors(ctx, names.Connectors); err != nil {
			return provision.Resources{}, fmt.Errorf("looking for connectors: %w", err)
		}
	}
	return out, nil
}

func (d *dataPlane) topics(ctx context.Context, names []string) ([]string, error) {
	// A client of its own each time: a shared one answers from cached
	// metadata, which may still list a topic just deleted.
	cl, err := kgo.NewClient(d.kafka...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	details, err := kadm.NewClient(cl).ListTopics(ctx, names...)
	if err != nil {
		return nil, err
	}
	var found []string
	for _, name := range names {
		td, ok := details[name]
		switch {
		case !ok || errors.Is(td.Err, kerr.UnknownTopicOrPartition):
		case td.Err != nil:
			return nil, fmt.Errorf("topic %s: %w", name, td.Err)
		default:
			found = append(found, name)
		}
	}
	slices.Sort(found)
	return found, nil
}

func (d *dataPlane) connectors(ctx context.Context, names []string) ([]string, error) {
	body, err := d.connect(ctx, http.MethodGet, "/connectors", http.StatusOK)
	if err != nil {
		return nil, err
	}
	var existing []string
	if err := json.Unmarshal(body, &existing); err != nil {
		return nil, fmt.Errorf("GET /connectors: %w", err)
	}
	var found []string
	for _, name := range names {
		if slices.Contains(existing, name) {
			found = append(found, name)
		}
	}
	slices.Sort(found)
	return found, nil
}

// connectAPI is d as the provisioning's Connect API, or nil when the data
// plane names no Connect REST API.
func connectAPI(d *dataPlane) provision.ConnectAPI {
	if d.connectURL == "" {
		return nil
	}
	return d
}

// connect calls the Connect REST API at path and returns the response body
// when the status is one of ok; a 404 is provision.ErrConnectorNotFound.
func (d *dataPlane) connect(ctx context.Context, method, path string, ok ...int) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, dataPlaneTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(d.connectURL, "/")+path, nil)
	if err != nil {
		return nil, err
	}
	if d.connectUser != "" {
		req.SetBasicAuth(d.connectUser, d.connectPassword)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if slices.Contains(ok, resp.StatusCode) {
		return body, nil
	}
	var e struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body, &e)
	// Only Connect's own answer for a connector it lacks means that: a 404
	// from a wrong base URL or a proxy is a refusal to look into.
	if resp.StatusCode == http.StatusNotFound && strings.HasPrefix(e.Message, "Connector ") && strings.HasSuffix(e.Message, " not found") {
		return nil, provision.ErrConnectorNotFound
	}
	if e.Message == "" {
		e.Message = method + " " + path + " answered " + resp.Status
	}
	return nil, &provision.ConnectRefusal{Status: resp.StatusCode, Message: e.Message}
}

// connectorPath is the REST path of a connector's resource; names are
// escaped, so one holding '/' or '?' stays one path segment.
func connectorPath(name, rest string) string {
	return "/connectors/" + url.PathEscape(name) + rest
}

// Status reads a connector's status from the Connect REST API.
func (d *dataPlane) Status(ctx context.Context, name string) (provision.ConnectorStatus, error) {
	body, err := d.connect(ctx, http.MethodGet, connectorPath(name, "/status"), http.StatusOK)
	if err != nil {
		return provision.ConnectorStatus{}, err
	}
	type state struct {
		ID       int    `json:"id"`
		State    string `json:"state"`
		WorkerID string `json:"worker_id"`
		Trace    string `json:"trace"`
	}
	var st struct {
		Connector state   `json:"connector"`
		Tasks     []state `json:"tasks"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return provision.ConnectorStatus{}, fmt.Errorf("reading connector %s's status: %w", name, err)
	}
	out := provision.ConnectorStatus{State: st.Connector.State, WorkerID: st.Connector.WorkerID, Trace: st.Connector.Trace}
	for _, t := range st.Tasks {
		out.Tasks = append(out.Tasks, provision.TaskStatus{ID: t.ID, State: t.State, WorkerID: t.WorkerID, Trace: t.Trace})
	}
	slices.SortFunc(out.Tasks, func(a, b provision.TaskStatus) int { return a.ID - b.ID })
	return out, nil
}

// Restart restarts a connector with all its tasks, or one task.
func (d *dataPlane) Restart(ctx context.Context, name string, task *int) error {
	path := connectorPath(name, "/restart?includeTasks=true&onlyFailed=false")
	if task != nil {
		path = connectorPath(name, "/tasks/"+strconv.Itoa(*task)+"/restart")
	}
	_, err := d.connect(ctx, http.MethodPost, path, http.StatusOK, http.StatusAccepted, http.StatusNoContent)
	return err
}

// Pause pauses a connector.
func (d *dataPlane) Pause(ctx context.Context, name string) error {
	_, err := d.connect(ctx, http.MethodPut, connectorPath(name, "/pause"), http.StatusAccepted, http.StatusNoContent, http.StatusOK)
	return err
}

// Resume resumes a paused connector.
func (d *dataPlane) Resume(ctx context.Context, name string) error {
	_, err := d.connect(ctx, http.MethodPut, connectorPath(name, "/resume"), http.StatusAccepted, http.StatusNoContent, http.StatusOK)
	return err
}
