package provision

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/meshplane/meshplane/server/access"
	"github.com/meshplane/meshplane/server/audit"
	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/ent/provisioningrun"
	"github.com/meshplane/meshplane/server/errs"
	"github.com/meshplane/meshplane/server/provision/render"
	"github.com/meshplane/meshplane/server/provision/summary"
	"github.com/meshplane/meshplane/server/spec"
)

// ActOperate restarts, pauses and resumes a product's connectors.
const ActOperate = "operate"

// Reasons of the errors connector operations answer.
const (
	// ReasonConnectorNotDeployed: the data plane has no such connector yet.
	ReasonConnectorNotDeployed = "CONNECTOR_NOT_DEPLOYED"
	// ReasonNoConnectAPI: no Kafka Connect REST API is configured.
	ReasonNoConnectAPI = "NO_CONNECT_API"
	// ReasonConnectRefused: Kafka Connect answered with an error.
	ReasonConnectRefused = "CONNECT_REFUSED"
	// ReasonConnectUnreachable: Kafka Connect could not be reached.
	ReasonConnectUnreachable = "CONNECT_UNREACHABLE"
)

// Connector states as Kafka Connect reports them, and NotDeployed for a
// connector the product names but the data plane does not have.
const (
	ConnectorRunning     = "RUNNING"
	ConnectorPaused      = "PAUSED"
	ConnectorFailed      = "FAILED"
	ConnectorUnassigned  = "UNASSIGNED"
	ConnectorStopped     = "STOPPED"
	ConnectorRestarting  = "RESTARTING"
	ConnectorNotDeployed = "NOT_DEPLOYED"
	// ConnectorUnknown stands for a state this version does not know.
	ConnectorUnknown = "UNKNOWN"
)

// knownStates are the states Kafka Connect reports that meshplane passes on.
var knownStates = []string{ConnectorRunning, ConnectorPaused, ConnectorFailed, ConnectorUnassigned, ConnectorStopped, ConnectorRestarting}

// RoleSource is the role of a product's source connector; a sink connector's
// role is its sink's name.
const RoleSource = "source"

// ErrConnectorNotFound is what a ConnectAPI returns for a connector it does
// not have.
var ErrConnectorNotFound = errors.New("no such connector")

// ConnectRefusal is an error answer of the Connect REST API.
type ConnectRefusal struct {
	Status  int    // the HTTP status
	Message string // Connect's message, as it sent it
}

func (e *ConnectRefusal) Error() string {
	return fmt.Sprintf("Kafka Connect answered %d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
}

// ConnectAPI is the Kafka Connect REST API of the data plane.
type ConnectAPI interface {
	// Status returns the connector's status, or ErrConnectorNotFound.
	Status(ctx context.Context, name string) (ConnectorStatus, error)
	// Restart restarts the connector and all its tasks, or only task when it
	// is not nil.
	Restart(ctx context.Context, name string, task *int) error
	Pause(ctx context.Context, name string) error
	Resume(ctx context.Context, name string) error
}

// ConnectorStatus is what Kafka Connect reports of a connector.
type ConnectorStatus struct {
	State    string
	WorkerID string
	Trace    string
	Tasks    []TaskStatus
}

// TaskStatus is what Kafka Connect reports of one task.
type TaskStatus struct {
	ID       int
	State    string
	WorkerID string
	Trace    string
}

// Connector is one of a product's connectors with its status in the data
// plane and the last applied run that changed it.
type Connector struct {
	Name string
	// Role is RoleSource or the name of the sink the connector delivers to.
	Role string
	ConnectorStatus
	// LastRunID is the last applied run whose plan changed the connector.
	LastRunID string
}

// maxTrace bounds a trace passed on to callers.
const maxTrace = 16 << 10

// lastRunsScanned bounds how many applied runs are searched for the one
// that last changed each connector.
const lastRunsScanned = 50

// connectorsOf lists the connectors the product's spec names, source first,
// then its sinks in spec order.
func connectorsOf(p *ent.DataProduct) []Connector {
	out := []Connector{{Name: render.SourceConnectorName(p.Domain, p.Name), Role: RoleSource}}
	for _, s := range p.Sinks {
		out = append(out, Connector{Name: render.SinkConnectorName(p.Domain, p.Name, s.Name), Role: s.Name})
	}
	return out
}

// Connectors returns the product's connectors with their status. A
// connector the data plane does not have is NotDeployed.
func (s *Service) Connectors(ctx context.Context, domain, name, env string) ([]Connector, error) {
	e, err := s.environment(env)
	if err != nil {
		return nil, err
	}
	p, err := s.authorized(ctx, domain, name, e.Name, access.ActRead)
	if err != nil {
		return nil, err
	}
	api, err := s.connectAPI(e)
	if err != nil {
		return nil, err
	}
	out := connectorsOf(p)
	for i := range out {
		if out[i].ConnectorStatus, err = s.status(ctx, api, out[i].Name); err != nil {
			return nil, err
		}
	}
	if err := s.lastRuns(ctx, p, e.Name, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Operation is what an operator asks of a connector.
type Operation string

// The operations on a connector.
const (
	OpRestart Operation = "Restart"
	OpPause   Operation = "Pause"
	OpResume  Operation = "Resume"
)

// OperateConnector restarts, pauses or resumes the product's connector of
// role (RoleSource or a sink's name); task, for a restart only, restarts one
// task instead of the connector and all its tasks. The operation is
// audited once the data plane accepted it, and the connector's status is
// returned as the data plane reports it afterwards.
func (s *Service) OperateConnector(ctx context.Context, domain, name, env, role string, op Operation, task *int) (Connector, error) {
	var v errs.Violations
	spec.CheckName(&v, "domain", domain)
	spec.CheckName(&v, "product", name)
	if role == "" {
		v.Add("role", "must name the connector: %q or one of the product's sinks", RoleSource)
	}
	if task != nil && (op != OpRestart || *task < 0) {
		v.Add("task", "must be a task number (0 or more), and only for a restart")
	}
	if err := v.Err(); err != nil {
		return Connector{}, err
	}
	e, err := s.environment(env)
	if err != nil {
		return Connector{}, err
	}
	p, err := s.authorized(ctx, domain, name, e.Name, ActOperate)
	if err != nil {
		return Connector{}, err
	}
	conns := connectorsOf(p)
	i := slices.IndexFunc(conns, func(c Connector) bool { return c.Role == role })
	if i < 0 {
		roles := make([]string, len(conns))
		for j, c := range conns {
			roles[j] = c.Role
		}
		v.Add("role", "data product %s/%s has no connector %q: it has %s", domain, name, role, strings.Join(roles, ", "))
		return Connector{}, v.Err()
	}
	c := conns[i]
	api, err := s.connectAPI(e)
	if err != nil {
		return Connector{}, err
	}
	before, err := s.status(ctx, api, c.Name)
	if err != nil {
		return Connector{}, err
	}
	if before.State == ConnectorNotDeployed {
		return Connector{}, errs.New(errs.KindFailedPrecondition, "connector %s of %s/%s is not deployed: plan and apply the product first", c.Name, domain, name).
			WithReason(ReasonConnectorNotDeployed)
	}
	if task != nil && !slices.ContainsFunc(before.Tasks, func(t TaskStatus) bool { return t.ID == *task }) {
		v.Add("task", "connector %s has no task %d", c.Name, *task)
		return Connector{}, v.Err()
	}
	// The operation is recorded before it is asked for: no record, no
	// action. Should Kafka Connect refuse it or not answer, a second record
	// says so, as the operation may or may not have happened.
	change := map[string]any{"connector": c.Name, "role": c.Role, "environment": e.Name}
	if task != nil {
		change["task"] = *task
	}
	action := "provision." + string(op) + "Connector"
	if err := s.audit(ctx, action, domain, name, map[string]any{"connector": c.Name, "state": before.State}, change); err != nil {
		return Connector{}, err
	}
	switch op {
	case OpRestart:
		err = api.Restart(ctx, c.Name, task)
	case OpPause:
		err = api.Pause(ctx, c.Name)
	case OpResume:
		err = api.Resume(ctx, c.Name)
	default:
		err = fmt.Errorf("unknown connector operation %q", op)
	}
	if err != nil {
		err = s.connectError(err, fmt.Sprintf("asking Kafka Connect to %s connector %s", strings.ToLower(string(op)), c.Name))
		failed := map[string]any{"connector": c.Name, "error": err.Error()}
		if aerr := s.audit(context.WithoutCancel(ctx), action+"Failed", domain, name, nil, failed); aerr != nil {
			s.log.Error("recording a failed connector operation", "connector", c.Name, "error", aerr)
		}
		return Connector{}, err
	}
	if c.ConnectorStatus, err = s.status(ctx, api, c.Name); err != nil {
		return Connector{}, err
	}
	one := []Connector{c}
	if err := s.lastRuns(ctx, p, e.Name, one); err != nil {
		return Connector{}, err
	}
	return one[0], nil
}

func (s *Service) connectAPI(e *Environment) (ConnectAPI, error) {
	if e.Connect == nil {
		return nil, errs.New(errs.KindUnavailable, "no Kafka Connect REST API is configured for environment %s", e.Name).WithReason(ReasonNoConnectAPI)
	}
	return e.Connect, nil
}

// audit records a connector operation on its product.
func (s *Service) audit(ctx context.Context, action, domain, name string, before, after any) error {
	return s.store.Tx(ctx, func(tx *ent.Tx) error {
		return audit.Record(ctx, tx, s.store.Dialect, audit.Change{
			Action: action, ResourceType: "product", Resource: domain + "/" + name, Domain: domain, Before: before, After: after,
		})
	})
}

// connectError turns a failed call to Kafka Connect into the error callers
// see, secrets scrubbed: the caller's own cancellation stays itself, a
// missing connector is NotDeployed, a refusal says Connect's message, and
// anything else is Connect being out of reach.
func (s *Service) connectError(err error, doing string) error {
	var refusal *ConnectRefusal
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w", doing, err)
	case errors.Is(err, ErrConnectorNotFound):
		return errs.New(errs.KindFailedPrecondition, "%s: the connector is no longer deployed", doing).WithReason(ReasonConnectorNotDeployed)
	case errors.As(err, &refusal):
		kind := errs.KindFailedPrecondition
		if refusal.Status == http.StatusConflict || refusal.Status >= 500 {
			kind = errs.KindUnavailable // a rebalance or a worker's trouble: worth trying again
		}
		return errs.New(kind, "%s: %s", doing, s.redact(refusal.Error())).WithReason(ReasonConnectRefused)
	default:
		return errs.New(errs.KindUnavailable, "%s: %s", doing, s.redact(err.Error())).WithReason(ReasonConnectUnreachable)
	}
}

var (
	// userinfoPattern finds the user and password of a URL.
	userinfoPattern = regexp.MustCompile(`(://)[^/@\s]+@`)
	// passwordPattern finds password-like settings written as key=value.
	passwordPattern = regexp.MustCompile(`(?i)((?:password|passwd|pwd|secret|token|credentials?)["']?\s*=\s*["']?)[^\s&;,"']+`)
)

// redact scrubs what a trace or an error from Kafka Connect may quote of a
// connector's resolved configuration: meshplane's own secrets, URL user
// information and password-like settings.
func (s *Service) redact(text string) string {
	text = userinfoPattern.ReplaceAllString(s.scrub(text), "${1}(sensitive)@")
	return passwordPattern.ReplaceAllString(text, "${1}(sensitive)")
}

// status asks the data plane for a connector's status; a connector it does
// not have is NotDeployed.
func (s *Service) status(ctx context.Context, api ConnectAPI, name string) (ConnectorStatus, error) {
	st, err := api.Status(ctx, name)
	switch {
	case errors.Is(err, ErrConnectorNotFound):
		return ConnectorStatus{State: ConnectorNotDeployed}, nil
	case err != nil:
		return ConnectorStatus{}, s.connectError(err, "reading the status of connector "+name)
	}
	st.State, st.Trace = known(st.State), truncateTrace(s.redact(st.Trace))
	for i := range st.Tasks {
		st.Tasks[i].State, st.Tasks[i].Trace = known(st.Tasks[i].State), truncateTrace(s.redact(st.Tasks[i].Trace))
	}
	return st, nil
}

// known passes on a state meshplane knows, and ConnectorUnknown otherwise.
func known(state string) string {
	if slices.Contains(knownStates, state) {
		return state
	}
	return ConnectorUnknown
}

func truncateTrace(t string) string {
	if len(t) <= maxTrace {
		return t
	}
	cut := maxTrace
	for cut > 0 && !utf8.RuneStart(t[cut]) {
		cut--
	}
	return t[:cut] + "\n… (cut)"
}

// lastRuns sets each connector's LastRunID: the newest applied run of the
// product whose plan changed the connector's resource, among its last
// lastRunsScanned applied runs with changes.
func (s *Service) lastRuns(ctx context.Context, p *ent.DataProduct, env string, conns []Connector) error {
	runs, err := s.store.Client.ProvisioningRun.Query().
		Where(provisioningrun.Domain(p.Domain), provisioningrun.Product(p.Name), provisioningrun.Environment(env),
			provisioningrun.StateEQ(provisioningrun.StateApplied), provisioningrun.HasChanges(true)).
		Order(ent.Desc(provisioningrun.FieldFinishTime), ent.Desc(provisioningrun.FieldID)).
		Limit(lastRunsScanned).Select(provisioningrun.FieldID, provisioningrun.FieldSummary).All(ctx)
	if err != nil {
		return fmt.Errorf("reading runs: %w", err)
	}
	for i := range conns {
		module := render.ConnectorModule(conns[i].Role) + "."
		for _, r := range runs {
			if slices.ContainsFunc(r.Summary.Resources, func(rc summary.ResourceChange) bool {
				return strings.HasPrefix(rc.Address, module) && changes(rc.Action)
			}) {
				conns[i].LastRunID = r.ID
				break
			}
		}
	}
	return nil
}

// changes reports whether applying action changes the resource.
func changes(action string) bool {
	switch action {
	case summary.ActionCreate, summary.ActionUpdate, summary.ActionDelete, summary.ActionReplace:
		return true
	}
	return false
}
