package grant

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"

	"entgo.io/ent/dialect"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/meshplane/meshplane/server/access"
	"github.com/meshplane/meshplane/server/audit"
	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/ent/kafkacredential"
	"github.com/meshplane/meshplane/server/ent/principal"
	"github.com/meshplane/meshplane/server/errs"
	"github.com/meshplane/meshplane/server/provision"
	"github.com/meshplane/meshplane/server/spec"
)

// Mechanism is the SASL mechanism consumer credentials use.
const Mechanism = "SCRAM-SHA-512"

// scramIterations is the PBKDF2 cost of stored SCRAM keys: 4096, Kafka's
// default and minimum. The sandbox broker announces 4096 to every client
// whatever a user was stored with, so a higher cost would lock users out there.
const scramIterations = 4096

// Credential is a service account's SCRAM user in one environment and,
// when just issued or rotated, its password: the only time meshplane ever
// holds it.
type Credential struct {
	*ent.KafkaCredential
	KafkaPrincipal   string
	Password         string
	Bootstrap        []string
	SecurityProtocol string
}

// IssueKafkaCredential creates the service account's SCRAM user on the data
// plane of env ("" for the environment consumer access goes to by default)
// and returns its password once. Each environment's cluster has a password
// of its own. Nothing meshplane stores could recreate it; a lost password is
// replaced with RotateKafkaCredential.
func (s *Service) IssueKafkaCredential(ctx context.Context, name, env string) (*Credential, error) {
	return s.credential(ctx, name, env, false)
}

// RotateKafkaCredential replaces the service account's SCRAM password in
// env; the old one stops working there at once.
func (s *Service) RotateKafkaCredential(ctx context.Context, name, env string) (*Credential, error) {
	return s.credential(ctx, name, env, true)
}

func (s *Service) credential(ctx context.Context, name, envName string, rotate bool) (*Credential, error) {
	who, err := requireCaller(ctx)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	spec.CheckName(&v, "principal", name)
	env, _ := s.environment(&v, "environment", envName)
	if err := v.Err(); err != nil {
		return nil, err
	}
	sa, err := s.store.Client.Principal.Query().Where(principal.Name(name)).Only(ctx)
	if err != nil && !ent.IsNotFound(err) {
		return nil, fmt.Errorf("reading principal: %w", err)
	}
	if sa == nil || (sa.Name != who.Name && !s.authz.Can(ctx, sa.Domain, access.ObjPrincipal, access.ActRead)) {
		return nil, errs.NotFound("principal", name)
	}
	if sa.Kind != principal.KindServiceAccount || sa.Domain == "" {
		v.Add("principal", "%q is not a domain's service account: only those get Kafka credentials", name)
		return nil, v.Err()
	}
	if sa.Disabled {
		return nil, errs.New(errs.KindFailedPrecondition, "service account %s is disabled", name).WithReason(ReasonPrincipalDisabled)
	}
	if sa.Name != who.Name {
		if err := s.authz.Require(ctx, sa.Domain, access.Scoped(access.ObjCredential, env.Name), access.ActIssue); err != nil {
			return nil, err
		}
	}
	if env.Kafka == nil {
		return nil, errs.New(errs.KindUnavailable, "environment %s has no Kafka data plane configured", env.Name).WithReason(ReasonNoDataPlane)
	}
	user := provision.KafkaUsername(sa.Domain, sa.Name)
	password, err := newPassword()
	if err != nil {
		return nil, err
	}
	// One transaction around the broker call, with the principal's row
	// locked on PostgreSQL (SQLite serializes write transactions): two calls
	// for one account take turns, so no caller is handed a password the
	// other has already replaced.
	var out *ent.KafkaCredential
	err = s.store.Tx(ctx, func(tx *ent.Tx) error {
		if s.store.Dialect == dialect.Postgres {
			if _, err := tx.Principal.Query().Where(principal.ID(sa.ID)).ForUpdate().Only(ctx); err != nil {
				return err
			}
		}
		cur, err := tx.KafkaCredential.Query().Where(kafkacredential.Principal(name), kafkacredential.Environment(env.Name)).Only(ctx)
		if err != nil && !ent.IsNotFound(err) {
			return fmt.Errorf("reading credential: %w", err)
		}
		exists := cur != nil && cur.DeleteTime == nil
		switch {
		case rotate && !exists:
			return errs.New(errs.KindFailedPrecondition, "%s has no Kafka credential in %s: issue one first", name, env.Name).WithReason(ReasonNoCredential)
		case !rotate && exists:
			return errs.New(errs.KindFailedPrecondition, "%s already has a Kafka credential in %s (issued %s): rotate it to get a new password", name, env.Name, cur.CreateTime.Format("2006-01-02 15:04 MST")).WithReason(ReasonCredentialExists)
		}
		// The data plane first: a catalog row without a working user would
		// lie. Should the catalog write fail after it, the caller gets an
		// error and issuing again replaces the password.
		if err := env.Kafka.UpsertSCRAM(ctx, user, password); err != nil {
			return errs.New(errs.KindUnavailable, "creating the SCRAM user %s on the data plane of %s: %v", user, env.Name, redact(err, password)).WithReason(ReasonNoDataPlane)
		}
		at := s.now()
		action := "access.IssueKafkaCredential"
		switch {
		case cur == nil:
			out, err = tx.KafkaCredential.Create().SetPrincipal(name).SetEnvironment(env.Name).SetUsername(user).SetMechanism(Mechanism).SetIssuedBy(who.Name).Save(ctx)
		case rotate:
			action = "access.RotateKafkaCredential"
			out, err = tx.KafkaCredential.UpdateOne(cur).SetRotateTime(at).SetIssuedBy(who.Name).AddVersion(1).Save(ctx)
		default:
			// Issued again after its principal was disabled and enabled: a new
			// credential, with a new issue time.
			if err = tx.KafkaCredential.DeleteOne(cur).Exec(ctx); err == nil {
				out, err = tx.KafkaCredential.Create().SetPrincipal(name).SetEnvironment(env.Name).SetUsername(user).SetMechanism(Mechanism).SetIssuedBy(who.Name).Save(ctx)
			}
		}
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, s.store.Dialect, audit.Change{Action: action, ResourceType: "credential", Resource: name,
			Domain: sa.Domain, After: map[string]any{"principal": name, "environment": env.Name, "username": user, "mechanism": Mechanism}})
	})
	if err != nil {
		return nil, err
	}
	return &Credential{KafkaCredential: out, KafkaPrincipal: provision.KafkaPrincipal(sa.Domain, sa.Name), Password: password,
		Bootstrap: env.Kafka.Bootstrap(), SecurityProtocol: env.Kafka.SecurityProtocol()}, nil
}

func newPassword() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating a password: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// redact keeps a password out of an error shown to callers and logs.
func redact(err error, secret string) string {
	if secret == "" {
		return err.Error()
	}
	return strings.ReplaceAll(err.Error(), secret, "(sensitive)")
}

// KafkaAdmin manages SCRAM users through the Kafka admin API, so passwords
// never pass through Terraform state, plans or workspaces.
type KafkaAdmin struct {
	// Opts connect as a principal allowed to alter SCRAM users.
	Opts    []kgo.Opt
	Servers []string
	TLS     bool
}

var _ DataPlane = (*KafkaAdmin)(nil)

func (k *KafkaAdmin) admin() (*kadm.Client, func(), error) {
	cl, err := kgo.NewClient(k.Opts...)
	if err != nil {
		return nil, nil, err
	}
	return kadm.NewClient(cl), cl.Close, nil
}

// UpsertSCRAM creates or replaces user's SCRAM-SHA-512 password.
func (k *KafkaAdmin) UpsertSCRAM(ctx context.Context, user, password string) error {
	adm, done, err := k.admin()
	if err != nil {
		return err
	}
	defer done()
	res, err := adm.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{{
		User: user, Mechanism: kadm.ScramSha512, Iterations: scramIterations, Password: password,
	}})
	if err != nil {
		return err
	}
	return res.Error()
}

// DeleteSCRAM removes user's SCRAM-SHA-512 credential; a user that has none is fine.
func (k *KafkaAdmin) DeleteSCRAM(ctx context.Context, user string) error {
	adm, done, err := k.admin()
	if err != nil {
		return err
	}
	defer done()
	res, err := adm.AlterUserSCRAMs(ctx, []kadm.DeleteSCRAM{{User: user, Mechanism: kadm.ScramSha512}}, nil)
	if err != nil {
		return err
	}
	for _, r := range res {
		if r.Err != nil && !errors.Is(r.Err, kerr.ResourceNotFound) {
			return r.Err
		}
	}
	return nil
}

// Bootstrap returns the brokers consumers connect to.
func (k *KafkaAdmin) Bootstrap() []string { return slices.Clone(k.Servers) }

// SecurityProtocol is SASL_SSL with TLS, SASL_PLAINTEXT otherwise.
func (k *KafkaAdmin) SecurityProtocol() string {
	if k.TLS {
		return "SASL_SSL"
	}
	return "SASL_PLAINTEXT"
}
