package agent

import "fmt"

// Limits bound what one cycle may remove. They are checked before anything
// is applied; a cycle over a limit applies nothing.
//
// The zero value allows no removal at all; set the fields to open it.
type Limits struct {
	// MaxDeletions is the most users (deleted or blocked) and, separately,
	// the most groups one cycle may remove. Negative means no limit.
	MaxDeletions int
	// MaxDeletionPercent is the most users one cycle may remove, as a
	// percentage of the users idsync manages, and the most groups, as a
	// percentage of the groups it manages; 100 or more means no limit.
	MaxDeletionPercent float64
	// MinSourceUsers stops a full cycle whose directory read returned fewer
	// users than this. Zero disables the check.
	MinSourceUsers int
	// Guards bound membership removals, attribute losses, username changes
	// and group member losses; nil turns them all off.
	Guards *Guards
}

// SafetyStop explains why a plan must not be applied.
type SafetyStop struct {
	Reason string `json:"reason"`
	// Removals is the number of users (or groups) the plan would remove.
	Removals int `json:"removals"`
	// ScopeChange is set when the stop is not about removals but about a
	// pool last synchronized under another scope or mapping.
	ScopeChange bool `json:"scope_change,omitempty"`
	// Guard names the guard that tripped (GuardMembershipRemovals, ...); empty for
	// the deletion limits and scope stops.
	Guard string `json:"guard,omitempty"`
	// Count, Of and Limit are the guard's numbers: Count changes of Of
	// objects, over Limit (a count or a percentage).
	Count int     `json:"count,omitempty"`
	Of    int     `json:"of,omitempty"`
	Limit float64 `json:"limit,omitempty"`
	// Examples are the first objects the guard counted.
	Examples []string `json:"examples,omitempty"`
}

func (s *SafetyStop) Error() string { return s.Reason }

func checkSafety(p *Plan, in *Input) *SafetyStop {
	users, groups := 0, 0
	for _, c := range p.Users {
		if c.Removed {
			users++
		}
	}
	for _, c := range p.Groups {
		if c.Action == ActionDelete {
			groups++
		}
	}
	managed := in.ManagedUsers
	if managed == 0 {
		for _, t := range in.Target.Users {
			if t.ExternalID != "" {
				managed++
			}
		}
	}
	managedGroups := in.ManagedGroups
	if managedGroups == 0 {
		for _, t := range in.Target.Groups {
			if t.ExternalID != "" {
				managedGroups++
			}
		}
	}
	verb := "delete"
	if in.Settings.RemoveBehavior == RemoveBlock {
		verb = "block"
	}
	overPercent := func(removals, of int) bool {
		return in.Limits.MaxDeletionPercent < 100 && of > 0 && float64(removals)*100 > in.Limits.MaxDeletionPercent*float64(of)
	}
	switch {
	case in.Mode == ModeFull && len(in.Users) == 0 && managed > 0:
		return &SafetyStop{Removals: users, Reason: fmt.Sprintf("the directory read returned no users in scope, but idsync manages %d pool users; refusing to %s them all (check the filter, the bind account's rights and the scope roots)", managed, verb)}
	case in.Mode == ModeFull && len(in.Groups) == 0 && managedGroups > 0:
		return &SafetyStop{Removals: groups, Reason: fmt.Sprintf("the directory read returned no groups in scope, but idsync manages %d groups; refusing to delete them all (check the filter, the bind account's rights and the scope roots)", managedGroups)}
	case in.Mode == ModeFull && len(in.Users) < in.Limits.MinSourceUsers:
		return &SafetyStop{Removals: users, Reason: fmt.Sprintf("the directory read returned %d users in scope, fewer than the minimum of %d (safety.min_source_users)", len(in.Users), in.Limits.MinSourceUsers)}
	case in.Limits.MaxDeletions >= 0 && users > in.Limits.MaxDeletions:
		return &SafetyStop{Removals: users, Reason: fmt.Sprintf("the cycle would %s %d users, over the limit of %d (safety.max_deletions)", verb, users, in.Limits.MaxDeletions)}
	case in.Limits.MaxDeletions >= 0 && groups > in.Limits.MaxDeletions:
		return &SafetyStop{Removals: groups, Reason: fmt.Sprintf("the cycle would delete %d groups, over the limit of %d (safety.max_deletions)", groups, in.Limits.MaxDeletions)}
	case overPercent(users, managed):
		return &SafetyStop{Removals: users, Reason: fmt.Sprintf("the cycle would %s %d of %d managed users (%.1f%%), over the limit of %g%% (safety.max_deletion_percent)", verb, users, managed, float64(users)*100/float64(managed), in.Limits.MaxDeletionPercent)}
	case overPercent(groups, managedGroups):
		return &SafetyStop{Removals: groups, Reason: fmt.Sprintf("the cycle would delete %d of %d managed groups (%.1f%%), over the limit of %g%% (safety.max_deletion_percent)", groups, managedGroups, float64(groups)*100/float64(managedGroups), in.Limits.MaxDeletionPercent)}
	}
	return nil
}
