package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.uber.org/zap"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/reporter"
)

// TriggerOnDemand marks a job that synchronized one object on request
// (`idsync sync --object`).
const TriggerOnDemand Trigger = "on_demand"

// ErrObjectNotFound means no directory object matches the reference.
var ErrObjectNotFound = errors.New("no such object")

// ObjectPlan is the plan for one directory object: the object, whether it
// is in scope, its effective groups, what the pool holds, and the changes.
type ObjectPlan struct {
	Ref    string           `json:"ref"`
	Object directory.Kind   `json:"object"`
	User   *directory.User  `json:"user,omitempty"`
	Group  *directory.Group `json:"group,omitempty"`
	// InScope is false for an object found only in the last synchronized
	// state: it left the scope or the directory since.
	InScope bool `json:"in_scope"`
	// Groups are the in-scope groups the user is an effective member of.
	Groups    []string   `json:"groups,omitempty"`
	PoolUser  *PoolUser  `json:"pool_user,omitempty"`
	PoolGroup *PoolGroup `json:"pool_group,omitempty"`
	// Plan holds only this object's changes and memberships.
	Plan *Plan `json:"plan"`
	// snap is the directory read the plan is built on.
	snap *directory.Snapshot
}

// matchUser reports whether ref names u: UPN, sAMAccountName, DN or
// objectGUID, case-insensitively.
func matchUser(u *directory.User, ref string) bool {
	for _, v := range []string{u.Username, u.SAMAccountName, u.DN, u.ExternalID} {
		if v != "" && strings.EqualFold(v, ref) {
			return true
		}
	}
	return false
}

func matchGroup(g *directory.Group, ref string) bool {
	for _, v := range []string{g.Name, g.SAMAccountName, g.DN, g.ExternalID} {
		if v != "" && strings.EqualFold(v, ref) {
			return true
		}
	}
	return false
}

// planObject reads the directory and the pool for one object and plans
// its changes. It changes nothing.
func (c *cycle) planObject(ctx context.Context, ref string) (*ObjectPlan, *ids, error) {
	a := c.a
	src, err := a.opts.NewSource(c.settings)
	if err != nil {
		return nil, nil, fmt.Errorf("directory source: %w", err)
	}
	if cl, ok := src.(interface{ Close() error }); ok {
		defer cl.Close()
	}
	snap, err := src.Snapshot(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", errSourceRead, err)
	}
	op := &ObjectPlan{Ref: ref, InScope: true, snap: snap}
	in := Input{Mode: ModeDelta, Settings: c.settings.Plan, Limits: Limits{MaxDeletions: -1, MaxDeletionPercent: 100}}
	for i := range snap.Users {
		if matchUser(&snap.Users[i], ref) {
			u := snap.Users[i]
			op.Object, op.User = directory.KindUser, &u
			break
		}
	}
	if op.User == nil {
		for i := range snap.Groups {
			if matchGroup(&snap.Groups[i], ref) {
				g := snap.Groups[i]
				op.Object, op.Group = directory.KindGroup, &g
				break
			}
		}
	}
	if op.User == nil && op.Group == nil {
		// Not in scope now: the last synchronized state may know it.
		prev, _ := a.opts.Store.Snapshot(sessionKind)
		if prev != nil {
			for i := range prev.Users {
				if matchUser(&prev.Users[i], ref) {
					u := prev.Users[i]
					op.Object, op.User, op.InScope = directory.KindUser, &u, false
					break
				}
			}
			for i := range prev.Groups {
				if op.User == nil && matchGroup(&prev.Groups[i], ref) {
					g := prev.Groups[i]
					op.Object, op.Group, op.InScope = directory.KindGroup, &g, false
					break
				}
			}
		}
	}
	switch {
	case op.User == nil && op.Group == nil:
		// op carries the read for an explanation.
		return op, nil, fmt.Errorf("%w: %q is neither a user (UPN, sAMAccountName, DN, objectGUID) nor a group (name, DN, objectGUID) in the scope or the last synchronized state", ErrObjectNotFound, ref)
	case op.User != nil && op.InScope:
		in.Users = []directory.User{*op.User}
		// Every in-scope group, to add and remove this user's memberships.
		in.Groups = snap.Groups
		for _, g := range snap.Groups {
			if _, ok := slices.BinarySearch(g.Members, op.User.ExternalID); ok {
				op.Groups = append(op.Groups, g.Name)
			}
		}
	case op.User != nil:
		in.RemovedUsers = []string{op.User.ExternalID}
	case op.InScope:
		in.Groups = []directory.Group{*op.Group}
	default:
		in.RemovedGroups = []string{op.Group.ExternalID}
	}
	known, err := a.opts.Store.AllIDs(directory.KindUser)
	if err != nil {
		return nil, nil, err
	}
	groups, err := a.opts.Store.AllIDs(directory.KindGroup)
	if err != nil {
		return nil, nil, err
	}
	in.ManagedUsers, in.ManagedGroups = len(known), len(groups)
	var x *ids
	in.Target, x, err = deltaTarget{pool: a.opts.Cloud, concurrency: a.opts.Concurrency, in: &in,
		known: known, knownGroups: len(groups), settings: c.settings.Plan}.read(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", errTargetRead, err)
	}
	p := BuildPlan(in)
	p.Safety, p.Guards = nil, nil
	var ext string
	if op.User != nil {
		ext = op.User.ExternalID
		// Only this user's memberships: the rest of each group is a
		// cycle's business.
		var ms []MemberChange
		for _, m := range p.Members {
			mc := MemberChange{GroupExternalID: m.GroupExternalID, GroupName: m.GroupName}
			if slices.Contains(m.Add, ext) {
				mc.Add = []string{ext}
			}
			if slices.Contains(m.Remove, ext) {
				mc.Remove = []string{ext}
			}
			if mc.Add != nil || mc.Remove != nil {
				ms = append(ms, mc)
			}
		}
		p.Members, p.Groups, p.SameGroups = ms, nil, 0
		for i := range in.Target.Users {
			if in.Target.Users[i].ExternalID == ext {
				op.PoolUser = &in.Target.Users[i]
			}
		}
	} else {
		ext = op.Group.ExternalID
		p.Users, p.SameUsers = nil, 0
		for i := range in.Target.Groups {
			if in.Target.Groups[i].ExternalID == ext {
				op.PoolGroup = &in.Target.Groups[i]
			}
		}
	}
	var rej []Rejection
	for _, r := range p.Rejected {
		if r.ExternalID == ext {
			rej = append(rej, r)
		}
	}
	p.Rejected = rej
	op.Plan = p
	return op, x, nil
}

// removes reports whether a plan deletes or blocks anything.
func removes(p *Plan) bool {
	for _, u := range p.Users {
		if u.Removed {
			return true
		}
	}
	for _, g := range p.Groups {
		if g.Action == ActionDelete {
			return true
		}
	}
	return false
}

// syncObject applies the changes of one object in the cycle's session,
// without moving the replication token or the local snapshot: the next
// cycle still sees the directory change and finds the pool up to date.
func (c *cycle) syncObject(ctx context.Context) error {
	a := c.a
	op, x, err := c.planObject(ctx, c.opts.Object)
	if err != nil {
		return err
	}
	c.job.Mode = "object"
	p := op.Plan
	if removes(p) && !c.opts.AllowDelete {
		return &SafetyError{Stop: &SafetyStop{Removals: 1, Reason: fmt.Sprintf("%s %q left the directory scope; synchronizing it would remove it from the pool: pass --allow-delete to do so", op.Object, c.opts.Object)}}
	}
	c.log.Info("synchronizing one object", zap.String("object", c.opts.Object), zap.String("type", string(op.Object)),
		zap.Bool("in_scope", op.InScope), zap.Int("user_changes", len(p.Users)), zap.Int("group_changes", len(p.Groups)),
		zap.Int("membership_changes", len(p.Members)), zap.Int("rejected", len(p.Rejected)))
	reps := c.session.startReports(ctx)
	countRejected(c.counts, p)
	c.logRejected(p)
	c.counts.Add(directory.KindUser, reporter.Same, reporter.Success, int64(p.SameUsers))
	c.counts.Add(directory.KindGroup, reporter.Same, reporter.Success, int64(p.SameGroups))
	ap := newApplier(a.opts.Cloud, c.counts, x, a.opts.Concurrency, c.log)
	applyErr := ap.apply(ctx, p)
	reps.Stop()
	if applyErr != nil {
		return fmt.Errorf("applying changes: %w", applyErr)
	}
	if err := reps.Flush(ctx); err != nil {
		return err
	}
	var gone, goneGroups []string
	for _, ch := range p.Users {
		if ch.Action == ActionDelete && !ap.failedUsers[ch.ExternalID] {
			gone = append(gone, ch.ExternalID)
		}
	}
	for _, ch := range p.Groups {
		if ch.Action == ActionDelete && !ap.failedGroups[ch.ExternalID] {
			goneGroups = append(goneGroups, ch.ExternalID)
		}
	}
	if err := a.opts.Store.UpdateIDs(directory.KindUser, x.users, gone); err != nil {
		return err
	}
	return a.opts.Store.UpdateIDs(directory.KindGroup, x.groups, goneGroups)
}
