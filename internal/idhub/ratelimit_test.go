package idhub_test

import (
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/idhub"
)

// TestCallsPerSecondStaysUnderTheServerLimit fires calls from several
// goroutines at an emulator limited to 100 calls/s. With the client capped
// at the same rate the server rejects none; without the cap it rejects some
// (so the test can tell the two apart).
func TestCallsPerSecondStaysUnderTheServerLimit(t *testing.T) {
	for _, capped := range []bool{true, false} {
		v := startConf(t, func(o *emulator.Options) { o.RPS = 100; o.Now = time.Now }, func(o *idhub.Options) {
			o.Retry.MaxAttempts = 1 // let rejections surface
			if capped {
				o.CallsPerSecond = 100
			}
		})
		var wg sync.WaitGroup
		for range 6 {
			wg.Go(func() {
				for range 40 {
					_, _ = v.c.GetUserpool(v.ctx)
				}
			})
		}
		wg.Wait()
		rejected := v.emu.Stats().Errors[codes.ResourceExhausted]
		switch {
		case capped && rejected != 0:
			t.Errorf("capped at the server's rate: %d calls rejected, want none", rejected)
		case !capped && rejected == 0:
			t.Errorf("uncapped burst of 240 calls: none rejected; the test cannot tell capped from uncapped")
		}
	}
}
