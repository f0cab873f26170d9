package catalog

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/meshplane/meshplane/server/access"
	"github.com/meshplane/meshplane/server/actor"
	"github.com/meshplane/meshplane/server/audit"
	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/ent/dataproduct"
	"github.com/meshplane/meshplane/server/ent/grant"
	"github.com/meshplane/meshplane/server/errs"
	"github.com/meshplane/meshplane/server/spec"
)

// Reasons of contract refusals.
const (
	// ReasonBreakingChange: an active port would change in a way that breaks
	// its consumers without a new major.
	ReasonBreakingChange = "BREAKING_CHANGE"
	// ReasonTooManyMajors: a port already keeps MaxRetainedMajors earlier majors.
	ReasonTooManyMajors = "TOO_MANY_MAJORS"
)

// MaxRetainedMajors bounds the earlier majors a port keeps beside its current one.
const MaxRetainedMajors = 3

// keepContracts holds an update of a product whose ports are in use (active
// or deprecated) to their contracts: a port that keeps its major may only
// change compatibly; a breaking change needs the major bumped by one, which
// keeps the major before (its topic and grants) beside the new one until it
// is retired. What meshplane keeps of each port — the retained majors, the
// base major — is carried over from the stored product, whatever the
// caller sent.
func keepContracts(cur *ent.DataProduct, next *spec.Product) error {
	old := map[string]spec.OutputPort{}
	for _, p := range cur.Ports {
		old[p.Name] = p
	}
	live := cur.Lifecycle == "active" || cur.Lifecycle == "deprecated"
	var v errs.Violations
	var breaks []spec.Break
	if live {
		breaks = spec.PortBreaks(cur.Ports, next.Ports)
	}
	for i := range next.Ports {
		np := &next.Ports[i]
		path := fmt.Sprintf("spec.ports[%d]", i)
		op, ok := old[np.Name]
		np.Retained, np.BaseMajor = nil, 0
		if !ok {
			continue
		}
		np.Retained, np.BaseMajor = slices.Clone(op.Retained), op.BaseMajor
		if !live {
			continue
		}
		switch np.MajorVersion {
		case op.MajorVersion:
		case op.MajorVersion + 1:
			if len(op.Retained) >= MaxRetainedMajors {
				return errs.New(errs.KindFailedPrecondition, "port %s keeps %d earlier majors already: retire one (RetirePortMajor) before publishing another",
					np.Name, len(op.Retained)).WithReason(ReasonTooManyMajors)
			}
			np.Retained = append(np.Retained, spec.RetainedMajor{Major: op.MajorVersion, Partitions: op.Partitions,
				RetentionMs: op.RetentionMs, CleanupPolicy: op.CleanupPolicy, Fields: op.Fields})
			if np.BaseMajor == 0 {
				np.BaseMajor = op.MajorVersion
			}
		default:
			v.Add(path+".majorVersion", "must stay %d or become %d: a port's major goes up one at a time", op.MajorVersion, op.MajorVersion+1)
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	if len(breaks) == 0 {
		return nil
	}
	e := errs.New(errs.KindFailedPrecondition, "the change breaks consumers of %s/%s: publish it as a new major of each port it breaks (majorVersion + 1), which keeps the current one beside it",
		cur.Domain, cur.Name).WithReason(ReasonBreakingChange)
	for _, b := range breaks {
		e.Fields = append(e.Fields, errs.FieldViolation{Path: b.Path, Message: b.Reason})
	}
	return e
}

// MajorPublished is what the audit log (and so every event subscriber)
// learns when a port's new major is published: the topics, and the
// consumers whose grants are on the major that stays behind.
type MajorPublished struct {
	Port          string   `json:"port"`
	Major         int      `json:"major"`
	Topic         string   `json:"topic"`
	PreviousMajor int      `json:"previousMajor"`
	PreviousTopic string   `json:"previousTopic"`
	Consumers     []string `json:"consumers"`
}

// recordNewMajors records, for each port whose major went up, the new
// major and the consumers still granted the one before, so they can move.
func recordNewMajors(ctx context.Context, tx *ent.Tx, dialect string, before, after *ent.DataProduct) error {
	if before.Lifecycle != "active" && before.Lifecycle != "deprecated" {
		return nil // a draft's ports have no consumers to tell
	}
	old := map[string]int{}
	for _, p := range before.Ports {
		old[p.Name] = p.MajorVersion
	}
	for _, p := range after.Ports {
		prev, ok := old[p.Name]
		if !ok || p.MajorVersion <= prev {
			continue
		}
		e := MajorPublished{Port: p.Name, Major: p.MajorVersion, Topic: p.Topic, PreviousMajor: prev,
			PreviousTopic: spec.TopicName(after.Domain, after.Name, p.Name, prev), Consumers: []string{}}
		gs, err := tx.Grant.Query().Where(grant.Topic(e.PreviousTopic),
			grant.StateIn(grant.StateApproved, grant.StateProvisioning, grant.StateActive)).All(ctx)
		if err != nil {
			return err
		}
		for _, g := range gs {
			if c := g.ConsumerDomain + "." + g.Consumer; !slices.Contains(e.Consumers, c) {
				e.Consumers = append(e.Consumers, c)
			}
		}
		slices.Sort(e.Consumers)
		if err := audit.Record(ctx, tx, dialect, audit.Change{Action: "catalog.PublishPortMajor", ResourceType: "port",
			Resource: after.Domain + "/" + after.Name + "/" + p.Name, Domain: after.Domain, After: e}); err != nil {
			return err
		}
	}
	return nil
}

// ReasonMajorInUse: consumers are still granted the major to retire.
const ReasonMajorInUse = "MAJOR_IN_USE"

// RetirePortMajorInput names an earlier major of a port to end.
type RetirePortMajorInput struct {
	Domain, Name, Port string
	Major              int
	Version            int64
}

// RetirePortMajor ends an earlier major of a port of an active or
// deprecated product: the product's next plan deletes its topic. It is
// refused while consumers are granted that major's topic.
func (s *Service) RetirePortMajor(ctx context.Context, in RetirePortMajorInput) (*ent.DataProduct, error) {
	var v errs.Violations
	if in.Port == "" {
		v.Add("port", "is required")
	}
	if in.Major < 1 {
		v.Add("major", "is required: a major the port keeps")
	}
	checkVersion(&v, in.Version)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := s.requireProduct(ctx, in.Domain, in.Name, access.ActUpdate); err != nil {
		return nil, err
	}
	cur, err := s.GetDataProduct(ctx, in.Domain, in.Name)
	if err != nil {
		return nil, err
	}
	if cur.Lifecycle != "active" && cur.Lifecycle != "deprecated" {
		return nil, errs.New(errs.KindFailedPrecondition, "data product %s/%s is %s: only active and deprecated products keep earlier majors", in.Domain, in.Name, cur.Lifecycle).WithReason("NOT_LIVE")
	}
	i := slices.IndexFunc(cur.Ports, func(p spec.OutputPort) bool { return p.Name == in.Port })
	if i < 0 {
		return nil, errs.NotFound("port", in.Domain+"/"+in.Name+"/"+in.Port)
	}
	port := cur.Ports[i]
	j := slices.IndexFunc(port.Retained, func(r spec.RetainedMajor) bool { return r.Major == in.Major })
	if j < 0 {
		var kept []int
		for _, r := range port.Retained {
			kept = append(kept, r.Major)
		}
		v.Add("major", "port %s keeps no major %d (its current major is %d; it keeps %v)", in.Port, in.Major, port.MajorVersion, kept)
		return nil, v.Err()
	}
	topic := spec.TopicName(in.Domain, in.Name, in.Port, in.Major)
	who, _ := actor.From(ctx)
	var out *ent.DataProduct
	err = s.store.Tx(ctx, func(tx *ent.Tx) error {
		gs, err := tx.Grant.Query().Where(grant.Topic(topic),
			grant.StateIn(grant.StatePending, grant.StateApproved, grant.StateProvisioning, grant.StateActive, grant.StateRevoking, grant.StateExpiring)).All(ctx)
		if err != nil {
			return err
		}
		if len(gs) > 0 {
			var who []string
			for _, g := range gs {
				who = append(who, g.ConsumerDomain+"."+g.Consumer)
			}
			slices.Sort(who)
			return errs.New(errs.KindFailedPrecondition, "%s is still granted to %s: revoke those grants or let them expire, then retire the major",
				topic, strings.Join(slices.Compact(who), ", ")).WithReason(ReasonMajorInUse)
		}
		ports := slices.Clone(cur.Ports)
		ports[i].Retained = slices.Delete(slices.Clone(port.Retained), j, j+1)
		n, err := tx.DataProduct.Update().Where(dataproduct.ID(cur.ID), dataproduct.Version(in.Version)).
			SetPorts(ports).SetUpdatedBy(who.Name).AddVersion(1).Save(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return errs.Conflict("data product", in.Domain+"/"+in.Name, in.Version, cur.Version)
		}
		if out, err = tx.DataProduct.Get(ctx, cur.ID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, s.store.Dialect, audit.Change{Action: "catalog.RetirePortMajor", ResourceType: "product",
			Resource: in.Domain + "/" + in.Name, Domain: in.Domain, Before: cur, After: out})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
