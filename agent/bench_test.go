package agent

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/idsync/idsync/internal/directory"
)

// benchWorld is a directory shaped like the adseed benchmark profiles
// (w10k: 10,000 users, 1,000 groups, ~5 memberships per user and one
// 5,000-member group) and a pool that already matches it.
type benchWorld struct {
	users  []directory.User
	groups []directory.Group
	pool   Target
}

func newBenchWorld(b *testing.B, users, groups, perUser, bigGroup int) *benchWorld {
	b.Helper()
	r := rand.New(rand.NewPCG(uint64(users), 7))
	w := &benchWorld{}
	for i := range users {
		ext := fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
		u := directory.User{
			ExternalID: ext, DN: fmt.Sprintf("CN=User %d,OU=Dept %02d,OU=Bench,DC=corp,DC=test", i, i%20),
			SAMAccountName: fmt.Sprintf("u%06d", i), Username: fmt.Sprintf("u%06d@corp.test", i),
			FullName: fmt.Sprintf("User %d", i), GivenName: "User", FamilyName: fmt.Sprint(i),
			Email: fmt.Sprintf("u%06d@corp.test", i), Department: fmt.Sprintf("Dept %02d", i%20),
			JobTitle: "Engineer", Enabled: i%50 != 7,
		}
		if i%101 == 13 {
			u.ExpiresAt = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		w.users = append(w.users, u)
	}
	members := make([][]string, groups)
	for i := range users {
		for range perUser {
			g := r.IntN(groups)
			members[g] = append(members[g], w.users[i].ExternalID)
		}
	}
	for i := range min(bigGroup, users) {
		members[0] = append(members[0], w.users[i].ExternalID)
	}
	for i := range groups {
		slices.Sort(members[i])
		w.groups = append(w.groups, directory.Group{
			ExternalID: fmt.Sprintf("%08x-1111-4000-8000-%012x", i, i),
			DN:         fmt.Sprintf("CN=Group %d,OU=Groups,OU=Bench,DC=corp,DC=test", i),
			Name:       fmt.Sprintf("Group %d", i), Description: "benchmark group",
			Members: slices.Compact(members[i]),
		})
	}
	// The pool is what applying the plan into an empty pool gives.
	p := BuildPlan(w.input(ModeFull, Target{}))
	if p.Safety != nil || len(p.Rejected) != 0 {
		b.Fatalf("setup plan: safety %v, %d rejected", p.Safety, len(p.Rejected))
	}
	for i, c := range p.Users {
		w.pool.Users = append(w.pool.Users, PoolUser{ID: fmt.Sprintf("u%d", i), ExternalID: c.ExternalID, Fields: c.Fields, Active: c.Active})
	}
	adds := map[string][]string{}
	for _, m := range p.Members {
		adds[m.GroupExternalID] = m.Add
	}
	for i, c := range p.Groups {
		w.pool.Groups = append(w.pool.Groups, PoolGroup{ID: fmt.Sprintf("g%d", i), ExternalID: c.ExternalID,
			Name: c.Name, Description: c.Description, Members: adds[c.ExternalID]})
	}
	return w
}

func (w *benchWorld) input(mode Mode, target Target) Input {
	return Input{Mode: mode, Users: w.users, Groups: w.groups, Target: target,
		Settings: Settings{ReplacementDomain: "pool.idp.test", RemoveBehavior: RemoveDelete},
		Limits:   Limits{MaxDeletions: -1, MaxDeletionPercent: 100}}
}

// changed returns a copy of the directory with pct percent of the users
// retitled and of the groups losing their first member.
func (w *benchWorld) changed(pct int) ([]directory.User, []directory.Group) {
	users := slices.Clone(w.users)
	for i := 0; i < len(users); i += 100 / pct {
		users[i].JobTitle = "Changed"
	}
	groups := slices.Clone(w.groups)
	for i := 0; i < len(groups); i += 100 / pct {
		if len(groups[i].Members) > 0 {
			groups[i].Members = groups[i].Members[1:]
		}
	}
	return users, groups
}

func benchPlan(b *testing.B, users, groups, perUser, bigGroup int) {
	w := newBenchWorld(b, users, groups, perUser, bigGroup)
	run := func(name string, in Input, wantUserChanges int) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var p *Plan
			for b.Loop() {
				p = BuildPlan(in)
			}
			if len(p.Users) != wantUserChanges {
				b.Fatalf("user changes = %d, want %d", len(p.Users), wantUserChanges)
			}
			b.ReportMetric(float64(users)*float64(b.N)/b.Elapsed().Seconds(), "dir-users/s")
		})
	}
	run("empty-pool", w.input(ModeFull, Target{}), users)
	run("no-change-full", w.input(ModeFull, w.pool), 0)
	cu, cg := w.changed(1)
	in := w.input(ModeFull, w.pool)
	in.Users, in.Groups = cu, cg
	run("one-percent-full", in, (users+99)/100)
	// A delta cycle sees only the changed objects and their pool state.
	var du []directory.User
	var dt Target
	for i := 0; i < users; i += 100 {
		du = append(du, cu[i])
		dt.Users = append(dt.Users, w.pool.Users[i])
	}
	var dg []directory.Group
	for i := 0; i < groups; i += 100 {
		dg = append(dg, cg[i])
		dt.Groups = append(dt.Groups, w.pool.Groups[i])
	}
	din := w.input(ModeDelta, dt)
	din.Users, din.Groups, din.ManagedUsers = du, dg, users
	run("one-percent-delta", din, len(du))
}

// BenchmarkPlanW10k plans a w10k-shaped directory: 10,000 users, 1,000
// groups, ~5 memberships per user, a 5,000-member group.
func BenchmarkPlanW10k(b *testing.B) { benchPlan(b, 10_000, 1_000, 5, 5_000) }

// BenchmarkPlanW100k plans a w100k-shaped directory: 100,000 users, 5,000
// groups, ~10 memberships per user, a 5,000-member group.
func BenchmarkPlanW100k(b *testing.B) { benchPlan(b, 100_000, 5_000, 10, 5_000) }
