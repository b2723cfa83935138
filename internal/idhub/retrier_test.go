package idhub

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func newTestRetrier(attempts int, backoff time.Duration) (*retrier, *observer.ObservedLogs) {
	core, logs := observer.New(zap.DebugLevel)
	return &retrier{opts: RetryOptions{MaxAttempts: attempts, InitialBackoff: backoff, MaxBackoff: backoff}, log: zap.New(core)}, logs
}

// TestRetrierAttempts checks that a call is made at most MaxAttempts
// times, and a non-idempotent one only when the server turned it away.
func TestRetrierAttempts(t *testing.T) {
	tests := []struct {
		name       string
		attempts   int
		code       codes.Code
		idempotent bool
		want       int
	}{
		{"one attempt: no retry", 1, codes.Unavailable, true, 1},
		{"idempotent: every attempt", 3, codes.Unavailable, true, 3},
		{"idempotent, not transient: once", 3, codes.InvalidArgument, true, 1},
		{"create, may have acted: once", 6, codes.Unavailable, false, 1},
		{"create, rate limited: every attempt", 6, codes.ResourceExhausted, false, 6},
		{"create, rate limited, one attempt: once", 1, codes.ResourceExhausted, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r, _ := newTestRetrier(tt.attempts, time.Second)
				calls := 0
				err := r.run(t.Context(), "CreateUser", tt.idempotent, func(context.Context) error {
					calls++
					return status.Error(tt.code, "injected")
				})
				if status.Code(err) != tt.code {
					t.Errorf("err = %v, want code %v", err, tt.code)
				}
				if calls != tt.want {
					t.Errorf("calls = %d, want %d", calls, tt.want)
				}
			})
		})
	}
}

// TestRetrierWaitEndsOnCancel checks that a backoff wait ends when the
// context is cancelled, with no further attempt, and that the error says
// so.
func TestRetrierWaitEndsOnCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		r, _ := newTestRetrier(5, time.Hour)
		calls := 0
		start := time.Now()
		go func() {
			time.Sleep(time.Minute) // well inside the first wait of 30 to 60 minutes
			cancel()
		}()
		err := r.run(ctx, "GetUser", true, func(context.Context) error {
			calls++
			return status.Error(codes.Unavailable, "down")
		})
		if waited := time.Since(start); waited != time.Minute {
			t.Errorf("run returned after %v, want at the cancellation (1m)", waited)
		}
		if calls != 1 {
			t.Errorf("calls = %d, want 1", calls)
		}
		if !errors.Is(err, context.Canceled) || Classify(err) != ClassCanceled {
			t.Errorf("err = %v (class %v), want context.Canceled", err, Classify(err))
		}
		if err == nil || !strings.Contains(err.Error(), "down") {
			t.Errorf("err = %v, want the last failure attached", err)
		}
	})
}

// TestRetrierNoRetryAfterCancel checks that nothing is retried, or logged
// as retried, once the context is done.
func TestRetrierNoRetryAfterCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		r, logs := newTestRetrier(5, time.Millisecond)
		calls := 0
		err := r.run(ctx, "GetUser", true, func(context.Context) error {
			calls++
			cancel()
			return status.Error(codes.Unavailable, "down")
		})
		if err == nil || calls != 1 {
			t.Errorf("err = %v, calls = %d; want an error after 1 call", err, calls)
		}
		if n := logs.FilterMessage("retrying call").Len(); n != 0 {
			t.Errorf("%d retries logged after cancellation", n)
		}
	})
}
