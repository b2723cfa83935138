package agent

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/pool"
)

// ids maps external ids to cloud ids and back for the managed objects a
// cycle knows of.
type ids struct {
	users      map[string]string // external id -> user id
	userExt    map[string]string // user id -> external id
	groups     map[string]string // external id -> group id
	unresolved map[string]bool   // external ids the pool does not have
	// cached are the user pairs the local state already holds (a delta
	// starts from them), so that only new or changed pairs are written
	// back; nil in a full cycle.
	cached map[string]string
}

func newIDs() *ids {
	return &ids{users: map[string]string{}, userExt: map[string]string{}, groups: map[string]string{}, unresolved: map[string]bool{}}
}

func (x *ids) addUser(ext, id string) {
	if ext == "" || id == "" {
		return
	}
	x.users[ext] = id
	x.userExt[id] = ext
}

// newUsers returns the user pairs the local state does not hold yet.
func (x *ids) newUsers() map[string]string {
	if x.cached == nil {
		return x.users
	}
	out := make(map[string]string)
	for ext, id := range x.users {
		if old, ok := x.cached[ext]; !ok || old != id {
			out[ext] = id
		}
	}
	return out
}

func (x *ids) removeUser(ext string) {
	if id, ok := x.users[ext]; ok {
		delete(x.userExt, id)
	}
	delete(x.users, ext)
}

// readMembers fills the Members of managed groups: the external ids of the
// managed users in them. Other subjects are left out; idsync never removes
// them. Groups in trusted are not read (see Input.TrustedMembers).
func readMembers(ctx context.Context, pool Pool, concurrency int, groups []PoolGroup, x *ids, trusted map[string]directory.MembershipChange) error {
	eg, ctx := errgroup.WithContext(ctx)
	eg.SetLimit(max(concurrency, 1))
	for i := range groups {
		g := &groups[i]
		if _, ok := trusted[g.ExternalID]; g.ExternalID == "" || ok {
			continue
		}
		eg.Go(func() error {
			var members []string
			for m, err := range pool.GroupMembers(ctx, g.ID) {
				if err != nil {
					return fmt.Errorf("list members of group %s: %w", g.ID, err)
				}
				if ext, ok := x.userExt[m.SubjectID]; ok {
					members = append(members, ext)
				}
			}
			slices.Sort(members)
			g.Members = slices.Compact(members)
			return nil
		})
	}
	return eg.Wait()
}

// deltaTarget reads the part of the pool a delta cycle compares: the users
// and groups the delta names, and the memberships of those groups.
type deltaTarget struct {
	pool        Pool
	concurrency int
	in          *Input
	// known are the cached external id -> user id pairs of managed users;
	// knownGroups is how many managed groups the state knows of.
	known       map[string]string
	knownGroups int
	settings    Settings
}

// read reads only what a delta plan needs: the pool users and groups the
// changed objects correspond to (by external id, or by username and name
// for capture), and the members of the groups whose members may change and
// are not trusted (Input.TrustedMembers).
// The known ids map group members back to external ids.
func (d deltaTarget) read(ctx context.Context) (Target, *ids, error) {
	var t Target
	x := newIDs()
	for ext, id := range d.known {
		x.addUser(ext, id)
	}
	x.cached = d.known
	userIDs, found, err := d.resolveUsers(ctx, x)
	if err != nil {
		return t, nil, err
	}
	if t.Users, err = d.readUsers(ctx, userIDs, found); err != nil {
		return t, nil, err
	}
	if t.Groups, err = d.readGroups(ctx, x); err != nil {
		return t, nil, err
	}
	if err := readMembers(ctx, d.pool, d.concurrency, t.Groups, x, d.in.TrustedMembers); err != nil {
		return t, nil, err
	}
	if err := lookUpGroupNames(ctx, d.pool, d.in, &t); err != nil {
		return t, nil, err
	}
	return t, x, nil
}

// resolveUsers resolves the external ids of the delta's users into x and
// returns the cloud ids found and which external ids have one.
func (d deltaTarget) resolveUsers(ctx context.Context, x *ids) ([]string, map[string]bool, error) {
	in := d.in
	want := make([]string, 0, len(in.Users)+len(in.RemovedUsers))
	for _, u := range in.Users {
		want = append(want, u.ExternalID)
	}
	want = append(want, in.RemovedUsers...)
	resolved, err := d.pool.ResolveExternalIDs(ctx, want)
	if err != nil {
		return nil, nil, fmt.Errorf("resolve user external ids: %w", err)
	}
	found := make(map[string]bool, len(resolved))
	var userIDs []string
	for _, r := range resolved {
		if r.UserID == "" {
			continue
		}
		found[r.ExternalID] = true
		x.addUser(r.ExternalID, r.UserID)
		userIDs = append(userIDs, r.UserID)
	}
	for _, ext := range want {
		if !found[ext] {
			x.removeUser(ext)
			x.unresolved[ext] = true
		}
	}
	return userIDs, found, nil
}

// readUsers reads the resolved users and the pool users whose username a
// new user would take. New users may collide with pool users by username
// (capture, conflict or a user recreated in the directory).
// UserService.List documents no filter, so those are found in one listing
// of the pool, which then also reads the resolved users.
func (d deltaTarget) readUsers(ctx context.Context, userIDs []string, found map[string]bool) ([]PoolUser, error) {
	names := make(map[string]bool)
	for _, u := range d.in.Users {
		if found[u.ExternalID] {
			continue
		}
		if f, err := desiredUser(&u, d.settings.ReplacementDomain); err == nil { // else the planner rejects it
			names[strings.ToLower(f.Username)] = true
		}
	}
	if len(names) == 0 && !cheaperToList(len(userIDs), len(d.known)) {
		return d.getUsers(ctx, userIDs)
	}
	wanted := make(map[string]bool, len(userIDs))
	for _, id := range userIDs {
		wanted[id] = true
	}
	var users []PoolUser
	listed := make(map[string]bool)
	err := d.pool.ListAllUsers(ctx, func(u PoolUser) error {
		if (wanted[u.ID] || names[strings.ToLower(u.Fields.Username)]) && !listed[u.ID] {
			listed[u.ID] = true // once, should the list repeat it
			users = append(users, u)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list pool users: %w", err)
	}
	return users, nil
}

// getUsers reads users one by one, concurrently.
func (d deltaTarget) getUsers(ctx context.Context, userIDs []string) ([]PoolUser, error) {
	users := make([]PoolUser, len(userIDs))
	eg, gctx := errgroup.WithContext(ctx)
	eg.SetLimit(max(d.concurrency, 1))
	for i, id := range userIDs {
		eg.Go(func() error {
			u, err := d.pool.GetUser(gctx, id)
			if err != nil {
				return fmt.Errorf("read pool user %s: %w", id, err)
			}
			users[i] = u
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	return users, nil
}

// readGroups reads the delta's groups into x: by listing the external
// groups when that is cheaper, else one resolution each.
func (d deltaTarget) readGroups(ctx context.Context, x *ids) ([]PoolGroup, error) {
	in := d.in
	groupExts := make([]string, 0, len(in.Groups)+len(in.RemovedGroups))
	for _, g := range in.Groups {
		groupExts = append(groupExts, g.ExternalID)
	}
	groupExts = append(groupExts, in.RemovedGroups...)
	var groups []PoolGroup
	if cheaperToList(len(groupExts), d.knownGroups) {
		wanted := make(map[string]bool, len(groupExts))
		for _, ext := range groupExts {
			wanted[ext] = true
		}
		for g, err := range d.pool.ExternalGroups(ctx, "") {
			if err != nil {
				return nil, fmt.Errorf("list external groups: %w", err)
			}
			if ext := g.ExternalID; wanted[ext] {
				wanted[ext] = false // once, should the list repeat it
				groups = append(groups, g)
				x.groups[ext] = g.ID
			}
		}
		return groups, nil
	}
	for _, ext := range groupExts {
		g, err := d.pool.ResolveExternalGroup(ctx, ext)
		if err != nil {
			if pool.IsNotFound(err) {
				continue
			}
			return nil, fmt.Errorf("resolve group %s: %w", ext, err)
		}
		groups = append(groups, g)
		x.groups[ext] = g.ID
	}
	return groups, nil
}

// lookUpGroupNames adds to t the pool groups that hold the names in's new
// and renamed groups map to: managed groups outside the delta, whose
// names are not free, and unmanaged ones, which may be captured. Their
// members are not read: the plan does not change the first, and idsync
// never reads the members of the second. Groups that keep their pool name
// need no look-up.
//
// GroupService.List filters only on lower-case names of 3-63 characters,
// which many directory names (short, upper-case, with '.' or '_') are not,
// so the names are found in one listing of the organization's groups,
// compared case-insensitively, and only when some name needs a look-up.
func lookUpGroupNames(ctx context.Context, pool Pool, in *Input, t *Target) error {
	current := make(map[string]string, len(t.Groups))
	seen := make(map[string]bool, len(t.Groups))
	for _, g := range t.Groups {
		current[g.ExternalID] = g.Name
		seen[g.ID] = true
	}
	names := make(map[string]bool)
	for _, g := range in.Groups {
		override := groupNameOverride(in.Settings.GroupNameOverrides, g)
		if cur, ok := current[g.ExternalID]; ok && (override != "" && strings.EqualFold(cur, override) || override == "" && keptGroupName(groupNameCandidate{ExternalID: g.ExternalID, Original: g.Name, Current: cur}) != "") {
			continue
		}
		if override != "" {
			names[strings.ToLower(override)] = true
		} else if name := SanitizeGroupName(g.Name); name != "" {
			names[strings.ToLower(name)] = true
		}
	}
	if len(names) == 0 {
		return nil
	}
	for og, err := range pool.Groups(ctx, "") {
		if err != nil {
			return fmt.Errorf("list organization groups: %w", err)
		}
		if names[strings.ToLower(og.Name)] && !seen[og.ID] {
			seen[og.ID] = true
			t.Groups = append(t.Groups, og)
		}
	}
	return nil
}

// cheaperToList reports whether reading n objects one call each costs more
// calls than listing all of the about total objects of their kind, a page
// of pool.MaxBatch per call.
func cheaperToList(n, total int) bool {
	return n > total/pool.MaxBatch+1
}

// deltaInput turns a directory delta into planner input. Objects whose last
// change failed (pending) are planned again from cur, the directory state
// after the delta (nil only when nothing is pending).
func deltaInput(d *directory.Delta, cur *directory.Snapshot, pendingUsers, pendingGroups []string) Input {
	in := Input{Mode: ModeDelta, Users: slices.Clone(d.Users)}
	seenU := make(map[string]bool, len(d.Users))
	for _, u := range d.Users {
		seenU[u.ExternalID] = true
	}
	seenG := make(map[string]bool)
	in.TrustedMembers = make(map[string]directory.MembershipChange, len(d.Groups)+len(d.Memberships))
	for _, g := range d.Groups {
		seenG[g.ExternalID] = true
		in.Groups = append(in.Groups, g)
		in.TrustedMembers[g.ExternalID] = directory.MembershipChange{GroupID: g.ExternalID}
	}
	for _, m := range d.Memberships {
		in.TrustedMembers[m.GroupID] = m
	}
	// The users are indexed only when some are pending: a delta's state
	// holds every user of the scope.
	snapUsers := make(map[string]*directory.User)
	snapGroups := make(map[string]*directory.Group)
	if cur != nil {
		if len(pendingUsers) > 0 {
			for i := range cur.Users {
				snapUsers[cur.Users[i].ExternalID] = &cur.Users[i]
			}
		}
		for i := range cur.Groups {
			snapGroups[cur.Groups[i].ExternalID] = &cur.Groups[i]
		}
	}
	for _, m := range d.Memberships {
		if !seenG[m.GroupID] {
			if g := snapGroups[m.GroupID]; g != nil {
				in.Groups = append(in.Groups, *g)
				seenG[m.GroupID] = true
			}
		}
	}
	// A pending object still in the directory is planned again; one that is
	// gone had a removal fail, so its removal is planned again.
	for _, id := range pendingUsers {
		switch u := snapUsers[id]; {
		case u == nil:
			in.RemovedUsers = append(in.RemovedUsers, id)
		case !seenU[id]:
			in.Users = append(in.Users, *u)
			seenU[id] = true
		}
	}
	for _, id := range pendingGroups {
		// Its last change failed: the pool may hold anything, so its
		// members are read and compared.
		delete(in.TrustedMembers, id)
		switch g := snapGroups[id]; {
		case g == nil:
			in.RemovedGroups = append(in.RemovedGroups, id)
		case !seenG[id]:
			in.Groups = append(in.Groups, *g)
			seenG[id] = true
		}
	}
	for _, r := range d.RemovedUsers {
		in.RemovedUsers = append(in.RemovedUsers, r.ExternalID)
	}
	for _, r := range d.RemovedGroups {
		in.RemovedGroups = append(in.RemovedGroups, r.ExternalID)
	}
	return in
}
