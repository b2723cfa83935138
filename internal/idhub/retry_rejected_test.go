package idhub

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// A call the server turned away (rate limited) is retried even when it is
// not idempotent; a failure of the operation it started is not.
func TestRetryRejectedCreate(t *testing.T) {
	tests := []struct {
		name      string
		rpcErr    codes.Code // returned by Create itself on the first call
		opErr     codes.Code // returned inside the operation on the first call
		wantCalls int32
		wantErr   Class
	}{
		{name: "rate limited create retried", rpcErr: codes.ResourceExhausted, wantCalls: 2},
		{name: "unavailable create not retried", rpcErr: codes.Unavailable, wantCalls: 1, wantErr: ClassRetryable},
		{name: "operation failure not retried", opErr: codes.ResourceExhausted, wantCalls: 1, wantErr: ClassRetryable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeAPI{ops: newFakeOps()}
			var calls atomic.Int32
			f.createUser = func(*idp.CreateUserRequest) (*operation.Operation, error) {
				first := calls.Add(1) == 1
				if first && tt.rpcErr != codes.OK {
					return nil, status.Error(tt.rpcErr, "rate limit exceeded")
				}
				if first && tt.opErr != codes.OK {
					return f.ops.add(t, nil, status.Error(tt.opErr, "rate limit exceeded"), 0), nil
				}
				return f.ops.add(t, &idp.User{Id: "u1"}, nil, 0), nil
			}
			c := newFakeClient(t, f, nil)
			_, err := c.CreateUser(context.Background(), &idp.CreateUserRequest{Credentials: &idp.CreateUserRequest_PasswordHash{}})
			if got := Classify(err); got != tt.wantErr {
				t.Errorf("class = %v (err %v), want %v", got, err, tt.wantErr)
			}
			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("calls = %d, want %d", got, tt.wantCalls)
			}
		})
	}
}

// A session whose close failed on a transient error would block every
// agent until it expires, so CloseSession is retried.
func TestCloseSessionRetried(t *testing.T) {
	f := &fakeAPI{ops: newFakeOps()}
	var calls atomic.Int32
	f.closeSession = func(r *idp.CloseSessionRequest) (*operation.Operation, error) {
		if calls.Add(1) == 1 {
			return nil, status.Error(codes.Unavailable, "down")
		}
		return f.ops.add(t, &idp.SynchronizationSession{SessionId: r.GetSessionId(), Status: idp.SessionStatus_COMPLETED}, nil, 0), nil
	}
	c := newFakeClient(t, f, nil)
	s, err := c.CloseSession(context.Background(), "s1", false, "")
	if err != nil || s.GetStatus() != idp.SessionStatus_COMPLETED {
		t.Fatalf("CloseSession = %v, %v", s, err)
	}
	if calls.Load() != 2 {
		t.Errorf("calls = %d, want 2", calls.Load())
	}
}

func TestRejected(t *testing.T) {
	unavailable := status.Error(codes.Unavailable, "down")
	limited := status.Error(codes.ResourceExhausted, "rate limit")
	tests := []struct {
		method string
		err    error
		want   bool
	}{
		{"OpenSession", unavailable, true},
		{"OpenSession", limited, true},
		{"OpenSession", status.Error(codes.DeadlineExceeded, "slow"), false}, // may have opened one
		{"OpenSession", &startedError{err: unavailable}, false},              // the operation was started
		{"CreateUser", limited, true},
		{"CreateUser", unavailable, false},
		{"CreateUser", &startedError{err: limited}, false},
	}
	for _, tt := range tests {
		if got := rejected(tt.method, tt.err); got != tt.want {
			t.Errorf("rejected(%s, %v) = %v, want %v", tt.method, tt.err, got, tt.want)
		}
	}
}
