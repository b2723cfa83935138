package directory

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// w100kCandidates is a W100k-shaped directory: 100,000 users with Domain
// Users (RID 513, outside the scope) as primary group, 5,000 groups with
// ~1,000,000 direct user members, a tenth of the groups nested in another
// group, a cycle of three and one group with 5,000 members.
func w100kCandidates() Candidates {
	const nUsers, nGroups, perUser = 100_000, 5_000, 10
	r := rand.New(rand.NewPCG(100, 5))
	var c Candidates
	direct := make([][]string, nGroups)
	for i := range nUsers {
		id := fmt.Sprintf("u-%08x-0000-4000-8000-%012x", i, i)
		c.Users = append(c.Users, User{ExternalID: id, PrimaryGroupID: 513})
		for range perUser {
			g := r.IntN(nGroups)
			direct[g] = append(direct[g], id)
		}
		if i%20 == 0 {
			direct[0] = append(direct[0], id)
		}
	}
	gid := func(i int) string { return fmt.Sprintf("g-%08x-0000-4000-8000-%012x", i, i) }
	for i := 1; i < nGroups; i += 10 {
		direct[i] = append(direct[i], gid(r.IntN(nGroups)))
	}
	direct[1] = append(direct[1], gid(2))
	direct[2] = append(direct[2], gid(3))
	direct[3] = append(direct[3], gid(1))
	for i := range nGroups {
		slices.Sort(direct[i])
		direct[i] = slices.Compact(direct[i])
		c.Groups = append(c.Groups, Group{ExternalID: gid(i), RID: uint32(2000 + i)})
		c.Links = append(c.Links, Links{GroupID: gid(i), RID: uint32(2000 + i), InScope: true, Direct: direct[i]})
	}
	c.Links = append(c.Links, Links{GroupID: "domain-users", RID: 513})
	return c
}

// onePercent returns a change of 1% of the users (attributes only) and of
// the direct member values (half removed, half added), and its inverse:
// as member value edits and as whole direct-member lists.
func onePercent(c Candidates) (change, undo, whole, wholeUndo GraphChange) {
	r := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < len(c.Users); i += 100 {
		u := c.Users[i]
		u.JobTitle = "changed"
		change.Users = append(change.Users, u)
		undo.Users = append(undo.Users, c.Users[i])
	}
	total := 0
	for _, l := range c.Links {
		total += len(l.Direct)
	}
	edits := map[int][]string{} // link index -> new direct list
	for n := 0; n < total/100; n++ {
		li := r.IntN(len(c.Links) - 1)
		d, ok := edits[li]
		if !ok {
			d = slices.Clone(c.Links[li].Direct)
		}
		if n%2 == 0 && len(d) > 0 {
			d = slices.Delete(d, 0, 1)
		} else {
			d = append(d, c.Users[r.IntN(len(c.Users))].ExternalID)
		}
		edits[li] = d
	}
	whole.Users, wholeUndo.Users = change.Users, undo.Users
	for li, d := range edits {
		l := c.Links[li]
		wholeUndo.Links = append(wholeUndo.Links, l)
		added, removed := DiffSorted(l.Direct, slices.Sorted(slices.Values(d)))
		change.MemberEdits = append(change.MemberEdits, MemberEdit{GroupID: l.GroupID, Added: added, Removed: removed})
		undo.MemberEdits = append(undo.MemberEdits, MemberEdit{GroupID: l.GroupID, Added: removed, Removed: added})
		l.Direct = d
		whole.Links = append(whole.Links, l)
	}
	return change, undo, whole, wholeUndo
}

// BenchmarkGraphApply applies changes to a W100k-shaped MemberGraph and
// compares them with Build from scratch. A 1% delta and its undo alternate;
// delta-1pct gives member value edits, delta-1pct-whole-lists the changed
// groups' complete direct-member lists.
func BenchmarkGraphApply(b *testing.B) {
	c := w100kCandidates()
	change, undo, whole, wholeUndo := onePercent(c)
	b.Run("no-change", func(b *testing.B) {
		g := NewMemberGraph(c, nil)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			g.Apply(GraphChange{})
		}
	})
	b.Run("titles-1pct", func(b *testing.B) {
		g := NewMemberGraph(c, nil)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			g.Apply(GraphChange{Users: change.Users})
		}
	})
	b.Run("one-group", func(b *testing.B) {
		g := NewMemberGraph(c, nil)
		l := c.Links[100]
		small := []GraphChange{{Links: []Links{{GroupID: l.GroupID, RID: l.RID, InScope: true, Direct: l.Direct[1:]}}}, {Links: []Links{l}}}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			g.Apply(small[i%2])
		}
	})
	b.Run("delta-1pct", func(b *testing.B) {
		g := NewMemberGraph(c, nil)
		changes := []GraphChange{change, undo}
		b.ReportAllocs()
		b.ResetTimer()
		var n int
		for i := range b.N {
			n = len(g.Apply(changes[i%2]))
		}
		b.ReportMetric(float64(n), "groups-changed")
	})
	b.Run("delta-1pct-whole-lists", func(b *testing.B) {
		g := NewMemberGraph(c, nil)
		changes := []GraphChange{whole, wholeUndo}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			g.Apply(changes[i%2])
		}
	})
	b.Run("new-graph", func(b *testing.B) {
		b.ReportAllocs()
		var g *MemberGraph
		for range b.N {
			g = NewMemberGraph(c, nil)
		}
		b.StopTimer()
		b.ReportMetric(retainedMiB(func() { runtime.KeepAlive(g); g = nil }), "retained-MiB")
	})
	b.Run("build", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			b.StopTimer()
			cc := Candidates{Users: slices.Clone(c.Users), Groups: slices.Clone(c.Groups), Links: slices.Clone(c.Links)}
			b.StartTimer()
			Build(cc, nil)
		}
	})
}

// retainedMiB returns how much live heap drop releases.
func retainedMiB(drop func()) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	drop()
	runtime.GC()
	runtime.ReadMemStats(&after)
	return float64(int64(before.HeapAlloc)-int64(after.HeapAlloc)) / (1 << 20)
}
