package agent

import (
	"fmt"
	"strings"
)

// Guard names, as in the safety section of the configuration and in a
// stop's Guard field.
const (
	GuardMembershipRemovals = "membership_removals"
	GuardAttributeLosses    = "attribute_losses"
	GuardUsernameChanges    = "username_changes"
	GuardGroupMemberLoss    = "group_member_loss"
)

// Guards bound changes other than removals of whole objects. Each guard is
// off when its limit is negative (a count) or 100 or more (a percentage);
// a count of 0 allows no such change. DefaultGuards turns all off.
type Guards struct {
	// MaxMembershipRemovals is the most memberships one cycle may remove.
	MaxMembershipRemovals int
	// MaxMembershipRemovalPercent is the most memberships one cycle may
	// remove, as a percentage of the memberships of the groups it touches.
	MaxMembershipRemovalPercent float64
	// MaxAttributeLosses is the most users that may lose the value of one
	// mapped attribute (the pool has a value, the directory has none) in
	// one cycle, per attribute.
	MaxAttributeLosses int
	// MaxUsernameChanges is the most users whose username may change in
	// one cycle.
	MaxUsernameChanges int
	// MaxGroupMemberLossPercent is the most of its members any one group
	// may lose in one cycle, as a percentage.
	MaxGroupMemberLossPercent float64
	// GroupMemberLossMinMembers exempts groups with fewer members than this
	// from MaxGroupMemberLossPercent, so a group of two losing one member
	// does not stop the cycle.
	GroupMemberLossMinMembers int
}

// DefaultGuards returns guards that are all off.
func DefaultGuards() Guards {
	return Guards{MaxMembershipRemovals: -1, MaxMembershipRemovalPercent: 100, MaxAttributeLosses: -1,
		MaxUsernameChanges: -1, MaxGroupMemberLossPercent: 100}
}

// maxExamples is how many objects a stop names.
const maxExamples = 5

// checkGuards returns a stop for every guard the plan trips, in the order
// of the Guard constants.
func checkGuards(p *Plan, in *Input) []SafetyStop {
	if in.Limits.Guards == nil {
		return nil
	}
	g := in.Limits.Guards
	var out []SafetyStop
	sizes := make(map[string]int, len(in.Target.Groups))
	for _, t := range in.Target.Groups {
		if t.ExternalID != "" {
			sizes[t.ExternalID] = len(t.Members)
		}
	}
	// A delta does not read the members of groups whose change it trusts
	// (Input.TrustedMembers): their size before the cycle is the one the
	// kept state gives, the new members less the added plus the removed.
	for _, m := range p.Members {
		if m.Trusted {
			sizes[m.GroupExternalID] = len(m.Desired) - len(m.Add) + len(m.Remove)
		}
	}

	// Membership removals: count and percentage of the memberships of the
	// groups the cycle looked at.
	removed, total := 0, 0
	var examples []string
	for _, m := range p.Members {
		removed += len(m.Remove)
		if len(m.Remove) > 0 && len(examples) < maxExamples {
			examples = append(examples, fmt.Sprintf("%s -%d", m.GroupName, len(m.Remove)))
		}
	}
	for _, n := range sizes {
		total += n
	}
	switch {
	case g.MaxMembershipRemovals >= 0 && removed > g.MaxMembershipRemovals:
		out = append(out, stop(GuardMembershipRemovals, removed, total, float64(g.MaxMembershipRemovals), examples,
			fmt.Sprintf("the cycle would remove %d group memberships, over the limit of %d (safety.max_membership_removals)", removed, g.MaxMembershipRemovals)))
	case g.MaxMembershipRemovalPercent < 100 && total > 0 && float64(removed)*100 > g.MaxMembershipRemovalPercent*float64(total):
		out = append(out, stop(GuardMembershipRemovals, removed, total, g.MaxMembershipRemovalPercent, examples,
			fmt.Sprintf("the cycle would remove %d of %d group memberships (%.1f%%), over the limit of %g%% (safety.max_membership_removal_percent)", removed, total, pct(removed, total), g.MaxMembershipRemovalPercent)))
	}

	// Attribute losses and username changes compare each updated user with
	// the pool user it updates.
	pool := make(map[string]*PoolUser, len(in.Target.Users))
	for i := range in.Target.Users {
		if t := &in.Target.Users[i]; t.ExternalID != "" {
			pool[t.ExternalID] = t
		}
	}
	lost := map[string][]string{}
	var lostOrder []string
	renamed := 0
	var renames []string
	for _, c := range p.Users {
		if c.Action != ActionUpdate {
			continue
		}
		t := pool[c.ExternalID]
		if t == nil {
			continue
		}
		if !strings.EqualFold(t.Fields.Username, c.Fields.Username) {
			renamed++
			if len(renames) < maxExamples {
				renames = append(renames, t.Fields.Username+" -> "+c.Fields.Username)
			}
		}
		for _, f := range lostFields(t.Fields, c.Fields) {
			if lost[f] == nil {
				lostOrder = append(lostOrder, f)
			}
			lost[f] = append(lost[f], t.Fields.Username)
		}
	}
	if g.MaxAttributeLosses >= 0 {
		for _, f := range lostOrder {
			if n := len(lost[f]); n > g.MaxAttributeLosses {
				out = append(out, stop(GuardAttributeLosses, n, len(pool), float64(g.MaxAttributeLosses), first(lost[f]),
					fmt.Sprintf("the cycle would empty %s for %d users, over the limit of %d (safety.max_attribute_losses)", f, n, g.MaxAttributeLosses)))
				break
			}
		}
	}
	if g.MaxUsernameChanges >= 0 && renamed > g.MaxUsernameChanges {
		out = append(out, stop(GuardUsernameChanges, renamed, len(pool), float64(g.MaxUsernameChanges), renames,
			fmt.Sprintf("the cycle would change the username of %d users, over the limit of %d (safety.max_username_changes)", renamed, g.MaxUsernameChanges)))
	}

	// Group member loss: any one group losing too large a share.
	if g.MaxGroupMemberLossPercent < 100 {
		worst, worstOf, n := 0, 0, 0
		var names []string
		for _, m := range p.Members {
			of := sizes[m.GroupExternalID]
			if len(m.Remove) == 0 || of == 0 || of < g.GroupMemberLossMinMembers ||
				float64(len(m.Remove))*100 <= g.MaxGroupMemberLossPercent*float64(of) {
				continue
			}
			n++
			if len(names) < maxExamples {
				names = append(names, fmt.Sprintf("%s -%d of %d", m.GroupName, len(m.Remove), of))
			}
			if worst == 0 || pct(len(m.Remove), of) > pct(worst, worstOf) {
				worst, worstOf = len(m.Remove), of
			}
		}
		if n > 0 {
			out = append(out, stop(GuardGroupMemberLoss, worst, worstOf, g.MaxGroupMemberLossPercent, names,
				fmt.Sprintf("the cycle would remove more than %g%% of the members of %d groups, up to %d of %d (%.1f%%) (safety.max_group_member_loss_percent)", g.MaxGroupMemberLossPercent, n, worst, worstOf, pct(worst, worstOf))))
		}
	}
	return out
}

// lostFields names the mapped fields that have a value in the pool and
// none in the directory, in a fixed order.
func lostFields(pool, want UserFields) []string {
	var out []string
	for _, f := range []struct {
		name     string
		had, has string
	}{
		{"full_name", pool.FullName, want.FullName},
		{"given_name", pool.GivenName, want.GivenName},
		{"family_name", pool.FamilyName, want.FamilyName},
		{"email", pool.Email, want.Email},
		{"phone_number", pool.PhoneNumber, want.PhoneNumber},
		{"employee_id", pool.EmployeeID, want.EmployeeID},
		{"department", pool.Department, want.Department},
		{"job_title", pool.JobTitle, want.JobTitle},
		{"company_name", pool.CompanyName, want.CompanyName},
	} {
		if f.had != "" && f.has == "" {
			out = append(out, f.name)
		}
	}
	return out
}

func stop(guard string, n, of int, limit float64, examples []string, reason string) SafetyStop {
	if len(examples) > 0 {
		reason += "; for example " + strings.Join(examples, ", ")
	}
	return SafetyStop{Guard: guard, Reason: reason, Count: n, Of: of, Limit: limit, Examples: examples}
}

func first(s []string) []string {
	if len(s) > maxExamples {
		return s[:maxExamples]
	}
	return s
}

func pct(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) * 100 / float64(of)
}
