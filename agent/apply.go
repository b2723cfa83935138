package agent

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/pool"
	"github.com/idsync/idsync/reporter"
)

// applier carries out a plan against the pool: bounded concurrency and one
// counted outcome per change. A failed object fails alone. It makes each
// call once: retrying transient failures is the Pool's job (the idhub
// client's retry layer), so the applier handles only what retries cannot
// fix: a create that finds its object already there (conflict) and a
// delete that finds it gone (not found).
type applier struct {
	pool        Pool
	counts      *reporter.Counts
	concurrency int
	log         *zap.Logger

	// hashes, when set, gives new users their AD password hash; it is
	// not safe for concurrent use, so hashMu serializes it.
	hashes HashSource
	hashMu sync.Mutex

	mu           sync.Mutex
	x            *ids
	failedUsers  map[string]bool
	failedGroups map[string]bool
	// unresolved are members whose user id could not be looked up this
	// cycle (the lookup failed), as opposed to users not in the pool.
	unresolved map[string]bool
	// errs holds the last error of each failed object.
	errs map[objKey]string
}

func newApplier(pool Pool, counts *reporter.Counts, x *ids, concurrency int, log *zap.Logger) *applier {
	a := &applier{
		pool: pool, counts: counts, x: x, concurrency: max(concurrency, 1), log: log,
		failedUsers: map[string]bool{}, failedGroups: map[string]bool{}, unresolved: map[string]bool{},
		errs: map[objKey]string{},
	}
	return a
}

// apply runs the plan in dependency order: removals of objects whose names
// new objects take over, users, groups, memberships, then the other group
// deletions and user removals. It returns an error only when ctx ends;
// object failures are counted and remembered.
func (a *applier) apply(ctx context.Context, p *Plan) error {
	// Rejections are noted last (and capped apart) so that many of them
	// never crowd the changes out of the job's object list.
	defer a.recordRejected(p.Rejected)
	// Objects whose username or name a new object takes over are removed
	// first; every other removal waits until the end.
	replaced := map[string]bool{}
	for _, c := range p.Users {
		if c.Replaces != "" {
			replaced[c.Replaces] = true
		}
	}
	for _, c := range p.Groups {
		if c.Replaces != "" {
			replaced[c.Replaces] = true
		}
	}
	// Without removals (a first sync, most cycles) the plan's users are
	// applied in place rather than copied.
	users, removals, firstRemovals := p.Users, []UserChange(nil), []UserChange(nil)
	if slices.ContainsFunc(p.Users, func(c UserChange) bool { return c.Removed }) {
		users = nil
		for _, c := range p.Users {
			switch {
			case c.Removed && replaced[c.TargetID]:
				firstRemovals = append(firstRemovals, c)
			case c.Removed:
				removals = append(removals, c)
			default:
				users = append(users, c)
			}
		}
	}
	// A group renamed away from a name another group of the plan takes
	// is renamed before the other groups are created and updated.
	claimed := map[string]bool{}
	for _, c := range p.Groups {
		if c.Action != ActionDelete {
			claimed[strings.ToLower(c.Name)] = true
		}
	}
	var groups, renames, deletions, firstDeletions []GroupChange
	for _, c := range p.Groups {
		switch {
		case c.Action == ActionDelete && replaced[c.TargetID]:
			firstDeletions = append(firstDeletions, c)
		case c.Action == ActionDelete:
			deletions = append(deletions, c)
		case c.PreviousName != "" && claimed[strings.ToLower(c.PreviousName)] && !strings.EqualFold(c.PreviousName, c.Name):
			renames = append(renames, c)
		default:
			groups = append(groups, c)
		}
	}
	steps := []func(context.Context) error{
		func(ctx context.Context) error { return each(ctx, a.concurrency, firstRemovals, a.applyUser) },
		func(ctx context.Context) error { return each(ctx, a.concurrency, firstDeletions, a.applyGroup) },
		// Users and groups do not depend on each other: they run side by
		// side, sharing the concurrency, so that neither waits for the
		// other's last calls. Renames still precede the other groups.
		func(ctx context.Context) error {
			lim := newLimit(a.concurrency)
			var eg errgroup.Group
			eg.Go(func() error { return eachIn(ctx, lim, users, a.applyUser) })
			eg.Go(func() error {
				if err := eachIn(ctx, lim, renames, a.applyGroup); err != nil {
					return err
				}
				return eachIn(ctx, lim, groups, a.applyGroup)
			})
			return eg.Wait()
		},
		func(ctx context.Context) error { return a.applyMembers(ctx, p.Members, p.Groups) },
		func(ctx context.Context) error { return each(ctx, a.concurrency, deletions, a.applyGroup) },
		func(ctx context.Context) error { return each(ctx, a.concurrency, removals, a.applyUser) },
	}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return nil
}

// each runs fn on every item with at most n at once. fn's errors are
// object failures it has already counted; only a done ctx stops the run.
func each[T any](ctx context.Context, n int, items []T, fn func(context.Context, *T)) error {
	return eachIn(ctx, newLimit(n), items, fn)
}

// limit bounds how many calls run at once across several eachIn.
type limit chan struct{}

func newLimit(n int) limit { return make(limit, max(n, 1)) }

// eachIn is each with the bound shared through lim.
func eachIn[T any](ctx context.Context, lim limit, items []T, fn func(context.Context, *T)) error {
	var wg sync.WaitGroup
	for i := range items {
		if ctx.Err() != nil {
			break
		}
		lim <- struct{}{}
		wg.Go(func() {
			defer func() { <-lim }()
			fn(ctx, &items[i])
		})
	}
	wg.Wait()
	return ctx.Err()
}

func (a *applier) count(o directory.Kind, ch reporter.Change, err error) {
	out := reporter.Success
	if err != nil {
		out = reporter.Failed
	}
	a.counts.Add(o, ch, out, 1)
}

func (a *applier) failUser(ctx context.Context, c *UserChange, op string, err error) {
	a.mu.Lock()
	a.failedUsers[c.ExternalID] = true
	a.errs[objKey{directory.KindUser, c.ExternalID}] = op + ": " + err.Error()
	a.mu.Unlock()
	if ctx.Err() == nil {
		a.log.Warn("user change failed", zap.String("op", op), zap.String("external_id", c.ExternalID),
			zap.String("dn", c.DN), zap.String("username", c.Fields.Username), zap.Error(err))
	}
}

func (a *applier) failGroup(ctx context.Context, ext, dn, op string, err error) {
	a.mu.Lock()
	a.failedGroups[ext] = true
	a.errs[objKey{directory.KindGroup, ext}] = op + ": " + err.Error()
	a.mu.Unlock()
	if ctx.Err() == nil {
		a.log.Warn("group change failed", zap.String("op", op), zap.String("external_id", ext), zap.String("dn", dn), zap.Error(err))
	}
}

func (a *applier) applyUser(ctx context.Context, c *UserChange) {
	id := c.TargetID
	switch c.Action {
	case ActionCreate:
		req := createUserRequest(c)
		a.withHash(ctx, c, &req)
		u, err := a.pool.CreateUser(ctx, req)
		if err != nil && pool.IsConflict(err) {
			// The user is there already: created by a call whose reply
			// was lost, or by a run that stopped before recording it.
			u, err = a.findUser(ctx, c.ExternalID, err)
		}
		if err == nil {
			id = u.ID
		}
		a.count(directory.KindUser, reporter.Create, err)
		a.recordUser(c, string(ActionCreate), err)
		if err != nil {
			a.failUser(ctx, c, "create", err)
			return
		}
		a.mu.Lock()
		a.x.addUser(c.ExternalID, id)
		a.mu.Unlock()
		return // created with the right status
	case ActionBind:
		_, err := a.pool.ConvertUserToExternal(ctx, id, c.ExternalID)
		if err == nil && len(c.Mask) > 0 {
			_, err = a.pool.UpdateUser(ctx, updateUserRequest(c))
		}
		a.count(directory.KindUser, reporter.Bind, err)
		a.recordUser(c, string(ActionBind), err)
		if err != nil {
			a.failUser(ctx, c, "bind", err)
			return
		}
		a.mu.Lock()
		a.x.addUser(c.ExternalID, id)
		a.mu.Unlock()
	case ActionUpdate:
		_, err := a.pool.UpdateUser(ctx, updateUserRequest(c))
		a.count(directory.KindUser, reporter.Update, err)
		a.recordUser(c, string(ActionUpdate), err)
		if err != nil {
			a.failUser(ctx, c, "update", err)
		}
	case ActionDelete:
		err := a.pool.DeleteUser(ctx, id)
		if pool.IsNotFound(err) {
			err = nil // already gone
		}
		a.count(directory.KindUser, reporter.Delete, err)
		a.recordUser(c, string(ActionDelete), err)
		if err != nil {
			a.failUser(ctx, c, "delete", err)
			return
		}
		a.mu.Lock()
		a.x.removeUser(c.ExternalID)
		a.mu.Unlock()
		return
	}
	switch c.Status {
	case StatusActivate:
		err := a.pool.ReactivateUser(ctx, id)
		a.count(directory.KindUser, reporter.Activate, err)
		a.recordUser(c, "activate", err)
		if err != nil {
			a.failUser(ctx, c, "activate", err)
		}
	case StatusDeactivate:
		err := a.pool.SuspendUser(ctx, id)
		a.count(directory.KindUser, reporter.Deactivate, err)
		a.recordUser(c, "deactivate", err)
		if err != nil {
			a.failUser(ctx, c, "deactivate", err)
		}
	}
}

// withHash sets the user's AD password hash as the credentials of req when
// password hash sync is on. Without it (or when reading it fails) the
// client generates a password.
func (a *applier) withHash(ctx context.Context, c *UserChange, req *pool.NewUser) {
	if a.hashes == nil {
		return
	}
	a.hashMu.Lock()
	creds, must, err := CreateCredentials(ctx, a.hashes, c.ExternalID)
	a.hashMu.Unlock()
	switch {
	case err != nil:
		if ctx.Err() == nil {
			a.log.Warn("reading the password hash failed; creating the user with a generated password",
				zap.String("external_id", c.ExternalID), zap.String("dn", c.DN), zap.Error(err))
		}
	case creds != nil:
		req.PasswordHash = creds
		req.MustChangePassword = req.MustChangePassword || must
	}
}

// findUser looks up the pool user with an external id after a conflict on
// create; cause is returned when there is none.
func (a *applier) findUser(ctx context.Context, ext string, cause error) (PoolUser, error) {
	res, err := a.pool.ResolveExternalIDs(ctx, []string{ext})
	if err != nil {
		return PoolUser{}, fmt.Errorf("%w (and resolving it failed: %w)", cause, err)
	}
	for _, r := range res {
		if r.ExternalID == ext && r.UserID != "" {
			return PoolUser{ID: r.UserID, ExternalID: ext}, nil
		}
	}
	return PoolUser{}, cause
}

func createUserRequest(c *UserChange) pool.NewUser {
	return pool.NewUser{ExternalID: c.ExternalID, Fields: c.Fields, Active: c.Active, MustChangePassword: c.MustChangePassword}
}

// updateUserRequest writes the fields of c's mask.
func updateUserRequest(c *UserChange) pool.UserUpdate {
	return pool.UserUpdate{ID: c.TargetID, Fields: c.Fields, Changed: slices.Clone(c.Mask)}
}

func (a *applier) applyGroup(ctx context.Context, c *GroupChange) {
	var (
		err error
		ch  reporter.Change
	)
	id := c.TargetID
	switch c.Action {
	case ActionCreate:
		ch = reporter.Create
		var g PoolGroup
		g, err = a.pool.CreateExternalGroup(ctx, c.Name, c.Description, c.ExternalID)
		if err != nil && pool.IsConflict(err) {
			// The group may be there already (see applyUser).
			if g2, err2 := a.pool.ResolveExternalGroup(ctx, c.ExternalID); err2 == nil {
				g, err = g2, nil
			}
		}
		if err == nil {
			id = g.ID
		}
	case ActionBind:
		ch = reporter.Bind
		_, err = a.pool.ConvertGroupToExternal(ctx, id, c.ExternalID)
		if err == nil && len(c.Mask) > 0 {
			_, err = a.pool.UpdateGroup(ctx, id, c.Name, c.Description)
		}
	case ActionUpdate:
		ch = reporter.Update
		_, err = a.pool.UpdateGroup(ctx, id, c.Name, c.Description)
	case ActionDelete:
		ch = reporter.Delete
		err = a.pool.DeleteGroup(ctx, id)
		if pool.IsNotFound(err) {
			err = nil // already gone
		}
	default:
		return
	}
	a.count(directory.KindGroup, ch, err)
	a.recordGroup(c, err)
	if err != nil {
		a.failGroup(ctx, c.ExternalID, c.DN, string(c.Action), err)
		return
	}
	a.mu.Lock()
	if c.Action == ActionDelete {
		delete(a.x.groups, c.ExternalID)
	} else {
		a.x.groups[c.ExternalID] = id
	}
	a.mu.Unlock()
}
