package pool

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"
)

// Class is the kind of failure an error of the pool API represents, the
// part of it the agent branches on.
type Class int

// Error classes.
const (
	// ClassNone is the class of a nil error.
	ClassNone Class = iota
	// ClassRetryable is a transient failure: UNAVAILABLE, DEADLINE_EXCEEDED
	// (of the call, not of the caller's context), ABORTED, INTERNAL,
	// UNKNOWN, and RESOURCE_EXHAUSTED that is rate limiting rather than
	// a quota. Retrying the same request later may succeed.
	ClassRetryable
	// ClassConflict is ALREADY_EXISTS or FAILED_PRECONDITION: the object
	// or session is not in the state the request assumed. Re-read, then
	// decide.
	ClassConflict
	// ClassQuota is RESOURCE_EXHAUSTED naming a quota (a QuotaFailure
	// detail; without details on the matter, "quota" in the message). It
	// is never retried: retrying will not help until the quota is raised
	// or objects are removed.
	ClassQuota
	// ClassInvalid is INVALID_ARGUMENT or OUT_OF_RANGE: the request breaks
	// an API constraint.
	ClassInvalid
	// ClassPermission is PERMISSION_DENIED or UNAUTHENTICATED, including
	// failures to obtain a token.
	ClassPermission
	// ClassNotFound is NOT_FOUND.
	ClassNotFound
	// ClassCanceled means the caller's context was cancelled or its
	// deadline passed.
	ClassCanceled
	// ClassPermanent is any other failure (UNIMPLEMENTED, DATA_LOSS, a
	// non-gRPC error, ...).
	ClassPermanent
)

var classNames = [...]string{"none", "retryable", "conflict", "quota", "invalid", "permission", "not_found", "canceled", "permanent"}

// String returns a short lowercase name, suitable as a metric label.
func (c Class) String() string {
	if c >= 0 && int(c) < len(classNames) {
		return classNames[c]
	}
	return "unknown"
}

// Error is a failure of the pool API with its class. The API's adapter
// (idhub.Cloud) returns every failure as one; Error and Unwrap are those
// of the failure it wraps.
type Error struct {
	Class Class
	Err   error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Classify returns the class of err: the class of the first *Error in its
// chain, ClassCanceled for the end of a context, ClassNone for nil and
// ClassPermanent otherwise.
func Classify(err error) Class {
	var e *Error
	switch {
	case err == nil:
		return ClassNone
	case errors.As(err, &e):
		return e.Class
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return ClassCanceled
	}
	return ClassPermanent
}

// IsRetryable reports whether err is transient (ClassRetryable).
func IsRetryable(err error) bool { return Classify(err) == ClassRetryable }

// IsConflict reports whether the object or session is not in the state
// the request assumed (ClassConflict).
func IsConflict(err error) bool { return Classify(err) == ClassConflict }

// IsPermission reports whether the credentials lack a right (ClassPermission).
func IsPermission(err error) bool { return Classify(err) == ClassPermission }

// IsNotFound reports whether the object does not exist (ClassNotFound).
func IsNotFound(err error) bool { return Classify(err) == ClassNotFound }

// MaxFailReason is the longest reason CloseSession accepts.
const MaxFailReason = 256

// TruncateReason returns reason as valid UTF-8 of at most MaxFailReason
// bytes (hence also runes), cut on a rune boundary and ending in "…" when
// shortened.
func TruncateReason(reason string) string {
	reason = strings.ToValidUTF8(reason, "\uFFFD")
	if len(reason) <= MaxFailReason {
		return reason
	}
	const ellipsis = "…"
	cut := MaxFailReason - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(reason[cut]) {
		cut--
	}
	return reason[:cut] + ellipsis
}
