package engine

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/meshplane/meshplane/server/spec"
)

// AccessRequest is what the access policy judges: a consumer asking to read
// Kafka output ports.
type AccessRequest struct {
	Consumer        AccessPrincipal // who will read: a user or a service account
	Requester       AccessPrincipal // who asks
	Purpose         string
	DurationSeconds int64  // how long access is asked for
	GroupPrefix     string // the consumer group prefix the consumer would use
	Ports           []AccessPort
	// Environment is where the consumer would read: input.environment.
	Environment Environment
}

// AccessPrincipal names a user or a service account; Domain is "" for a
// user outside any domain.
type AccessPrincipal struct {
	Name, Kind, Domain string
}

// AccessPort is one requested output port with what policies need to know
// of its product.
type AccessPort struct {
	Domain, Product, Port, Topic, Lifecycle, Owner string
	Labels                                         map[string]string
	Fields                                         []AccessField
}

// AccessField is one field of a requested port.
type AccessField struct {
	Name, Classification string
	Tags                 []string
}

// Approver roles an access decision may name.
const (
	ApproverDomainOwner       = "domain-owner"       // the owner of a requested port's domain
	ApproverGovernanceOfficer = "governance-officer" // anyone holding the governance role
)

// Approver is someone who must approve an access request.
type Approver struct {
	Role   string // ApproverDomainOwner or ApproverGovernanceOfficer
	Domain string // the domain whose owner approves; "" for a governance officer
	Reason string // why, when the policy says
}

// MaxAccessDuration is the longest access any decision may grant.
const MaxAccessDuration = 365 * 24 * time.Hour

// FailClosedAccessDuration is the longest access granted when the access
// policy could not be used: long enough to be worth the approvals it takes,
// short enough that a fixed policy soon decides again.
const FailClosedAccessDuration = 7 * 24 * time.Hour

// AccessDecision is the access policy's decision on a request.
type AccessDecision struct {
	Approvers     []Approver // sorted by Role, then Domain, each once
	MaxDuration   time.Duration
	AutoApprove   bool // granted without waiting; Approvers are then informed, not asked
	Reasons       []string
	PolicyVersion string // the policy set's version
	FailedClosed  bool   // meshplane decided in the policy's place
	Error         string // why the policy could not be used, when FailedClosed
	InputDigest   string // hex SHA-256 of the input's canonical JSON
	Duration      time.Duration
	// Cached is set when this policy version had already decided the same input.
	Cached bool
}

func (d AccessDecision) clone() AccessDecision {
	d.Approvers = slices.Clone(d.Approvers)
	d.Reasons = slices.Clone(d.Reasons)
	return d
}

// Access evaluates the access policy for r. It fails closed: when the
// policy times out, errs, is undefined or returns something malformed, the
// error says why and the decision returned beside it asks the owner of every
// requested domain and a governance officer, for at most
// FailClosedAccessDuration, never automatically.
func (s *Set) Access(ctx context.Context, r AccessRequest) (AccessDecision, error) {
	start := time.Now()
	digest := accessDigest(r)
	if s == nil {
		err := errors.New("no policy set is loaded")
		d := failClosedAccess(r, err)
		d.InputDigest, d.Duration = digest, time.Since(start)
		return d, err
	}
	if err := ctx.Err(); err == nil {
		if hit, ok := s.accessed.get(digest); ok {
			hit = hit.clone()
			hit.Cached, hit.Duration = true, time.Since(start)
			return hit, nil
		}
	}
	t, err := s.eval(ctx, s.access, AccessQuery, AccessInput(r))
	var d AccessDecision
	if err == nil {
		d, err = readAccess(r, t)
	}
	if err != nil {
		d = failClosedAccess(r, err)
	}
	d.PolicyVersion, d.InputDigest, d.Duration = s.version, digest, time.Since(start)
	if err != nil {
		return d, err
	}
	s.accessed.put(digest, d.clone())
	return d, nil
}

// Access evaluates the access policy in force for r, failing closed as
// Set.Access does; the decision's Error says why it failed closed.
func (e *Engine) Access(ctx context.Context, r AccessRequest) AccessDecision {
	var s *Set
	if e != nil {
		s = e.Current()
	}
	d, _ := s.Access(ctx, r)
	return d
}

// failClosedAccess is the decision meshplane makes in the policy's place:
// every owner and a governance officer approve, for at most a week.
func failClosedAccess(r AccessRequest, err error) AccessDecision {
	why := accessFailure(err)
	paths := map[string][]string{} // domain → its requested ports
	for _, p := range r.Ports {
		if p.Domain != "" {
			paths[p.Domain] = append(paths[p.Domain], p.Domain+"/"+p.Product+"/"+p.Port)
		}
	}
	d := AccessDecision{
		MaxDuration:  FailClosedAccessDuration,
		FailedClosed: true,
		Error:        why,
		Reasons: []string{fmt.Sprintf("meshplane failed closed: the access policy could not be evaluated (%s), "+
			"so every owner and a governance officer must approve, for at most %d days", why, FailClosedAccessDuration/(24*time.Hour))},
	}
	for _, domain := range slices.Sorted(maps.Keys(paths)) {
		ps := slices.Compact(slices.Sorted(slices.Values(paths[domain])))
		d.Approvers = append(d.Approvers, Approver{Role: ApproverDomainOwner, Domain: domain, Reason: "owner of " + strings.Join(ps, ", ")})
	}
	d.Approvers = append(d.Approvers, Approver{Role: ApproverGovernanceOfficer, Reason: "the access policy could not be evaluated"})
	return d
}

// maxFailure bounds the Error of a decision made in the policy's place:
// conflict errors quote whole values.
const maxFailure = 1024

// accessFailure says why the access policy could not be used, on one line,
// without the query the error was wrapped with.
func accessFailure(err error) string {
	if errors.Is(err, ErrUndefined) {
		return "the policy set does not define " + AccessQuery
	}
	lines := strings.Split(strings.TrimPrefix(err.Error(), "evaluating "+AccessQuery+": "), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return truncateRunes(strings.Join(slices.DeleteFunc(lines, func(l string) bool { return l == "" }), " "), maxFailure)
}

var (
	kRequest            = ast.StringTerm("request")
	kConsumer           = ast.StringTerm("consumer")
	kRequester          = ast.StringTerm("requester")
	kPurpose            = ast.StringTerm("purpose")
	kDurationSeconds    = ast.StringTerm("durationSeconds")
	kGroupPrefix        = ast.StringTerm("groupPrefix")
	kClassifications    = ast.StringTerm("classifications")
	kApprovers          = ast.StringTerm("approvers")
	kMaxDurationSeconds = ast.StringTerm("maxDurationSeconds")
	kAutoApprove        = ast.StringTerm("autoApprove")
	kReasons            = ast.StringTerm("reasons")
	kRole               = ast.StringTerm("role")
)

// AccessInput returns the input document the access policy evaluates for
// r: {"environment": E, "request": R}. Each port carries "classifications",
// the sorted, distinct classifications of its fields ("" for unclassified
// ones).
func AccessInput(r AccessRequest) *ast.Term {
	return ast.ObjectTerm(ast.Item(kEnvironment, r.Environment.term()), ast.Item(kRequest, requestTerm(r)))
}

// requestTerm builds input.request, spelled out like productTerm so that
// renaming a Go field cannot silently change what policies read.
func requestTerm(r AccessRequest) *ast.Term {
	ports := make([]*ast.Term, len(r.Ports))
	for i, p := range r.Ports {
		labels := make([][2]*ast.Term, 0, len(p.Labels))
		for k, v := range p.Labels {
			labels = append(labels, ast.Item(ast.StringTerm(k), ast.StringTerm(v)))
		}
		fields := make([]*ast.Term, len(p.Fields))
		for j, f := range p.Fields {
			fields[j] = ast.ObjectTerm(
				ast.Item(kName, ast.StringTerm(f.Name)),
				ast.Item(kClassification, term(classTerms, spec.Classification(f.Classification))),
				ast.Item(kTags, tagsTerm(f.Tags)),
			)
		}
		classes := classificationsOf(p.Fields)
		classTs := make([]*ast.Term, len(classes))
		for j, c := range classes {
			classTs[j] = term(classTerms, spec.Classification(c))
		}
		ports[i] = ast.ObjectTerm(
			ast.Item(kDomain, ast.StringTerm(p.Domain)),
			ast.Item(kProduct, ast.StringTerm(p.Product)),
			ast.Item(kPort, ast.StringTerm(p.Port)),
			ast.Item(kTopic, ast.StringTerm(p.Topic)),
			ast.Item(kLifecycle, ast.StringTerm(p.Lifecycle)),
			ast.Item(kOwner, ast.StringTerm(p.Owner)),
			ast.Item(kLabels, ast.ObjectTerm(labels...)),
			ast.Item(kClassifications, ast.ArrayTerm(classTs...)),
			ast.Item(kFields, ast.ArrayTerm(fields...)),
		)
	}
	return ast.ObjectTerm(
		ast.Item(kConsumer, principalTerm(r.Consumer)),
		ast.Item(kRequester, principalTerm(r.Requester)),
		ast.Item(kPurpose, ast.StringTerm(r.Purpose)),
		ast.Item(kDurationSeconds, ast.InternedTerm(r.DurationSeconds)),
		ast.Item(kGroupPrefix, ast.StringTerm(r.GroupPrefix)),
		ast.Item(kPorts, ast.ArrayTerm(ports...)),
	)
}

func principalTerm(p AccessPrincipal) *ast.Term {
	return ast.ObjectTerm(
		ast.Item(kName, ast.StringTerm(p.Name)),
		ast.Item(kKind, ast.StringTerm(p.Kind)),
		ast.Item(kDomain, ast.StringTerm(p.Domain)),
	)
}

// classificationsOf returns the fields' classifications, sorted and distinct.
func classificationsOf(fields []AccessField) []string {
	cs := make([]string, len(fields))
	for i, f := range fields {
		cs[i] = f.Classification
	}
	slices.Sort(cs)
	return slices.Compact(cs)
}

// accessDigest is the hex SHA-256 of {"environment": E, "request": R} as
// canonical JSON, written straight from r, as inputDigest is, so a cached
// decision is found without building terms.
func accessDigest(r AccessRequest) string {
	b := make([]byte, 0, 512+256*len(r.Ports))
	b = append(b, `{"environment":`...)
	b = appendCanonical(b, r.Environment.term().Value)
	b = append(b, `,"request":`...)
	b = requestJSON(b, r)
	b = append(b, '}')
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// requestJSON appends R as canonical JSON, the same document requestTerm
// builds, keys sorted.
func requestJSON(b []byte, r AccessRequest) []byte {
	b = append(b, `{"consumer":`...)
	b = principalJSON(b, r.Consumer)
	b = append(b, `,"durationSeconds":`...)
	b = strconv.AppendInt(b, r.DurationSeconds, 10)
	b = append(b, `,"groupPrefix":`...)
	b = appendString(b, r.GroupPrefix)
	b = append(b, `,"ports":[`...)
	for i, p := range r.Ports {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"classifications":`...)
		b = appendStrings(b, classificationsOf(p.Fields))
		b = append(b, `,"domain":`...)
		b = appendString(b, p.Domain)
		b = append(b, `,"fields":[`...)
		for j, f := range p.Fields {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"classification":`...)
			b = appendString(b, f.Classification)
			b = append(b, `,"name":`...)
			b = appendString(b, f.Name)
			b = append(b, `,"tags":`...)
			b = appendStrings(b, f.Tags)
			b = append(b, '}')
		}
		b = append(b, `],"labels":{`...)
		for j, k := range slices.Sorted(maps.Keys(p.Labels)) {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, p.Labels[k])
		}
		b = append(b, `},"lifecycle":`...)
		b = appendString(b, p.Lifecycle)
		b = append(b, `,"owner":`...)
		b = appendString(b, p.Owner)
		b = append(b, `,"port":`...)
		b = appendString(b, p.Port)
		b = append(b, `,"product":`...)
		b = appendString(b, p.Product)
		b = append(b, `,"topic":`...)
		b = appendString(b, p.Topic)
		b = append(b, '}')
	}
	b = append(b, `],"purpose":`...)
	b = appendString(b, r.Purpose)
	b = append(b, `,"requester":`...)
	b = principalJSON(b, r.Requester)
	return append(b, '}')
}

func principalJSON(b []byte, p AccessPrincipal) []byte {
	b = append(b, `{"domain":`...)
	b = appendString(b, p.Domain)
	b = append(b, `,"kind":`...)
	b = appendString(b, p.Kind)
	b = append(b, `,"name":`...)
	b = appendString(b, p.Name)
	return append(b, '}')
}

// maxReasons caps the notes a runaway policy can return.
const maxReasons = 100

// readAccess validates the policy's decision for r. Any violation makes
// the whole decision unusable: a decision that names the wrong approvers
// or an unbounded duration cannot be partly trusted.
func readAccess(r AccessRequest, t *ast.Term) (AccessDecision, error) {
	var d AccessDecision
	o, ok := t.Value.(ast.Object)
	if !ok {
		return d, fmt.Errorf("%w: decision is %s, not an object", ErrMalformed, ast.ValueName(t.Value))
	}
	var bad string
	o.Until(func(k, _ *ast.Term) bool {
		if !k.Equal(kApprovers) && !k.Equal(kMaxDurationSeconds) && !k.Equal(kAutoApprove) && !k.Equal(kReasons) {
			bad = fmt.Sprintf("unknown key %s (want approvers, maxDurationSeconds, autoApprove and reasons)", k)
		}
		return bad != ""
	})
	if bad != "" {
		return d, fmt.Errorf("%w: %s", ErrMalformed, bad)
	}

	auto := o.Get(kAutoApprove)
	b, ok := termValue[ast.Boolean](auto)
	if !ok {
		return d, fmt.Errorf("%w: autoApprove is %s, not a boolean", ErrMalformed, valueName(auto))
	}
	d.AutoApprove = bool(b)

	maxSecs := o.Get(kMaxDurationSeconds)
	secs, ok := seconds(maxSecs)
	if !ok || secs < 1 || secs > int64(MaxAccessDuration/time.Second) {
		return d, fmt.Errorf("%w: maxDurationSeconds is %s, not an integer from 1 to %d (one year)",
			ErrMalformed, valueOrName(maxSecs), int64(MaxAccessDuration/time.Second))
	}
	d.MaxDuration = time.Duration(secs) * time.Second

	domains := map[string]bool{}
	for _, p := range r.Ports {
		if p.Domain != "" {
			domains[p.Domain] = true
		}
	}
	approvers := o.Get(kApprovers)
	elems, ok := elements(approvers)
	if !ok {
		return d, fmt.Errorf("%w: approvers is %s, not an array", ErrMalformed, valueName(approvers))
	}
	for _, e := range elems {
		a, err := approver(e, domains)
		if err != nil {
			return d, fmt.Errorf("%w: approver %s", ErrMalformed, err)
		}
		d.Approvers = append(d.Approvers, a)
	}
	d.Approvers = mergeApprovers(d.Approvers)
	if len(d.Approvers) == 0 && !d.AutoApprove {
		return d, fmt.Errorf("%w: approvers is empty but autoApprove is false: nobody could approve", ErrMalformed)
	}

	if reasons := o.Get(kReasons); reasons != nil {
		elems, ok := elements(reasons)
		if !ok {
			return d, fmt.Errorf("%w: reasons is %s, not an array of strings", ErrMalformed, valueName(reasons))
		}
		for _, e := range elems {
			s, ok := e.Value.(ast.String)
			if !ok {
				return d, fmt.Errorf("%w: reason %s is %s, not a string", ErrMalformed, short(e), ast.ValueName(e.Value))
			}
			if len(d.Reasons) < maxReasons && s != "" {
				d.Reasons = append(d.Reasons, truncateRunes(string(s), maxReason))
			}
		}
	}
	return d, nil
}

// approver reads one entry of approvers: a domain owner of one of the
// request's domains, or a governance officer, with an optional reason.
func approver(e *ast.Term, domains map[string]bool) (Approver, error) {
	var a Approver
	o, ok := e.Value.(ast.Object)
	if !ok {
		return a, fmt.Errorf("%s is %s, not an object", short(e), ast.ValueName(e.Value))
	}
	var bad string
	hasDomain := false
	o.Until(func(k, v *ast.Term) bool {
		s, isString := v.Value.(ast.String)
		switch {
		case !k.Equal(kRole) && !k.Equal(kDomain) && !k.Equal(kReason):
			bad = fmt.Sprintf("has unknown key %s (want role, domain and reason)", k)
		case !isString:
			bad = fmt.Sprintf("has a %s that is not a string", k)
		case k.Equal(kRole):
			a.Role = string(s)
		case k.Equal(kDomain):
			a.Domain, hasDomain = string(s), true
		default:
			a.Reason = truncateRunes(string(s), maxReason)
		}
		return bad != ""
	})
	switch {
	case bad != "":
	case a.Role == ApproverDomainOwner && !hasDomain:
		bad = "is a domain owner without a domain"
	case a.Role == ApproverDomainOwner && !domains[a.Domain]:
		bad = fmt.Sprintf("names domain %q, which holds none of the requested ports", a.Domain)
	case a.Role == ApproverGovernanceOfficer && hasDomain:
		bad = "is a governance officer with a domain: governance officers approve for every domain"
	case a.Role != ApproverDomainOwner && a.Role != ApproverGovernanceOfficer:
		bad = fmt.Sprintf("has role %q (want %s or %s)", a.Role, ApproverDomainOwner, ApproverGovernanceOfficer)
	}
	if bad != "" {
		return a, fmt.Errorf("%s %s", short(e), bad)
	}
	return a, nil
}

// mergeApprovers sorts approvers by role and domain and keeps each once,
// joining the reasons given for it.
func mergeApprovers(as []Approver) []Approver {
	slices.SortFunc(as, func(x, y Approver) int {
		return cmp.Or(cmp.Compare(x.Role, y.Role), cmp.Compare(x.Domain, y.Domain), cmp.Compare(x.Reason, y.Reason))
	})
	out := as[:0]
	for _, a := range as {
		if n := len(out); n > 0 && out[n-1].Role == a.Role && out[n-1].Domain == a.Domain {
			switch last := &out[n-1]; {
			case a.Reason == "" || a.Reason == last.Reason:
			case last.Reason == "":
				last.Reason = a.Reason
			default:
				last.Reason = truncateRunes(last.Reason+"; "+a.Reason, maxReason)
			}
			continue
		}
		out = append(out, a)
	}
	return out
}

// elements returns the terms of an array or a set.
func elements(t *ast.Term) ([]*ast.Term, bool) {
	if t == nil {
		return nil, false
	}
	switch v := t.Value.(type) {
	case *ast.Array:
		es := make([]*ast.Term, v.Len())
		for i := range v.Len() {
			es[i] = v.Elem(i)
		}
		return es, true
	case ast.Set:
		return v.Slice(), true
	}
	return nil, false
}

func termValue[V ast.Value](t *ast.Term) (V, bool) {
	var zero V
	if t == nil {
		return zero, false
	}
	v, ok := t.Value.(V)
	return v, ok
}

// seconds reads a whole number of seconds; policies may compute one that
// the evaluator writes as a float, such as 2.592e+06.
func seconds(t *ast.Term) (int64, bool) {
	n, ok := termValue[ast.Number](t)
	if !ok {
		return 0, false
	}
	if i, ok := n.Int64(); ok {
		return i, true
	}
	f, ok := n.Float64()
	if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int64(f), true
}

// valueName names a term's type for an error message, "missing" for none.
func valueName(t *ast.Term) string {
	if t == nil {
		return "missing"
	}
	return ast.ValueName(t.Value)
}

// valueOrName shows a term for an error message, "missing" for none.
func valueOrName(t *ast.Term) string {
	if t == nil {
		return "missing"
	}
	return short(t)
}
