package agent

import (
	"context"
	"slices"

	"go.uber.org/zap"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/pool"
	"github.com/idsync/idsync/internal/state"
	"github.com/idsync/idsync/reporter"
)

// applyMembers resolves the user ids the membership changes need, then
// updates each group's members in calls of at most 1000 deltas. Members
// whose user or group is not in the pool (its change failed) are skipped.
// A group with members skipped because their user's change or lookup
// failed is remembered as failed, so the next cycle plans its members
// again once the user is there.
//
// A trusted change (MemberChange.Trusted: the members the last cycle left,
// not read from the pool) that the pool refuses as not matching what it
// holds (see mismatch) is replaced by the exact change: the group's
// members are read and brought to Desired. So idsync works whether the
// service takes adding a present member or removing an absent one as a
// no-op or as an error.
func (a *applier) applyMembers(ctx context.Context, changes []MemberChange, groups []GroupChange) error {
	// The directory names of the groups the plan also changes, for the
	// job's object list.
	adNames := map[string]string{}
	for _, g := range groups {
		if g.ADName != "" {
			adNames[g.ExternalID] = g.ADName
		}
	}
	if err := a.resolveMissing(ctx, changes); err != nil {
		return err
	}
	return each(ctx, a.concurrency, changes, func(ctx context.Context, m *MemberChange) {
		a.mu.Lock()
		gid, ok := a.x.groups[m.GroupExternalID]
		deltas, adds, skippedAdd, skippedRemove := a.memberDeltas(m.GroupExternalID, m.Add, m.Remove, m.Trusted)
		a.mu.Unlock()
		if !ok {
			a.counts.Add(directory.KindMembership, reporter.Create, reporter.Skipped, int64(len(m.Add)))
			a.counts.Add(directory.KindMembership, reporter.Delete, reporter.Skipped, int64(len(m.Remove)))
			return
		}
		a.counts.Add(directory.KindMembership, reporter.Create, reporter.Skipped, int64(skippedAdd))
		a.counts.Add(directory.KindMembership, reporter.Delete, reporter.Skipped, int64(skippedRemove))
		if len(deltas) == 0 {
			return
		}
		// UpdateGroupMembers chunks by 1000 and reports how many deltas
		// went through before a failure. ADD of a member already present
		// and REMOVE of one already gone are harmless when the next cycle
		// makes the failed rest again.
		done, err := a.pool.UpdateGroupMembers(ctx, gid, deltas)
		rec := state.JobObject{Kind: string(directory.KindGroup), ExternalID: m.GroupExternalID, Name: m.GroupName,
			ADName: adNames[m.GroupExternalID], Action: "members", Added: min(done, adds), Removed: done - min(done, adds)}
		if err != nil && m.Trusted && mismatch(err) {
			// What went through counts; the rest is made by the exact change.
			a.countMembers(done, adds, done, nil)
			a.log.Info("the pool refused a group's member changes; reading its members to apply the exact change",
				zap.String("group", m.GroupExternalID), zap.Error(err))
			added, removed, err := a.exactMembers(ctx, m, gid)
			rec.Added, rec.Removed = rec.Added+added, rec.Removed+removed
			if err != nil {
				rec.Error = err.Error()
				a.failGroup(ctx, m.GroupExternalID, "", "members", err)
			}
			a.counts.Record(rec)
			return
		}
		a.countMembers(done, adds, len(deltas), err)
		if err != nil {
			rec.Error = err.Error()
			a.failGroup(ctx, m.GroupExternalID, "", "members", err)
		}
		a.counts.Record(rec)
	})
}

// memberDeltas turns external ids into member deltas and counts the
// members skipped because their user has no pool id. Call with a.mu held.
// For a trusted change any skipped addition fails the group, so the next
// cycle reads its members instead of trusting a state the pool lacks.
func (a *applier) memberDeltas(group string, add, remove []string, trusted bool) (deltas []pool.MemberDelta, adds, skippedAdd, skippedRemove int) {
	for _, ext := range add {
		if uid, ok := a.x.users[ext]; ok {
			deltas = append(deltas, pool.AddMember(uid))
		} else {
			skippedAdd++
			if trusted || a.failedUsers[ext] || a.unresolved[ext] {
				a.failedGroups[group] = true
			}
		}
	}
	adds = len(deltas)
	for _, ext := range remove {
		if uid, ok := a.x.users[ext]; ok {
			deltas = append(deltas, pool.RemoveMember(uid))
		} else {
			skippedRemove++
			if a.unresolved[ext] {
				a.failedGroups[group] = true
			}
		}
	}
	return deltas, adds, skippedAdd, skippedRemove
}

// countMembers counts the outcome of one UpdateGroupMembers: done of n
// deltas, the first adds of them additions, went through.
func (a *applier) countMembers(done, adds, n int, err error) {
	okAdds := min(done, adds)
	a.counts.Add(directory.KindMembership, reporter.Create, reporter.Success, int64(okAdds))
	a.counts.Add(directory.KindMembership, reporter.Delete, reporter.Success, int64(done-okAdds))
	if err != nil {
		a.counts.Add(directory.KindMembership, reporter.Create, reporter.Failed, int64(adds-okAdds))
		a.counts.Add(directory.KindMembership, reporter.Delete, reporter.Failed, int64(n-adds-(done-okAdds)))
	}
}

// mismatch reports whether an UpdateMembers failure may mean that the
// change does not fit the group's members in the pool: a member added that
// is there already or removed that is not (the docs do not say whether the
// service accepts either), or a subject it does not know. Transient,
// permission and quota failures are not.
func mismatch(err error) bool {
	switch pool.Classify(err) {
	case pool.ClassConflict, pool.ClassNotFound, pool.ClassInvalid:
		return true
	}
	return false
}

// exactMembers reads the group's members and applies the change that
// brings them to m.Desired, returning the members it added and removed.
// The failed attempt's counts stand: it applied nothing of the failed
// chunk, and what earlier chunks applied is now in the pool, so it is not
// changed again.
func (a *applier) exactMembers(ctx context.Context, m *MemberChange, gid string) (added, removed int, err error) {
	var have []string
	for gm, err := range a.pool.GroupMembers(ctx, gid) {
		if err != nil {
			return 0, 0, err
		}
		a.mu.Lock()
		ext, ok := a.x.userExt[gm.SubjectID]
		a.mu.Unlock()
		if ok {
			have = append(have, ext)
		}
	}
	slices.Sort(have)
	have = slices.Compact(have)
	want := m.Desired
	if !slices.IsSorted(want) {
		want = slices.Sorted(slices.Values(want))
	}
	add, remove := directory.DiffSorted(have, want)
	if len(add)+len(remove) == 0 {
		return 0, 0, nil
	}
	if err := a.resolveMissing(ctx, []MemberChange{{Add: add}}); err != nil {
		return 0, 0, err
	}
	a.mu.Lock()
	deltas, adds, skippedAdd, skippedRemove := a.memberDeltas(m.GroupExternalID, add, remove, false)
	a.mu.Unlock()
	a.counts.Add(directory.KindMembership, reporter.Create, reporter.Skipped, int64(skippedAdd))
	a.counts.Add(directory.KindMembership, reporter.Delete, reporter.Skipped, int64(skippedRemove))
	if len(deltas) == 0 {
		return 0, 0, nil
	}
	done, err := a.pool.UpdateGroupMembers(ctx, gid, deltas)
	a.countMembers(done, adds, len(deltas), err)
	return min(done, adds), done - min(done, adds), err
}

// resolveMissing looks up, 1000 at a time, the user ids of members the
// cycle does not know yet (unchanged users in a delta cycle).
func (a *applier) resolveMissing(ctx context.Context, changes []MemberChange) error {
	a.mu.Lock()
	seen := map[string]bool{}
	var missing []string
	for _, m := range changes {
		for _, list := range [][]string{m.Add, m.Remove} {
			for _, ext := range list {
				if _, ok := a.x.users[ext]; !ok && !seen[ext] && !a.x.unresolved[ext] && !a.failedUsers[ext] {
					seen[ext] = true
					missing = append(missing, ext)
				}
			}
		}
	}
	a.mu.Unlock()
	if len(missing) == 0 {
		return nil
	}
	res, err := a.pool.ResolveExternalIDs(ctx, missing)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// The members stay unresolved and are skipped, not failed
		// silently: their groups are planned again next cycle.
		a.log.Warn("resolving member user ids failed; their membership changes are skipped", zap.Int("users", len(missing)), zap.Error(err))
		a.mu.Lock()
		for _, ext := range missing {
			a.unresolved[ext] = true
		}
		a.mu.Unlock()
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range res {
		a.x.addUser(r.ExternalID, r.UserID)
	}
	return nil
}
