package directory

import (
	"cmp"
	"slices"
	"strings"
)

// RemovalReason says why an object left the synchronized set.
type RemovalReason string

// Removal reasons.
const (
	// ReasonDeleted means the object was deleted in the directory (a tombstone
	// was seen).
	ReasonDeleted RemovalReason = "deleted"
	// ReasonOutOfScope means the object still exists but left the scope (moved
	// out of the organizational units, left the filter groups, became a system
	// object).
	ReasonOutOfScope RemovalReason = "out_of_scope"
)

// Removal is one object that left the synchronized set.
type Removal struct {
	ExternalID string
	Reason     RemovalReason
}

// MembershipChange is the change of one group's effective members.
type MembershipChange struct {
	GroupID string
	Added   []string
	Removed []string
}

// Delta is the change between two reads of the directory scope. Objects are
// reported in full; renames and moves inside the scope are changes, moves
// into the scope additions and moves out of it removals.
type Delta struct {
	// Users added to or changed in scope, sorted by ExternalID.
	Users []User
	// Groups added to or changed in scope (attributes other than Members),
	// sorted by ExternalID; Members holds the new effective members.
	Groups        []Group
	RemovedUsers  []Removal
	RemovedGroups []Removal
	// Memberships lists the effective-member changes of groups that exist
	// after the delta (new groups report all their members as added).
	Memberships []MembershipChange
	// Snapshot is the complete state after the delta, carrying the new
	// watermark; keep it for the next delta. It is nil when the directory
	// reported no change at all: the previous state stands, with Watermark.
	Snapshot *Snapshot
	// Watermark is where the next delta starts.
	Watermark Watermark
}

// Previous is the state a delta starts from. Watermark is known without
// reading the state; Load reads the state itself (the whole previous
// snapshot), which a delta source calls only when the directory reports a
// change. An error from Load is returned wrapped by the source.
type Previous struct {
	Watermark Watermark
	Load      func() (*Snapshot, error)
}

// PreviousOf returns the Previous of a snapshot at hand (nil: none).
func PreviousOf(s *Snapshot) Previous {
	if s == nil {
		return Previous{}
	}
	return Previous{Watermark: s.Watermark, Load: func() (*Snapshot, error) { return s, nil }}
}

// IsEmpty reports whether the delta changes nothing.
func (d *Delta) IsEmpty() bool {
	return len(d.Users) == 0 && len(d.Groups) == 0 && len(d.RemovedUsers) == 0 &&
		len(d.RemovedGroups) == 0 && len(d.Memberships) == 0
}

// Diff computes the delta from prev to next. deleted holds the ExternalIDs
// seen as tombstones; other disappearing objects are reported out of scope.
// Both snapshots must be sorted as Build sorts them.
func Diff(prev, next *Snapshot, deleted map[string]bool) *Delta {
	d := &Delta{Snapshot: next, Watermark: next.Watermark}
	reason := func(id string) RemovalReason {
		if deleted[id] {
			return ReasonDeleted
		}
		return ReasonOutOfScope
	}
	prevUsers := make(map[string]*User, len(prev.Users))
	for i := range prev.Users {
		prevUsers[prev.Users[i].ExternalID] = &prev.Users[i]
	}
	for _, u := range next.Users {
		if p, ok := prevUsers[u.ExternalID]; !ok || !userEqual(*p, u) {
			d.Users = append(d.Users, u)
		}
		delete(prevUsers, u.ExternalID)
	}
	for id := range prevUsers {
		d.RemovedUsers = append(d.RemovedUsers, Removal{ExternalID: id, Reason: reason(id)})
	}
	prevGroups := make(map[string]*Group, len(prev.Groups))
	for i := range prev.Groups {
		prevGroups[prev.Groups[i].ExternalID] = &prev.Groups[i]
	}
	for _, g := range next.Groups {
		var before []string
		p, ok := prevGroups[g.ExternalID]
		if ok {
			before = p.Members
		}
		if !ok || !groupAttrsEqual(*p, g) {
			d.Groups = append(d.Groups, g)
		}
		if added, removed := DiffSorted(before, g.Members); len(added)+len(removed) > 0 {
			d.Memberships = append(d.Memberships, MembershipChange{GroupID: g.ExternalID, Added: added, Removed: removed})
		}
		delete(prevGroups, g.ExternalID)
	}
	for id := range prevGroups {
		d.RemovedGroups = append(d.RemovedGroups, Removal{ExternalID: id, Reason: reason(id)})
	}
	byID := func(a, b Removal) int { return strings.Compare(a.ExternalID, b.ExternalID) }
	slices.SortFunc(d.RemovedUsers, byID)
	slices.SortFunc(d.RemovedGroups, byID)
	return d
}

func userEqual(a, b User) bool {
	return a.ExternalID == b.ExternalID && a.DN == b.DN && a.SID == b.SID && a.SAMAccountName == b.SAMAccountName &&
		a.Username == b.Username && a.FullName == b.FullName && a.GivenName == b.GivenName &&
		a.FamilyName == b.FamilyName && a.Email == b.Email && a.PhoneNumber == b.PhoneNumber &&
		a.EmployeeID == b.EmployeeID && a.Department == b.Department && a.JobTitle == b.JobTitle &&
		a.CompanyName == b.CompanyName && a.Enabled == b.Enabled && a.ExpiresAt.Equal(b.ExpiresAt) && a.LockedOut == b.LockedOut &&
		a.PasswordLastSet.Equal(b.PasswordLastSet) && a.MustChangePassword == b.MustChangePassword &&
		a.PrimaryGroupID == b.PrimaryGroupID
}

func groupAttrsEqual(a, b Group) bool {
	return a.ExternalID == b.ExternalID && a.DN == b.DN && a.SID == b.SID && a.SAMAccountName == b.SAMAccountName &&
		a.Name == b.Name && a.Description == b.Description && a.RID == b.RID
}

// DiffSorted returns the values only in want (added) and only in have
// (removed); both inputs are sorted and free of duplicates. When one side is
// empty the other is returned whole, shared rather than copied (clipped, so
// an append never writes into the caller's array).
func DiffSorted(have, want []string) (added, removed []string) {
	switch {
	case len(have) == 0:
		return slices.Clip(want), nil
	case len(want) == 0:
		return nil, slices.Clip(have)
	}
	return diffSorted(have, want)
}

// diffSorted is DiffSorted's merge of two sorted, duplicate-free lists.
func diffSorted[T cmp.Ordered](have, want []T) (added, removed []T) {
	i, j := 0, 0
	for i < len(have) || j < len(want) {
		switch {
		case j == len(want) || (i < len(have) && have[i] < want[j]):
			removed = append(removed, have[i])
			i++
		case i == len(have) || want[j] < have[i]:
			added = append(added, want[j])
			j++
		default:
			i++
			j++
		}
	}
	return added, removed
}
