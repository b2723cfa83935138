package agent

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/idsync/idsync/internal/directory"
)

// Mode is the kind of cycle.
type Mode string

// Cycle modes.
const (
	// ModeFull compares the whole directory scope with the whole pool: pool
	// objects idsync manages that are not in the directory are removed.
	ModeFull Mode = "full"
	// ModeDelta applies the changes the directory reported since the last
	// watermark and touches nothing else.
	ModeDelta Mode = "delta"
)

// RemoveBehavior says what happens to a pool user whose directory user was
// deleted or left the scope.
type RemoveBehavior string

// Remove behaviours, spelled as in the configuration.
const (
	RemoveDelete RemoveBehavior = "remove"
	RemoveBlock  RemoveBehavior = "block"
)

// Settings are the synchronization settings the planner applies.
type Settings struct {
	// ReplacementDomain, when set, replaces the domain part of usernames.
	ReplacementDomain string
	RemoveBehavior    RemoveBehavior
	// CaptureUsers lets idsync take over a pool user it does not manage
	// whose username equals a directory user's; otherwise that user fails.
	CaptureUsers bool
	// CaptureGroups does the same for groups with the same name.
	CaptureGroups bool
	// GroupNameOverrides maps a directory group's name or DN (compared
	// case-insensitively) to the name the group gets in Identity Hub. A DN
	// key wins over a name key. Names must be valid (ValidGroupName).
	GroupNameOverrides map[string]string
}

// Input is everything the planner looks at.
type Input struct {
	Mode Mode
	// Users and Groups are the directory objects to make present in the
	// pool: every in-scope object in a full cycle, the changed ones (and the
	// groups whose members changed) in a delta cycle. Groups carry their
	// complete effective Members.
	Users  []directory.User
	Groups []directory.Group
	// RemovedUsers and RemovedGroups are the external ids a delta reports as
	// deleted or out of scope. A full cycle derives removals itself.
	RemovedUsers  []string
	RemovedGroups []string
	// TrustedMembers, in a delta cycle, holds the groups whose pool
	// members are taken to be the directory state kept since the last
	// cycle, with the change of their effective members since then (empty
	// for a group whose members did not change). The members of these
	// groups are not read from the pool: their membership change is this
	// one. Groups of Groups not in it (whose last change failed) are
	// compared with the pool's members. The periodic full cycle repairs
	// what was changed by hand in the pool.
	TrustedMembers map[string]directory.MembershipChange
	Target         Target
	Settings       Settings
	Limits         Limits
	// ManagedUsers is the number of pool users idsync manages, the base of
	// the deletion percentage. Zero means: count the managed users in
	// Target (right for a full cycle).
	ManagedUsers int
	// ManagedGroups is the same for groups: the number of groups idsync
	// manages. Zero means: count the managed groups in Target.
	ManagedGroups int
	// Now is the time accountExpires is compared with (the zero time: no
	// account counts as expired). SuspendLockedOut makes locked-out
	// accounts inactive. Both feed directory.AccountState.Active, the
	// definition the user-control loop uses too.
	Now              time.Time
	SuspendLockedOut bool
}

// Action is what happens to one object.
type Action string

// Actions. ActionBind takes over an existing pool object (ConvertToExternal)
// and then updates it.
const (
	ActionNone   Action = ""
	ActionCreate Action = "create"
	ActionBind   Action = "bind"
	ActionUpdate Action = "update"
	ActionDelete Action = "delete"
)

// StatusChange is a change of a user's active state.
type StatusChange string

// Status changes.
const (
	StatusSame       StatusChange = ""
	StatusActivate   StatusChange = "activate"
	StatusDeactivate StatusChange = "deactivate"
)

// UserChange is what the plan does to one user. Action and Status are
// independent: a user can be updated and deactivated in one cycle.
type UserChange struct {
	ExternalID string `json:"external_id"`
	// TargetID is the pool user id; empty for a create.
	TargetID string       `json:"target_id,omitempty"`
	DN       string       `json:"dn,omitempty"`
	Action   Action       `json:"action,omitempty"`
	Status   StatusChange `json:"status,omitempty"`
	// Fields are the desired values (create, bind, update).
	Fields UserFields `json:"fields"`
	// Mask lists the update-mask paths that change (bind, update).
	Mask []string `json:"mask,omitempty"`
	// Previous are the pool user's values before a bind or update, so
	// that a reader sees old -> new for each path of Mask.
	Previous *UserFields `json:"previous,omitempty"`
	// Active is the desired state after the change.
	Active bool `json:"active"`
	// MustChangePassword asks the user to set a new password at first login.
	MustChangePassword bool `json:"must_change_password,omitempty"`
	// Removed marks a user removed from the directory scope; with
	// remove_user_behavior "block" it is deactivated instead of deleted.
	Removed bool `json:"removed,omitempty"`
	// Replaces is the pool user, removed by the same plan, that holds this
	// new user's username: it is deleted before this user is created.
	Replaces string `json:"replaces,omitempty"`
}

// GroupChange is what the plan does to one group.
type GroupChange struct {
	ExternalID string `json:"external_id"`
	TargetID   string `json:"target_id,omitempty"`
	DN         string `json:"dn,omitempty"`
	Action     Action `json:"action"`
	Name       string `json:"name"`
	// ADName is the group's name in the directory when it differs from
	// Name.
	ADName string `json:"ad_name,omitempty"`
	// PreviousName is the pool name an update or bind changes.
	PreviousName string `json:"previous_name,omitempty"`
	Description  string `json:"description,omitempty"`
	// PreviousDescription is the pool description an update or bind
	// changes (Mask has "description").
	PreviousDescription string   `json:"previous_description,omitempty"`
	Mask                []string `json:"mask,omitempty"`
	// Replaces is the group, deleted by the same plan, that holds this new
	// group's name: it is deleted before this group is created.
	Replaces string `json:"replaces,omitempty"`
}

// MemberChange adds and removes members of one group, by user external id.
type MemberChange struct {
	GroupExternalID string `json:"group_external_id"`
	// GroupName is the group's name in Identity Hub, for people.
	GroupName string   `json:"group_name"`
	Add       []string `json:"add,omitempty"`
	Remove    []string `json:"remove,omitempty"`
	// Trusted means Add and Remove come from the directory state kept
	// since the last cycle (Input.TrustedMembers), not from the pool's
	// members; Desired are then the group's complete effective members,
	// which the applier falls back to when the pool refuses the change as
	// not matching what it holds.
	Trusted bool     `json:"-"`
	Desired []string `json:"-"`
}

// Rejection is an object the planner refused before any call, with the
// reason. The object is counted as failed; the rest of the cycle goes on.
type Rejection struct {
	Object     directory.Kind `json:"object"`
	ExternalID string         `json:"external_id"`
	DN         string         `json:"dn,omitempty"`
	Action     Action         `json:"action"`
	Reason     string         `json:"reason"`
}

// Plan is the ordered list of changes a cycle makes. Apply users first,
// then groups, then memberships, then group deletions, then user removals.
type Plan struct {
	Mode    Mode           `json:"mode"`
	Users   []UserChange   `json:"users"`
	Groups  []GroupChange  `json:"groups"`
	Members []MemberChange `json:"memberships"`
	// Rejected objects fail without a call.
	Rejected []Rejection `json:"rejected"`
	// SameUsers and SameGroups count objects already in the desired state.
	SameUsers  int `json:"same_users"`
	SameGroups int `json:"same_groups"`
	// Safety is non-nil when a safety limit forbids applying the plan.
	Safety *SafetyStop `json:"safety_stop,omitempty"`
	// UserNames maps the external ids of the users in Members to their
	// pool usernames, for people reading the plan; JSON keeps the ids only.
	UserNames map[string]string `json:"-"`
	// Guards lists every guard beyond the deletion limits the plan trips;
	// the first is also Safety when no deletion limit stops the plan.
	Guards []SafetyStop `json:"guards_tripped,omitempty"`
}

// BuildPlan computes the changes that make the pool match the directory.
// It is pure and deterministic: the same input gives the same plan.
func BuildPlan(in Input) *Plan {
	p := &Plan{Mode: in.Mode}
	planUsers(p, &in)
	planGroups(p, &in)
	p.UserNames = memberNames(p, &in)
	p.Safety = checkSafety(p, &in)
	p.Guards = checkGuards(p, &in)
	if p.Safety == nil && len(p.Guards) > 0 {
		p.Safety = &p.Guards[0]
	}
	return p
}

func planUsers(p *Plan, in *Input) {
	byID := func(a, b directory.User) int { return strings.Compare(a.ExternalID, b.ExternalID) }
	users := in.Users // snapshots and deltas come sorted; sort a copy otherwise
	if !slices.IsSortedFunc(users, byID) {
		users = slices.Clone(users)
		slices.SortFunc(users, byID)
	}

	byExt := make(map[string]*PoolUser, len(in.Target.Users))
	byName := make(map[string]*PoolUser, len(in.Target.Users))
	for i := range in.Target.Users {
		t := &in.Target.Users[i]
		if t.ExternalID != "" {
			byExt[t.ExternalID] = t
		}
		byName[strings.ToLower(t.Fields.Username)] = t
	}
	desired := make(map[string]bool, len(users))
	for i := range users {
		desired[users[i].ExternalID] = true
	}
	// A username a managed user keeps is claimed first, so a new user that
	// maps to the same name fails rather than the existing one.
	claimed := make(map[string]string, len(users))
	// Every user the pool lacks is a change (create, bind or rejection);
	// a sixteenth of the others is a guess for updates. Room for them up
	// front instead of growing a 100,000-element slice by a quarter at a
	// time (five times its size allocated in all); trimmed at the end.
	unknown := 0
	for i := range users {
		if byExt[users[i].ExternalID] == nil {
			unknown++
		}
	}
	p.Users = make([]UserChange, 0, unknown+(len(users)-unknown)/16+16)
	defer func() {
		switch {
		case len(p.Users) == 0:
			p.Users = nil
		case cap(p.Users) > 2*len(p.Users)+64:
			p.Users = slices.Clone(p.Users)
		}
	}()
	fields := make([]UserFields, len(users))
	errs := make([]error, len(users))
	for i := range users {
		fields[i], errs[i] = desiredUser(&users[i], in.Settings.ReplacementDomain)
		if t := byExt[users[i].ExternalID]; t != nil && errs[i] == nil && strings.EqualFold(t.Fields.Username, fields[i].Username) {
			claimed[strings.ToLower(fields[i].Username)] = users[i].ExternalID
		}
	}
	for i := range users {
		u := &users[i]
		t := byExt[u.ExternalID]
		action := ActionCreate
		if t != nil {
			action = ActionUpdate
		}
		if errs[i] != nil {
			p.reject(directory.KindUser, u.ExternalID, u.DN, action, errs[i].Error())
			continue
		}
		f := fields[i]
		key := strings.ToLower(f.Username)
		if owner, ok := claimed[key]; ok && owner != u.ExternalID {
			p.reject(directory.KindUser, u.ExternalID, u.DN, action, fmt.Sprintf("username %q is already used by another directory user (external id %s)", f.Username, owner))
			continue
		}
		claimed[key] = u.ExternalID
		active := u.Account().Active(in.Now, in.SuspendLockedOut)
		c := UserChange{ExternalID: u.ExternalID, DN: u.DN, Fields: f, Active: active, MustChangePassword: u.MustChangePassword}
		if t == nil {
			other := byName[key]
			switch {
			case other == nil:
				c.Action = ActionCreate
				p.Users = append(p.Users, c)
				continue
			case other.ExternalID != "" && desired[other.ExternalID]:
				p.reject(directory.KindUser, u.ExternalID, u.DN, ActionCreate, fmt.Sprintf("username %q belongs to pool user %s, which is synchronized from another directory user (external id %s)", f.Username, other.ID, other.ExternalID))
				continue
			case other.ExternalID != "" && userDeleted(in, other.ExternalID, desired):
				// The user holding the name is deleted by this plan: delete
				// it first, then create this one.
				c.Action, c.Replaces = ActionCreate, other.ID
				p.Users = append(p.Users, c)
				continue
			case other.ExternalID != "":
				p.reject(directory.KindUser, u.ExternalID, u.DN, ActionCreate, fmt.Sprintf("username %q still belongs to pool user %s of a removed directory user (external id %s), which remove_user_behavior %q keeps", f.Username, other.ID, other.ExternalID, in.Settings.RemoveBehavior))
				continue
			case !in.Settings.CaptureUsers:
				p.reject(directory.KindUser, u.ExternalID, u.DN, ActionBind, fmt.Sprintf("username %q belongs to pool user %s, which idsync does not manage; set sync_settings.allow_to_capture_users to take it over", f.Username, other.ID))
				continue
			}
			t = other
			c.Action = ActionBind
		}
		c.TargetID = t.ID
		c.Mask = userFieldMask(t.Fields, f)
		if len(c.Mask) > 0 {
			prev := t.Fields
			c.Previous = &prev
		}
		if c.Action != ActionBind && len(c.Mask) > 0 {
			c.Action = ActionUpdate
		} else if c.Action != ActionBind {
			c.Action = ActionNone
		}
		switch {
		case t.Active && !active:
			c.Status = StatusDeactivate
		case !t.Active && active:
			c.Status = StatusActivate
		}
		if c.Action == ActionNone && c.Status == StatusSame {
			p.SameUsers++
			continue
		}
		p.Users = append(p.Users, c)
	}
	for _, t := range removedUsers(in, desired) {
		c := UserChange{ExternalID: t.ExternalID, TargetID: t.ID, Fields: t.Fields, Removed: true}
		if in.Settings.RemoveBehavior == RemoveBlock {
			if !t.Active {
				p.SameUsers++
				continue
			}
			c.Status = StatusDeactivate
		} else {
			c.Action = ActionDelete
		}
		p.Users = append(p.Users, c)
	}
}

// userDeleted reports whether the plan deletes the managed pool user with
// external id ext (not blocks it).
func userDeleted(in *Input, ext string, desired map[string]bool) bool {
	if desired[ext] || in.Settings.RemoveBehavior == RemoveBlock {
		return false
	}
	return in.Mode == ModeFull || slices.Contains(in.RemovedUsers, ext)
}

// removedUsers returns the managed pool users to remove, sorted.
func removedUsers(in *Input, desired map[string]bool) []PoolUser {
	var out []PoolUser
	if in.Mode == ModeFull {
		for _, t := range in.Target.Users {
			if t.ExternalID != "" && !desired[t.ExternalID] {
				out = append(out, t)
			}
		}
	} else {
		gone := make(map[string]bool, len(in.RemovedUsers))
		for _, id := range in.RemovedUsers {
			if !desired[id] {
				gone[id] = true
			}
		}
		for _, t := range in.Target.Users {
			if t.ExternalID != "" && gone[t.ExternalID] {
				out = append(out, t)
			}
		}
	}
	slices.SortFunc(out, func(a, b PoolUser) int { return strings.Compare(a.ExternalID, b.ExternalID) })
	return out
}

func (p *Plan) reject(o directory.Kind, ext, dn string, a Action, reason string) {
	p.Rejected = append(p.Rejected, Rejection{Object: o, ExternalID: ext, DN: dn, Action: a, Reason: reason})
}
