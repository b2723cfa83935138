package agent

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/internal/directory"
)

func user(ext, upn string, enabled bool) directory.User {
	return directory.User{ExternalID: ext, DN: "CN=" + ext + ",OU=Staff,DC=corp,DC=test", Username: upn, FullName: "Name " + ext, Enabled: enabled}
}

func poolUser(id, ext, username string, active bool) PoolUser {
	return PoolUser{ID: id, ExternalID: ext, Active: active, Fields: UserFields{Username: username, FullName: "Name " + ext}}
}

func TestPlanUsers(t *testing.T) {
	expires := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name  string
		in    Input
		users []UserChange
		rej   []Rejection
		same  int
	}{
		{
			name: "create into empty pool",
			in:   Input{Mode: ModeFull, Users: []directory.User{user("b", "bob@corp.test", true), user("a", "ann@corp.test", false)}},
			users: []UserChange{
				{ExternalID: "a", DN: "CN=a,OU=Staff,DC=corp,DC=test", Action: ActionCreate, Fields: UserFields{Username: "ann@corp.test", FullName: "Name a"}},
				{ExternalID: "b", DN: "CN=b,OU=Staff,DC=corp,DC=test", Action: ActionCreate, Fields: UserFields{Username: "bob@corp.test", FullName: "Name b"}, Active: true},
			},
		},
		{
			name: "unchanged user is same",
			in: Input{Mode: ModeFull, Users: []directory.User{user("a", "ann@corp.test", true)},
				Target: Target{Users: []PoolUser{poolUser("u1", "a", "ann@corp.test", true)}}},
			same: 1,
		},
		{
			name: "changed fields give a mask with only those fields, and a status change",
			in: Input{Mode: ModeFull,
				Users: []directory.User{func() directory.User {
					u := user("a", "ann.new@corp.test", false)
					u.Email = "ann@corp.test"
					u.ExpiresAt = expires
					return u
				}()},
				Target: Target{Users: []PoolUser{poolUser("u1", "a", "ann@corp.test", true)}}},
			users: []UserChange{{ExternalID: "a", TargetID: "u1", DN: "CN=a,OU=Staff,DC=corp,DC=test", Action: ActionUpdate, Status: StatusDeactivate,
				Fields: UserFields{Username: "ann.new@corp.test", FullName: "Name a", Email: "ann@corp.test", ExpiresAt: expires},
				Mask:   []string{"username", "email", "expires_at"}, Previous: &UserFields{Username: "ann@corp.test", FullName: "Name a"}}},
		},
		{
			name: "replacement domain and full-name fallback",
			in: Input{Mode: ModeFull, Settings: Settings{ReplacementDomain: "pool.idp.test"},
				Users: []directory.User{{ExternalID: "a", Username: "ann@corp.test", GivenName: "Ann", FamilyName: "Lee", Enabled: true}}},
			users: []UserChange{{ExternalID: "a", Action: ActionCreate, Active: true,
				Fields: UserFields{Username: "ann@pool.idp.test", FullName: "Ann Lee", GivenName: "Ann", FamilyName: "Lee"}}},
		},
		{
			name: "full mode removes managed users missing from the directory, leaves unmanaged ones",
			in: Input{Mode: ModeFull, Users: []directory.User{user("a", "ann@corp.test", true)},
				Target: Target{Users: []PoolUser{poolUser("u1", "a", "ann@corp.test", true), poolUser("u2", "gone", "gone@corp.test", true), poolUser("u3", "", "admin@corp.test", true)}}},
			users: []UserChange{{ExternalID: "gone", TargetID: "u2", Action: ActionDelete, Removed: true, Fields: UserFields{Username: "gone@corp.test", FullName: "Name gone"}}},
			same:  1,
		},
		{
			name: "block instead of delete; an already blocked user is same",
			in: Input{Mode: ModeFull, Settings: Settings{RemoveBehavior: RemoveBlock}, Users: []directory.User{user("a", "ann@corp.test", true)},
				Target: Target{Users: []PoolUser{poolUser("u1", "a", "ann@corp.test", true), poolUser("u2", "gone", "gone@corp.test", true), poolUser("u3", "off", "off@corp.test", false)}}},
			users: []UserChange{{ExternalID: "gone", TargetID: "u2", Status: StatusDeactivate, Removed: true, Fields: UserFields{Username: "gone@corp.test", FullName: "Name gone"}}},
			same:  2,
		},
		{
			name: "delta mode removes only reported users",
			in: Input{Mode: ModeDelta, RemovedUsers: []string{"gone"},
				Target: Target{Users: []PoolUser{poolUser("u2", "gone", "gone@corp.test", true), poolUser("u4", "other", "other@corp.test", true)}}},
			users: []UserChange{{ExternalID: "gone", TargetID: "u2", Action: ActionDelete, Removed: true, Fields: UserFields{Username: "gone@corp.test", FullName: "Name gone"}}},
		},
		{
			name: "capture off: an unmanaged user with the same username is a rejection",
			in: Input{Mode: ModeFull, Users: []directory.User{user("a", "ann@corp.test", true)},
				Target: Target{Users: []PoolUser{poolUser("u9", "", "ANN@corp.test", true)}}},
			rej: []Rejection{{Object: directory.KindUser, ExternalID: "a", DN: "CN=a,OU=Staff,DC=corp,DC=test", Action: ActionBind,
				Reason: `username "ann@corp.test" belongs to pool user u9, which idsync does not manage; set sync_settings.allow_to_capture_users to take it over`}},
		},
		{
			name: "capture on: bind and update",
			in: Input{Mode: ModeFull, Settings: Settings{CaptureUsers: true}, Users: []directory.User{user("a", "ann@corp.test", true)},
				Target: Target{Users: []PoolUser{{ID: "u9", Active: true, Fields: UserFields{Username: "ann@corp.test", FullName: "Old"}}}}},
			users: []UserChange{{ExternalID: "a", TargetID: "u9", DN: "CN=a,OU=Staff,DC=corp,DC=test", Action: ActionBind, Active: true,
				Fields: UserFields{Username: "ann@corp.test", FullName: "Name a"}, Mask: []string{"full_name"}, Previous: &UserFields{Username: "ann@corp.test", FullName: "Old"}}},
		},
		{
			name: "a bad user fails alone and is never deleted",
			in: Input{Mode: ModeFull, Users: []directory.User{user("a", "ann smith@corp.test", true), user("b", "bob@corp.test", true)},
				Target: Target{Users: []PoolUser{poolUser("u1", "a", "ann@corp.test", true)}}},
			users: []UserChange{{ExternalID: "b", DN: "CN=b,OU=Staff,DC=corp,DC=test", Action: ActionCreate, Active: true, Fields: UserFields{Username: "bob@corp.test", FullName: "Name b"}}},
			rej: []Rejection{{Object: directory.KindUser, ExternalID: "a", DN: "CN=a,OU=Staff,DC=corp,DC=test", Action: ActionUpdate,
				Reason: `username "ann smith@corp.test" is not accepted by Identity Hub: the part before @ may hold only ASCII letters, digits, '.', '_' and '-' (1-64 characters)`}},
		},
		{
			name: "a new user takes over the username of a user the same plan deletes",
			in: Input{Mode: ModeFull, Users: []directory.User{user("new", "ann@corp.test", true)},
				Target: Target{Users: []PoolUser{poolUser("u1", "old", "ann@corp.test", true)}}},
			users: []UserChange{
				{ExternalID: "new", DN: "CN=new,OU=Staff,DC=corp,DC=test", Action: ActionCreate, Active: true, Replaces: "u1",
					Fields: UserFields{Username: "ann@corp.test", FullName: "Name new"}},
				{ExternalID: "old", TargetID: "u1", Action: ActionDelete, Removed: true, Fields: UserFields{Username: "ann@corp.test", FullName: "Name old"}},
			},
		},
		{
			name: "with block the old user keeps the username: the new one is rejected",
			in: Input{Mode: ModeFull, Settings: Settings{RemoveBehavior: RemoveBlock}, Users: []directory.User{user("new", "ann@corp.test", true)},
				Target: Target{Users: []PoolUser{poolUser("u1", "old", "ann@corp.test", true)}}},
			users: []UserChange{
				{ExternalID: "old", TargetID: "u1", Status: StatusDeactivate, Removed: true, Fields: UserFields{Username: "ann@corp.test", FullName: "Name old"}},
			},
			rej: []Rejection{{Object: directory.KindUser, ExternalID: "new", DN: "CN=new,OU=Staff,DC=corp,DC=test", Action: ActionCreate,
				Reason: `username "ann@corp.test" still belongs to pool user u1 of a removed directory user (external id old), which remove_user_behavior "block" keeps`}},
		},
		{
			name: "two directory users with one username: the one already synced keeps it",
			in: Input{Mode: ModeFull, Users: []directory.User{user("a", "dup@corp.test", true), user("b", "dup@corp.test", true)},
				Target: Target{Users: []PoolUser{poolUser("u2", "b", "dup@corp.test", true)}}},
			rej: []Rejection{{Object: directory.KindUser, ExternalID: "a", DN: "CN=a,OU=Staff,DC=corp,DC=test", Action: ActionCreate,
				Reason: `username "dup@corp.test" is already used by another directory user (external id b)`}},
			same: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := BuildPlan(tt.in)
			if diff := cmp.Diff(tt.users, p.Users); diff != "" {
				t.Errorf("users (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.rej, p.Rejected); diff != "" {
				t.Errorf("rejected (-want +got):\n%s", diff)
			}
			if p.SameUsers != tt.same {
				t.Errorf("same users = %d, want %d", p.SameUsers, tt.same)
			}
		})
	}
}

func TestPlanGroupsAndMembers(t *testing.T) {
	in := Input{
		Mode: ModeFull,
		Groups: []directory.Group{
			{ExternalID: "g1", Name: "Engineering", Members: []string{"a", "b"}},
			{ExternalID: "g2", Name: "Domain Users", Members: []string{"a", "b", "c"}},
			{ExternalID: "g3", Name: "Sales", Description: "sales team", Members: []string{"c"}},
		},
		Target: Target{Groups: []PoolGroup{
			{ID: "t1", ExternalID: "g1", Name: "Engineering", Members: []string{"b", "x"}},
			{ID: "t3", ExternalID: "g3", Name: "Sales", Description: "old", Members: []string{"c"}},
			{ID: "t4", ExternalID: "g4", Name: "Gone"},
			{ID: "t5", Name: "Manual"},
		}},
	}
	p := BuildPlan(in)
	wantGroups := []GroupChange{
		{ExternalID: "g2", Action: ActionCreate, Name: "Domain-Users", ADName: "Domain Users", Description: "Domain Users"},
		{ExternalID: "g3", TargetID: "t3", Action: ActionUpdate, Name: "Sales", Description: "sales team", Mask: []string{"description"}, PreviousDescription: "old"},
		{ExternalID: "g4", TargetID: "t4", Action: ActionDelete, Name: "Gone"},
	}
	if diff := cmp.Diff(wantGroups, p.Groups); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}
	wantMembers := []MemberChange{
		{GroupExternalID: "g1", GroupName: "Engineering", Add: []string{"a"}, Remove: []string{"x"}},
		{GroupExternalID: "g2", GroupName: "Domain-Users", Add: []string{"a", "b", "c"}},
	}
	if diff := cmp.Diff(wantMembers, p.Members); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
	// No directory or pool user names a, b, c or x here: no names.
	if len(p.UserNames) != 0 {
		t.Errorf("user names %v, want none", p.UserNames)
	}
	if p.SameGroups != 1 {
		t.Errorf("same groups = %d, want 1", p.SameGroups)
	}
}

func TestPlanGroupReplacesDeletedGroupWithItsName(t *testing.T) {
	p := BuildPlan(Input{Mode: ModeFull,
		Groups: []directory.Group{{ExternalID: "g-new", Name: "Ops"}},
		Target: Target{Groups: []PoolGroup{{ID: "t-old", ExternalID: "g-old", Name: "Ops"}}}})
	want := []GroupChange{
		{ExternalID: "g-new", Action: ActionCreate, Name: "Ops", Replaces: "t-old"},
		{ExternalID: "g-old", TargetID: "t-old", Action: ActionDelete, Name: "Ops"},
	}
	if diff := cmp.Diff(want, p.Groups); diff != "" || len(p.Rejected) != 0 {
		t.Errorf("groups (-want +got):\n%s\nrejected: %+v", diff, p.Rejected)
	}
}

func TestPlanGroupCapture(t *testing.T) {
	base := Input{Mode: ModeFull,
		Groups: []directory.Group{{ExternalID: "g1", Name: "Ops"}},
		Target: Target{Groups: []PoolGroup{{ID: "t9", Name: "ops", Description: "manual"}}}}
	p := BuildPlan(base)
	if len(p.Groups) != 0 || len(p.Rejected) != 1 || p.Rejected[0].Action != ActionBind {
		t.Fatalf("capture off: groups %+v rejected %+v, want one bind rejection", p.Groups, p.Rejected)
	}
	base.Settings.CaptureGroups = true
	p = BuildPlan(base)
	want := []GroupChange{{ExternalID: "g1", TargetID: "t9", Action: ActionBind, Name: "Ops", PreviousName: "ops", Mask: []string{"name", "description"}, PreviousDescription: "manual"}}
	if diff := cmp.Diff(want, p.Groups); diff != "" {
		t.Errorf("capture on (-want +got):\n%s", diff)
	}
}

func TestSafety(t *testing.T) {
	target := func(n int) Target {
		var tg Target
		for i := range n {
			tg.Users = append(tg.Users, poolUser(fmt.Sprint("u", i), fmt.Sprintf("e%04d", i), fmt.Sprintf("u%d@corp.test", i), true))
		}
		return tg
	}
	keep := func(n int) []directory.User {
		var us []directory.User
		for i := range n {
			us = append(us, user(fmt.Sprintf("e%04d", i), fmt.Sprintf("u%d@corp.test", i), true))
		}
		return us
	}
	groupTarget := func(n int) Target {
		tg := target(100)
		for i := range n {
			tg.Groups = append(tg.Groups, PoolGroup{ID: fmt.Sprint("g", i), ExternalID: fmt.Sprint("x", i), Name: fmt.Sprint("G", i)})
		}
		return tg
	}
	keepGroups := func(n int) []directory.Group {
		var gs []directory.Group
		for i := range n {
			gs = append(gs, directory.Group{ExternalID: fmt.Sprint("x", i), Name: fmt.Sprint("G", i)})
		}
		return gs
	}
	tests := []struct {
		name   string
		in     Input
		reason string // substring; "" means no stop
	}{
		{"empty read never deletes", Input{Mode: ModeFull, Target: target(3)}, "returned no users in scope"},
		{"zero limits allow no removal", Input{Mode: ModeFull, Users: keep(99), Target: target(100)}, "would delete 1 users, over the limit of 0"},
		{"no limits", Input{Mode: ModeFull, Users: keep(1), Target: target(100), Limits: Limits{MaxDeletions: -1, MaxDeletionPercent: 100}}, ""},
		{"count limit", Input{Mode: ModeFull, Users: keep(80), Target: target(100), Limits: Limits{MaxDeletions: 10, MaxDeletionPercent: 100}}, "would delete 20 users, over the limit of 10"},
		{"group count limit", Input{Mode: ModeFull, Users: keep(100), Groups: keepGroups(1), Target: groupTarget(3), Limits: Limits{MaxDeletions: 1, MaxDeletionPercent: 100}}, "would delete 2 groups, over the limit of 1"},
		{"empty group read never deletes groups", Input{Mode: ModeFull, Users: keep(100), Target: groupTarget(3), Limits: Limits{MaxDeletions: -1, MaxDeletionPercent: 100}}, "returned no groups in scope, but idsync manages 3 groups"},
		{"group percent limit", Input{Mode: ModeFull, Users: keep(100), Groups: keepGroups(7), Target: groupTarget(10), Limits: Limits{MaxDeletions: -1, MaxDeletionPercent: 20}}, "delete 3 of 10 managed groups (30.0%)"},
		{"groups within the percent limit", Input{Mode: ModeFull, Users: keep(100), Groups: keepGroups(8), Target: groupTarget(10), Limits: Limits{MaxDeletions: -1, MaxDeletionPercent: 20}}, ""},
		{"group delta uses the managed count", Input{Mode: ModeDelta, RemovedGroups: []string{"x0", "x1"}, Target: groupTarget(2), ManagedGroups: 100, Limits: Limits{MaxDeletions: -1, MaxDeletionPercent: 5}}, ""},
		{"group delta over the percent limit", Input{Mode: ModeDelta, RemovedGroups: []string{"x0", "x1"}, Target: groupTarget(2), ManagedGroups: 10, Limits: Limits{MaxDeletions: -1, MaxDeletionPercent: 10}}, "delete 2 of 10 managed groups"},
		{"minimum source users", Input{Mode: ModeFull, Users: keep(5), Target: target(5), Limits: Limits{MinSourceUsers: 10}}, "fewer than the minimum of 10"},
		{"percent limit", Input{Mode: ModeFull, Users: keep(70), Target: target(100), Limits: Limits{MaxDeletions: 500, MaxDeletionPercent: 20}}, "30 of 100 managed users (30.0%)"},
		{"within limits", Input{Mode: ModeFull, Users: keep(90), Target: target(100), Limits: Limits{MaxDeletions: 500, MaxDeletionPercent: 20}}, ""},
		{"block counts too", Input{Mode: ModeFull, Users: keep(50), Target: target(100), Settings: Settings{RemoveBehavior: RemoveBlock}, Limits: Limits{MaxDeletions: -1, MaxDeletionPercent: 20}}, "would block 50 of 100"},
		{"delta uses the managed count", Input{Mode: ModeDelta, RemovedUsers: []string{"e0000", "e0001"}, Target: target(2), ManagedUsers: 1000, Limits: Limits{MaxDeletions: -1, MaxDeletionPercent: 20}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := BuildPlan(tt.in)
			switch {
			case tt.reason == "" && p.Safety != nil:
				t.Fatalf("unexpected safety stop: %s", p.Safety.Reason)
			case tt.reason != "" && p.Safety == nil:
				t.Fatalf("no safety stop, want one mentioning %q", tt.reason)
			case tt.reason != "" && !strings.Contains(p.Safety.Reason, tt.reason):
				t.Fatalf("safety reason %q does not mention %q", p.Safety.Reason, tt.reason)
			}
		})
	}
}

func TestBuildPlanIsDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	src, tgt := randomState(r, 200)
	in := Input{Mode: ModeFull, Users: src.Users, Groups: src.Groups, Target: tgt}
	first := BuildPlan(in)
	for range 5 {
		r.Shuffle(len(in.Users), func(i, j int) { in.Users[i], in.Users[j] = in.Users[j], in.Users[i] })
		r.Shuffle(len(in.Groups), func(i, j int) { in.Groups[i], in.Groups[j] = in.Groups[j], in.Groups[i] })
		if diff := cmp.Diff(first, BuildPlan(in)); diff != "" {
			t.Fatalf("plan depends on input order (-first +again):\n%s", diff)
		}
	}
}

// randomState builds a random directory and a random pool that partly
// overlaps it.
func randomState(r *rand.Rand, n int) (*directory.Snapshot, Target) {
	var src directory.Snapshot
	var tgt Target
	names := []string{"ann", "bob", "cy", "dee", "eve", "fay"}
	for i := range n {
		ext := fmt.Sprintf("%08x", r.Uint32())
		u := user(ext, fmt.Sprintf("%s%d@corp.test", names[r.IntN(len(names))], r.IntN(n)), r.IntN(4) != 0)
		if r.IntN(10) == 0 {
			u.Username = "bad name@corp.test"
		}
		if r.IntN(3) > 0 {
			src.Users = append(src.Users, u)
		}
		if r.IntN(3) > 0 {
			pu := poolUser(fmt.Sprint("pu", i), ext, u.Username, r.IntN(2) == 0)
			if r.IntN(5) == 0 {
				pu.ExternalID = ""
			}
			if r.IntN(4) == 0 {
				pu.Fields.FullName = "stale"
			}
			tgt.Users = append(tgt.Users, pu)
		}
	}
	groupNames := []string{"Eng", "Domain Users", "domain-users", "Sales", "Ops", "123", "Отдел"}
	for i := range n / 10 {
		ext := fmt.Sprintf("g%07x", r.Uint32())
		g := directory.Group{ExternalID: ext, Name: groupNames[r.IntN(len(groupNames))]}
		for _, u := range src.Users {
			if r.IntN(4) == 0 {
				g.Members = append(g.Members, u.ExternalID)
			}
		}
		slices.Sort(g.Members)
		g.Members = slices.Compact(g.Members)
		if r.IntN(4) > 0 {
			src.Groups = append(src.Groups, g)
		}
		if r.IntN(3) > 0 {
			pg := PoolGroup{ID: fmt.Sprint("pg", i), ExternalID: ext, Name: fmt.Sprintf("old%d", i)}
			for _, u := range tgt.Users {
				if u.ExternalID != "" && r.IntN(4) == 0 {
					pg.Members = append(pg.Members, u.ExternalID)
				}
			}
			slices.Sort(pg.Members)
			pg.Members = slices.Compact(pg.Members)
			tgt.Groups = append(tgt.Groups, pg)
		}
	}
	return &src, tgt
}

func TestPlanDeltaKeepsCollidingGroupNames(t *testing.T) {
	groups := []directory.Group{
		{ExternalID: "a1000000-0000-0000-0000-000000000000", Name: "IT Ops", Members: []string{"u1"}},
		{ExternalID: "b2000000-0000-0000-0000-000000000000", Name: "IT-Ops", Members: []string{"u2"}},
		{ExternalID: "c3000000-0000-0000-0000-000000000000", Name: "IT_Ops", Members: []string{"u3"}},
		{ExternalID: "d4000000-0000-0000-0000-000000000000", Name: "it ops", Members: []string{"u4"}},
	}
	full := BuildPlan(Input{Mode: ModeFull, Groups: groups})
	var pool []PoolGroup
	names := map[string]bool{}
	for i, c := range full.Groups {
		if c.Action != ActionCreate {
			t.Fatalf("full plan: %+v", c)
		}
		if names[strings.ToLower(c.Name)] {
			t.Fatalf("full plan gives name %q twice", c.Name)
		}
		names[strings.ToLower(c.Name)] = true
		pool = append(pool, PoolGroup{ID: fmt.Sprint("t", i), ExternalID: c.ExternalID, Name: c.Name, Description: c.Description, Members: groups[i].Members})
	}
	changed := func(g directory.Group) directory.Group {
		g.Members = []string{g.Members[0], "u9"}
		return g
	}
	// A delta touching one colliding group at a time, with the target read
	// of a delta (only that group), then one touching them all.
	for i, g := range groups {
		p := BuildPlan(Input{Mode: ModeDelta, Groups: []directory.Group{changed(g)}, Target: Target{Groups: []PoolGroup{pool[i]}}})
		want := []MemberChange{{GroupExternalID: g.ExternalID, GroupName: pool[i].Name, Add: []string{"u9"}}}
		if len(p.Groups) != 0 || len(p.Rejected) != 0 || !cmp.Equal(want, p.Members) {
			t.Errorf("delta of %q: groups %+v rejected %+v members %+v, want only %+v", g.Name, p.Groups, p.Rejected, p.Members, want)
		}
	}
	var all []directory.Group
	for _, g := range groups {
		all = append(all, changed(g))
	}
	for _, mode := range []Mode{ModeDelta, ModeFull} {
		p := BuildPlan(Input{Mode: mode, Groups: all, Target: Target{Groups: pool}})
		if len(p.Groups) != 0 || len(p.Rejected) != 0 || len(p.Members) != len(groups) {
			t.Errorf("%s plan of every colliding group: groups %+v rejected %+v members %d", mode, p.Groups, p.Rejected, len(p.Members))
		}
		// And a run without changes plans nothing.
		p = BuildPlan(Input{Mode: mode, Groups: groups, Target: Target{Groups: pool}})
		if len(p.Groups)+len(p.Members)+len(p.Rejected) != 0 || p.SameGroups != len(groups) {
			t.Errorf("%s no-change plan: %+v", mode, p)
		}
	}
}

func TestPlanDeltaNewGroupAvoidsHeldName(t *testing.T) {
	// The target read of a delta finds the pool group holding the new
	// group's name; the new group must not take it.
	holder := PoolGroup{ID: "t1", ExternalID: "a1000000-0000-0000-0000-000000000000", Name: "IT-Ops"}
	p := BuildPlan(Input{Mode: ModeDelta,
		Groups: []directory.Group{{ExternalID: "b2000000-0000-0000-0000-000000000000", Name: "IT Ops"}},
		Target: Target{Groups: []PoolGroup{holder}}})
	want := []GroupChange{{ExternalID: "b2000000-0000-0000-0000-000000000000", Action: ActionCreate, Name: "IT-Ops-b2000000", ADName: "IT Ops", Description: "IT Ops"}}
	if diff := cmp.Diff(want, p.Groups); diff != "" || len(p.Rejected) != 0 {
		t.Errorf("groups (-want +got):\n%s\nrejected: %+v", diff, p.Rejected)
	}
	// Removed in the same delta, the holder frees its name.
	p = BuildPlan(Input{Mode: ModeDelta,
		Groups:        []directory.Group{{ExternalID: "b2000000-0000-0000-0000-000000000000", Name: "IT Ops"}},
		RemovedGroups: []string{holder.ExternalID},
		Target:        Target{Groups: []PoolGroup{holder}},
		Limits:        Limits{MaxDeletions: -1, MaxDeletionPercent: 100}})
	if len(p.Groups) != 2 || p.Groups[0].Name != "IT-Ops" || p.Groups[0].Replaces != "t1" {
		t.Errorf("groups with the holder removed: %+v", p.Groups)
	}
}
