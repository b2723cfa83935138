package directory

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestDiff(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	prev := &Snapshot{
		Users: []User{
			{ExternalID: "a", FullName: "A"},
			{ExternalID: "b", FullName: "B", ExpiresAt: t0},
			{ExternalID: "c", FullName: "C"},
			{ExternalID: "d", FullName: "D"},
		},
		Groups: []Group{
			{ExternalID: "g1", Name: "one", Members: []string{"a", "b", "c"}},
			{ExternalID: "g2", Name: "two", Members: []string{"a"}},
			{ExternalID: "g3", Name: "three"},
		},
	}
	next := &Snapshot{
		Users: []User{
			{ExternalID: "a", FullName: "A"},
			{ExternalID: "b", FullName: "B", ExpiresAt: t0.In(time.FixedZone("x", 3600))}, // same instant
			{ExternalID: "c", FullName: "C renamed"},
			{ExternalID: "e", FullName: "E"},
		},
		Groups: []Group{
			{ExternalID: "g1", Name: "one", Members: []string{"a", "e"}},
			{ExternalID: "g2", Name: "two-renamed", Members: []string{"a"}},
			{ExternalID: "g4", Name: "four", Members: []string{"e"}},
		},
	}
	got := Diff(prev, next, map[string]bool{"d": true})
	want := &Delta{
		Users:         []User{{ExternalID: "c", FullName: "C renamed"}, {ExternalID: "e", FullName: "E"}},
		Groups:        []Group{{ExternalID: "g2", Name: "two-renamed", Members: []string{"a"}}, {ExternalID: "g4", Name: "four", Members: []string{"e"}}},
		RemovedUsers:  []Removal{{ExternalID: "d", Reason: ReasonDeleted}},
		RemovedGroups: []Removal{{ExternalID: "g3", Reason: ReasonOutOfScope}},
		Memberships: []MembershipChange{
			{GroupID: "g1", Added: []string{"e"}, Removed: []string{"b", "c"}},
			{GroupID: "g4", Added: []string{"e"}},
		},
		Snapshot: next,
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("Diff (-want +got):\n%s", diff)
	}
	if got.IsEmpty() {
		t.Fatal("IsEmpty on a non-empty delta")
	}
	if !Diff(next, next, nil).IsEmpty() {
		t.Fatal("Diff of a snapshot with itself is not empty")
	}
}

func TestDiffSorted(t *testing.T) {
	tests := []struct{ a, b, added, removed []string }{
		{a: nil, b: []string{"x"}, added: []string{"x"}},
		{a: []string{"x"}, b: nil, removed: []string{"x"}},
		{a: []string{"a", "c", "e"}, b: []string{"b", "c", "d"}, added: []string{"b", "d"}, removed: []string{"a", "e"}},
		{a: []string{"a"}, b: []string{"a"}},
	}
	for _, tt := range tests {
		added, removed := DiffSorted(tt.a, tt.b)
		if diff := cmp.Diff([][]string{tt.added, tt.removed}, [][]string{added, removed}, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("DiffSorted(%v, %v) (-want +got):\n%s", tt.a, tt.b, diff)
		}
	}
}
