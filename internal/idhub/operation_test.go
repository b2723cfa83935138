package idhub

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	om "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"
)

func TestWaitOperation(t *testing.T) {
	f := &fakeAPI{ops: newFakeOps()}
	c := newFakeClient(t, f, nil)
	ctx := context.Background()
	want := &idp.User{Id: "u1", Username: "a@b.c"}

	tests := []struct {
		name     string
		resp     *idp.User
		err      error
		pending  int
		wantCode codes.Code
		wantGets int
	}{
		{name: "done at once", resp: want, wantGets: 0},
		{name: "delayed", resp: want, pending: 3, wantGets: 4},
		{name: "error in operation", err: status.Error(codes.AlreadyExists, "username taken"), wantCode: codes.AlreadyExists},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.ops.gets()
			op := f.ops.add(t, tt.resp, tt.err, tt.pending)
			got := &idp.User{}
			err := c.WaitOperation(ctx, op, got)
			if tt.wantCode != codes.OK {
				if status.Code(err) != tt.wantCode {
					t.Fatalf("err = %v, want code %v", err, tt.wantCode)
				}
				if !IsConflict(err) {
					t.Errorf("class %v, want conflict", Classify(err))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
			if gets := f.ops.gets() - before; gets != tt.wantGets {
				t.Errorf("polls = %d, want %d", gets, tt.wantGets)
			}
		})
	}
}

func TestWaitOperationWrongResponseType(t *testing.T) {
	f := &fakeAPI{ops: newFakeOps()}
	c := newFakeClient(t, f, nil)
	op := f.ops.add(t, &idp.Userpool{Id: "p"}, nil, 0)
	if err := c.WaitOperation(context.Background(), op, &idp.User{}); err == nil {
		t.Fatal("want an error unmarshalling a Userpool into a User")
	}
}

func TestWaitOperationRespectsContext(t *testing.T) {
	f := &fakeAPI{ops: newFakeOps()}
	c := newFakeClient(t, f, nil)
	op := f.ops.add(t, nil, nil, 1_000_000)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := c.WaitOperation(ctx, op, nil)
	if Classify(err) != ClassCanceled {
		t.Fatalf("err = %v (class %v), want canceled", err, Classify(err))
	}
}

// TestOperationErrorsLikeCallErrors runs an idempotent call that starts an
// operation (UpdateMembers) whose operation is done with error set: the
// error is classified as the same status would be as a call error,
// retried only when retryable (never a quota), and counted as a failure.
func TestOperationErrorsLikeCallErrors(t *testing.T) {
	quota, err := status.New(codes.ResourceExhausted, "exhausted").WithDetails(
		&errdetails.QuotaFailure{Violations: []*errdetails.QuotaFailure_Violation{{Subject: "organization-manager.groupMembers.count"}}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		opErr     *spb.Status
		wantClass Class
		wantCalls int
	}{
		{"unavailable is retried", status.New(codes.Unavailable, "x").Proto(), ClassRetryable, DefaultMaxAttempts},
		{"quota by detail is not retried", quota.Proto(), ClassQuota, 1},
		{"quota by message is not retried", status.New(codes.ResourceExhausted, "Quota limit exceeded").Proto(), ClassQuota, 1},
		{"rate limit is retried", status.New(codes.ResourceExhausted, "too many requests").Proto(), ClassRetryable, DefaultMaxAttempts},
		{"failed precondition", status.New(codes.FailedPrecondition, "x").Proto(), ClassConflict, 1},
		{"permission", status.New(codes.PermissionDenied, "x").Proto(), ClassPermission, 1},
		{"error without a code", &spb.Status{Message: "broken"}, ClassRetryable, DefaultMaxAttempts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeAPI{ops: newFakeOps()}
			var calls int
			f.updateMembers = func(*om.UpdateGroupMembersRequest) (*operation.Operation, error) {
				calls++
				op := f.ops.add(t, nil, status.Error(codes.Unknown, "replaced"), 0)
				op.Result = &operation.Operation_Error{Error: tt.opErr}
				return op, nil
			}
			c := newFakeClient(t, f, nil)
			_, err := c.UpdateGroupMembers(context.Background(), "g1",
				[]*om.MemberDelta{{Action: om.MemberDelta_ADD, SubjectId: "u1"}})
			if got := Classify(err); got != tt.wantClass {
				t.Errorf("class %v (%v), want %v", got, err, tt.wantClass)
			}
			if calls != tt.wantCalls {
				t.Errorf("calls %d, want %d", calls, tt.wantCalls)
			}
			var failed int64
			for _, n := range c.Stats().Errors {
				failed += n
			}
			if failed != int64(tt.wantCalls) {
				t.Errorf("failures counted %d, want %d", failed, tt.wantCalls)
			}
		})
	}
}
