package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Violation is one reason a product is not admitted. Path uses the
// catalog's format ("spec.ports[0].fields[1].classification"); it is empty
// when the reason concerns the product as a whole.
type Violation struct {
	Path, Message string
}

// Admission is the admission policy's verdict on a product.
type Admission struct {
	Allowed     bool
	Violations  []Violation // sorted by Path, then Message
	Version     string      // the policy set's version
	InputDigest string      // hex SHA-256 of the input's canonical JSON
	Duration    time.Duration
	Err         error // set when the policy failed and the product was refused for it
	// Cached is set when this policy version had already decided the same input.
	Cached bool
}

var (
	kPath = ast.StringTerm("path")
	kMsg  = ast.StringTerm("msg")
)

// maxViolations caps what a runaway policy can return.
const maxViolations = 1000

// Admit evaluates the admission policy for p with the masking decisions
// made for it (usually Mask's). It fails closed: when the policy times out,
// errs, is undefined or returns something malformed, the product is refused
// with a violation saying so, and Err says why.
func (s *Set) Admit(ctx context.Context, p Product, masking []Decision) Admission {
	start := time.Now()
	a := Admission{InputDigest: inputDigest(p, masking, true)}
	if s == nil {
		a.fail(errors.New("no policy set is loaded"))
		a.Duration = time.Since(start)
		return a
	}
	a.Version = s.version
	if err := ctx.Err(); err == nil {
		if hit, ok := s.admitted.get(a.InputDigest); ok {
			hit.Violations = slices.Clone(hit.Violations)
			hit.Cached, hit.Duration = true, time.Since(start)
			return hit
		}
	}
	t, err := s.eval(ctx, s.admission, AdmissionQuery, AdmissionInput(p, masking))
	if err == nil {
		err = a.read(t)
	}
	if err != nil {
		a.fail(err)
	}
	a.Allowed = len(a.Violations) == 0 && a.Err == nil
	slices.SortFunc(a.Violations, func(x, y Violation) int {
		return cmp.Or(cmp.Compare(x.Path, y.Path), cmp.Compare(x.Message, y.Message))
	})
	a.Violations = slices.Compact(a.Violations)
	a.Duration = time.Since(start)
	if a.Err == nil {
		s.admitted.put(a.InputDigest, a)
		a.Violations = slices.Clone(a.Violations)
	}
	return a
}

// fail records err and the violation that refuses the product for it.
func (a *Admission) fail(err error) {
	a.Err = err
	a.Allowed = false
	why := err.Error()
	if errors.Is(err, ErrUndefined) {
		why = "the policy set does not define " + AdmissionQuery
	}
	a.Violations = append(a.Violations, Violation{
		Message: "the admission policy could not be evaluated, so the change is refused: " + why,
	})
}

// read collects the deny set's entries: objects with a "msg" and an
// optional "path", or plain strings.
func (a *Admission) read(t *ast.Term) error {
	set, ok := t.Value.(ast.Set)
	if !ok {
		return fmt.Errorf("%w: deny is %s, not a set", ErrMalformed, ast.ValueName(t.Value))
	}
	var bad []string
	set.Foreach(func(e *ast.Term) {
		if len(a.Violations) >= maxViolations {
			return
		}
		v, err := violation(e)
		if err != nil {
			bad = append(bad, err.Error())
			return
		}
		a.Violations = append(a.Violations, v)
	})
	if set.Len() > maxViolations {
		a.Violations = append(a.Violations, Violation{Message: fmt.Sprintf("and %d more violations", set.Len()-maxViolations)})
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		return fmt.Errorf("%w: %d deny entries are not {\"path\": string, \"msg\": string} or a string; the first: %s", ErrMalformed, len(bad), bad[0])
	}
	return nil
}

func violation(e *ast.Term) (Violation, error) {
	switch v := e.Value.(type) {
	case ast.String:
		if v == "" {
			return Violation{}, errors.New("empty message")
		}
		return Violation{Message: string(v)}, nil
	case ast.Object:
		msg, ok := stringAt(v, kMsg)
		if !ok || msg == "" {
			return Violation{}, fmt.Errorf("%s has no msg", short(e))
		}
		var path string
		if v.Get(kPath) != nil {
			if path, ok = stringAt(v, kPath); !ok {
				return Violation{}, fmt.Errorf("%s has a path that is not a string", short(e))
			}
		}
		return Violation{Path: path, Message: msg}, nil
	default:
		return Violation{}, fmt.Errorf("%s is %s", short(e), ast.ValueName(e.Value))
	}
}

func stringAt(o ast.Object, k *ast.Term) (string, bool) {
	t := o.Get(k)
	if t == nil {
		return "", false
	}
	s, ok := t.Value.(ast.String)
	return string(s), ok
}

// short renders a term for an error message, cut to a readable length.
func short(t *ast.Term) string { return truncateRunes(t.String(), 120) }
