package ldapsource

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"go.uber.org/zap"

	"github.com/idsync/idsync/internal/directory"
)

// BenchmarkDeltaNextState applies a W100k-shaped delta read to the previous
// state with directory.Build and diffs the result as Delta does: 1%
// (1,000 users re-read, 1%
// of the member values changed, the changed groups re-read whole: about
// 4,400 groups) and 0.01% (10 users, 100 member values).
func BenchmarkDeltaNextState(b *testing.B) {
	for _, per := range []int{100, 10_000} {
		b.Run(fmt.Sprintf("1-in-%d", per), func(b *testing.B) { benchNextState(b, per) })
	}
}

func benchNextState(b *testing.B, per int) {
	const nUsers, nGroups, perUser = 100_000, 5_000, 10
	r := rand.New(rand.NewPCG(100, 5))
	var c directory.Candidates
	direct := make([][]string, nGroups)
	gid := func(i int) string { return fmt.Sprintf("g-%08x-0000-4000-8000-%012x", i, i) }
	for i := range nUsers {
		id := fmt.Sprintf("u-%08x-0000-4000-8000-%012x", i, i)
		c.Users = append(c.Users, directory.User{ExternalID: id, Username: id + "@corp.test", PrimaryGroupID: 513})
		for range perUser {
			g := r.IntN(nGroups)
			direct[g] = append(direct[g], id)
		}
	}
	for i := 1; i < nGroups; i += 10 {
		direct[i] = append(direct[i], gid(r.IntN(nGroups)))
	}
	for i := range nGroups {
		slices.Sort(direct[i])
		direct[i] = slices.Compact(direct[i])
		c.Groups = append(c.Groups, directory.Group{ExternalID: gid(i), Name: gid(i), RID: uint32(2000 + i)})
		c.Links = append(c.Links, directory.Links{GroupID: gid(i), RID: uint32(2000 + i), InScope: true, Direct: direct[i]})
	}
	c.Links = append(c.Links, directory.Links{GroupID: "domain-users", RID: 513})
	prev := directory.Build(c, nil)

	rd := &reader{groups: map[string]directory.Group{}, links: map[string]directory.Links{}, seen: map[string]bool{}}
	for i := 0; i < nUsers; i += per {
		u := prev.Users[i]
		u.JobTitle = "changed"
		rd.users = append(rd.users, u)
		rd.seen[u.ExternalID] = true
	}
	for n := range nUsers * perUser / per {
		gi := r.IntN(nGroups)
		l, ok := rd.links[gid(gi)]
		if !ok {
			l = prev.Graph.Links[slices.IndexFunc(prev.Graph.Links, func(l directory.Links) bool { return l.GroupID == gid(gi) })]
			l.Direct = slices.Clone(l.Direct)
			g := prev.Groups[gi]
			g.Members = nil
			rd.groups[g.ExternalID] = g
			rd.seen[g.ExternalID] = true
		}
		if n%2 == 0 && len(l.Direct) > 0 {
			l.Direct = l.Direct[1:]
		} else {
			l.Direct = append(l.Direct, prev.Users[r.IntN(nUsers)].ExternalID)
		}
		rd.links[l.GroupID] = l
	}
	b.Run("build", func(b *testing.B) {
		s := &Source{log: zap.NewNop()}
		b.ReportAllocs()
		for b.Loop() {
			next := s.nextState(prev, rd, nil, nil, nil)
			directory.Diff(prev, next, nil)
		}
	})
}
