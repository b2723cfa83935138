package agent

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/idsync/idsync/internal/directory"
)

// simulate applies a plan to a target the way a perfect applier would.
func simulate(tgt Target, p *Plan) Target {
	users := slices.Clone(tgt.Users)
	idx := func(id string) int {
		return slices.IndexFunc(users, func(u PoolUser) bool { return u.ID == id })
	}
	for _, c := range p.Users {
		switch c.Action {
		case ActionCreate:
			users = append(users, PoolUser{ID: "new-" + c.ExternalID, ExternalID: c.ExternalID, Fields: c.Fields, Active: c.Active})
			continue
		case ActionDelete:
			users = slices.Delete(users, idx(c.TargetID), idx(c.TargetID)+1)
			continue
		case ActionBind, ActionUpdate:
			users[idx(c.TargetID)].ExternalID = c.ExternalID
			users[idx(c.TargetID)].Fields = c.Fields
		}
		switch c.Status {
		case StatusActivate:
			users[idx(c.TargetID)].Active = true
		case StatusDeactivate:
			users[idx(c.TargetID)].Active = false
		}
	}
	groups := make([]PoolGroup, 0, len(tgt.Groups))
	for _, g := range tgt.Groups {
		g.Members = slices.Clone(g.Members)
		groups = append(groups, g)
	}
	gidx := func(match func(PoolGroup) bool) int { return slices.IndexFunc(groups, match) }
	for _, c := range p.Groups {
		switch c.Action {
		case ActionCreate:
			groups = append(groups, PoolGroup{ID: "new-" + c.ExternalID, ExternalID: c.ExternalID, Name: c.Name, Description: c.Description})
		case ActionDelete:
			i := gidx(func(g PoolGroup) bool { return g.ID == c.TargetID })
			groups = slices.Delete(groups, i, i+1)
		case ActionBind, ActionUpdate:
			i := gidx(func(g PoolGroup) bool { return g.ID == c.TargetID })
			groups[i].ExternalID, groups[i].Name, groups[i].Description = c.ExternalID, c.Name, c.Description
		}
	}
	for _, m := range p.Members {
		i := gidx(func(g PoolGroup) bool { return g.ExternalID == m.GroupExternalID })
		if i < 0 {
			continue
		}
		ms := slices.DeleteFunc(groups[i].Members, func(id string) bool { return slices.Contains(m.Remove, id) })
		ms = append(ms, m.Add...)
		slices.Sort(ms)
		groups[i].Members = slices.Compact(ms)
	}
	return Target{Users: users, Groups: groups}
}

func (p *Plan) changes() int { return len(p.Users) + len(p.Groups) + len(p.Members) }

// checkConverges plans and applies up to three rounds and fails unless the
// pool then matches the directory: nothing left to change, every valid
// directory user present once, no managed user left that the directory
// does not have.
func checkConverges(t *testing.T, seed uint64, n int, settings Settings) {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	src, tgt := randomState(r, n)
	in := Input{Mode: ModeFull, Users: src.Users, Groups: src.Groups, Target: tgt, Settings: settings}
	var p *Plan
	for round := range 4 {
		p = BuildPlan(in)
		if p.changes() == 0 {
			break
		}
		if round == 3 {
			t.Fatalf("seed %d: still %d changes after 3 rounds: %+v", seed, p.changes(), p)
		}
		in.Target = simulate(in.Target, p)
	}
	rejected := make(map[string]bool)
	for _, r := range p.Rejected {
		if r.Object == directory.KindUser {
			rejected[r.ExternalID] = true
		}
	}
	seen := make(map[string]int)
	for _, u := range in.Target.Users {
		if u.ExternalID != "" {
			seen[u.ExternalID]++
		}
	}
	for _, u := range src.Users {
		if !rejected[u.ExternalID] && seen[u.ExternalID] != 1 {
			t.Errorf("seed %d: directory user %s present %d times in the pool", seed, u.ExternalID, seen[u.ExternalID])
		}
		delete(seen, u.ExternalID)
	}
	for ext := range seen {
		if settings.RemoveBehavior != RemoveBlock {
			t.Errorf("seed %d: managed user %s is not in the directory but still in the pool", seed, ext)
		}
	}
	inDir := make(map[string]bool, len(src.Groups))
	for _, g := range src.Groups {
		inDir[g.ExternalID] = true
	}
	for _, g := range in.Target.Groups {
		if g.ExternalID != "" && !inDir[g.ExternalID] {
			t.Errorf("seed %d: managed group %s is not in the directory but still in the pool", seed, g.ExternalID)
		}
	}
	names := make(map[string]bool)
	for _, g := range in.Target.Groups {
		key := strings.ToLower(g.Name)
		if names[key] {
			t.Errorf("seed %d: two groups named %q", seed, g.Name)
		}
		names[key] = true
		if g.ExternalID != "" && !ValidGroupName(g.Name) {
			t.Errorf("seed %d: managed group name %q is invalid", seed, g.Name)
		}
	}
}

func TestPlanConverges(t *testing.T) {
	for seed := range uint64(40) {
		s := Settings{CaptureUsers: seed%2 == 0, CaptureGroups: seed%3 == 0}
		if seed%4 == 0 {
			s.RemoveBehavior = RemoveBlock
		}
		t.Run(fmt.Sprint(seed), func(t *testing.T) { checkConverges(t, seed, 120, s) })
	}
}

func FuzzPlanConverges(f *testing.F) {
	f.Add(uint64(1), uint8(30), true, false)
	f.Add(uint64(7), uint8(200), false, true)
	f.Fuzz(func(t *testing.T, seed uint64, n uint8, capture, block bool) {
		s := Settings{CaptureUsers: capture, CaptureGroups: capture}
		if block {
			s.RemoveBehavior = RemoveBlock
		}
		checkConverges(t, seed, int(n), s)
	})
}
