package agent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/idsync/idsync/internal/pool"
	"github.com/idsync/idsync/internal/state"
	"github.com/idsync/idsync/reporter"
)

// SessionAPI is the synchronization-session API every session loop drives
// (open, heartbeat, report progress, close, store the replication token).
// Sessions and PasswordCloud include it; *idhub.Cloud implements it.
type SessionAPI interface {
	OpenSession(ctx context.Context, agentID string, t pool.SessionType) (*pool.OpenResult, error)
	Heartbeat(ctx context.Context, sessionID string) error
	ReportProgress(ctx context.Context, sessionID string, entries []pool.ProgressEntry) error
	CloseSession(ctx context.Context, sessionID string, failed bool, reason string) error
	SetReplicationToken(ctx context.Context, t pool.SessionType, token string) error
}

// sessionSpec says which session a loop opens and how it keeps it.
type sessionSpec struct {
	API     SessionAPI
	AgentID string
	Type    pool.SessionType
	// Op names the opening in its error ("open session").
	Op string
	// HeartbeatInterval is at most the time between heartbeats; zero
	// means a third of the session's lifetime, or defaultHeartbeat when
	// the session does not say when it expires.
	HeartbeatInterval time.Duration
	// ReportInterval is how often progress is reported (see reporter.New).
	ReportInterval time.Duration
	Log            *zap.Logger
}

// session is one open synchronization session: what OpenSession returned,
// and the counts its progress reports carry.
type session struct {
	spec   sessionSpec
	counts *reporter.Counts
	// Opened is the API's answer: the session, its replication token and
	// the pool's settings.
	Opened *pool.OpenResult
	// lose cancels the work inside the session with its cause.
	lose context.CancelCauseFunc
}

// ID is the session's id.
func (s *session) ID() string { return s.Opened.Session.ID }

// Token is the pool's replication token of this session type, as it was
// when the session opened.
func (s *session) Token() string { return s.Opened.ReplicationToken }

// withSession runs fn inside a session of spec.Type:
//   - it opens the session; a refusal (too early, another agent's session
//     is open) is a *NotNowError and fn does not run;
//   - it keeps the session alive while fn runs, and cancels fn's context
//     when the session is lost: a heartbeat or progress report failed
//     with an error that is not transient (fn's error then wraps
//     errSessionLost);
//   - it closes the session: failed with the reason when fn failed,
//     completed when fn succeeded or partly succeeded (a *PartialError).
//
// It returns fn's error. counts are what the progress reports of
// s.startReports carry; fn records the session's outcomes in them.
func withSession(ctx context.Context, spec sessionSpec, counts *reporter.Counts, fn func(ctx context.Context, s *session) error) error {
	res, err := spec.API.OpenSession(ctx, spec.AgentID, spec.Type)
	if err != nil {
		return fmt.Errorf("%s: %w", spec.Op, err)
	}
	switch res.Status {
	case pool.TooEarly:
		return &NotNowError{Next: res.NextSessionAt}
	case pool.SessionExists:
		return &NotNowError{Held: true}
	}
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	s := &session{spec: spec, counts: counts, Opened: res, lose: cancel}
	var hb sync.WaitGroup
	hb.Go(func() { keepAlive(sctx, s, spec.HeartbeatInterval) })
	err = fn(sctx, s)
	if cause := context.Cause(sctx); err != nil && cause != nil && errors.Is(cause, errSessionLost) {
		err = cause
	}
	cancel(nil)
	hb.Wait()
	s.close(ctx, err)
	return err
}

// defaultHeartbeat is the time between heartbeats when neither the
// configuration nor the session's lifetime gives one.
const defaultHeartbeat = 30 * time.Second

// heartbeatEvery is the time between heartbeats of session: the configured
// interval, but at most a third of the session's lifetime so that two
// missed beats still leave it alive. A session that does not say when it
// expires (no expires_at or created_at, or one not after the other) has
// no known lifetime: the configured interval, else defaultHeartbeat.
func heartbeatEvery(session pool.Session, configured time.Duration) time.Duration {
	var life time.Duration
	if !session.ExpiresAt.IsZero() && !session.CreatedAt.IsZero() {
		life = session.ExpiresAt.Sub(session.CreatedAt)
	}
	switch {
	case life <= 0 && configured > 0:
		return configured
	case life <= 0:
		return defaultHeartbeat
	case configured > 0:
		return min(configured, max(life/3, 100*time.Millisecond))
	default:
		return max(life/3, 100*time.Millisecond)
	}
}

// keepAlive sends heartbeats for s until ctx ends (see heartbeatEvery).
// When a heartbeat fails with an error that is not transient (the session
// expired, was closed, is unknown, or the call is refused for any other
// reason) it cancels the run with errSessionLost; transient failures are
// retried at the next beat.
func keepAlive(ctx context.Context, s *session, configured time.Duration) {
	t := time.NewTicker(heartbeatEvery(s.Opened.Session, configured))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := s.spec.API.Heartbeat(ctx, s.ID())
		if s.lost(ctx, "heartbeat", err) {
			return
		}
		if err != nil && ctx.Err() == nil {
			s.spec.Log.Warn("heartbeat failed; retrying", zap.Error(err))
		}
	}
}

// lost reports whether err, the answer to a call of the session (what
// names it), means the session is lost, and then cancels the work inside
// it with errSessionLost. Only success, a transient failure (the caller
// repeats the call later) and the end of ctx leave the session open.
func (s *session) lost(ctx context.Context, what string, err error) bool {
	if err == nil || ctx.Err() != nil || pool.IsRetryable(err) {
		return false
	}
	s.spec.Log.Error("session lost; stopping", zap.String("call", what), zap.Error(err))
	s.lose(fmt.Errorf("%w: %s: %w", errSessionLost, what, err))
	return true
}

// close closes the session: failed with the reason when err is a failure,
// completed otherwise (a partial success completes: the progress report
// carries the failed counts). It tries even when ctx is cancelled.
func (s *session) close(ctx context.Context, err error) {
	failed := err != nil
	var pe *PartialError
	if errors.As(err, &pe) {
		failed = false
	}
	reason := ""
	if failed {
		reason = pool.TruncateReason(err.Error())
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if cerr := s.spec.API.CloseSession(cctx, s.ID(), failed, reason); cerr != nil {
		s.spec.Log.Warn("closing the session failed; it expires on its own", zap.Error(cerr))
	}
}

// reports sends the session's cumulative progress while changes are
// applied.
type reports struct {
	rep  *reporter.Reporter
	stop context.CancelFunc
	wg   sync.WaitGroup
}

// startReports reports the session's counts every ReportInterval until
// Stop. Callers Stop, then Flush when the changes were applied.
func (s *session) startReports(ctx context.Context) *reports {
	sid := s.ID()
	r := &reports{rep: reporter.New(s.counts, func(ctx context.Context, e []pool.ProgressEntry) error {
		err := s.spec.API.ReportProgress(ctx, sid, e)
		s.lost(ctx, "progress report", err)
		return err
	}, s.spec.ReportInterval, s.spec.Log)}
	rctx, stop := context.WithCancel(ctx)
	r.stop = stop
	r.wg.Go(func() { r.rep.Run(rctx) })
	return r
}

// Stop ends the periodic reports and waits for the one in flight.
func (r *reports) Stop() {
	r.stop()
	r.wg.Wait()
}

// Flush sends the final counts.
func (r *reports) Flush(ctx context.Context) error { return r.rep.Flush(ctx) }

// setToken stores the pool's replication token of this session's type. A
// loop calls it last, after its local state is saved, so that the token is
// never ahead of what was applied and recorded.
func (s *session) setToken(ctx context.Context, token string) error {
	return s.spec.API.SetReplicationToken(ctx, s.spec.Type, token)
}

// finishJob records a run's end, statistics and outcome in job. A run that
// succeeded but counted failed objects is a partial success; the returned
// error says so (a *PartialError), or is err unchanged. code names other
// failures.
func finishJob(job *state.Job, counts *reporter.Counts, err error, end time.Time, code func(error) string) error {
	job.EndTime = state.UnixMilli{Time: end.UTC()}
	job.Result = counts.Result()
	job.Objects, job.ObjectsOmitted = counts.Objects()
	if err == nil && job.Result.Failures() > 0 {
		err = &PartialError{Failed: job.Result.Failures()}
	}
	var pe *PartialError
	switch {
	case err == nil:
		job.Status = state.StatusSuccess
	case errors.As(err, &pe):
		job.Status = state.StatusPartialSuccess
		job.ErrorCode, job.ErrorMessage = errorCode(err), err.Error()
	default:
		job.Status = state.StatusFailed
		job.ErrorCode, job.ErrorMessage = code(err), err.Error()
	}
	return err
}
