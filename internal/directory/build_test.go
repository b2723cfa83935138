package directory

import (
	"fmt"
	"runtime"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func u(id string, primary uint32) User { return User{ExternalID: id, PrimaryGroupID: primary} }

func TestBuild(t *testing.T) {
	users := []User{u("u3", 513), u("u1", 513), u("u2", 700), u("u4", 513)}
	tests := []struct {
		name         string
		c            Candidates
		filter       []string
		wantUsers    []string
		wantExcluded []string
		wantMembers  map[string][]string
	}{
		{
			name: "direct, nested, cycle and primary group",
			c: Candidates{
				Users:  users,
				Groups: []Group{{ExternalID: "gA"}, {ExternalID: "gB"}, {ExternalID: "gP", RID: 700}},
				Links: []Links{
					{GroupID: "gA", InScope: true, Direct: []string{"u1", "gB", "unknown"}},
					{GroupID: "gB", InScope: true, Direct: []string{"u3", "gA", "gP"}},
					{GroupID: "gP", RID: 700, InScope: true},
				},
			},
			wantUsers:   []string{"u1", "u2", "u3", "u4"},
			wantMembers: map[string][]string{"gA": {"u1", "u2", "u3"}, "gB": {"u1", "u2", "u3"}, "gP": {"u2"}},
		},
		{
			name: "nesting stops at out-of-scope groups",
			c: Candidates{
				Users:  users,
				Groups: []Group{{ExternalID: "gA"}},
				Links: []Links{
					{GroupID: "gA", InScope: true, Direct: []string{"u1", "gOut"}},
					{GroupID: "gOut", InScope: false, Direct: []string{"u4"}},
				},
			},
			wantUsers:   []string{"u1", "u2", "u3", "u4"},
			wantMembers: map[string][]string{"gA": {"u1"}},
		},
		{
			name: "group filter follows every group and primary groups",
			c: Candidates{
				Users:  users,
				Groups: []Group{{ExternalID: "gA"}},
				Links: []Links{
					{GroupID: "gA", InScope: true, Direct: []string{"u1", "u3"}},
					{GroupID: "gF", Direct: []string{"gOut"}},
					{GroupID: "gOut", Direct: []string{"u1", "gP"}},
					{GroupID: "gP", RID: 700},
				},
			},
			filter:       []string{"gF"},
			wantUsers:    []string{"u1", "u2"},
			wantExcluded: []string{"u3", "u4"},
			wantMembers:  map[string][]string{"gA": {"u1"}},
		},
		{
			name:        "duplicates collapse",
			c:           Candidates{Users: []User{u("u1", 0), u("u1", 0)}, Groups: []Group{{ExternalID: "g"}}, Links: []Links{{GroupID: "g", InScope: true, Direct: []string{"u1", "u1"}}}},
			wantUsers:   []string{"u1"},
			wantMembers: map[string][]string{"g": {"u1"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Build(tt.c, tt.filter)
			ids := func(us []User) []string {
				var out []string
				for _, u := range us {
					out = append(out, u.ExternalID)
				}
				return out
			}
			if diff := cmp.Diff(tt.wantUsers, ids(s.Users), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("users (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantExcluded, ids(s.Graph.Excluded), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("excluded (-want +got):\n%s", diff)
			}
			got := map[string][]string{}
			for _, g := range s.Groups {
				got[g.ExternalID] = g.Members
			}
			if diff := cmp.Diff(tt.wantMembers, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("members (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildSharesIDStrings(t *testing.T) {
	// Ids as LDAP decoding gives them: every occurrence its own string.
	id := func(s string) string { return string([]byte(s)) }
	c := Candidates{
		Users:  []User{u(id("u2"), 0), u(id("u1"), 0)},
		Groups: []Group{{ExternalID: id("g1")}, {ExternalID: id("g2")}},
		Links: []Links{
			{GroupID: id("g1"), InScope: true, Direct: []string{id("u1"), id("g2")}},
			{GroupID: id("g2"), InScope: true, Direct: []string{id("u2")}},
		},
	}
	s := Build(c, nil)
	own := map[string]*byte{}
	for _, u := range s.Users {
		own[u.ExternalID] = unsafe.StringData(u.ExternalID)
	}
	for _, l := range s.Graph.Links {
		own[l.GroupID] = unsafe.StringData(l.GroupID)
	}
	n := 0
	for _, l := range s.Graph.Links {
		for _, m := range l.Direct {
			if unsafe.StringData(m) != own[m] {
				t.Errorf("links of %s: member %s is a copy", l.GroupID, m)
			}
			n++
		}
	}
	for _, g := range s.Groups {
		for _, m := range g.Members {
			if unsafe.StringData(m) != own[m] {
				t.Errorf("group %s: member %s is a copy", g.ExternalID, m)
			}
			n++
		}
	}
	if n != 6 { // 3 direct links; members: g1 = u1, u2 (nested); g2 = u2
		t.Errorf("%d member values checked, want 6", n)
	}
}

// TestBuildMemory checks the memory shape at scale: 100k users and 1M
// memberships must stay well under 500 MB.
func TestBuildMemory(t *testing.T) {
	const nUsers, nGroups, perGroup = 100_000, 1_000, 1_000
	c := bigCandidates(nUsers, nGroups, perGroup)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	s := Build(c, nil)
	runtime.GC()
	runtime.ReadMemStats(&after)
	growth := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("snapshot of %d users, %d groups, %d memberships: heap +%d MB (inputs excluded), total heap %d MB",
		len(s.Users), len(s.Groups), nGroups*perGroup, growth>>20, after.HeapAlloc>>20)
	if after.HeapAlloc > 500<<20 {
		t.Errorf("heap %d MB, want under 500 MB", after.HeapAlloc>>20)
	}
	runtime.KeepAlive(c)
}

func bigCandidates(nUsers, nGroups, perGroup int) Candidates {
	var c Candidates
	c.Users = make([]User, nUsers)
	for i := range c.Users {
		c.Users[i] = User{ExternalID: fmt.Sprintf("%08x-0000-4000-8000-000000000000", i), DN: fmt.Sprintf("CN=user%d,OU=Staff,DC=example,DC=com", i),
			Username: fmt.Sprintf("user%d@example.com", i), FullName: fmt.Sprintf("User %d", i), Enabled: true, PrimaryGroupID: 513}
	}
	for g := 0; g < nGroups; g++ {
		id := fmt.Sprintf("%08x-0000-4000-8000-000000000001", g)
		direct := make([]string, perGroup)
		for j := range direct {
			direct[j] = c.Users[(g*perGroup+j*7)%nUsers].ExternalID
		}
		c.Groups = append(c.Groups, Group{ExternalID: id, Name: fmt.Sprintf("group%d", g), RID: uint32(2000 + g)})
		c.Links = append(c.Links, Links{GroupID: id, RID: uint32(2000 + g), InScope: true, Direct: direct})
	}
	return c
}

func BenchmarkBuild100k(b *testing.B) {
	c := bigCandidates(100_000, 1_000, 1_000)
	b.ReportAllocs()
	for b.Loop() {
		Build(c, nil)
	}
}
