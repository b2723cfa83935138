package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/pool"
	"github.com/idsync/idsync/internal/state"
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
	// SettingsChanges are what pushing the config's settings to the pool
	// changed just before the cycle (PushCloudSettings); the job records
	// them.
	SettingsChanges []SettingChange
	// Saved, when set, applies this saved plan instead of planning (see
	// SavedPlan); the cycle refuses it with a *StalePlanError when the
	// pool or the directory moved since.
	Saved *SavedPlan
	// Object, when set, synchronizes only this directory object (see
	// syncObject); AllowDelete lets it remove an object that left the scope.
	Object      string
	AllowDelete bool
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
		AgentID: a.opts.AgentID, DryRun: co.DryRun, SessionType: pool.SessionADSync.String(),
		SettingsChanges: co.SettingsChanges,
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
	switch {
	case job.Status == state.StatusFailed:
		log.Error("cycle failed", append(fields, zap.String("code", job.ErrorCode), zap.Error(err))...)
	case err != nil:
		log.Warn("cycle finished", append(fields, zap.Error(err))...)
	default:
		log.Info("cycle finished", fields...)
	}
	return job, err
}

// cycle is the state of one run.
type cycle struct {
	a      *Agent
	log    *zap.Logger
	job    *state.Job
	counts *reporter.Counts
	opts   CycleOptions

	// session is the open AD_SYNC session; nil in a dry run.
	session  *session
	token    string
	settings SyncSettings
	// quarantine is what the cycle knows of failing objects; nil when
	// quarantine is off or the cycle did not get to apply.
	quarantine *quarantine
}

func (c *cycle) run(ctx context.Context) error {
	if c.opts.DryRun {
		if err := c.localOrPoolSettings(ctx); err != nil {
			return err
		}
		c.logStart()
		return c.sync(ctx)
	}
	a := c.a
	spec := sessionSpec{API: a.opts.Cloud, AgentID: a.opts.AgentID, Type: pool.SessionADSync, Op: "open session",
		HeartbeatInterval: a.opts.HeartbeatInterval, ReportInterval: a.opts.ReportInterval, Log: c.log}
	return withSession(ctx, spec, c.counts, func(ctx context.Context, s *session) error {
		c.session, c.token = s, s.Token()
		c.job.SessionID = s.ID()
		if err := c.settle(s.Opened.Settings); err != nil {
			return err
		}
		c.logStart()
		if c.opts.Saved != nil {
			return c.applySaved(ctx)
		}
		if c.opts.Object != "" {
			return c.syncObject(ctx)
		}
		return c.sync(ctx)
	})
}

func (c *cycle) logStart() {
	c.log.Info("cycle started", zap.String("trigger", string(c.opts.Trigger)), zap.String("session", c.job.SessionID), zap.Bool("dry_run", c.opts.DryRun))
}

// settle settles the settings of a session: the local ones, else the
// pool's, and checks the pool's token was written under the same scope.
func (c *cycle) settle(pool *pool.Settings) error {
	switch {
	case c.a.opts.Settings != nil:
		c.settings = *c.a.opts.Settings
	case pool != nil:
		c.settings = FromCloud(pool)
	default:
		// A session with no settings at all cannot be scoped safely.
		return errors.New("the user pool has no synchronization settings and the config file has no sync_settings section")
	}
	return c.checkScope(pool)
}

// sync reads, plans, checks and applies.
func (c *cycle) sync(ctx context.Context) error {
	pr, err := c.prepare(ctx)
	if err != nil {
		return err
	}
	if pr.plan.Safety != nil {
		c.logGuards(pr.plan)
		return &SafetyError{Stop: pr.plan.Safety}
	}
	if c.opts.DryRun {
		c.logRejected(pr.plan)
		countPlanned(c.counts, pr.plan, reporter.Skipped)
		return nil
	}
	if err := c.holdQuarantined(pr); err != nil {
		return err
	}
	return c.apply(ctx, pr.plan, pr.snap, pr.wm, pr.x)
}

// prepared is a plan with what applying it needs.
type prepared struct {
	in   *Input
	plan *Plan
	// snap is the directory state to keep, nil when a delta found no
	// change (the previous one stands); wm is the new watermark either way.
	snap *directory.Snapshot
	wm   directory.Watermark
	prev *previousState
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
	wm, err := a.opts.Store.Watermark(sessionKind)
	damaged := errors.Is(err, state.ErrDamagedSnapshot)
	switch {
	case damaged:
		// A full read does not use the snapshot, and rewrites it.
		c.log.Warn("the local snapshot of the directory is damaged; synchronizing in full", zap.Error(err))
		wm = directory.Watermark{}
	case err != nil:
		return nil, err
	}
	full, why := c.chooseFull(wm)
	if damaged && !c.opts.Full {
		why = "the local snapshot of the directory is damaged"
	}
	var (
		snap   *directory.Snapshot
		in     Input
		listed Target
		x      *ids
	)
	prev := &previousState{store: a.opts.Store}
	if !full {
		pu, err := a.opts.Store.Pending(directory.KindUser)
		if err != nil {
			return nil, err
		}
		pg, err := a.opts.Store.Pending(directory.KindGroup)
		if err != nil {
			return nil, err
		}
		d, err := src.Delta(ctx, directory.Previous{Watermark: wm, Load: prev.load})
		if err == nil && d.Snapshot == nil && len(pu)+len(pg) > 0 {
			// Nothing changed, but failed objects are planned again from
			// the state, which stands.
			if _, err = prev.load(); err == nil && prev.snap == nil {
				err = fmt.Errorf("%w: the local snapshot of the directory is missing", directory.ErrFullSyncRequired)
			}
		}
		switch {
		case errors.Is(err, state.ErrDamagedSnapshot):
			c.log.Warn("the local snapshot of the directory is damaged; synchronizing in full", zap.Error(err))
			full, why = true, "the local snapshot of the directory is damaged"
		case errors.Is(err, directory.ErrFullSyncRequired):
			full, why = true, err.Error()
		case err != nil:
			return nil, fmt.Errorf("%w: %w", errSourceRead, err)
		default:
			snap, wm = d.Snapshot, d.Watermark
			cur := snap
			if cur == nil {
				cur = prev.snap
			}
			in = deltaInput(d, cur, pu, pg)
		}
	}
	if full {
		c.log.Info("full synchronization", zap.String("reason", why))
		snap, listed, x, err = readFull(ctx, src, a.opts.Cloud, a.opts.Concurrency)
		if err != nil {
			return nil, err
		}
		wm = snap.Watermark
		in = Input{Mode: ModeFull, Users: snap.Users, Groups: snap.Groups}
	}
	c.job.Mode = string(in.Mode)
	c.job.UsersRead, c.job.GroupsRead = len(in.Users)+len(in.RemovedUsers), len(in.Groups)+len(in.RemovedGroups)
	in.Settings = c.settings.Plan
	in.Limits = a.opts.Limits
	in.Now, in.SuspendLockedOut = a.now(), a.opts.SuspendLockedOut

	switch {
	case in.Mode == ModeFull:
		in.Target = listed
		err = readOtherGroups(ctx, a.opts.Cloud, &in, &in.Target)
	case emptyDelta(&in):
		// Nothing to compare: the plan is empty whatever the pool holds.
		x = newIDs()
	default:
		known, kerr := a.opts.Store.AllIDs(directory.KindUser)
		if kerr != nil {
			return nil, kerr
		}
		in.ManagedUsers = len(known)
		groups, gerr := a.opts.Store.AllIDs(directory.KindGroup)
		if gerr != nil {
			return nil, gerr
		}
		in.ManagedGroups = len(groups)
		in.Target, x, err = deltaTarget{pool: a.opts.Cloud, concurrency: a.opts.Concurrency, in: &in,
			known: known, knownGroups: len(groups), settings: c.settings.Plan}.read(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errTargetRead, err)
	}
	plan := BuildPlan(in)
	c.log.Info("plan", zap.String("mode", string(plan.Mode)), zap.Int("user_changes", len(plan.Users)),
		zap.Int("group_changes", len(plan.Groups)), zap.Int("membership_changes", len(plan.Members)),
		zap.Int("rejected", len(plan.Rejected)), zap.Int("users_same", plan.SameUsers), zap.Int("groups_same", plan.SameGroups))
	return &prepared{in: &in, plan: plan, snap: snap, wm: wm, prev: prev, x: x}, nil
}

// emptyDelta reports whether a delta input names no object at all.
func emptyDelta(in *Input) bool {
	return len(in.Users)+len(in.Groups)+len(in.RemovedUsers)+len(in.RemovedGroups) == 0
}

// previousState loads the last snapshot once, when a delta needs it.
type previousState struct {
	store  Store
	loaded bool
	snap   *directory.Snapshot
	err    error
}

func (p *previousState) load() (*directory.Snapshot, error) {
	if !p.loaded {
		p.loaded = true
		p.snap, p.err = p.store.Snapshot(sessionKind)
	}
	return p.snap, p.err
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

// chooseFull decides between a full and a delta cycle, given the watermark
// of the last snapshot (zero: none).
func (c *cycle) chooseFull(wm directory.Watermark) (bool, string) {
	a := c.a
	switch {
	case c.opts.Full:
		return true, "requested"
	case c.opts.AcceptScopeChange:
		return true, "the scope change was confirmed"
	case wm.IsZero():
		return true, "no local snapshot of the directory"
	case c.opts.DryRun:
		// A dry run has no session token to compare with.
	case c.token == "":
		return true, "the pool has no replication token"
	case c.token != encodeTokenOrEmpty(wm, ScopeFingerprint(c.settings)):
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
		o := directory.KindUser
		if r.Object == directory.KindGroup {
			o = directory.KindGroup
		}
		counts.Add(o, actionChange(r.Action), reporter.Failed, 1)
	}
}

// countPlanned counts every planned change with one outcome (a dry run
// counts them as skipped).
func countPlanned(counts *reporter.Counts, p *Plan, out reporter.Outcome) {
	countRejected(counts, p)
	counts.Add(directory.KindUser, reporter.Same, reporter.Success, int64(p.SameUsers))
	counts.Add(directory.KindGroup, reporter.Same, reporter.Success, int64(p.SameGroups))
	for _, u := range p.Users {
		if u.Action != ActionNone {
			counts.Add(directory.KindUser, actionChange(u.Action), out, 1)
		}
		switch u.Status {
		case StatusActivate:
			counts.Add(directory.KindUser, reporter.Activate, out, 1)
		case StatusDeactivate:
			counts.Add(directory.KindUser, reporter.Deactivate, out, 1)
		}
	}
	for _, g := range p.Groups {
		counts.Add(directory.KindGroup, actionChange(g.Action), out, 1)
	}
	for _, m := range p.Members {
		counts.Add(directory.KindMembership, reporter.Create, out, int64(len(m.Add)))
		counts.Add(directory.KindMembership, reporter.Delete, out, int64(len(m.Remove)))
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
