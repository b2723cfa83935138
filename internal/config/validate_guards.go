package config

import "math"

// validateGuards checks the safety guards beyond the deletion limits.
func (c *Config) validateGuards(ps *problems) {
	s := &c.Safety
	for _, g := range []struct {
		key string
		n   int
	}{
		{"safety.max_membership_removals", s.MaxMembershipRemovals},
		{"safety.max_attribute_losses", s.MaxAttributeLosses},
		{"safety.max_username_changes", s.MaxUsernameChanges},
	} {
		if g.n < -1 {
			ps.add(g.key, "must be -1 (off) or more, got %d", g.n)
		}
	}
	for _, g := range []struct {
		key string
		p   float64
	}{
		{"safety.max_membership_removal_percent", s.MaxMembershipRemovalPercent},
		{"safety.max_group_member_loss_percent", s.MaxGroupMemberLossPercent},
	} {
		if math.IsNaN(g.p) || g.p < 0 || g.p > 100 {
			ps.add(g.key, "must be between 0 and 100 (100 is off), got %v", g.p)
		}
	}
	if c.Apply.QuarantineAfter < 0 {
		ps.add("apply.quarantine_after", "must be 0 (off) or more, got %d", c.Apply.QuarantineAfter)
	}
	if s.GroupMemberLossMinMembers < 0 {
		ps.add("safety.group_member_loss_min_members", "must be 0 or more, got %d", s.GroupMemberLossMinMembers)
	}
}
