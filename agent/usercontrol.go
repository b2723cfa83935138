package agent

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/pool"
	"github.com/idsync/idsync/internal/state"
	"github.com/idsync/idsync/reporter"
)

// JobTypeUserControl is the Type of the job records of user-control
// sessions.
const JobTypeUserControl = "user_control"

// AccountReader reads account state from the directory.
// *ldapsource.Source implements it.
type AccountReader interface {
	// AccountChanges returns the state of the in-scope accounts that
	// changed since from (of all of them, Full, when from cannot be
	// continued) and the next watermark.
	AccountChanges(ctx context.Context, from directory.Watermark) (*directory.AccountChanges, error)
	// AccountStates reads the current state of the given accounts.
	AccountStates(ctx context.Context, ids []string) ([]directory.AccountState, error)
	Close() error
}

// UserControlCloud is what a user-control session needs from Identity Hub.
// *idhub.Cloud implements it.
type UserControlCloud interface {
	SessionAPI
	SuspendUser(ctx context.Context, userID string) error
	ReactivateUser(ctx context.Context, userID string) error
}

// UserControlStore is the local state a tick reads: its own small values,
// the last directory snapshot (the scope) and the ids of pool users.
// *state.Store implements it.
type UserControlStore interface {
	MetaStore
	Snapshot(kind string) (*directory.Snapshot, error)
	AllIDs(k directory.Kind) (map[string]string, error)
}

// UserControlOptions configure a UserControl. Required: AgentID, Cloud,
// NewReader, OpenStore.
type UserControlOptions struct {
	AgentID string
	// UserpoolID is recorded in the job records.
	UserpoolID string
	Cloud      UserControlCloud
	// NewReader connects to the directory. The reader is kept between
	// ticks and replaced after an error.
	NewReader func(ctx context.Context) (AccountReader, error)
	// OpenStore returns the local state for one tick and the function that
	// gives it back (the daemon holds its database only while it works).
	OpenStore func() (UserControlStore, func(), error)
	// Jobs, when set, records each session as a job.
	Jobs JobLog
	// Interval is the time between ticks in Run; zero means 10 s.
	Interval time.Duration
	// SuspendLockedOut suspends locked-out accounts (and reactivates them
	// when the lockout ends).
	SuspendLockedOut bool
	// Concurrency is the number of parallel calls; zero means 8.
	Concurrency int
	// ReportInterval and HeartbeatInterval are the session's (see
	// Options).
	ReportInterval    time.Duration
	HeartbeatInterval time.Duration
	// OnTick, when set, is told the outcome of every tick (metrics).
	OnTick func(TickOutcome)
	Logger *zap.Logger
	Now    func() time.Time
}

// TickOutcome is what one user-control tick did.
type TickOutcome struct {
	// At is when the tick ended.
	At time.Time
	// Session is true when the tick opened a session (it had changes).
	Session bool
	// Activated, Deactivated and Failed count the users changed.
	Activated, Deactivated, Failed int
	// Err is the tick's failure (nil for success or a partial success);
	// Code names it (SourceReadFailed, ...).
	Err  error
	Code string
}

// Result names the tick's outcome for metrics: idle (nothing to do, no
// cloud call), changed, partial_success, not_now or failed.
func (o TickOutcome) Result() string {
	var nn *NotNowError
	switch {
	case errors.As(o.Err, &nn):
		return "not_now"
	case o.Err != nil:
		return "failed"
	case !o.Session:
		return "idle"
	case o.Failed > 0:
		return "partial_success"
	}
	return "changed"
}

// UserControl runs the AD_USER_CONTROL loop: every tick it reads the
// account state that changed since its watermark, re-checks locked-out
// users and passed expiry times, and suspends or reactivates pool users
// whose account became inactive or active, inside an AD_USER_CONTROL
// session opened only when there is something to do. Ticks must not
// overlap.
type UserControl struct {
	opts UserControlOptions
	log  *zap.Logger
	now  func() time.Time

	reader AccountReader
	// cached is the watermark and watch list as last saved or as moved by
	// idle ticks since; savedAt is when they were last written. Idle ticks
	// keep them in memory and write them every idleSaveEvery: a watermark
	// older than it could be only makes the next read return more.
	cached  *ucState
	savedAt time.Time
	// failingSince and warnedAt rate-limit the warnings of a failing
	// loop: the first failure, then one a minute, then the recovery.
	failingSince, warnedAt time.Time
}

// idleSaveEvery is how often idle ticks write their watermark.
const idleSaveEvery = 5 * time.Minute

// NewUserControl checks the options and returns a UserControl.
func NewUserControl(opts UserControlOptions) (*UserControl, error) {
	if opts.AgentID == "" || opts.Cloud == nil || opts.NewReader == nil || opts.OpenStore == nil {
		return nil, errors.New("agent: user control: AgentID, Cloud, NewReader and OpenStore are required")
	}
	if opts.Interval <= 0 {
		opts.Interval = 10 * time.Second
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	u := &UserControl{opts: opts, log: named(opts.Logger, "usercontrol"), now: time.Now}
	if opts.Now != nil {
		u.now = opts.Now
	}
	return u, nil
}

// Close closes the directory connection.
func (u *UserControl) Close() error {
	if u.reader == nil {
		return nil
	}
	err := u.reader.Close()
	u.reader = nil
	return err
}

// Run runs a tick every Interval until ctx is done. Failures are logged and
// the next tick runs on schedule.
func (u *UserControl) Run(ctx context.Context) error {
	defer u.Close()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		_, _ = u.RunOnce(ctx, TriggerAuto)
		t.Reset(u.opts.Interval)
	}
}

// RunOnce runs one tick. It returns the job record when a session ran (nil
// for a tick with nothing to do) and the tick's error: a *NotNowError
// (another agent's session is open; nothing changed, the next tick tries
// again), a *PartialError or another failure.
func (u *UserControl) RunOnce(ctx context.Context, trigger Trigger) (job *state.Job, err error) {
	out := TickOutcome{}
	defer func() {
		out.At, out.Err = u.now(), err
		var pe *PartialError
		if errors.As(err, &pe) {
			out.Err = nil
		}
		if out.Err != nil {
			out.Code = errorCode(out.Err)
		}
		if u.opts.OnTick != nil {
			u.opts.OnTick(out)
		}
	}()
	t := &ucTick{u: u, trigger: trigger, log: u.log, out: &out}
	defer t.release()
	job, err = t.run(ctx)
	u.logFailure(err, ctx.Err() != nil)
	return job, err
}

// logFailure logs a failed tick: the first of a run of failures and then
// one a minute, and the recovery after them.
func (u *UserControl) logFailure(err error, cancelled bool) {
	now := u.now()
	switch {
	case cancelled || isNotNow(err):
	case err == nil || errors.As(err, new(*PartialError)):
		if !u.failingSince.IsZero() {
			u.log.Info("user control recovered", zap.Duration("failing_for", now.Sub(u.failingSince).Round(time.Second)))
			u.failingSince = time.Time{}
		}
	case u.failingSince.IsZero() || now.Sub(u.warnedAt) >= time.Minute:
		if u.failingSince.IsZero() {
			u.failingSince = now
		}
		u.warnedAt = now
		u.log.Warn("user control tick failed; trying again every interval", zap.Error(err),
			zap.Duration("failing_for", now.Sub(u.failingSince).Round(time.Second)))
	}
}

func isNotNow(err error) bool {
	var nn *NotNowError
	return errors.As(err, &nn)
}

// readerConn returns the directory reader, connecting when needed.
func (u *UserControl) readerConn(ctx context.Context) (AccountReader, error) {
	if u.reader != nil {
		return u.reader, nil
	}
	r, err := u.opts.NewReader(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errSourceRead, err)
	}
	u.reader = r
	return r, nil
}

// ucTick is one tick.
type ucTick struct {
	u       *UserControl
	store   UserControlStore // nil until opened
	done    func()
	trigger Trigger
	log     *zap.Logger
	out     *TickOutcome
}

// open opens the local state for the rest of the tick; an idle tick does
// not need it.
func (t *ucTick) open() (UserControlStore, error) {
	if t.store != nil {
		return t.store, nil
	}
	st, done, err := t.u.opts.OpenStore()
	if err != nil {
		return nil, fmt.Errorf("user control: %w", err)
	}
	t.store, t.done = st, done
	return st, nil
}

func (t *ucTick) release() {
	if t.done != nil {
		t.done()
	}
}

// save writes st and remembers it as the loop's state.
func (t *ucTick) save(st *ucState, at time.Time) error {
	store, err := t.open()
	if err != nil {
		return err
	}
	if err := st.save(store); err != nil {
		return err
	}
	st.Inactive, st.fresh = nil, false // read again when needed
	t.u.cached, t.u.savedAt = st, at
	return nil
}

func (t *ucTick) run(ctx context.Context) (*state.Job, error) {
	u := t.u
	start := u.now()
	if u.cached == nil {
		store, err := t.open()
		if err != nil {
			return nil, err
		}
		if u.cached, err = loadUCState(store); err != nil {
			return nil, err
		}
	}
	// The tick works on a copy: the loop's state moves only when the tick
	// succeeded.
	st := u.cached.clone()
	from := st.Watermark
	if !start.Before(st.Watch.RescanAt) {
		from = directory.Watermark{} // expiry times beyond the kept horizon
	}
	rd, err := u.readerConn(ctx)
	if err != nil {
		return nil, err
	}
	ch, err := rd.AccountChanges(ctx, from)
	if err != nil {
		_ = u.Close() // reconnect next tick
		return nil, fmt.Errorf("%w: %w", errSourceRead, err)
	}
	observed := make(map[string]directory.AccountState, len(ch.States))
	for _, a := range ch.States {
		observed[a.ExternalID] = a
	}
	// Locked-out users and failed changes are read again: a lockout ends
	// without a write.
	var again []string
	if !ch.Full {
		for _, id := range slices.Concat(st.Watch.Pending, st.Watch.Locked) {
			if _, ok := observed[id]; !ok {
				again = append(again, id)
			}
		}
	}
	if len(again) > 0 {
		states, err := rd.AccountStates(ctx, again)
		if err != nil {
			_ = u.Close()
			return nil, fmt.Errorf("%w: %w", errSourceRead, err)
		}
		for _, a := range states {
			observed[a.ExternalID] = a
		}
	}
	due := st.Watch.dueExpiries(start)
	st.Watermark = ch.Watermark
	if ch.Full {
		st.Watch.RescanAt, st.Watch.HorizonEnd = start.Add(rescanEvery), start.Add(expiryHorizon)
	}
	if len(observed) == 0 && len(due) == 0 && len(again) == 0 && !ch.Full {
		// Nothing happened: no cloud call; the watermark moves in memory.
		if start.Sub(u.savedAt) >= idleSaveEvery {
			return nil, t.save(st, start)
		}
		u.cached = st
		return nil, nil
	}
	store, err := t.open()
	if err != nil {
		return nil, err
	}

	in := evalInput{Now: start, SuspendLockedOut: u.opts.SuspendLockedOut, Observed: observed, Full: ch.Full, Due: due,
		Fresh: st.fresh, Watch: st.Watch}
	if err := st.loadInactive(store); err != nil {
		return nil, err
	}
	in.Prev = st.Inactive
	snap, err := store.Snapshot("AD_SYNC")
	if err != nil {
		return nil, fmt.Errorf("user control: read the directory snapshot: %w", err)
	}
	in.InScope = map[string]*directory.User{}
	if snap != nil {
		for i := range snap.Users {
			in.InScope[snap.Users[i].ExternalID] = &snap.Users[i]
		}
	}
	if in.Pool, err = store.AllIDs(directory.KindUser); err != nil {
		return nil, fmt.Errorf("user control: read pool user ids: %w", err)
	}
	ev := evaluate(in)
	st.Watch.Locked, st.Watch.Expiries, st.Watch.Pending = ev.Locked, ev.Expiries, nil
	if len(ev.Changes) == 0 {
		st.Inactive = ev.Inactive
		if ch.Full {
			t.log.Info("account state read", zap.Int("accounts", len(observed)), zap.Int("inactive", len(ev.Inactive)),
				zap.Int("locked_out", len(ev.Locked)), zap.Int("expiring", len(ev.Expiries)))
		}
		return nil, t.save(st, start)
	}
	return t.session(ctx, start, st, ev, len(observed))
}

// session applies the changes inside an AD_USER_CONTROL session and
// records the job.
func (t *ucTick) session(ctx context.Context, start time.Time, st *ucState, ev ucEval, read int) (*state.Job, error) {
	u := t.u
	o := &u.opts
	job := &state.Job{
		ID: state.NewJobID(start), TargetType: "user_pool", TargetID: o.UserpoolID, Direction: "ingress", AgentID: o.AgentID,
		StartTime: state.UnixMilli{Time: start.UTC()}, TriggerType: string(t.trigger), Status: state.StatusRunning,
		SessionType: pool.SessionADUserControl.String(), Type: JobTypeUserControl, Mode: string(ModeDelta), UsersRead: read,
	}
	t.log = t.log.With(zap.String("job", job.ID))
	counts := &reporter.Counts{}
	spec := sessionSpec{API: o.Cloud, AgentID: o.AgentID, Type: pool.SessionADUserControl, Op: "open user control session",
		HeartbeatInterval: o.HeartbeatInterval, ReportInterval: o.ReportInterval, Log: t.log}
	prev := st.Inactive
	err := withSession(ctx, spec, counts, func(ctx context.Context, s *session) error {
		t.out.Session = true
		job.SessionID = s.ID()
		failed, err := t.apply(ctx, s, counts, ev.Changes)
		if err != nil {
			return err
		}
		// Failed users keep their previous state and are read again.
		for _, id := range failed {
			if r, ok := prev[id]; ok {
				ev.Inactive[id] = r
			} else {
				delete(ev.Inactive, id)
			}
		}
		st.Inactive, st.Watch.Pending = ev.Inactive, failed
		raw, _ := st.Watermark.MarshalBinary()
		if err := t.save(st, start); err != nil {
			return err
		}
		if err := s.setToken(ctx, cursorToken(raw)); err != nil {
			return fmt.Errorf("store the user control replication token: %w", err)
		}
		return nil
	})
	if isNotNow(err) {
		t.log.Info("user control session not opened; trying again next tick", zap.String("reason", err.Error()))
		return nil, err
	}
	err = finishJob(job, counts, err, u.now(), errorCode)
	t.out.Activated = int(counts.Get(directory.KindUser, reporter.Activate, reporter.Success))
	t.out.Deactivated = int(counts.Get(directory.KindUser, reporter.Deactivate, reporter.Success))
	t.out.Failed = int(job.Result.Failures())
	if o.Jobs != nil {
		if serr := o.Jobs.Save(job); serr != nil {
			t.log.Error("saving the job record failed", zap.Error(serr))
		}
	}
	fields := []zap.Field{zap.String("status", job.Status), zap.Duration("took", job.EndTime.Sub(start)),
		zap.Int("suspended", t.out.Deactivated), zap.Int("reactivated", t.out.Activated), zap.Int("failed", t.out.Failed)}
	if err != nil {
		t.log.Warn("user control session finished", append(fields, zap.Error(err))...)
	} else {
		t.log.Info("user control session finished", fields...)
	}
	return job, err
}

// apply suspends and reactivates the users and returns the external ids
// whose change failed.
func (t *ucTick) apply(ctx context.Context, s *session, counts *reporter.Counts, changes []ucChange) ([]string, error) {
	o := &t.u.opts
	reps := s.startReports(ctx)
	var mu sync.Mutex
	failed := map[string]bool{}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.Concurrency)
	for _, c := range changes {
		g.Go(func() error {
			change, call, verb := reporter.Deactivate, o.Cloud.SuspendUser, "suspend"
			rec := state.JobObject{Kind: string(directory.KindUser), ExternalID: c.ExternalID, DN: c.DN, Action: "deactivate"}
			if c.Activate {
				change, call, verb = reporter.Activate, o.Cloud.ReactivateUser, "reactivate"
				rec.Action = "activate"
			}
			if err := call(gctx, c.UserID); err != nil {
				if gctx.Err() != nil {
					return gctx.Err()
				}
				rec.Error = err.Error()
				counts.Record(rec)
				t.log.Warn("changing a user's status failed", zap.String("change", verb), zap.String("external_id", c.ExternalID), zap.Error(err))
				counts.Add(directory.KindUser, change, reporter.Failed, 1)
				mu.Lock()
				failed[c.ExternalID] = true
				mu.Unlock()
				return nil
			}
			t.log.Info("user status changed", zap.String("change", verb), zap.String("external_id", c.ExternalID), zap.String("reason", c.Reason))
			counts.Add(directory.KindUser, change, reporter.Success, 1)
			counts.Record(rec)
			return nil
		})
	}
	err := g.Wait()
	reps.Stop()
	if err != nil {
		return nil, fmt.Errorf("changing user status: %w", err)
	}
	if err := reps.Flush(ctx); err != nil {
		return nil, err
	}
	return slices.Sorted(maps.Keys(failed)), nil
}
