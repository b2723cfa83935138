package agent

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/idhub"
	"github.com/idsync/idsync/internal/pool"
	"github.com/idsync/idsync/reporter"
)

// sessionRecorder is a session API that answers OpenSession with open and
// records the calls after it.
type sessionRecorder struct {
	open      *pool.OpenResult
	heartbeat error
	report    error // the answer to ReportProgress

	mu       sync.Mutex
	closed   []string // "failed:reason" or "completed"
	tokens   map[pool.SessionType]string
	progress int
	beats    int
}

func (r *sessionRecorder) OpenSession(context.Context, string, pool.SessionType) (*pool.OpenResult, error) {
	return r.open, nil
}

func (r *sessionRecorder) Heartbeat(context.Context, string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.beats++
	return r.heartbeat
}

func (r *sessionRecorder) heartbeats() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.beats
}

func (r *sessionRecorder) ReportProgress(context.Context, string, []pool.ProgressEntry) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.progress++
	return r.report
}

func (r *sessionRecorder) CloseSession(_ context.Context, _ string, failed bool, reason string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if failed {
		r.closed = append(r.closed, "failed:"+reason)
	} else {
		r.closed = append(r.closed, "completed")
	}
	return nil
}

func (r *sessionRecorder) SetReplicationToken(_ context.Context, t pool.SessionType, token string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tokens == nil {
		r.tokens = map[pool.SessionType]string{}
	}
	r.tokens[t] = token
	return nil
}

func openedSession(token string) *pool.OpenResult {
	now := time.Now()
	return &pool.OpenResult{Status: pool.Opened, ReplicationToken: token,
		Session: pool.Session{ID: "s1", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}}
}

// statusErr is a gRPC failure as the pool adapter (idhub.Cloud) returns it:
// with the class idhub gives its code.
func statusErr(c codes.Code, msg string) error { return idhub.Classified(status.Error(c, msg)) }

func testSpec(api SessionAPI) sessionSpec {
	return sessionSpec{API: api, AgentID: "agent", Type: pool.SessionADUserControl, Op: "open session", Log: zap.NewNop()}
}

func TestWithSessionRefusalsAreNotNow(t *testing.T) {
	next := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	for name, tc := range map[string]struct {
		open *pool.OpenResult
		held bool
	}{
		"too early": {open: &pool.OpenResult{Status: pool.TooEarly, NextSessionAt: next}},
		"held":      {open: &pool.OpenResult{Status: pool.SessionExists}, held: true},
	} {
		t.Run(name, func(t *testing.T) {
			api := &sessionRecorder{open: tc.open}
			ran := false
			err := withSession(t.Context(), testSpec(api), &reporter.Counts{}, func(context.Context, *session) error {
				ran = true
				return nil
			})
			var nn *NotNowError
			if !errors.As(err, &nn) {
				t.Fatalf("err = %v, want a *NotNowError", err)
			}
			if nn.Held != tc.held || (!tc.held && !nn.Next.Equal(next)) {
				t.Errorf("NotNowError = %+v", nn)
			}
			if ran || len(api.closed) > 0 {
				t.Errorf("ran = %v, closed = %v; want neither", ran, api.closed)
			}
		})
	}
}

func TestWithSessionClosesWithTheOutcome(t *testing.T) {
	for name, tc := range map[string]struct {
		err  error
		want string
	}{
		"success": {want: "completed"},
		"partial": {err: &PartialError{Failed: 2}, want: "completed"},
		"failure": {err: errors.New("boom"), want: "failed:boom"},
	} {
		t.Run(name, func(t *testing.T) {
			api := &sessionRecorder{open: openedSession("tok")}
			err := withSession(t.Context(), testSpec(api), &reporter.Counts{}, func(ctx context.Context, s *session) error {
				if s.ID() != "s1" || s.Token() != "tok" {
					t.Errorf("session %q token %q", s.ID(), s.Token())
				}
				if err := s.setToken(ctx, "next"); err != nil {
					t.Fatal(err)
				}
				return tc.err
			})
			if !errors.Is(err, tc.err) {
				t.Errorf("err = %v, want %v", err, tc.err)
			}
			if len(api.closed) != 1 || api.closed[0] != tc.want {
				t.Errorf("closed = %v, want [%s]", api.closed, tc.want)
			}
			if got := api.tokens[pool.SessionADUserControl]; got != "next" {
				t.Errorf("token of the session's type = %q, want next (all: %v)", got, api.tokens)
			}
		})
	}
}

func TestWithSessionLostCancelsTheWork(t *testing.T) {
	api := &sessionRecorder{open: openedSession(""), heartbeat: statusErr(codes.NotFound, "no such session")}
	spec := testSpec(api)
	spec.HeartbeatInterval = time.Millisecond
	err := withSession(t.Context(), spec, &reporter.Counts{}, func(ctx context.Context, _ *session) error {
		<-ctx.Done() // only the lost session ends this
		return ctx.Err()
	})
	if !errors.Is(err, errSessionLost) {
		t.Fatalf("err = %v, want errSessionLost", err)
	}
	if len(api.closed) != 1 || api.closed[0][:len("failed:")] != "failed:" {
		t.Errorf("closed = %v, want one failed close", api.closed)
	}
}

func TestSessionReportsAreFlushed(t *testing.T) {
	api := &sessionRecorder{open: openedSession("")}
	counts := &reporter.Counts{}
	err := withSession(t.Context(), testSpec(api), counts, func(ctx context.Context, s *session) error {
		reps := s.startReports(ctx)
		counts.Add(directory.KindUser, reporter.Create, reporter.Success, 1)
		reps.Stop()
		return reps.Flush(ctx)
	})
	if err != nil {
		t.Fatal(err)
	}
	if api.progress == 0 {
		t.Error("no progress was reported")
	}
}

// TestWithSessionLostOnAnyPermanentError: a heartbeat or progress report
// that fails with anything but a transient error loses the session, not
// only FAILED_PRECONDITION and NOT_FOUND: the work is cancelled and the
// session closed as failed.
func TestWithSessionLostOnAnyPermanentError(t *testing.T) {
	quota := status.New(codes.ResourceExhausted, "quota exceeded")
	for _, call := range []string{"heartbeat", "progress report"} {
		for _, err := range []error{
			statusErr(codes.PermissionDenied, "denied"), statusErr(codes.InvalidArgument, "bad session id"),
			statusErr(codes.Unimplemented, "no"), statusErr(codes.OutOfRange, "x"), idhub.Classified(quota.Err()),
			errors.New("not a status"),
		} {
			t.Run(call+"/"+err.Error(), func(t *testing.T) {
				api := &sessionRecorder{open: openedSession("")}
				spec := testSpec(api)
				if call == "heartbeat" {
					api.heartbeat, spec.HeartbeatInterval = err, time.Millisecond
				} else {
					api.report, spec.ReportInterval = err, time.Millisecond
				}
				counts := &reporter.Counts{}
				got := withSession(t.Context(), spec, counts, func(ctx context.Context, s *session) error {
					reps := s.startReports(ctx)
					defer reps.Stop()
					counts.Add(directory.KindUser, reporter.Create, reporter.Success, 1)
					<-ctx.Done() // only the lost session ends this
					return ctx.Err()
				})
				if !errors.Is(got, errSessionLost) || !errors.Is(got, err) || !strings.Contains(got.Error(), call) {
					t.Fatalf("err = %v, want errSessionLost from the %s's %v", got, call, err)
				}
				if len(api.closed) != 1 || !strings.HasPrefix(api.closed[0], "failed:") {
					t.Errorf("closed = %v, want one failed close", api.closed)
				}
			})
		}
	}
}

// TestWithSessionKeepsGoingOnTransientHeartbeatErrors: transient heartbeat
// failures are retried at the next beat; the work goes on.
func TestWithSessionKeepsGoingOnTransientHeartbeatErrors(t *testing.T) {
	for _, c := range []codes.Code{codes.Unavailable, codes.Internal, codes.DeadlineExceeded, codes.ResourceExhausted} {
		t.Run(c.String(), func(t *testing.T) {
			api := &sessionRecorder{open: openedSession(""), heartbeat: statusErr(c, "try later")}
			spec := testSpec(api)
			spec.HeartbeatInterval = time.Millisecond
			err := withSession(t.Context(), spec, &reporter.Counts{}, func(ctx context.Context, _ *session) error {
				for api.heartbeats() < 5 {
					select {
					case <-ctx.Done():
						return ctx.Err()
					case <-time.After(time.Millisecond):
					}
				}
				return nil
			})
			if err != nil {
				t.Fatalf("err = %v after transient heartbeat failures, want nil", err)
			}
			if len(api.closed) != 1 || api.closed[0] != "completed" {
				t.Errorf("closed = %v, want [completed]", api.closed)
			}
		})
	}
}

// TestHeartbeatEvery: a third of the session's lifetime, at most the
// configured interval; a session that does not say when it expires beats
// at the configured interval or the default, never in a tight loop.
func TestHeartbeatEvery(t *testing.T) {
	now := time.Now()
	sess := func(created, expires time.Time) pool.Session {
		return pool.Session{CreatedAt: created, ExpiresAt: expires}
	}
	for name, tc := range map[string]struct {
		s          pool.Session
		configured time.Duration
		want       time.Duration
	}{
		"lifetime":                        {s: sess(now, now.Add(3*time.Minute)), want: time.Minute},
		"lifetime, configured shorter":    {s: sess(now, now.Add(3*time.Minute)), configured: 10 * time.Second, want: 10 * time.Second},
		"lifetime, configured longer":     {s: sess(now, now.Add(3*time.Minute)), configured: time.Hour, want: time.Minute},
		"tiny lifetime":                   {s: sess(now, now.Add(time.Millisecond)), want: 100 * time.Millisecond},
		"no expires_at":                   {s: sess(now, time.Time{}), want: defaultHeartbeat},
		"no expires_at, configured":       {s: sess(now, time.Time{}), configured: 45 * time.Second, want: 45 * time.Second},
		"no created_at":                   {s: sess(time.Time{}, now.Add(time.Minute)), want: defaultHeartbeat},
		"expires_at before created_at":    {s: sess(now, now.Add(-time.Minute)), want: defaultHeartbeat},
		"no session times, configured 1s": {s: pool.Session{}, configured: time.Second, want: time.Second},
	} {
		if got := heartbeatEvery(tc.s, tc.configured); got != tc.want {
			t.Errorf("%s: heartbeatEvery = %v, want %v", name, got, tc.want)
		}
	}
}
