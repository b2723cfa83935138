package directory

import (
	"encoding/binary"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

// graphModel is the plain state a MemberGraph is checked against: after
// every change, Build over the same candidates must give the same members,
// and Apply must name exactly the groups whose members Build changed.
type graphModel struct {
	next   func(n int) int // a number in [0, n)
	nUsers int
	nGroup int
	users  map[string]User
	links  map[string]Links
	listed map[string]bool
	filter []string
}

func newGraphModel(next func(int) int, nUsers, nGroups int) *graphModel {
	m := &graphModel{next: next, nUsers: nUsers, nGroup: nGroups, users: map[string]User{}, links: map[string]Links{}, listed: map[string]bool{}}
	for i := range next(3) {
		m.filter = append(m.filter, m.groupID(next(nGroups+1))) // may name a group that never exists
		_ = i
	}
	return m
}

func (m *graphModel) userID(i int) string  { return fmt.Sprintf("u%03d", i) }
func (m *graphModel) groupID(i int) string { return fmt.Sprintf("g%03d", i) }

// rid is usually the group's own, sometimes another group's or one no
// group has.
func (m *graphModel) rid() uint32 {
	switch m.next(8) {
	case 0:
		return 0
	case 1:
		return 5000
	default:
		return uint32(1000 + m.next(m.nGroup))
	}
}

func (m *graphModel) candidates() Candidates {
	var c Candidates
	for _, id := range slices.Sorted(maps.Keys(m.users)) {
		c.Users = append(c.Users, m.users[id])
	}
	for _, id := range slices.Sorted(maps.Keys(m.listed)) {
		c.Groups = append(c.Groups, Group{ExternalID: id})
	}
	for _, id := range slices.Sorted(maps.Keys(m.links)) {
		l := m.links[id]
		l.Direct = slices.Clone(l.Direct)
		c.Links = append(c.Links, l)
	}
	return c
}

func (m *graphModel) members() map[string][]string {
	out := map[string][]string{}
	for _, g := range Build(m.candidates(), m.filter).Groups {
		out[g.ExternalID] = g.Members
	}
	return out
}

// member picks a direct member id: a user, a group, or an id that is
// neither (yet).
func (m *graphModel) member() string {
	switch m.next(10) {
	case 0:
		return fmt.Sprintf("x%d", m.next(3))
	case 1, 2, 3:
		return m.groupID(m.next(m.nGroup))
	default:
		return m.userID(m.next(m.nUsers))
	}
}

// change makes a few random changes to the model and returns them as one
// GraphChange: each touched object as it is at the end.
func (m *graphModel) change() GraphChange {
	users, links, listed := map[string]bool{}, map[string]bool{}, map[string]bool{}
	start := map[string][]string{} // direct members before member edits
	for range 1 + m.next(4) {
		switch m.next(11) {
		case 10:
			id := m.groupID(m.next(m.nGroup))
			l, ok := m.links[id]
			if !ok {
				break
			}
			if _, seen := start[id]; !seen {
				start[id] = slices.Clone(l.Direct)
			}
			l.Direct = slices.Clone(l.Direct)
			if len(l.Direct) > 0 && m.next(2) == 0 {
				l.Direct = slices.Delete(l.Direct, 0, 1)
			} else {
				l.Direct = append(l.Direct, m.member())
			}
			m.links[id] = l
		case 0, 1:
			u := User{ExternalID: m.userID(m.next(m.nUsers)), PrimaryGroupID: m.rid()}
			m.users[u.ExternalID] = u
			users[u.ExternalID] = true
		case 2:
			id := m.userID(m.next(m.nUsers))
			delete(m.users, id)
			users[id] = true
		case 3, 4, 5:
			i := m.next(m.nGroup)
			l := Links{GroupID: m.groupID(i), RID: uint32(1000 + i), InScope: m.next(5) != 0}
			if m.next(6) == 0 {
				l.RID = m.rid()
			}
			for range m.next(6) {
				l.Direct = append(l.Direct, m.member())
			}
			m.links[l.GroupID] = l
			links[l.GroupID] = true
		case 6:
			// A chain through every group, closed into a cycle half the time.
			closed := m.next(2) == 0
			for i := range m.nGroup {
				l := m.links[m.groupID(i)]
				l.GroupID, l.RID, l.InScope = m.groupID(i), uint32(1000+i), true
				if i < m.nGroup-1 || closed {
					l.Direct = append(slices.Clone(l.Direct), m.groupID((i+1)%m.nGroup))
				}
				m.links[l.GroupID] = l
				links[l.GroupID] = true
			}
		case 7:
			id := m.groupID(m.next(m.nGroup))
			delete(m.links, id)
			links[id] = true
		case 8:
			id := m.groupID(m.next(m.nGroup))
			m.listed[id] = true
			listed[id] = true
		case 9:
			id := m.groupID(m.next(m.nGroup))
			delete(m.listed, id)
			listed[id] = true
		}
	}
	var c GraphChange
	for _, id := range slices.Sorted(maps.Keys(users)) {
		if u, ok := m.users[id]; ok {
			c.Users = append(c.Users, u)
		} else {
			c.RemovedUsers = append(c.RemovedUsers, id)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(links)) {
		if l, ok := m.links[id]; ok {
			l.Direct = slices.Clone(l.Direct)
			c.Links = append(c.Links, l)
		} else {
			c.RemovedLinks = append(c.RemovedLinks, id)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(start)) {
		if links[id] {
			continue
		}
		before := slices.Compact(slices.Sorted(slices.Values(start[id])))
		after := slices.Compact(slices.Sorted(slices.Values(m.links[id].Direct)))
		added, removed := DiffSorted(before, after)
		c.MemberEdits = append(c.MemberEdits, MemberEdit{GroupID: id, Added: added, Removed: removed})
	}
	for _, id := range slices.Sorted(maps.Keys(listed)) {
		if m.listed[id] {
			c.Groups = append(c.Groups, Group{ExternalID: id})
		} else {
			c.RemovedGroups = append(c.RemovedGroups, id)
		}
	}
	return c
}

// checkGraphModel runs steps random changes and compares after each.
func checkGraphModel(t *testing.T, m *graphModel, steps int) {
	t.Helper()
	g := NewMemberGraph(m.candidates(), m.filter)
	before := m.members()
	for step := range steps {
		c := m.change()
		changed := g.Apply(c)
		after := m.members()
		var want []string
		for id := range m.listed {
			if !slices.Equal(after[id], before[id]) {
				want = append(want, id)
			}
		}
		for id := range before {
			if _, ok := after[id]; !ok && len(before[id]) > 0 {
				want = append(want, id)
			}
		}
		slices.Sort(want)
		if !slices.Equal(changed, want) {
			t.Fatalf("step %d (filter %v, change %+v): Apply reported %v, Build changed %v", step, m.filter, c, changed, want)
		}
		for id := range m.listed {
			if got := g.Effective(id); !slices.Equal(got, after[id]) {
				t.Fatalf("step %d (filter %v, change %+v): Effective(%s) = %v, Build gives %v", step, m.filter, c, id, got, after[id])
			}
		}
		before = after
	}
}

func TestMemberGraphMatchesBuild(t *testing.T) {
	for seed := range uint64(200) {
		r := rand.New(rand.NewPCG(seed, 18))
		nUsers, nGroups := 2+r.IntN(30), 1+r.IntN(15)
		if seed%20 == 0 {
			nUsers, nGroups = 200, 150 // deep nesting
		}
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			checkGraphModel(t, newGraphModel(r.IntN, nUsers, nGroups), 60)
		})
	}
}

func FuzzMemberGraph(f *testing.F) {
	f.Add([]byte{3, 7, 1, 0, 4, 200, 9, 6, 0, 6, 1, 3, 3, 0, 0, 5, 5, 5, 8, 8, 2, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		next := func(n int) int {
			if len(data) < 2 {
				return 0
			}
			v := int(binary.LittleEndian.Uint16(data))
			data = data[2:]
			return v % n
		}
		m := newGraphModel(next, 1+next(20), 1+next(12))
		checkGraphModel(t, m, 1+len(data)/8)
	})
}
