// Package errs defines meshplane's typed domain errors. The service layer
// returns them; each door maps them to its transport in exactly one place.
package errs

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies an error for the caller; doors map kinds to transport codes.
type Kind int

const (
	KindInternal Kind = iota
	KindInvalidArgument
	KindNotFound
	KindAlreadyExists
	KindConflict
	KindFailedPrecondition
	KindPermissionDenied
	KindUnauthenticated
	KindResourceExhausted
	KindUnavailable
)

var kindNames = [...]string{
	KindInternal:           "INTERNAL",
	KindInvalidArgument:    "INVALID_ARGUMENT",
	KindNotFound:           "NOT_FOUND",
	KindAlreadyExists:      "ALREADY_EXISTS",
	KindConflict:           "CONFLICT",
	KindFailedPrecondition: "FAILED_PRECONDITION",
	KindPermissionDenied:   "PERMISSION_DENIED",
	KindUnauthenticated:    "UNAUTHENTICATED",
	KindResourceExhausted:  "RESOURCE_EXHAUSTED",
	KindUnavailable:        "UNAVAILABLE",
}

// String returns the kind's stable, machine-readable code.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "INTERNAL"
}

// FieldViolation says what is wrong with one input field. Path uses the
// request's field names, dotted, with list indexes: "spec.ports[0].fields[2].name".
type FieldViolation struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// Error is a domain error with a kind, a message for humans, a reason for
// machines and, for invalid input, the fields at fault.
type Error struct {
	Kind    Kind
	Reason  string
	Message string
	Fields  []FieldViolation
	cause   error
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return e.Message
	}
	var b strings.Builder
	b.WriteString(e.Message)
	for i, f := range e.Fields {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(f.Path)
		b.WriteString(": ")
		b.WriteString(f.Message)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.cause }

// New returns an error of kind with a formatted message and a reason derived from the kind.
func New(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Reason: kind.String(), Message: fmt.Sprintf(format, args...)}
}

// WithReason sets the machine-readable reason.
func (e *Error) WithReason(reason string) *Error {
	e.Reason = reason
	return e
}

// NotFound reports that a resource does not exist or that the caller may not see it.
func NotFound(resource, name string) *Error {
	return New(KindNotFound, "%s %q not found", resource, name)
}

// PermissionDenied reports that the caller may not perform an action.
func PermissionDenied(format string, args ...any) *Error {
	return New(KindPermissionDenied, format, args...)
}

// Conflict reports a stale version.
func Conflict(resource, name string, want, have int64) *Error {
	return New(KindConflict, "%s %q has version %d, not %d: reload it and retry", resource, name, have, want).WithReason("VERSION_CONFLICT")
}

// Internal wraps an unexpected failure; its cause is logged, never shown to callers.
func Internal(cause error) *Error {
	return &Error{Kind: KindInternal, Reason: "INTERNAL", Message: "internal error", cause: cause}
}

// As returns err as an *Error, wrapping unknown errors as internal.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internal(err)
}

// KindOf returns the kind of err, KindInternal for foreign errors.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// Violations collects field violations while validating input.
type Violations struct {
	list []FieldViolation
}

// Add records a violation at path.
func (v *Violations) Add(path, format string, args ...any) {
	v.list = append(v.list, FieldViolation{Path: path, Message: fmt.Sprintf(format, args...)})
}

// Len reports how many violations were recorded.
func (v *Violations) Len() int { return len(v.list) }

// List returns the recorded violations.
func (v *Violations) List() []FieldViolation { return v.list }

// Err returns an InvalidArgument error listing every violation, or nil.
func (v *Violations) Err() error {
	if len(v.list) == 0 {
		return nil
	}
	return &Error{Kind: KindInvalidArgument, Reason: "INVALID_ARGUMENT", Message: "invalid request", Fields: v.list}
}
