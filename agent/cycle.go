package agent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/idhub"
	"github.com/idsync/idsync/internal/state"
	"github.com/idsync/idsync/ldapsource"
	"github.com/idsync/idsync/reporter"
)

const (
	sessionKind   = "AD_SYNC"
	metaLastFull  = "AD_SYNC/last_full"
	maxTokenChars = 1000
)

// CycleOptions choose how one cycle runs.
type CycleOptions struct {
	Trigger Trigger
	// Full forces a full read and comparison.
	Full bool
	// DryRun plans without opening a session or changing anything; the
	// job record counts the planned changes as skipped.
	DryRun bool
	// AcceptScopeChange lets the cycle run although the pool's replication
	// token was written under another scope or mapping than this agent's;
	// without it such a cycle stops with a *SafetyError before any change.
	AcceptScopeChange bool
}

// RunCycle runs one synchronization cycle and returns its job record. The
// error is a *NotNowError (no job is recorded), a *SafetyError, a
// *PartialError, or another failure; the job records each of them.
func (a *Agent) RunCycle(ctx context.Context, co CycleOptions) (*state.Job, error) {
	if co.Trigger == "" {
		co.Trigger = TriggerManual
	}
	start := a.now()
	job := &state.Job{
		ID: state.NewJobID(start), TargetType: "user_pool", TargetID: a.opts.UserpoolID, Direction: "ingress",
		StartTime: state.UnixMilli{Time: start.UTC()}, TriggerType: string(co.Trigger), Status: state.StatusRunning,
		AgentID: a.opts.AgentID, DryRun: co.DryRun, SessionType: idp.SessionType_AD_SYNC.String(),
	}
	log := a.log.With(zap.String("job", job.ID))
	c := &cycle{a: a, log: log, job: job, counts: &reporter.Counts{}, opts: co}

	err := c.run(ctx)
	var nn *NotNowError
	if errors.As(err, &nn) {
		log.Info("cycle not run", zap.String("reason", nn.Error()))
		return nil, err
	}
	err = finishJob(job, c.counts, err, a.now(), errorCode)
	if serr := a.opts.Jobs.Save(job); serr != nil {
		log.Error("saving the job record failed", zap.Error(serr))
	}
	r := job.Result
	fields := []zap.Field{
		zap.String("status", job.Status), zap.String("mode", job.Mode), zap.Duration("took", job.EndTime.Sub(start)),
		zap.Int64("users_created", r.UserStatistics.Created.Success), zap.Int64("users_updated", r.UserStatistics.Updated.Success+r.UserStatistics.Binded.Success),
		zap.Int64("users_deleted", r.UserStatistics.Deleted.Success), zap.Int64("users_activated", r.UserStatistics.Activated.Success),
		zap.Int64("users_deactivated", r.UserStatistics.Deactivated.Success), zap.Int64("users_same", r.UserStatistics.Same.Success),
		zap.Int64("groups_created", r.GroupStatistics.Created.Success), zap.Int64("groups_updated", r.GroupStatistics.Updated.Success+r.GroupStatistics.Binded.Success),
		zap.Int64("groups_deleted", r.GroupStatistics.Deleted.Success), zap.Int64("members_added", r.GroupMemberStatistics.Created.Success),
		zap.Int64("members_removed", r.GroupMemberStatistics.Deleted.Success), zap.Int64("failed", r.Failures()),
	}
	if err != nil {
		log.Warn("cycle finished", append(fields, zap.Error(err))...)
	} else {
		log.Info("cycle finished", fields...)
	}
	return job, err
}

// finishJob records a run's end, statistics and outcome in job. A run that
// succeeded but counted failed objects is a partial success; the returned
// error says so (a *PartialError), or is err unchanged. code names other
// failures.
func finishJob(job *state.Job, counts *reporter.Counts, err error, end time.Time, code func(error) string) error {
	job.EndTime = state.UnixMilli{Time: end.UTC()}
	job.Result = counts.Result()
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

// cycle is the state of one run.
type cycle struct {
	a      *Agent
	log    *zap.Logger
	job    *state.Job
	counts *reporter.Counts
	opts   CycleOptions

	session  *idp.SynchronizationSession
	token    string
	settings SyncSettings
}

func (c *cycle) run(ctx context.Context) error {
	if !c.opts.DryRun {
		if err := c.open(ctx); err != nil {
			return err
		}
	} else if err := c.localOrPoolSettings(ctx); err != nil {
		return err
	}
	c.log.Info("cycle started", zap.String("trigger", string(c.opts.Trigger)), zap.String("session", c.job.SessionID), zap.Bool("dry_run", c.opts.DryRun))

	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var hb sync.WaitGroup
	if c.session != nil {
		hb.Go(func() { c.heartbeat(sctx, cancel) })
	}
	err := c.sync(sctx)
	if cause := context.Cause(sctx); err != nil && cause != nil && errors.Is(cause, errSessionLost) {
		err = cause
	}
	cancel(nil)
	hb.Wait()
	if c.session != nil {
		c.close(ctx, err)
	}
	return err
}

// open opens the session and settles the settings.
func (c *cycle) open(ctx context.Context) error {
	a := c.a
	res, err := a.opts.Cloud.OpenSession(ctx, a.opts.AgentID, idp.SessionType_AD_SYNC)
	if err != nil {
		return fmt.Errorf("open session: %w", err)
	}
	switch res.Result {
	case idp.OpenSessionResult_TOO_EARLY:
		return &NotNowError{Next: res.NextSessionAt}
	case idp.OpenSessionResult_OPENED_SESSION_EXISTS:
		return &NotNowError{Held: true}
	}
	c.session = res.Session
	c.token = res.ReplicationToken
	c.job.SessionID = res.Session.GetSessionId()
	switch {
	case a.opts.Settings != nil:
		c.settings = *a.opts.Settings
	case res.Settings != nil:
		c.settings = FromCloud(res.Settings)
	default:
		// A session with no settings at all cannot be scoped safely.
		err := errors.New("the user pool has no synchronization settings and the config file has no sync_settings section")
		c.close(ctx, err)
		return err
	}
	if err := c.checkScope(res.Settings); err != nil {
		c.close(ctx, err)
		return err
	}
	return nil
}

// heartbeat keeps the session alive; it cancels the cycle when the session
// is gone, so nothing is applied outside a session.
func (c *cycle) heartbeat(ctx context.Context, cancel context.CancelCauseFunc) {
	keepAlive(ctx, c.a.opts.Cloud.Heartbeat, c.session, c.a.opts.HeartbeatInterval, c.log, cancel)
}

// keepAlive sends heartbeats for session until ctx ends: every configured
// interval, but at most a third of the session's lifetime so that two
// missed beats still leave it alive. When the session is gone (expired,
// closed, unknown) it cancels the run with errSessionLost.
func keepAlive(ctx context.Context, beat func(context.Context, string) error, session *idp.SynchronizationSession,
	configured time.Duration, log *zap.Logger, cancel context.CancelCauseFunc) {
	every := max(session.GetExpiresAt().AsTime().Sub(session.GetCreatedAt().AsTime())/3, 100*time.Millisecond)
	if configured > 0 && configured < every {
		every = configured
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := beat(ctx, session.GetSessionId())
		switch {
		case err == nil || ctx.Err() != nil:
		case idhub.IsNotFound(err) || idhub.Code(err) == codes.FailedPrecondition:
			log.Error("session lost; stopping", zap.Error(err))
			cancel(fmt.Errorf("%w: %w", errSessionLost, err))
			return
		default:
			log.Warn("heartbeat failed; retrying", zap.Error(err))
		}
	}
}

// close closes the session: failed with the reason when err is a failure,
// completed otherwise (a partial success completes: the progress report
// carries the failed counts).
func (c *cycle) close(ctx context.Context, err error) {
	failed := err != nil
	var pe *PartialError
	if errors.As(err, &pe) {
		failed = false
	}
	reason := ""
	if failed {
		reason = idhub.TruncateReason(err.Error())
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if _, cerr := c.a.opts.Cloud.CloseSession(cctx, c.session.GetSessionId(), failed, reason); cerr != nil {
		c.log.Warn("closing the session failed; it expires on its own", zap.Error(cerr))
	}
}

// sync reads, plans, checks and applies.
func (c *cycle) sync(ctx context.Context) error {
	pr, err := c.prepare(ctx)
	if err != nil {
		return err
	}
	if pr.plan.Safety != nil {
		return &SafetyError{Stop: pr.plan.Safety}
	}
	if c.opts.DryRun {
		c.logRejected(pr.plan)
		countPlanned(c.counts, pr.plan, reporter.Skipped)
		return nil
	}
	return c.apply(ctx, pr.plan, pr.snap, pr.x)
}

// prepared is a plan with what applying it needs.
type prepared struct {
	plan *Plan
	snap *directory.Snapshot
	x    *ids
}

// prepare reads the directory and the pool and plans. It changes nothing.
func (c *cycle) prepare(ctx context.Context) (*prepared, error) {
	a := c.a
	src, err := a.opts.NewSource(c.settings)
	if err != nil {
		return nil, fmt.Errorf("directory source: %w", err)
	}
	if cl, ok := src.(interface{ Close() error }); ok {
		defer cl.Close()
	}
	prev, err := a.opts.Store.Snapshot(sessionKind)
	damaged := errors.Is(err, state.ErrDamagedSnapshot)
	switch {
	case damaged:
		// A full read does not use the snapshot, and rewrites it.
		c.log.Warn("the local snapshot of the directory is damaged; synchronizing in full", zap.Error(err))
		prev = nil
	case err != nil:
		return nil, err
	}
	full, why := c.chooseFull(prev)
	if damaged && !c.opts.Full {
		why = "the local snapshot of the directory is damaged"
	}
	var (
		snap *directory.Snapshot
		in   Input
	)
	if !full {
		pu, err := a.opts.Store.Pending(state.User)
		if err != nil {
			return nil, err
		}
		pg, err := a.opts.Store.Pending(state.Group)
		if err != nil {
			return nil, err
		}
		d, err := src.Delta(ctx, prev)
		switch {
		case errors.Is(err, ldapsource.ErrFullSyncRequired):
			full, why = true, err.Error()
		case err != nil:
			return nil, fmt.Errorf("%w: %w", errSourceRead, err)
		default:
			snap = d.Snapshot
			in = deltaInput(d, pu, pg)
		}
	}
	if full {
		c.log.Info("full synchronization", zap.String("reason", why))
		snap, err = src.Snapshot(ctx)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errSourceRead, err)
		}
		in = Input{Mode: ModeFull, Users: snap.Users, Groups: snap.Groups}
	}
	c.job.Mode = string(in.Mode)
	c.job.UsersRead, c.job.GroupsRead = len(in.Users)+len(in.RemovedUsers), len(in.Groups)+len(in.RemovedGroups)
	in.Settings = c.settings.Plan
	in.Limits = a.opts.Limits

	var x *ids
	if in.Mode == ModeFull {
		in.Target, x, err = readFullTarget(ctx, a.opts.Cloud, a.opts.Concurrency, c.settings.Plan.CaptureGroups)
	} else {
		known, kerr := a.opts.Store.AllIDs(state.User)
		if kerr != nil {
			return nil, kerr
		}
		in.ManagedUsers = len(known)
		groups, gerr := a.opts.Store.AllIDs(state.Group)
		if gerr != nil {
			return nil, gerr
		}
		in.ManagedGroups = len(groups)
		in.Target, x, err = readDeltaTarget(ctx, a.opts.Cloud, a.opts.Concurrency, &in, known, len(groups), c.settings.Plan)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errTargetRead, err)
	}
	plan := BuildPlan(in)
	c.log.Info("plan", zap.String("mode", string(plan.Mode)), zap.Int("user_changes", len(plan.Users)),
		zap.Int("group_changes", len(plan.Groups)), zap.Int("membership_changes", len(plan.Members)),
		zap.Int("rejected", len(plan.Rejected)), zap.Int("users_same", plan.SameUsers), zap.Int("groups_same", plan.SameGroups))
	return &prepared{plan: plan, snap: snap, x: x}, nil
}

// Plan computes what a cycle would change, without opening a session or
// changing anything.
func (a *Agent) Plan(ctx context.Context, full bool) (*Plan, error) {
	c := &cycle{a: a, log: a.log, job: &state.Job{}, counts: &reporter.Counts{}, opts: CycleOptions{Full: full, DryRun: true}}
	if err := c.localOrPoolSettings(ctx); err != nil {
		return nil, err
	}
	pr, err := c.prepare(ctx)
	if err != nil {
		return nil, err
	}
	return pr.plan, nil
}

// localOrPoolSettings settles the settings of a run without a session.
func (c *cycle) localOrPoolSettings(ctx context.Context) error {
	if c.a.opts.Settings != nil {
		c.settings = *c.a.opts.Settings
		return nil
	}
	s, err := c.a.opts.Cloud.GetSyncSettings(ctx)
	if err != nil {
		return fmt.Errorf("read the pool's synchronization settings (or add sync_settings to the config file): %w", err)
	}
	c.settings = FromCloud(s)
	return nil
}

// chooseFull decides between a full and a delta cycle.
func (c *cycle) chooseFull(prev *directory.Snapshot) (bool, string) {
	a := c.a
	switch {
	case c.opts.Full:
		return true, "requested"
	case c.opts.AcceptScopeChange:
		return true, "the scope change was confirmed"
	case prev == nil:
		return true, "no local snapshot of the directory"
	case c.opts.DryRun:
		// A dry run has no session token to compare with.
	case c.token == "":
		return true, "the pool has no replication token"
	case c.token != encodeTokenOrEmpty(prev.Watermark, ScopeFingerprint(c.settings)):
		return true, "the pool's replication token does not match the local state (another agent ran, or local state was restored)"
	}
	if a.opts.FullSyncInterval > 0 {
		last, _ := a.opts.Store.Meta(metaLastFull)
		t, err := time.Parse(time.RFC3339, last)
		if err != nil || a.now().Sub(t) >= a.opts.FullSyncInterval {
			return true, "periodic full reconciliation is due"
		}
	}
	return false, ""
}

// apply applies the plan, reports progress, and records what the next
// cycle builds on.
func (c *cycle) apply(ctx context.Context, plan *Plan, snap *directory.Snapshot, x *ids) error {
	a := c.a
	sid := c.session.GetSessionId()
	rep := reporter.New(c.counts, func(ctx context.Context, e []*idp.ProgressEntry) error {
		return a.opts.Cloud.ReportProgress(ctx, sid, e)
	}, a.opts.ReportInterval, c.log)
	rctx, stopReports := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { rep.Run(rctx) })
	if a.opts.Progress != nil {
		total := int64(len(plan.Users) + len(plan.Groups))
		for _, m := range plan.Members {
			total += int64(len(m.Add) + len(m.Remove))
		}
		wg.Go(func() { c.showProgress(rctx, total) })
	}

	countRejected(c.counts, plan)
	c.logRejected(plan)
	c.counts.Add(reporter.User, reporter.Same, reporter.Success, int64(plan.SameUsers))
	c.counts.Add(reporter.Group, reporter.Same, reporter.Success, int64(plan.SameGroups))
	ap := newApplier(a.opts.Cloud, c.counts, x, a.opts.Concurrency, c.log)
	if a.opts.NewHashSource != nil && hasCreates(plan) {
		src, err := a.opts.NewHashSource(ctx)
		if err != nil {
			// New users still get created, with generated passwords; the
			// password sessions set their hashes when their passwords change.
			c.log.Warn("password hashes unavailable; new users get generated passwords", zap.Error(err))
		} else {
			defer src.Close()
			ap.hashes = src
		}
	}
	applyErr := ap.apply(ctx, plan)
	stopReports()
	wg.Wait()
	if applyErr != nil {
		return fmt.Errorf("applying changes: %w", applyErr)
	}
	if err := rep.Flush(ctx); err != nil {
		return err
	}

	// Record the new directory state and what must be retried, then let the
	// pool's token cover it. A crash in between leaves the token behind the
	// local state, which the next cycle sees as a mismatch and answers with
	// a full cycle: the token is never ahead of what was applied.
	var pendingUsers, pendingGroups []string
	for ext := range ap.failedUsers {
		pendingUsers = append(pendingUsers, ext)
	}
	for ext := range ap.failedGroups {
		pendingGroups = append(pendingGroups, ext)
	}
	for _, r := range plan.Rejected {
		if r.Object == ObjectUser {
			pendingUsers = append(pendingUsers, r.ExternalID)
		} else {
			pendingGroups = append(pendingGroups, r.ExternalID)
		}
	}
	st := a.opts.Store
	if err := st.SetPending(state.User, pendingUsers); err != nil {
		return err
	}
	if err := st.SetPending(state.Group, pendingGroups); err != nil {
		return err
	}
	if plan.Mode == ModeFull {
		if err := st.ReplaceIDs(state.User, x.users); err != nil {
			return err
		}
		if err := st.ReplaceIDs(state.Group, x.groups); err != nil {
			return err
		}
	} else {
		var gone []string
		for _, ch := range plan.Users {
			if ch.Action == ActionDelete && !ap.failedUsers[ch.ExternalID] {
				gone = append(gone, ch.ExternalID)
			}
		}
		if err := st.UpdateIDs(state.User, x.users, gone); err != nil {
			return err
		}
		var goneGroups []string
		for _, ch := range plan.Groups {
			if ch.Action == ActionDelete && !ap.failedGroups[ch.ExternalID] {
				goneGroups = append(goneGroups, ch.ExternalID)
			}
		}
		if err := st.UpdateIDs(state.Group, x.groups, goneGroups); err != nil {
			return err
		}
	}
	if err := st.SaveSnapshot(sessionKind, snap); err != nil {
		return err
	}
	if plan.Mode == ModeFull {
		if err := st.SetMeta(metaLastFull, a.now().UTC().Format(time.RFC3339)); err != nil {
			return err
		}
	}
	token, err := encodeToken(snap.Watermark, ScopeFingerprint(c.settings))
	if err != nil {
		return fmt.Errorf("encode the replication token: %w", err)
	}
	if err := a.opts.Cloud.SetReplicationToken(ctx, idp.SessionType_AD_SYNC, token); err != nil {
		return fmt.Errorf("store the replication token: %w", err)
	}
	return nil
}

func (c *cycle) showProgress(ctx context.Context, total int64) {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		r := c.counts.Result()
		done := r.Successes() + r.Failures()
		for _, s := range []reporter.Statistics{r.UserStatistics, r.GroupStatistics, r.GroupMemberStatistics} {
			done -= s.Same.Success
			done += s.Created.Skipped + s.Deleted.Skipped
		}
		c.a.opts.Progress(min(done, total), total)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// logRejected logs every object the planner refused, with the reason, at
// most 100 lines; the rest are summarized.
func (c *cycle) logRejected(p *Plan) {
	const most = 100
	for i, r := range p.Rejected {
		if i == most {
			c.log.Warn("more objects were rejected; see 'idsync plan'", zap.Int("not_shown", len(p.Rejected)-most))
			break
		}
		c.log.Warn("object rejected", zap.String("object", string(r.Object)), zap.String("external_id", r.ExternalID),
			zap.String("dn", r.DN), zap.String("action", string(r.Action)), zap.String("reason", r.Reason))
	}
}

// countRejected counts the objects the planner refused as failed.
func countRejected(counts *reporter.Counts, p *Plan) {
	for _, r := range p.Rejected {
		o := reporter.User
		if r.Object == ObjectGroup {
			o = reporter.Group
		}
		counts.Add(o, actionChange(r.Action), reporter.Failed, 1)
	}
}

// countPlanned counts every planned change with one outcome (a dry run
// counts them as skipped).
func countPlanned(counts *reporter.Counts, p *Plan, out reporter.Outcome) {
	countRejected(counts, p)
	counts.Add(reporter.User, reporter.Same, reporter.Success, int64(p.SameUsers))
	counts.Add(reporter.Group, reporter.Same, reporter.Success, int64(p.SameGroups))
	for _, u := range p.Users {
		if u.Action != ActionNone {
			counts.Add(reporter.User, actionChange(u.Action), out, 1)
		}
		switch u.Status {
		case StatusActivate:
			counts.Add(reporter.User, reporter.Activate, out, 1)
		case StatusDeactivate:
			counts.Add(reporter.User, reporter.Deactivate, out, 1)
		}
	}
	for _, g := range p.Groups {
		counts.Add(reporter.Group, actionChange(g.Action), out, 1)
	}
	for _, m := range p.Members {
		counts.Add(reporter.Membership, reporter.Create, out, int64(len(m.Add)))
		counts.Add(reporter.Membership, reporter.Delete, out, int64(len(m.Remove)))
	}
}

func actionChange(a Action) reporter.Change {
	switch a {
	case ActionCreate:
		return reporter.Create
	case ActionBind:
		return reporter.Bind
	case ActionDelete:
		return reporter.Delete
	}
	return reporter.Update
}

func hasCreates(p *Plan) bool {
	for _, u := range p.Users {
		if u.Action == ActionCreate {
			return true
		}
	}
	return false
}
