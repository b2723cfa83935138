package agent

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/internal/directory"
)

// guardInput is a full cycle over ten users in one group of ten. The
// directory empties the mail of the first `mailLost` users, renames the
// first `renamed` users and keeps only `kept` members in the group.
func guardInput(g Guards, mailLost, renamed, kept int) Input {
	in := Input{Mode: ModeFull, Limits: Limits{MaxDeletions: -1, MaxDeletionPercent: 100, Guards: &g}}
	var members []string
	for i := range 10 {
		ext := fmt.Sprintf("u%d", i)
		name := fmt.Sprintf("user%d@corp.test", i)
		pu := poolUser("p"+ext, ext, name, true)
		pu.Fields.Email = name
		in.Target.Users = append(in.Target.Users, pu)
		du := user(ext, name, true)
		du.Email = name
		if i < mailLost {
			du.Email = ""
		}
		if i < renamed {
			du.Username = fmt.Sprintf("user%d@new.test", i)
		}
		in.Users = append(in.Users, du)
		members = append(members, ext)
	}
	in.Target.Groups = []PoolGroup{{ID: "pg", ExternalID: "g", Name: "Staff", Members: members}}
	in.Groups = []directory.Group{{ExternalID: "g", Name: "Staff", Members: slices.Clone(members[:kept])}}
	return in
}

// trustedGuardInput is guardInput as a delta that trusts the group's
// member change to the kept state: the pool's members are not read.
func trustedGuardInput(g Guards, kept int) Input {
	in := guardInput(g, 0, 0, kept)
	in.Mode = ModeDelta
	removed := slices.Clone(in.Target.Groups[0].Members[kept:])
	in.Target.Groups[0].Members = nil
	in.TrustedMembers = map[string]directory.MembershipChange{"g": {GroupID: "g", Removed: removed}}
	return in
}

func TestGuards(t *testing.T) {
	off := DefaultGuards()
	with := func(f func(*Guards)) Guards { g := off; f(&g); return g }
	tests := []struct {
		name      string
		in        Input
		guard     string // "" when nothing trips
		count, of int
		reason    string
	}{
		{name: "all off", in: guardInput(off, 5, 5, 0)},
		{name: "membership count trips", in: guardInput(with(func(g *Guards) { g.MaxMembershipRemovals = 5 }), 0, 0, 4),
			guard: GuardMembershipRemovals, count: 6, of: 10, reason: "remove 6 group memberships, over the limit of 5 (safety.max_membership_removals); for example Staff -6"},
		{name: "membership count passes at the limit", in: guardInput(with(func(g *Guards) { g.MaxMembershipRemovals = 6 }), 0, 0, 4)},
		{name: "membership percent trips", in: guardInput(with(func(g *Guards) { g.MaxMembershipRemovalPercent = 50 }), 0, 0, 4),
			guard: GuardMembershipRemovals, count: 6, of: 10, reason: "6 of 10 group memberships (60.0%)"},
		{name: "membership percent passes", in: guardInput(with(func(g *Guards) { g.MaxMembershipRemovalPercent = 60 }), 0, 0, 4)},
		{name: "attribute loss trips", in: guardInput(with(func(g *Guards) { g.MaxAttributeLosses = 2 }), 3, 0, 10),
			guard: GuardAttributeLosses, count: 3, of: 10, reason: "empty email for 3 users, over the limit of 2 (safety.max_attribute_losses); for example user0@corp.test, user1@corp.test, user2@corp.test"},
		{name: "attribute loss passes", in: guardInput(with(func(g *Guards) { g.MaxAttributeLosses = 3 }), 3, 0, 10)},
		{name: "username changes trip", in: guardInput(with(func(g *Guards) { g.MaxUsernameChanges = 0 }), 0, 7, 10),
			guard: GuardUsernameChanges, count: 7, of: 10, reason: "username of 7 users, over the limit of 0 (safety.max_username_changes); for example user0@corp.test -> user0@new.test"},
		{name: "username changes pass", in: guardInput(with(func(g *Guards) { g.MaxUsernameChanges = 7 }), 0, 7, 10)},
		{name: "group member loss trips", in: guardInput(with(func(g *Guards) { g.MaxGroupMemberLossPercent = 50 }), 0, 0, 4),
			guard: GuardGroupMemberLoss, count: 6, of: 10, reason: "more than 50% of the members of 1 groups, up to 6 of 10 (60.0%)"},
		{name: "group member loss passes", in: guardInput(with(func(g *Guards) { g.MaxGroupMemberLossPercent = 60 }), 0, 0, 4)},
		{name: "group member loss spares small groups", in: guardInput(with(func(g *Guards) { g.MaxGroupMemberLossPercent = 10; g.GroupMemberLossMinMembers = 11 }), 0, 0, 4)},
		{name: "membership percent trips on trusted members", in: trustedGuardInput(with(func(g *Guards) { g.MaxMembershipRemovalPercent = 50 }), 4),
			guard: GuardMembershipRemovals, count: 6, of: 10, reason: "6 of 10 group memberships (60.0%)"},
		{name: "membership percent passes on trusted members", in: trustedGuardInput(with(func(g *Guards) { g.MaxMembershipRemovalPercent = 60 }), 4)},
		{name: "group member loss trips on trusted members", in: trustedGuardInput(with(func(g *Guards) { g.MaxGroupMemberLossPercent = 50 }), 4),
			guard: GuardGroupMemberLoss, count: 6, of: 10, reason: "up to 6 of 10 (60.0%)"},
		{name: "group member loss passes on trusted members", in: trustedGuardInput(with(func(g *Guards) { g.MaxGroupMemberLossPercent = 60 }), 4)},
		{name: "no guards at all", in: func() Input { in := guardInput(off, 5, 5, 0); in.Limits.Guards = nil; return in }()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := BuildPlan(tt.in)
			if tt.guard == "" {
				if p.Safety != nil || len(p.Guards) != 0 {
					t.Fatalf("plan stopped: %+v %+v", p.Safety, p.Guards)
				}
				return
			}
			if p.Safety == nil {
				t.Fatal("plan not stopped")
			}
			got := *p.Safety
			if diff := cmp.Diff([]string{tt.guard, fmt.Sprint(tt.count), fmt.Sprint(tt.of)},
				[]string{got.Guard, fmt.Sprint(got.Count), fmt.Sprint(got.Of)}); diff != "" {
				t.Errorf("stop (-want +got):\n%s", diff)
			}
			if !strings.Contains(got.Reason, tt.reason) {
				t.Errorf("reason %q lacks %q", got.Reason, tt.reason)
			}
			if len(got.Examples) == 0 {
				t.Error("stop names no examples")
			}
		})
	}
}

func TestGuardsListEveryTrip(t *testing.T) {
	g := Guards{MaxMembershipRemovals: 0, MaxMembershipRemovalPercent: 100, MaxAttributeLosses: 0, MaxUsernameChanges: 0, MaxGroupMemberLossPercent: 10}
	p := BuildPlan(guardInput(g, 7, 7, 1))
	var names []string
	for _, s := range p.Guards {
		names = append(names, s.Guard)
	}
	want := []string{GuardMembershipRemovals, GuardAttributeLosses, GuardUsernameChanges, GuardGroupMemberLoss}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("guards (-want +got):\n%s", diff)
	}
	if p.Safety == nil || p.Safety.Guard != GuardMembershipRemovals {
		t.Errorf("safety = %+v, want the first guard", p.Safety)
	}
	if len(p.Safety.Examples) != 1 || len(p.Guards[1].Examples) != maxExamples {
		t.Errorf("examples: %v / %v, want 1 and %d", p.Safety.Examples, p.Guards[1].Examples, maxExamples)
	}
}

func TestDeletionLimitWinsOverGuards(t *testing.T) {
	in := guardInput(Guards{MaxMembershipRemovals: 0, MaxMembershipRemovalPercent: 100, MaxAttributeLosses: -1, MaxUsernameChanges: -1, MaxGroupMemberLossPercent: 100}, 0, 0, 4)
	in.Limits.MaxDeletions = 0
	in.Users = in.Users[:9]
	p := BuildPlan(in)
	if p.Safety == nil || p.Safety.Guard != "" || len(p.Guards) != 1 {
		t.Fatalf("safety = %+v, guards = %+v; want the deletion stop first and the guard listed", p.Safety, p.Guards)
	}
}
