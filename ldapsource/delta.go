package ldapsource

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
	"go.uber.org/zap"

	"github.com/idsync/idsync/internal/directory"
)

// guidBatch is how many objects one re-read search asks for.
const guidBatch = 100

// Delta reads the changes since prev and returns them together with the new
// complete state (Delta.Snapshot) and watermark. When the directory reports
// no change at all, the previous state is not read (prev.Load is not
// called) and Delta.Snapshot is nil: the previous state stands, with the new
// watermark. Delta.Snapshot is nil too when the changes reported touch
// nothing of the previous state (objects outside the scope).
//
// Design: the LDAP delta (DirSync or uSNChanged) says which objects changed
// or were deleted. Changed objects are read again in full (groups with their
// complete direct member list, by ranged retrieval), except groups whose
// member values alone changed, which DirSync's incremental values give
// (applyMemberEdits), and users whose mapped attributes alone changed,
// whose new values DirSync gives (applyValueEdits); the result is applied
// to the previous state kept in prev (users, groups and the direct-member
// graph), scope and nested memberships are brought up to date (nextState:
// kept, or Build), and the result is directory.Diff(prev, next). Renames and moves
// are therefore updates, moves out of scope removals and moves in
// additions. When the DC's highestCommittedUSN has not moved, nothing is
// asked at all.
//
// Delta returns an error wrapping ErrFullSyncRequired when prev has no
// watermark or no state, was taken on another DC or before a DC restore
// (invocationId), in another mode, under other scope or mapping settings, or
// longer ago than the tombstone lifetime. An error of prev.Load is returned
// wrapped.
func (s *Source) Delta(ctx context.Context, prev directory.Previous) (*directory.Delta, error) {
	if prev.Watermark.IsZero() || prev.Load == nil {
		return nil, fmt.Errorf("delta: %w: no previous watermark", ErrFullSyncRequired)
	}
	wm := prev.Watermark
	s.memberEdits, s.valueEdits = 0, 0
	c, err := s.connection(ctx)
	if err != nil {
		return nil, fmt.Errorf("delta: %w", err)
	}
	info, err := s.readRootDSE(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("delta: %w", err)
	}
	if err := s.checkWatermark(c, info, wm); err != nil {
		return nil, fmt.Errorf("delta: %w", err)
	}
	base := s.baseDN(info)
	if fp := s.fingerprint(base); fp != wm.Config {
		return nil, fmt.Errorf("delta: %w: scope, base DN or attribute mapping changed", ErrFullSyncRequired)
	}
	ous, err := s.ouRoots()
	if err != nil {
		return nil, fmt.Errorf("delta: %w", err)
	}
	next := directory.Watermark{Mode: wm.Mode, DCHost: info.DNSHostName, InvocationID: info.InvocationID,
		USN: info.HighestUSN, TakenAt: s.opts.Now().UTC(), Config: wm.Config}
	if wm.USN != 0 && info.HighestUSN == wm.USN {
		// Nothing at all was written on this DC since the last read (its
		// highestCommittedUSN, read before that read's changes, has not
		// moved), so there is no change to ask for: the DirSync cookie
		// stays as it is, and a DirSync pass, which Samba answers by
		// scanning the domain, is saved.
		next.Cookie = wm.Cookie
		s.log.Info("delta read", zap.String("mode", string(wm.Mode)), zap.Bool("changed", false), zap.Bool("dc_written", false))
		return &directory.Delta{Watermark: next}, nil
	}
	rd := newReader(s, c, ous)
	var (
		deleted, changed []string
		prevSnap         *directory.Snapshot
	)
	load := func() error {
		if prevSnap != nil {
			return nil
		}
		p, err := prev.Load()
		if err != nil {
			return fmt.Errorf("delta: read the previous state: %w", err)
		}
		if p == nil {
			return fmt.Errorf("delta: %w: no previous state", ErrFullSyncRequired)
		}
		prevSnap = p
		return nil
	}
	switch wm.Mode {
	case directory.ModeUSN:
		if deleted, err = s.readUSNChanges(ctx, rd, base, wm.USN); err != nil {
			return nil, fmt.Errorf("delta: %w", err)
		}
	case directory.ModeDirSync:
		round, err := s.dirSync(ctx, c, base, dirSyncFilter, wm.Cookie, s.dirSyncAttrs(), true, s.valueOnlyAttrs())
		if refusedCookie(err) {
			return nil, fmt.Errorf("delta: %w: the domain controller refused the DirSync cookie: %w", ErrFullSyncRequired, err)
		}
		if err != nil {
			return nil, fmt.Errorf("delta: %w", err)
		}
		deleted, changed, next.Cookie = round.deleted, round.changed, round.cookie
		reread := changed
		if len(round.edits)+len(round.values) > 0 && !s.noMemberEdits {
			// Groups whose members alone changed are not read again:
			// their new direct members are the previous ones with the
			// values DirSync reported; nor are users whose mapped
			// attributes alone changed: DirSync gave their new values.
			if err := load(); err != nil {
				return nil, err
			}
			reread = applyMemberEdits(prevSnap, rd, round.edits, changed)
			s.memberEdits = len(changed) - len(reread)
			reread = s.applyValueEdits(prevSnap, rd, round.values, round.only, reread)
		}
		if err := s.reread(ctx, rd, base, reread); err != nil {
			return nil, fmt.Errorf("delta: %w", err)
		}
	default:
		return nil, fmt.Errorf("delta: %w: unknown watermark mode %q", ErrFullSyncRequired, wm.Mode)
	}
	if len(deleted)+len(changed)+len(rd.seen) == 0 {
		s.log.Info("delta read", zap.String("mode", string(wm.Mode)), zap.Bool("changed", false))
		return &directory.Delta{Watermark: next}, nil
	}
	if err := rd.resolveMembers(ctx); err != nil {
		return nil, fmt.Errorf("delta: %w", err)
	}
	filter, err := s.resolveScopeGroups(ctx, c, base)
	if err != nil {
		return nil, fmt.Errorf("delta: %w", err)
	}
	if err := load(); err != nil {
		return nil, err
	}
	if untouched(prevSnap, rd, deleted, changed) {
		s.log.Info("delta read", zap.String("mode", string(wm.Mode)), zap.Bool("changed", false), zap.Int("out_of_scope_changes", len(rd.seen)+len(deleted)))
		return &directory.Delta{Watermark: next}, nil
	}
	snap := s.nextState(prevSnap, rd, deleted, changed, filter)
	snap.Watermark = next
	gone := make(map[string]bool, len(deleted))
	for _, id := range deleted {
		gone[id] = true
	}
	d := directory.Diff(prevSnap, snap, gone)
	s.log.Info("delta read", zap.String("mode", string(wm.Mode)), zap.Int("changed_users", len(d.Users)),
		zap.Int("changed_groups", len(d.Groups)), zap.Int("removed_users", len(d.RemovedUsers)),
		zap.Int("removed_groups", len(d.RemovedGroups)), zap.Int("membership_changes", len(d.Memberships)),
		zap.Int("groups_from_member_values", s.memberEdits), zap.Int("users_from_values", s.valueEdits))
	return d, nil
}

// checkWatermark refuses a watermark the current DC cannot continue from.
func (s *Source) checkWatermark(c *ldap.Conn, info *rootDSE, wm directory.Watermark) error {
	if s.opts.DeltaMode != DeltaAuto && string(s.opts.DeltaMode) != string(wm.Mode) {
		return fmt.Errorf("%w: watermark mode %s, configured %s", ErrFullSyncRequired, wm.Mode, s.opts.DeltaMode)
	}
	if !strings.EqualFold(wm.DCHost, info.DNSHostName) {
		return fmt.Errorf("%w: watermark is from domain controller %q, connected to %q", ErrFullSyncRequired, wm.DCHost, info.DNSHostName)
	}
	if !strings.EqualFold(wm.InvocationID, info.InvocationID) {
		return fmt.Errorf("%w: domain controller %s has a new invocationId (restored?)", ErrFullSyncRequired, info.DNSHostName)
	}
	if wm.Mode == directory.ModeUSN && info.HighestUSN < wm.USN {
		return fmt.Errorf("%w: highestCommittedUSN %d is below the watermark %d", ErrFullSyncRequired, info.HighestUSN, wm.USN)
	}
	days, err := s.tombstoneLifetimeDays(c, info.ConfigNC)
	if err != nil {
		return err
	}
	if age := s.opts.Now().Sub(wm.TakenAt); age > time.Duration(days)*24*time.Hour {
		return fmt.Errorf("%w: watermark is %s old, tombstone lifetime is %d days", ErrFullSyncRequired, age.Round(time.Hour), days)
	}
	return nil
}

// readUSNChanges reads objects with uSNChanged above usn into rd and returns
// the GUIDs of tombstones above usn.
func (s *Source) readUSNChanges(ctx context.Context, rd *reader, base string, usn int64) ([]string, error) {
	since := fmt.Sprintf("(uSNChanged>=%d)", usn+1)
	if err := rd.readUsers(ctx, base, "(&"+since+userFilter+")"); err != nil {
		return nil, err
	}
	if err := rd.readGroups(ctx, base, "(&"+since+groupFilter+")"); err != nil {
		return nil, err
	}
	var deleted []string
	spec := searchSpec{base: "CN=Deleted Objects," + base, scope: ldap.ScopeWholeSubtree,
		filter: "(&(isDeleted=TRUE)" + since + ")", attrs: []string{"objectGUID"},
		controls: []ldap.Control{ldap.NewControlMicrosoftShowDeleted()}}
	err := s.pagedSearch(ctx, rd.c, spec, func(e *ldap.Entry) error {
		id, err := DecodeGUID(e.GetEqualFoldRawAttributeValue("objectGUID"))
		if err != nil {
			return fmt.Errorf("tombstone %s: %w", e.DN, err)
		}
		deleted = append(deleted, id)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read tombstones: %w", err)
	}
	return deleted, nil
}

// reread reads the changed objects again in full, in batches.
func (s *Source) reread(ctx context.Context, rd *reader, base string, ids []string) error {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	for start := 0; start < len(ids); start += guidBatch {
		var sb strings.Builder
		sb.WriteString("(|")
		for _, id := range ids[start:min(start+guidBatch, len(ids))] {
			v, err := guidFilterValue(id)
			if err != nil {
				return err
			}
			sb.WriteString("(objectGUID=" + v + ")")
		}
		sb.WriteString(")")
		if err := rd.readUsers(ctx, base, "(&"+userFilter+sb.String()+")"); err != nil {
			return err
		}
		if err := rd.readGroups(ctx, base, "(&"+groupFilter+sb.String()+")"); err != nil {
			return err
		}
	}
	return nil
}

// applyChanges applies a delta read to the previous state: deleted objects
// and changed objects that are no longer users or groups of the scope leave,
// re-read objects replace their previous version. The previous state is
// copied once, without the objects that leave or are replaced.
func applyChanges(prev *directory.Snapshot, rd *reader, deleted, changed []string) directory.Candidates {
	replaced := make(map[string]bool, len(deleted)+len(changed)+len(rd.seen))
	for _, id := range deleted {
		replaced[id] = true
	}
	for _, id := range changed {
		replaced[id] = true // re-read below, or no longer a user or group
	}
	for id := range rd.seen {
		replaced[id] = true
	}
	c := directory.Candidates{
		Users:  mergeUsers(prev, rd.users, replaced),
		Groups: make([]directory.Group, 0, len(prev.Groups)+len(rd.groups)),
		Links:  make([]directory.Links, 0, len(prev.Graph.Links)+len(rd.links)),
	}
	for _, g := range prev.Groups {
		if !replaced[g.ExternalID] {
			g.Members = nil // Build computes them again
			c.Groups = append(c.Groups, g)
		}
	}
	for _, g := range rd.groups {
		c.Groups = append(c.Groups, g)
	}
	for _, l := range prev.Graph.Links {
		if !replaced[l.GroupID] {
			c.Links = append(c.Links, l)
		}
	}
	for _, l := range rd.links {
		slices.Sort(l.Direct)
		l.Direct = slices.Compact(l.Direct)
		c.Links = append(c.Links, l)
	}
	return c
}

// mergeUsers returns the previous state's users and excluded users that are
// not replaced, and the users read, sorted by ExternalID as Build sorts
// them: the previous lists are sorted already, so a merge puts them in
// order without sorting 100,000 users again (Build's sort then only checks
// the order).
func mergeUsers(prev *directory.Snapshot, read []directory.User, replaced map[string]bool) []directory.User {
	out := make([]directory.User, 0, len(prev.Users)+len(prev.Graph.Excluded)+len(read))
	byID := func(a, b directory.User) int { return strings.Compare(a.ExternalID, b.ExternalID) }
	if !slices.IsSortedFunc(prev.Users, byID) || !slices.IsSortedFunc(prev.Graph.Excluded, byID) {
		// Not a state Build made: Build sorts them.
		for _, us := range [][]directory.User{prev.Users, prev.Graph.Excluded} {
			for _, u := range us {
				if !replaced[u.ExternalID] {
					out = append(out, u)
				}
			}
		}
		return append(out, read...)
	}
	read = slices.Clone(read)
	slices.SortStableFunc(read, byID)
	lists := [3][]directory.User{prev.Users, prev.Graph.Excluded, read}
	for {
		best := -1
		for i, l := range lists {
			if len(l) > 0 && (best < 0 || l[0].ExternalID < lists[best][0].ExternalID) {
				best = i
			}
		}
		if best < 0 {
			return out
		}
		u := lists[best][0]
		lists[best] = lists[best][1:]
		if best == 2 || !replaced[u.ExternalID] {
			out = append(out, u)
		}
	}
}

// refusedCookie reports whether a DirSync error is the server refusing the
// request itself (a corrupt, foreign or expired cookie, or a right that was
// withdrawn), which only a full read can get past; network errors, timeouts
// and a busy server are not: they are retried by the next cycle.
func refusedCookie(err error) bool {
	var le *ldap.Error
	if !errors.As(err, &le) {
		return false
	}
	switch {
	case le.ResultCode >= ldap.ErrorNetwork: // client-side: network, decoding
		return false
	case le.ResultCode == ldap.LDAPResultTimeLimitExceeded, le.ResultCode == ldap.LDAPResultBusy,
		le.ResultCode == ldap.LDAPResultUnavailable, le.ResultCode == ldap.LDAPResultAdminLimitExceeded:
		return false
	}
	return true
}
