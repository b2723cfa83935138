package agent

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/robfig/cron/v3"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// schedTest runs a Scheduler on a fake clock, every minute, with job.
type schedTest struct {
	t     *testing.T
	clock *clockwork.FakeClock
	logs  *observer.ObservedLogs
	done  chan error
}

const schedStopTimeout = 20 * time.Second

func startScheduler(t *testing.T, ctx context.Context, job func(context.Context)) *schedTest {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	st := &schedTest{t: t, clock: clockwork.NewFakeClockAt(time.Date(2026, 1, 1, 0, 0, 30, 0, time.UTC)), logs: logs, done: make(chan error, 1)}
	s, err := NewScheduler(ScheduleOptions{
		Schedule: cron.Every(time.Minute), StopTimeout: schedStopTimeout, Clock: st.clock, Logger: zap.New(core),
	}, job)
	if err != nil {
		t.Fatal(err)
	}
	go func() { st.done <- s.Run(ctx) }()
	return st
}

// waitLog waits until msg has been logged n times.
func (st *schedTest) waitLog(msg string, n int) {
	st.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for st.logs.FilterMessage(msg).Len() < n {
		if time.Now().After(deadline) {
			st.t.Fatalf("%q was not logged %d times; logged: %v", msg, n, st.logs.All())
		}
		time.Sleep(time.Millisecond)
	}
}

// waitTimer waits until the scheduler waits on a timer.
func (st *schedTest) waitTimer() {
	st.t.Helper()
	ctx, cancel := context.WithTimeout(st.t.Context(), 10*time.Second)
	defer cancel()
	if err := st.clock.BlockUntilContext(ctx, 1); err != nil {
		st.t.Fatalf("the scheduler set no timer: %v", err)
	}
}

func (st *schedTest) result() error {
	st.t.Helper()
	select {
	case err := <-st.done:
		return err
	case <-time.After(10 * time.Second):
		st.t.Fatal("Run did not return")
		return nil
	}
}

func (st *schedTest) returned() bool {
	select {
	case err := <-st.done:
		st.done <- err
		return true
	default:
		return false
	}
}

// A slow first run is still running when the first scheduled one comes
// due: that one is skipped, not run beside it; the next one runs.
func TestSchedulerFirstRunIsGuarded(t *testing.T) {
	var running, maxRunning, runs atomic.Int32
	release := make(chan struct{})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	st := startScheduler(t, ctx, func(context.Context) {
		n := running.Add(1)
		defer running.Add(-1)
		if n > maxRunning.Load() {
			maxRunning.Store(n)
		}
		if runs.Add(1) == 1 {
			<-release
		}
	})
	st.waitTimer()
	st.clock.Advance(time.Minute) // the first scheduled run comes due
	st.waitLog("cron: skip", 1)
	if got := runs.Load(); got != 1 {
		t.Fatalf("runs while the first is running: %d, want 1", got)
	}
	close(release)
	for running.Load() != 0 {
		time.Sleep(time.Millisecond)
	}
	st.waitTimer()
	st.clock.Advance(time.Minute)
	for runs.Load() != 2 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := st.result(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := maxRunning.Load(); got != 1 {
		t.Errorf("at most %d runs at once, want 1", got)
	}
	if got := st.logs.FilterMessage("cron: skip").Len(); got != 1 {
		t.Errorf("%d runs skipped, want 1", got)
	}
}

// Stopping waits for the running run, which ends on its own with its
// context intact.
func TestSchedulerStopWaits(t *testing.T) {
	release, ended := make(chan struct{}), make(chan error, 1)
	ctx, cancel := context.WithCancel(t.Context())
	st := startScheduler(t, ctx, func(ctx context.Context) {
		<-release
		ended <- ctx.Err()
	})
	st.waitTimer()
	cancel()
	st.waitLog("stopping: waiting for the running cycle to end", 1)
	if st.returned() {
		t.Fatal("Run returned while a run was still running")
	}
	close(release)
	if err := st.result(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := <-ended; err != nil {
		t.Errorf("the run's context ended: %v", err)
	}
}

// A run that does not end within the stop timeout has its context
// cancelled, and Run returns once it has ended.
func TestSchedulerStopTimeoutCancels(t *testing.T) {
	ended := make(chan error, 1)
	ctx, cancel := context.WithCancel(t.Context())
	st := startScheduler(t, ctx, func(ctx context.Context) {
		<-ctx.Done()
		ended <- ctx.Err()
	})
	st.waitTimer()
	cancel()
	st.waitLog("stopping: waiting for the running cycle to end", 1)
	if st.returned() {
		t.Fatal("Run returned before the stop timeout")
	}
	st.clock.Advance(schedStopTimeout)
	if err := st.result(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := <-ended; !errors.Is(err, context.Canceled) {
		t.Errorf("the run's context: %v, want cancelled", err)
	}
}

// A panicking run stops the scheduler with a *PanicError.
func TestSchedulerPanicStops(t *testing.T) {
	var runs atomic.Int32
	st := startScheduler(t, t.Context(), func(context.Context) {
		runs.Add(1)
		panic("boom")
	})
	err := st.result()
	var pe *PanicError
	if !errors.As(err, &pe) || pe.Value != "boom" || len(pe.Stack) == 0 {
		t.Fatalf("Run: %v, want a *PanicError with the value and a stack", err)
	}
	if got := runs.Load(); got != 1 {
		t.Errorf("%d runs, want 1", got)
	}
}
