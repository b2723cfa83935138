package agent

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/state"
	"github.com/idsync/idsync/reporter"
)

// apply applies the plan, reports progress, and records what the next
// cycle builds on.
// snap is the directory state to keep; nil keeps the previous one with
// the new watermark wm.
func (c *cycle) apply(ctx context.Context, plan *Plan, snap *directory.Snapshot, wm directory.Watermark, x *ids) error {
	a := c.a
	reps := c.session.startReports(ctx)
	var shown sync.WaitGroup
	pctx, stopShowing := context.WithCancel(ctx)
	if a.opts.Progress != nil {
		total := int64(len(plan.Users) + len(plan.Groups))
		for _, m := range plan.Members {
			total += int64(len(m.Add) + len(m.Remove))
		}
		shown.Go(func() { c.showProgress(pctx, total) })
	}

	countRejected(c.counts, plan)
	c.logRejected(plan)
	c.counts.Add(directory.KindUser, reporter.Same, reporter.Success, int64(plan.SameUsers))
	c.counts.Add(directory.KindGroup, reporter.Same, reporter.Success, int64(plan.SameGroups))
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
	reps.Stop()
	stopShowing()
	shown.Wait()
	if applyErr != nil {
		return fmt.Errorf("applying changes: %w", applyErr)
	}
	if err := reps.Flush(ctx); err != nil {
		return err
	}
	return c.commit(ctx, plan, snap, wm, x, ap)
}

// commit records the new directory state and what must be retried, then
// lets the pool's token cover it. The order matters: a crash in between
// leaves the token behind the local state, which the next cycle sees as a
// mismatch and answers with a full cycle; the token is never ahead of what
// was applied.
func (c *cycle) commit(ctx context.Context, plan *Plan, snap *directory.Snapshot, wm directory.Watermark, x *ids, ap *applier) error {
	a := c.a
	var pendingUsers, pendingGroups []string
	for ext := range ap.failedUsers {
		pendingUsers = append(pendingUsers, ext)
	}
	for ext := range ap.failedGroups {
		pendingGroups = append(pendingGroups, ext)
	}
	for _, r := range plan.Rejected {
		if r.Object == directory.KindUser {
			pendingUsers = append(pendingUsers, r.ExternalID)
		} else {
			pendingGroups = append(pendingGroups, r.ExternalID)
		}
	}
	pendingUsers = append(pendingUsers, c.heldIDs(directory.KindUser)...)
	pendingGroups = append(pendingGroups, c.heldIDs(directory.KindGroup)...)
	st := a.opts.Store
	if err := st.SetPending(directory.KindUser, pendingUsers); err != nil {
		return err
	}
	if err := st.SetPending(directory.KindGroup, pendingGroups); err != nil {
		return err
	}
	if err := c.recordFailures(plan, ap); err != nil {
		return err
	}
	if plan.Mode == ModeFull {
		if err := st.ReplaceIDs(directory.KindUser, x.users); err != nil {
			return err
		}
		if err := st.ReplaceIDs(directory.KindGroup, x.groups); err != nil {
			return err
		}
	} else {
		var gone []string
		for _, ch := range plan.Users {
			if ch.Action == ActionDelete && !ap.failedUsers[ch.ExternalID] {
				gone = append(gone, ch.ExternalID)
			}
		}
		if err := st.UpdateIDs(directory.KindUser, x.newUsers(), gone); err != nil {
			return err
		}
		var goneGroups []string
		for _, ch := range plan.Groups {
			if ch.Action == ActionDelete && !ap.failedGroups[ch.ExternalID] {
				goneGroups = append(goneGroups, ch.ExternalID)
			}
		}
		if err := st.UpdateIDs(directory.KindGroup, x.groups, goneGroups); err != nil {
			return err
		}
	}
	if snap != nil {
		if err := st.SaveSnapshot(sessionKind, snap); err != nil {
			return err
		}
	} else if err := st.SetWatermark(sessionKind, wm); err != nil {
		// A delta that changed nothing moves the watermark only.
		return err
	}
	if plan.Mode == ModeFull {
		if err := st.SetMeta(metaLastFull, a.now().UTC().Format(time.RFC3339)); err != nil {
			return err
		}
	}
	token, err := encodeToken(wm, ScopeFingerprint(c.settings))
	if err != nil {
		return fmt.Errorf("encode the replication token: %w", err)
	}
	if err := c.session.setToken(ctx, token); err != nil {
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
		for _, s := range []state.Statistics{r.UserStatistics, r.GroupStatistics, r.GroupMemberStatistics} {
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
