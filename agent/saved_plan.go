package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/pool"
	"github.com/idsync/idsync/internal/state"
	"github.com/idsync/idsync/reporter"
)

const (
	// planSnapshotKind keeps the directory snapshot the last saved plan
	// was computed from; applying the plan checks the directory against it.
	planSnapshotKind = "AD_SYNC_PLAN"
	metaSavedPlan    = "AD_SYNC/saved_plan"
	savedPlanVersion = 1
)

// SavedPlan is a plan bound to the directory and pool state it was
// computed from, for `idsync apply`: it applies only while neither moved.
type SavedPlan struct {
	Version    int       `json:"version"`
	CreatedAt  time.Time `json:"created_at"`
	AgentID    string    `json:"agent_id"`
	UserpoolID string    `json:"userpool_id"`
	// Scope is the fingerprint of the scope and mapping (ScopeFingerprint).
	Scope string `json:"scope"`
	// PoolToken is the pool's AD_SYNC replication token when planned.
	PoolToken string `json:"pool_token"`
	// DirectoryWatermark is the replication token the directory read of
	// the plan ends at.
	DirectoryWatermark string `json:"directory_watermark"`
	Plan               *Plan  `json:"plan"`
}

// StalePlanError means a saved plan no longer describes what a cycle
// would do: the directory or the pool moved since it was made. Nothing
// was changed.
type StalePlanError struct{ Changes []string }

func (e *StalePlanError) Error() string {
	return "the plan is stale, nothing was applied; make a new one with 'idsync plan --out': " + strings.Join(e.Changes, "; ")
}

// tokenReader reads the pool's replication token outside a session.
// *idhub.Cloud implements it.
type tokenReader interface {
	GetReplicationToken(ctx context.Context, t pool.SessionType) (string, error)
}

// SavePlan computes a plan as Plan does and binds it to the pool's
// replication token and the directory watermark of its read. It keeps the
// directory snapshot of the read in the local state (one saved plan at a
// time: a newer one replaces it). It changes nothing in the pool.
func (a *Agent) SavePlan(ctx context.Context, full bool) (*SavedPlan, error) {
	tr, ok := a.opts.Cloud.(tokenReader)
	if !ok {
		return nil, errors.New("save plan: the Identity Hub client cannot read the replication token")
	}
	// Not a dry run: the pool's token decides between delta and full as
	// in a real cycle.
	c := &cycle{a: a, log: a.log, job: &state.Job{}, counts: &reporter.Counts{}, opts: CycleOptions{Full: full}}
	if err := c.localOrPoolSettings(ctx); err != nil {
		return nil, err
	}
	token, err := tr.GetReplicationToken(ctx, pool.SessionADSync)
	if err != nil {
		return nil, fmt.Errorf("read the pool's replication token: %w", err)
	}
	c.token = token
	pr, err := c.prepare(ctx)
	if err != nil {
		return nil, err
	}
	snap := pr.snap
	if snap == nil {
		// The delta changed nothing: the plan builds on the state that
		// stands, at the new watermark.
		prev, err := pr.prev.load()
		if err != nil {
			return nil, err
		}
		if prev == nil {
			return nil, errors.New("save plan: the local snapshot of the directory is missing")
		}
		cp := *prev
		cp.Watermark = pr.wm
		snap = &cp
	}
	scope := ScopeFingerprint(c.settings)
	wm, err := encodeToken(snap.Watermark, scope)
	if err != nil {
		return nil, fmt.Errorf("encode the directory watermark: %w", err)
	}
	sp := &SavedPlan{Version: savedPlanVersion, CreatedAt: a.now().UTC(), AgentID: a.opts.AgentID, UserpoolID: a.opts.UserpoolID,
		Scope: scope, PoolToken: token, DirectoryWatermark: wm, Plan: pr.plan}
	if err := a.opts.Store.SaveSnapshot(planSnapshotKind, snap); err != nil {
		return nil, err
	}
	if err := a.opts.Store.SetMeta(metaSavedPlan, planDigest(sp)); err != nil {
		return nil, err
	}
	return sp, nil
}

// planDigest fingerprints a saved plan, so apply knows the file is the one
// this agent saved last, unedited.
func planDigest(sp *SavedPlan) string {
	b, err := json.Marshal(sp)
	if err != nil {
		return ""
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// applySaved applies a saved plan in the cycle's session, if the pool and
// the directory are where they were when it was made.
func (c *cycle) applySaved(ctx context.Context) error {
	a, sp := c.a, c.opts.Saved
	var why []string
	if sp.UserpoolID != a.opts.UserpoolID {
		why = append(why, fmt.Sprintf("the plan is for user pool %s, not %s", sp.UserpoolID, a.opts.UserpoolID))
	}
	if sc := ScopeFingerprint(c.settings); sc != sp.Scope {
		why = append(why, "the scope or attribute mapping changed")
	}
	if c.token != sp.PoolToken {
		why = append(why, "the pool's replication token moved (another cycle ran since the plan was made)")
	}
	if d, _ := a.opts.Store.Meta(metaSavedPlan); d != planDigest(sp) {
		why = append(why, "the plan file is not the last plan this agent saved, or it was edited")
	}
	if len(why) > 0 {
		return &StalePlanError{Changes: why}
	}
	planSnap, err := a.opts.Store.Snapshot(planSnapshotKind)
	if err != nil || planSnap == nil {
		return &StalePlanError{Changes: []string{fmt.Sprintf("the directory snapshot of the plan is missing from the local state (%v)", err)}}
	}
	if wm := encodeTokenOrEmpty(planSnap.Watermark, sp.Scope); wm != sp.DirectoryWatermark {
		return &StalePlanError{Changes: []string{"a newer plan was saved since this one"}}
	}
	c.job.Mode = string(sp.Plan.Mode)
	if sp.Plan.Safety != nil {
		c.logGuards(sp.Plan)
		return &SafetyError{Stop: sp.Plan.Safety}
	}
	src, err := a.opts.NewSource(c.settings)
	if err != nil {
		return fmt.Errorf("directory source: %w", err)
	}
	if cl, ok := src.(interface{ Close() error }); ok {
		defer cl.Close()
	}
	d, err := src.Delta(ctx, directory.PreviousOf(planSnap))
	if err != nil {
		return &StalePlanError{Changes: []string{"the directory cannot say what changed since the plan: " + err.Error()}}
	}
	if !d.IsEmpty() {
		return &StalePlanError{Changes: describeDelta(d)}
	}
	x := newIDs()
	users, err := a.opts.Store.AllIDs(directory.KindUser)
	if err != nil {
		return err
	}
	for ext, id := range users {
		x.addUser(ext, id)
	}
	groups, err := a.opts.Store.AllIDs(directory.KindGroup)
	if err != nil {
		return err
	}
	for ext, id := range groups {
		x.groups[ext] = id
	}
	for _, u := range sp.Plan.Users {
		x.addUser(u.ExternalID, u.TargetID)
	}
	for _, g := range sp.Plan.Groups {
		if g.TargetID != "" {
			x.groups[g.ExternalID] = g.TargetID
		}
	}
	c.log.Info("applying a saved plan", zap.Time("planned_at", sp.CreatedAt), zap.Int("user_changes", len(sp.Plan.Users)),
		zap.Int("group_changes", len(sp.Plan.Groups)), zap.Int("membership_changes", len(sp.Plan.Members)))
	// The id cache knows only part of the pool: record what changed, as a
	// delta cycle does, whatever the plan's mode.
	plan := *sp.Plan
	plan.Mode = ModeDelta
	next := d.Snapshot
	if next == nil {
		// The directory did not move: the plan's state becomes the
		// agent's, at the new watermark.
		next = planSnap
		next.Watermark = d.Watermark
	}
	if err := c.apply(ctx, &plan, next, next.Watermark, x); err != nil {
		return err
	}
	return a.opts.Store.SetMeta(metaSavedPlan, "")
}

// describeDelta names what changed in the directory, with a few examples.
func describeDelta(d *directory.Delta) []string {
	var out []string
	if n := len(d.Users); n > 0 {
		var names []string
		for _, u := range d.Users {
			names = append(names, u.Username)
		}
		out = append(out, fmt.Sprintf("%d users changed in the directory (for example %s)", n, strings.Join(first(names), ", ")))
	}
	if n := len(d.Groups); n > 0 {
		var names []string
		for _, g := range d.Groups {
			names = append(names, g.Name)
		}
		out = append(out, fmt.Sprintf("%d groups changed in the directory (for example %s)", n, strings.Join(first(names), ", ")))
	}
	if n := len(d.RemovedUsers) + len(d.RemovedGroups); n > 0 {
		out = append(out, fmt.Sprintf("%d objects left the directory scope", n))
	}
	if n := len(d.Memberships); n > 0 {
		out = append(out, fmt.Sprintf("the members of %d groups changed", n))
	}
	return out
}
