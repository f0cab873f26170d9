package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/meshplane/meshplane/server/errs"
	"github.com/meshplane/meshplane/server/provision"
	"github.com/meshplane/meshplane/server/provision/render"
	"github.com/meshplane/meshplane/server/sandbox"
	"github.com/meshplane/meshplane/server/spec"
)

// EnvironmentConfig is one environment products are provisioned into.
type EnvironmentConfig struct {
	Name string
	// DataPlane is the environment's Kafka and Kafka Connect; with no
	// bootstrap servers the environment gets an in-process sandbox of its own.
	DataPlane DataPlane
	// SandboxBrokers is the broker count of its sandbox (default 1).
	SandboxBrokers int
	// Parameters are what its policies read as input.environment.parameters;
	// replicationFactor there also sets the replication factor of its topics.
	Parameters map[string]any
	// PromoteFrom, when set, are the environments whose applied versions
	// alone may be planned in this one.
	PromoteFrom []string
	// Access marks the environment access requests and Kafka credentials
	// naming none go to, and previews read; the first by default.
	// Consumers may be granted access in every environment.
	Access bool
}

// environmentsFile is the file --environments reads.
type environmentsFile struct {
	Environments []struct {
		Name    string `yaml:"name"`
		Sandbox *struct {
			Brokers int `yaml:"brokers"`
		} `yaml:"sandbox"`
		Kafka *struct {
			Bootstrap     []string `yaml:"bootstrap"`
			SASLMechanism string   `yaml:"saslMechanism"`
			Username      string   `yaml:"username"`
			PasswordEnv   string   `yaml:"passwordEnv"`
			PasswordFile  string   `yaml:"passwordFile"`
			TLS           bool     `yaml:"tls"`
		} `yaml:"kafka"`
		Connect *struct {
			URL          string `yaml:"url"`
			Username     string `yaml:"username"`
			PasswordEnv  string `yaml:"passwordEnv"`
			PasswordFile string `yaml:"passwordFile"`
		} `yaml:"connect"`
		PromoteFrom []string       `yaml:"promoteFrom"`
		Access      bool           `yaml:"access"`
		Parameters  map[string]any `yaml:"parameters"`
	} `yaml:"environments"`
}

// LoadEnvironments reads an environments file (YAML or JSON). Passwords
// are read from the variables and files it names, never from the file
// itself, so it holds no secret.
func LoadEnvironments(path string) ([]EnvironmentConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f environmentsFile
	if err := yaml.UnmarshalWithOptions(b, &f, yaml.Strict(), yaml.DisallowUnknownField()); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(f.Environments) == 0 {
		return nil, fmt.Errorf("%s: names no environments", path)
	}
	secret := func(env, what, variable, file string) (string, error) {
		switch {
		case variable != "" && file != "":
			return "", fmt.Errorf("environment %s: %s names both passwordEnv and passwordFile", env, what)
		case variable != "":
			v, ok := os.LookupEnv(variable)
			if !ok {
				return "", fmt.Errorf("environment %s: %s password variable %s is not set", env, what, variable)
			}
			return v, nil
		case file != "":
			v, err := os.ReadFile(filepath.Clean(file))
			if err != nil {
				return "", fmt.Errorf("environment %s: %s password: %w", env, what, err)
			}
			return strings.TrimRight(string(v), "\r\n"), nil
		}
		return "", nil
	}
	out := make([]EnvironmentConfig, 0, len(f.Environments))
	for _, e := range f.Environments {
		c := EnvironmentConfig{Name: e.Name, PromoteFrom: e.PromoteFrom, Access: e.Access}
		// Parameters are read as JSON would have them, which is what
		// policies and the APIs see.
		if e.Parameters != nil {
			j, err := json.Marshal(e.Parameters)
			if err != nil {
				return nil, fmt.Errorf("environment %s: parameters: %w", e.Name, err)
			}
			dec := json.NewDecoder(bytes.NewReader(j))
			if err := dec.Decode(&c.Parameters); err != nil {
				return nil, fmt.Errorf("environment %s: parameters: %w", e.Name, err)
			}
		}
		switch {
		case e.Kafka != nil && e.Sandbox != nil:
			return nil, fmt.Errorf("environment %s: give either kafka (with connect) or sandbox, not both", e.Name)
		case e.Kafka != nil:
			if len(e.Kafka.Bootstrap) == 0 || e.Connect == nil || e.Connect.URL == "" {
				return nil, fmt.Errorf("environment %s: kafka.bootstrap and connect.url are required for a real data plane", e.Name)
			}
			dp := DataPlane{KafkaBootstrap: e.Kafka.Bootstrap, SASLMechanism: e.Kafka.SASLMechanism, KafkaUsername: e.Kafka.Username,
				KafkaTLS: e.Kafka.TLS, ConnectURL: e.Connect.URL, ConnectUsername: e.Connect.Username}
			if dp.KafkaPassword, err = secret(e.Name, "kafka", e.Kafka.PasswordEnv, e.Kafka.PasswordFile); err != nil {
				return nil, err
			}
			if dp.ConnectPassword, err = secret(e.Name, "connect", e.Connect.PasswordEnv, e.Connect.PasswordFile); err != nil {
				return nil, err
			}
			c.DataPlane = dp
		case e.Connect != nil:
			return nil, fmt.Errorf("environment %s: connect needs kafka too", e.Name)
		case e.Sandbox != nil:
			c.SandboxBrokers = e.Sandbox.Brokers
		}
		out = append(out, c)
	}
	if err := validateEnvironments(out); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// replicationFactor is the environment's topics' replication factor:
// parameters.replicationFactor, else the data plane's setting, else 3 (the
// sandbox's broker count at most).
func (e EnvironmentConfig) replicationFactor(brokers int) (int, error) {
	rf := e.DataPlane.ReplicationFactor
	if brokers > 0 {
		// A sandbox has its own broker count: the data plane's setting is
		// for a real cluster.
		rf = 0
	}
	if v, ok := e.Parameters["replicationFactor"]; ok {
		f, isNum := v.(float64)
		if !isNum || f < 1 || f != float64(int(f)) {
			return 0, fmt.Errorf("environment %s: parameters.replicationFactor must be a whole number of at least 1, not %v", e.Name, v)
		}
		rf = int(f)
	}
	switch {
	case brokers > 0 && rf > brokers:
		return 0, fmt.Errorf("environment %s: replication factor %d needs %d brokers, and its sandbox has %d (set sandbox.brokers)", e.Name, rf, rf, brokers)
	case rf == 0 && brokers > 0:
		rf = min(3, brokers)
	case rf == 0:
		rf = 3
	}
	return rf, nil
}

// plane is one environment's data plane, connected.
type plane struct {
	env     provision.Environment
	kafka   []kgo.Opt
	servers []string
	tls     bool
	sandbox *sandbox.Sandbox
}

// connectEnvironment connects an environment's data plane, starting its
// sandbox when it names none. The default environment's sandbox keeps its
// state in DATA_DIR/sandbox, every other one's in
// DATA_DIR/environments/<name>/sandbox.
func (s *Server) connectEnvironment(ctx context.Context, e EnvironmentConfig, first bool, databaseURL, pgDialect string) (*plane, error) {
	dp := e.DataPlane
	out := &plane{env: provision.Environment{Name: e.Name, Parameters: e.Parameters, PromoteFrom: e.PromoteFrom, Access: e.Access}}
	out.env.Render = render.Environment{Name: e.Name, KafkaBootstrap: dp.KafkaBootstrap, KafkaSASLMechanism: dp.SASLMechanism,
		KafkaUsername: dp.KafkaUsername, KafkaTLS: dp.KafkaTLS, ConnectURL: dp.ConnectURL, ConnectUsername: dp.ConnectUsername}
	out.env.Secrets = provision.Secrets{KafkaPassword: dp.KafkaPassword, ConnectPassword: dp.ConnectPassword}
	out.kafka, out.servers, out.tls = kafkaOptions(dp), dp.KafkaBootstrap, dp.KafkaTLS
	brokers := 0
	if len(dp.KafkaBootstrap) == 0 {
		dir := s.cfg.DataDir
		if !first {
			dir = filepath.Join(s.cfg.DataDir, "environments", e.Name)
		}
		// Connectors of every environment's sandbox are kept out of the
		// whole data dir: the admin token, the masking key, the catalog and
		// every other sandbox's credentials.
		sb, err := sandbox.Start(ctx, sandbox.Config{DataDir: dir, DeniedDirs: []string{s.cfg.DataDir}, Logger: s.cfg.Logger.With("component", "sandbox", "environment", e.Name),
			KafkaAddr: "127.0.0.1:0", ConnectAddr: "127.0.0.1:0", ConnectBasicAuth: true, Brokers: max(1, e.SandboxBrokers)})
		if err != nil {
			return nil, fmt.Errorf("starting the sandbox data plane of environment %s: %w", e.Name, err)
		}
		s.onClose(func() { _ = sb.Close() })
		st := sb.Settings()
		brokers = st.Brokers
		out.sandbox = sb
		out.env.Sandbox = true
		out.env.Render = render.Environment{Name: e.Name, KafkaBootstrap: st.BootstrapServers, KafkaSASLMechanism: "scram-sha512",
			KafkaUsername: st.AdminUsername, ConnectURL: st.ConnectURL, ConnectUsername: st.ConnectUsername}
		out.env.Secrets = provision.Secrets{KafkaPassword: sb.AdminPassword()}
		if st.ConnectUsername != "" {
			out.env.Secrets.ConnectPassword = sb.AdminPassword()
		}
		out.kafka, out.servers, out.tls = sb.ClientOptions(), st.BootstrapServers, false
		s.log.Info("sandbox data plane started", "environment", e.Name, "kafka", st.BootstrapServers, "connect", st.ConnectURL, "credentials", st.CredentialsFile)
	}
	rf, err := e.replicationFactor(brokers)
	if err != nil {
		return nil, err
	}
	out.env.Render.ReplicationFactor = rf
	if s.Store.Dialect == pgDialect {
		out.env.Render.Backend = render.Backend{Kind: render.BackendPostgres}
		out.env.Secrets.PGConnStr = databaseURL
	}
	dpl := &dataPlane{kafka: out.kafka, connectURL: out.env.Render.ConnectURL, connectUser: out.env.Render.ConnectUsername, connectPassword: out.env.Secrets.ConnectPassword}
	out.env.DataPlane = dpl
	out.env.Connect = connectAPI(dpl)
	return out, nil
}

// validateEnvironments checks environments before anything is started for
// them: names, promotion sources, the parameters the default policies read,
// and that no two share a data plane (their topics and connectors have the
// same names, so one would take over the other's).
func validateEnvironments(envs []EnvironmentConfig) error {
	var v errs.Violations
	seen := map[string]bool{}
	planes := map[string]string{}
	access := ""
	for i, e := range envs {
		path := fmt.Sprintf("environments[%d]", i)
		spec.CheckName(&v, path+".name", e.Name)
		if seen[e.Name] {
			v.Add(path+".name", "environment %q is named twice", e.Name)
		}
		seen[e.Name] = true
		if e.Access && access != "" {
			v.Add(path+".access", "environment %s already serves consumer access: at most one may", access)
		} else if e.Access {
			access = e.Name
		}
		for _, addr := range append(slices.Clone(e.DataPlane.KafkaBootstrap), e.DataPlane.ConnectURL) {
			if addr == "" {
				continue
			}
			key := addr
			if u, err := url.Parse(addr); err == nil && u.Host != "" {
				// A URL is its host: credentials or a path make no other plane.
				key = strings.ToLower(u.Host)
			}
			if other, ok := planes[key]; ok && other != e.Name {
				v.Add(path, "shares %s with environment %s: each environment needs a data plane of its own", key, other)
			}
			planes[key] = e.Name
		}
		for k, want := range map[string]string{"protected": "bool", "rawPII": "bool", "maxRetentionMs": "number", "allowedSinkKinds": "kinds"} {
			val, ok := e.Parameters[k]
			if !ok {
				continue
			}
			switch want {
			case "bool":
				if _, isBool := val.(bool); !isBool {
					v.Add(path+".parameters."+k, "must be true or false, not %v", val)
				}
			case "number":
				if f, isNum := val.(float64); !isNum || f < -1 || f != float64(int64(f)) {
					v.Add(path+".parameters."+k, "must be a whole number of milliseconds (-1 for forever), not %v", val)
				}
			case "kinds":
				list, isList := val.([]any)
				if !isList {
					v.Add(path+".parameters."+k, "must be a list of sink kinds, not %v", val)
					break
				}
				for _, kind := range list {
					if str, _ := kind.(string); !slices.Contains([]spec.SinkKind{spec.SinkBigQuery, spec.SinkS3, spec.SinkJDBC, spec.SinkElasticsearch}, spec.SinkKind(str)) {
						v.Add(path+".parameters."+k, "%v is not a sink kind: want bigquery, s3, jdbc or elasticsearch", kind)
					}
				}
			}
		}
	}
	for i, e := range envs {
		for _, from := range e.PromoteFrom {
			if !seen[from] || from == e.Name {
				v.Add(fmt.Sprintf("environments[%d].promoteFrom", i), "%q is not another configured environment", from)
			}
		}
	}
	// Promotion goes one way: an environment reachable from itself could
	// never receive a first version.
	sources := map[string][]string{}
	for _, e := range envs {
		sources[e.Name] = e.PromoteFrom
	}
	for i, e := range envs {
		stack, visited := slices.Clone(e.PromoteFrom), map[string]bool{}
		for len(stack) > 0 {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if n == e.Name {
				v.Add(fmt.Sprintf("environments[%d].promoteFrom", i), "promotions into %s come back to it: promotion must go one way", e.Name)
				break
			}
			if !visited[n] {
				visited[n] = true
				stack = append(stack, sources[n]...)
			}
		}
	}
	return v.Err()
}
