package agent

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/robfig/cron/v3"
	"go.uber.org/zap"
)

// DefaultStopTimeout is how long a stopping Scheduler waits for the
// running job to end on its own before it cancels it.
const DefaultStopTimeout = 20 * time.Second

// ScheduleOptions configure a Scheduler. Schedule is required.
type ScheduleOptions struct {
	// Schedule says when jobs run after the first, which runs at once.
	Schedule cron.Schedule
	// StopTimeout bounds how long Run waits, once its context ends, for
	// the running job to end on its own; then the job's context is
	// cancelled (a cycle then closes its session as failed) and Run
	// waits for it to return. Zero means DefaultStopTimeout.
	StopTimeout time.Duration
	// Clock is the scheduler's time; nil means the real clock.
	Clock  clockwork.Clock
	Logger *zap.Logger
}

// Scheduler runs a job at start and then on a cron schedule, every run
// through one guard: a run that comes due while the previous one is still
// running is skipped (robfig/cron's SkipIfStillRunning), so runs never
// overlap.
type Scheduler struct {
	opts ScheduleOptions
	job  func(ctx context.Context)
	log  *zap.Logger
}

// NewScheduler returns a Scheduler that runs job.
func NewScheduler(opts ScheduleOptions, job func(ctx context.Context)) (*Scheduler, error) {
	if opts.Schedule == nil || job == nil {
		return nil, errors.New("scheduler: a schedule and a job are required")
	}
	if opts.StopTimeout <= 0 {
		opts.StopTimeout = DefaultStopTimeout
	}
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	s := &Scheduler{opts: opts, job: job, log: opts.Logger}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	return s, nil
}

// Run runs the job at once and then on the schedule until ctx ends; then
// it stops starting runs, waits for the running one (see StopTimeout) and
// returns nil. Runs get a context of their own, not ctx, so that stopping
// lets the running one finish. When a run panics, no other run starts and
// Run returns a *PanicError once the panicking run has ended.
func (s *Scheduler) Run(ctx context.Context) error {
	jobCtx, cancelJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelJobs()
	panicked := make(chan error, 1)
	guarded := cron.NewChain(cron.SkipIfStillRunning(cronLogger{s.log})).Then(cron.FuncJob(func() {
		if err := CatchPanic(func() { s.job(jobCtx) }); err != nil {
			s.log.Error("a scheduled run panicked; stopping", zap.Error(err), zap.ByteString("stack", err.(*PanicError).Stack))
			panicked <- err // one at most: no run starts after a panic
		}
	}))
	var running sync.WaitGroup
	running.Go(guarded.Run) // the first run, at once
	var failed error
	for {
		var (
			timer clockwork.Timer
			due   <-chan time.Time
		)
		now := s.opts.Clock.Now()
		if next := s.opts.Schedule.Next(now); !next.IsZero() {
			timer = s.opts.Clock.NewTimer(next.Sub(now))
			due = timer.Chan()
		}
		select {
		case <-due:
			running.Go(guarded.Run)
			continue
		case failed = <-panicked:
		case <-ctx.Done():
		}
		if timer != nil {
			timer.Stop()
		}
		break
	}
	done := make(chan struct{})
	go func() { running.Wait(); close(done) }()
	t := s.opts.Clock.NewTimer(s.opts.StopTimeout)
	defer t.Stop()
	s.log.Info("stopping: waiting for the running cycle to end", zap.Duration("timeout", s.opts.StopTimeout))
	select {
	case <-done:
	case <-t.Chan():
		s.log.Warn("the running cycle did not end in time; cancelling it", zap.Duration("timeout", s.opts.StopTimeout))
		cancelJobs()
		<-done
	}
	if failed == nil {
		select {
		case failed = <-panicked:
		default:
		}
	}
	return failed
}

// PanicError is a panic recovered in a goroutine of the agent: the daemon
// stops and exits with a failure, which a service manager restarts.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// CatchPanic runs fn and returns a *PanicError when it panics.
func CatchPanic(fn func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	fn()
	return nil
}

// cronLogger sends robfig/cron's messages to zap.
type cronLogger struct{ log *zap.Logger }

func (l cronLogger) Info(msg string, kv ...any) { l.log.Sugar().Debugw("cron: "+msg, kv...) }
func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Sugar().Errorw("cron: "+msg, append(kv, "error", err)...)
}
