package agent

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/emulator"
)

// stuckDir is a directory whose read hangs until its context ends.
type stuckDir struct{ reading chan struct{} }

func (d stuckDir) Snapshot(ctx context.Context) (*directory.Snapshot, error) {
	close(d.reading)
	<-ctx.Done()
	return nil, ctx.Err()
}

func (d stuckDir) Delta(ctx context.Context, _ directory.Previous) (*directory.Delta, error) {
	_, err := d.Snapshot(ctx)
	return nil, err
}

// A cycle still running when the stop timeout ends is cancelled, and its
// session is closed as failed rather than left open.
func TestSchedulerStopClosesTheSessionAsFailed(t *testing.T) {
	dir := stuckDir{reading: make(chan struct{})}
	r := newRig(t, emulator.Options{NoMinInterval: true}, func(o *Options) {
		o.NewSource = func(SyncSettings) (Source, error) { return dir, nil }
	})
	ctx, cancel := context.WithCancel(t.Context())
	st := startScheduler(t, ctx, func(ctx context.Context) { _, _ = r.agent.RunCycle(ctx, CycleOptions{Trigger: TriggerAuto}) })
	select {
	case <-dir.reading:
	case <-time.After(10 * time.Second):
		t.Fatal("the cycle did not start reading")
	}
	cancel()
	st.waitLog("stopping: waiting for the running cycle to end", 1)
	if s := r.emu.Dump().Sessions; len(s) != 1 || s[0].Status != "OPENED" {
		t.Fatalf("sessions while the cycle runs: %+v, want one OPENED", s)
	}
	st.clock.Advance(schedStopTimeout)
	if err := st.result(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	s := r.emu.Dump().Sessions
	if len(s) != 1 || s[0].Status != "FAILED" || !strings.Contains(s[0].FailReason, "canceled") {
		t.Fatalf("sessions after the stop: %+v, want one FAILED (canceled)", s)
	}
}
