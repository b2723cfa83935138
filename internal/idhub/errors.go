package idhub

import (
	"context"
	"errors"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/idsync/idsync/internal/pool"
)

// Class is the kind of failure an error represents, the part of it the
// agent branches on. It is the pool model's class, so that the adapter
// (Cloud) hands agent the class this package computed.
type Class = pool.Class

// Error classes (see pool.Class).
const (
	ClassNone       = pool.ClassNone
	ClassRetryable  = pool.ClassRetryable
	ClassConflict   = pool.ClassConflict
	ClassQuota      = pool.ClassQuota
	ClassInvalid    = pool.ClassInvalid
	ClassPermission = pool.ClassPermission
	ClassNotFound   = pool.ClassNotFound
	ClassCanceled   = pool.ClassCanceled
	ClassPermanent  = pool.ClassPermanent
)

// Classify returns the class of err. It sees through wrapping, including
// the "idhub: Method: ..." wrapping of this package.
func Classify(err error) Class {
	if err == nil {
		return ClassNone
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return ClassCanceled
	}
	var te *tokenError
	if errors.As(err, &te) {
		// A token that could not be obtained because the token service
		// was unreachable is transient; anything else is an auth failure.
		if c := Classify(te.err); c == ClassRetryable || c == ClassCanceled {
			return c
		}
		return ClassPermission
	}
	st, ok := status.FromError(err)
	if !ok {
		return ClassPermanent
	}
	switch st.Code() {
	case codes.OK:
		return ClassNone
	case codes.Canceled:
		return ClassCanceled
	case codes.Unavailable, codes.DeadlineExceeded, codes.Aborted, codes.Internal, codes.Unknown:
		return ClassRetryable
	case codes.ResourceExhausted:
		if isQuota(st) {
			return ClassQuota
		}
		return ClassRetryable
	case codes.AlreadyExists, codes.FailedPrecondition:
		return ClassConflict
	case codes.InvalidArgument, codes.OutOfRange:
		return ClassInvalid
	case codes.PermissionDenied, codes.Unauthenticated:
		return ClassPermission
	case codes.NotFound:
		return ClassNotFound
	default:
		return ClassPermanent
	}
}

// isQuota tells a quota (permanent until raised) from rate limiting
// (transient) by the error's details where they say which it is: a
// google.rpc.QuotaFailure means quota, a google.rpc.RetryInfo without one
// means the server asks for a retry later. Only when neither is present is
// the message read: the word "quota" means quota.
func isQuota(st *status.Status) bool {
	retry := false
	for _, d := range st.Details() {
		switch d.(type) {
		case *errdetails.QuotaFailure:
			return true
		case *errdetails.RetryInfo:
			retry = true
		}
	}
	if retry {
		return false
	}
	return strings.Contains(strings.ToLower(st.Message()), "quota")
}

// IsRetryable reports whether err is transient.
func IsRetryable(err error) bool { return Classify(err) == ClassRetryable }

// IsConflict reports whether err is ALREADY_EXISTS or FAILED_PRECONDITION.
func IsConflict(err error) bool { return Classify(err) == ClassConflict }

// IsQuota reports whether err is a quota failure.
func IsQuota(err error) bool { return Classify(err) == ClassQuota }

// IsInvalid reports whether err is a rejected argument.
func IsInvalid(err error) bool { return Classify(err) == ClassInvalid }

// IsPermission reports whether err is an authentication or authorization
// failure.
func IsPermission(err error) bool { return Classify(err) == ClassPermission }

// IsNotFound reports whether err is NOT_FOUND.
func IsNotFound(err error) bool { return Classify(err) == ClassNotFound }

// Code returns the gRPC code of err, codes.OK for nil and codes.Unknown for
// errors that carry no status.
func Code(err error) codes.Code {
	if err == nil {
		return codes.OK
	}
	if errors.Is(err, context.Canceled) {
		return codes.Canceled
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return codes.DeadlineExceeded
	}
	return status.Code(err)
}

// retryDelay returns the server's RetryInfo delay carried by err, or 0.
func retryDelay(err error) time.Duration {
	st, ok := status.FromError(err)
	if !ok {
		return 0
	}
	for _, det := range st.Details() {
		if ri, ok := det.(*errdetails.RetryInfo); ok && ri.GetRetryDelay() != nil {
			return ri.GetRetryDelay().AsDuration()
		}
	}
	return 0
}
