package idhub_test

import (
	"fmt"
	"testing"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/idhub"
)

// A done operation whose error is set (the emulator's --op-error-rate) is
// classified, retried and counted like a failed call.
func TestConformanceOperationErrors(t *testing.T) {
	t.Run("always failing", func(t *testing.T) {
		v := startConf(t, func(o *emulator.Options) { o.OpErrorRate = 1 }, nil)
		err := v.c.SetReplicationToken(v.ctx, idp.SessionType_AD_SYNC, "never-stored")
		wantClass(t, "SetReplicationToken", err, idhub.ClassRetryable)
		if c := status.Code(err); c != codes.Unavailable && c != codes.Internal {
			t.Errorf("code %v (%v), want the operation's UNAVAILABLE or INTERNAL", c, err)
		}
		method := "/" + idp.SynchronizationService_ServiceDesc.ServiceName + "/SetReplicationToken"
		if n := v.emu.Stats().Calls[method]; n != idhub.DefaultMaxAttempts {
			t.Errorf("attempts = %d, want %d", n, idhub.DefaultMaxAttempts)
		}
		var failed int64
		for k, n := range v.c.Stats().Errors {
			if k.Method == "SynchronizationService/SetReplicationToken" {
				failed += n
			}
		}
		if failed != idhub.DefaultMaxAttempts {
			t.Errorf("failed operations counted = %d, want %d", failed, idhub.DefaultMaxAttempts)
		}
		if tok := v.emu.Dump().ReplicationTokens; len(tok) != 0 {
			t.Errorf("a failed operation stored tokens %v", tok)
		}
	})
	t.Run("30% operation failures with retries", func(t *testing.T) {
		v := startConf(t, func(o *emulator.Options) { o.OpErrorRate = 0.3 }, func(o *idhub.Options) { o.Retry.MaxAttempts = 12 })
		c, ctx := v.c, v.ctx
		for i := range 40 {
			if err := c.SetReplicationToken(ctx, idp.SessionType_AD_SYNC, fmt.Sprint(i)); err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
		}
		got, err := c.GetReplicationToken(ctx, idp.SessionType_AD_SYNC)
		if err != nil || got != "39" {
			t.Errorf("token %q (%v), want 39", got, err)
		}
		var failures int64
		for _, n := range c.Stats().Errors {
			failures += n
		}
		if failures == 0 {
			t.Error("no operation failed")
		}
	})
}
