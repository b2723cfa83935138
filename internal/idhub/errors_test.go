package idhub

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"
)

func TestClassify(t *testing.T) {
	quotaDetail, err := status.New(codes.ResourceExhausted, "too many").
		WithDetails(&errdetails.QuotaFailure{Violations: []*errdetails.QuotaFailure_Violation{{Subject: "groups"}}})
	if err != nil {
		t.Fatal(err)
	}
	withDetails := func(msg string, details ...protoadapt.MessageV1) error {
		st, err := status.New(codes.ResourceExhausted, msg).WithDetails(details...)
		if err != nil {
			t.Fatal(err)
		}
		return st.Err()
	}
	quotaFailure := &errdetails.QuotaFailure{Violations: []*errdetails.QuotaFailure_Violation{{Subject: "organization-manager.groups.count"}}}
	retryInfo := &errdetails.RetryInfo{RetryDelay: durationpb.New(time.Second)}
	tests := []struct {
		name string
		err  error
		want Class
	}{
		{"quota by detail, message silent", withDetails("resource exhausted", quotaFailure), ClassQuota},
		{"quota by detail beside retry info", withDetails("slow down", retryInfo, quotaFailure), ClassQuota},
		{"retry info overrides a message naming a quota", withDetails("request quota per second exceeded", retryInfo), ClassRetryable},
		{"quota by message, unrelated detail", withDetails("Quota limit exceeded", &errdetails.ErrorInfo{Reason: "X"}), ClassQuota},
		{"quota inside a failed operation", fmt.Errorf("idhub: CreateUser: %w",
			status.ErrorProto(status.Convert(withDetails("exhausted", quotaFailure)).Proto())), ClassQuota},
		{"nil", nil, ClassNone},
		{"unavailable", status.Error(codes.Unavailable, "x"), ClassRetryable},
		{"deadline of the call", status.Error(codes.DeadlineExceeded, "x"), ClassRetryable},
		{"aborted", status.Error(codes.Aborted, "x"), ClassRetryable},
		{"internal", status.Error(codes.Internal, "x"), ClassRetryable},
		{"rate limited", status.Error(codes.ResourceExhausted, "rate limit exceeded"), ClassRetryable},
		{"quota by message", status.Error(codes.ResourceExhausted, "Quota limit groups.count exceeded"), ClassQuota},
		{"quota by detail", quotaDetail.Err(), ClassQuota},
		{"already exists", status.Error(codes.AlreadyExists, "x"), ClassConflict},
		{"failed precondition", status.Error(codes.FailedPrecondition, "x"), ClassConflict},
		{"invalid", status.Error(codes.InvalidArgument, "x"), ClassInvalid},
		{"out of range", status.Error(codes.OutOfRange, "x"), ClassInvalid},
		{"permission", status.Error(codes.PermissionDenied, "x"), ClassPermission},
		{"unauthenticated", status.Error(codes.Unauthenticated, "x"), ClassPermission},
		{"not found", status.Error(codes.NotFound, "x"), ClassNotFound},
		{"unimplemented", status.Error(codes.Unimplemented, "x"), ClassPermanent},
		{"canceled status", status.Error(codes.Canceled, "x"), ClassCanceled},
		{"context canceled", fmt.Errorf("idhub: X: %w", context.Canceled), ClassCanceled},
		{"context deadline", context.DeadlineExceeded, ClassCanceled},
		{"plain error", errors.New("boom"), ClassPermanent},
		{"wrapped", fmt.Errorf("idhub: CreateUser: %w", status.Error(codes.AlreadyExists, "x")), ClassConflict},
		{"token error", &tokenError{source: "s", err: errors.New("bad key")}, ClassPermission},
		{"token error, iam unavailable", &tokenError{source: "s", err: status.Error(codes.Unavailable, "x")}, ClassRetryable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.err); got != tt.want {
				t.Errorf("Classify = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWrappedErrorKeepsStatus(t *testing.T) {
	err := fmt.Errorf("idhub: CreateUser: %w", status.Error(codes.AlreadyExists, "user exists"))
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.AlreadyExists {
		t.Fatalf("status.FromError = %v, %v", st, ok)
	}
	if got := Code(err); got != codes.AlreadyExists {
		t.Errorf("Code = %v", got)
	}
	var gs interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &gs) {
		t.Error("errors.As cannot find the status")
	}
	if got, want := err.Error(), "idhub: CreateUser: rpc error: code = AlreadyExists desc = user exists"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestClassString(t *testing.T) {
	if ClassQuota.String() != "quota" || Class(99).String() != "unknown" {
		t.Errorf("names: %v %v", ClassQuota, Class(99))
	}
}
