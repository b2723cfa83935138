package ldapsource

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/idsync/idsync/internal/directory"
)

// deltaDir is a directory the shared delta suite changes and reads: the
// in-process fake AD (delta_test.go) or the Samba DC (integration_test.go).
// Every method fails the test on error.
type deltaDir interface {
	// root is the DN of an empty organizational unit private to the test.
	root() string
	addOU(t *testing.T, dn string)
	// addUser adds a disabled user and returns its DN.
	addUser(t *testing.T, cn, parent string) string
	// addGroup adds a group and returns its DN.
	addGroup(t *testing.T, cn, parent, description string, members ...string) string
	// replace sets attributes of dn.
	replace(t *testing.T, dn string, attrs map[string][]string)
	// members adds and removes member values of a group.
	members(t *testing.T, group string, add, remove []string)
	// move renames dn and returns its new DN.
	move(t *testing.T, dn, newRDN, newParent string) string
	remove(t *testing.T, dn string)
	// source opens a reader of the directory.
	source(t *testing.T, mod func(*Options)) *Source
}

// runDeltaSuite runs the delta scenarios against the directories open
// returns, a fresh one per scenario.
func runDeltaSuite(t *testing.T, open func(t *testing.T) deltaDir) {
	for _, mode := range []DeltaMode{DeltaUSN, DeltaDirSync} {
		t.Run("changes/"+string(mode), func(t *testing.T) { testDeltaChanges(t, open(t), mode) })
	}
	t.Run("full sync required", func(t *testing.T) { testDeltaFullSyncRequired(t, open) })
}

// testDeltaMemberValues changes only member values (a group's members and
// a nested group's) and checks that the DirSync delta, which takes them
// from the incremental values where the directory gives them, equals the
// one that reads the groups again, and leaves the state a full read gives.
// It returns how many groups were taken from member values.
func testDeltaMemberValues(t *testing.T, dir deltaDir) int {
	ctx := t.Context()
	in := "OU=In," + dir.root()
	dir.addOU(t, in)
	a, b, c := dir.addUser(t, "a", in), dir.addUser(t, "b", in), dir.addUser(t, "c", in)
	inner := dir.addGroup(t, "inner", in, "", a, b)
	outer := dir.addGroup(t, "outer", in, "", inner)
	other := dir.addGroup(t, "other", in, "", c)
	src := dir.source(t, func(o *Options) {
		o.Scope.OrganizationalUnits = []string{in}
		o.DeltaMode = DeltaDirSync
	})
	prev, err := src.Snapshot(ctx)
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	dir.members(t, inner, []string{c}, []string{a})
	dir.members(t, outer, []string{other}, nil)
	dir.members(t, other, nil, []string{c})
	d := deltaBothWays(t, src, prev)
	edited := src.memberEdits
	if len(d.Memberships) != 3 {
		t.Errorf("membership changes %+v; want inner, outer and other", d.Memberships)
	}
	return edited
}

// deltaBothWays runs a delta from prev twice: taking what DirSync's values
// give (member values, users' mapped attributes), then reading every object
// DirSync reported again. It fails unless both give the same delta and
// leave the state a full read gives, and returns the first delta, with
// src's counters (memberEdits, valueEdits) of that run.
func deltaBothWays(t *testing.T, src *Source, prev *directory.Snapshot) *directory.Delta {
	t.Helper()
	ctx := t.Context()
	d, err := src.Delta(ctx, directory.PreviousOf(prev))
	if err != nil {
		t.Fatalf("Delta: %v", err)
	}
	memberEdits, valueEdits := src.memberEdits, src.valueEdits
	src.noMemberEdits = true
	read, err := src.Delta(ctx, directory.PreviousOf(prev))
	src.noMemberEdits = false
	if err != nil {
		t.Fatalf("Delta reading every object again: %v", err)
	}
	opts := []cmp.Option{cmpopts.EquateEmpty(), cmpopts.IgnoreFields(directory.Snapshot{}, "Watermark"),
		cmpopts.IgnoreFields(directory.Delta{}, "Watermark")}
	if diff := cmp.Diff(read, d, opts...); diff != "" {
		t.Errorf("delta from DirSync's values differs from reading the objects again (-read +values):\n%s", diff)
	}
	fresh, err := src.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fresh, d.Snapshot, opts...); diff != "" {
		t.Errorf("state after the delta differs from a full read (-full +delta):\n%s", diff)
	}
	src.memberEdits, src.valueEdits = memberEdits, valueEdits
	return d
}

// testDeltaChanges makes one change of every kind and checks the delta
// against what was changed, against a fresh full read, and that a second
// delta is empty.
func testDeltaChanges(t *testing.T, dir deltaDir, mode DeltaMode) {
	ctx := t.Context()
	in, out := "OU=In,"+dir.root(), "OU=Out,"+dir.root()
	dir.addOU(t, in)
	dir.addOU(t, out)
	alice := dir.addUser(t, "alice", in)
	bob := dir.addUser(t, "bob", in)
	carol := dir.addUser(t, "carol", out)
	dave := dir.addUser(t, "dave", in)
	ghost := dir.addUser(t, "ghost", in)
	team := dir.addGroup(t, "team", in, "before", alice, bob, carol)
	outer := dir.addGroup(t, "outer", in, "nested", team)
	doomed := dir.addGroup(t, "doomed", in, "removed later")
	src := dir.source(t, func(o *Options) {
		o.Scope.OrganizationalUnits = []string{in}
		o.DeltaMode = mode
	})
	prev, err := src.Snapshot(ctx)
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	if prev.Watermark.Mode != directory.DeltaMode(mode) {
		t.Fatalf("watermark mode = %s, want %s", prev.Watermark.Mode, mode)
	}
	if len(prev.Users) != 4 || len(prev.Groups) != 3 {
		t.Fatalf("initial snapshot: %d users, %d groups; want 4 and 3", len(prev.Users), len(prev.Groups))
	}
	ids := map[string]string{}
	for _, u := range prev.Users {
		ids[normDN(t, u.DN)] = u.ExternalID
	}
	for _, g := range prev.Groups {
		ids[normDN(t, g.DN)] = g.ExternalID
	}

	// alice is renamed, bob enabled and renamed in his display name, carol
	// moves into scope and dave out of it, ghost and the group doomed are
	// deleted, erin is created and joins team while bob leaves it, and
	// team's description changes. outer holds team, so it follows.
	alice2 := dir.move(t, alice, "CN=alice2", in)
	dir.replace(t, bob, map[string][]string{"userAccountControl": {"512"}, "displayName": {"Bob Renamed"}})
	carol2 := dir.move(t, carol, "CN=carol", in)
	dir.move(t, dave, "CN=dave", out)
	dir.remove(t, ghost)
	dir.remove(t, doomed)
	erin := dir.addUser(t, "erin", in)
	dir.members(t, team, []string{erin}, []string{bob})
	dir.replace(t, team, map[string][]string{"description": {"after"}})

	d, err := src.Delta(ctx, directory.PreviousOf(prev))
	if err != nil {
		t.Fatalf("Delta: %v", err)
	}
	fresh, err := src.Snapshot(ctx)
	if err != nil {
		t.Fatalf("Snapshot after changes: %v", err)
	}
	if diff := cmp.Diff(fresh, d.Snapshot, cmpopts.EquateEmpty(), cmpopts.IgnoreFields(directory.Snapshot{}, "Watermark")); diff != "" {
		t.Errorf("state after delta differs from a full read (-full +delta):\n%s", diff)
	}
	for _, u := range fresh.Users {
		ids[normDN(t, u.DN)] = u.ExternalID
	}

	var changed []string
	for _, u := range d.Users {
		changed = append(changed, normDN(t, u.DN))
		if normDN(t, u.DN) == normDN(t, bob) && (!u.Enabled || u.FullName != "Bob Renamed") {
			t.Errorf("bob in the delta: enabled %v, full name %q; want enabled, %q", u.Enabled, u.FullName, "Bob Renamed")
		}
	}
	slices.Sort(changed)
	wantChanged := []string{normDN(t, alice2), normDN(t, bob), normDN(t, carol2), normDN(t, erin)}
	slices.Sort(wantChanged)
	if diff := cmp.Diff(wantChanged, changed); diff != "" {
		t.Errorf("changed users (-want +got):\n%s", diff)
	}

	byID := func(a, b directory.Removal) int { return strings.Compare(a.ExternalID, b.ExternalID) }
	wantRemoved := []directory.Removal{
		{ExternalID: ids[normDN(t, dave)], Reason: directory.ReasonOutOfScope},
		{ExternalID: ids[normDN(t, ghost)], Reason: directory.ReasonDeleted},
	}
	slices.SortFunc(wantRemoved, byID)
	gotRemoved := slices.SortedFunc(slices.Values(d.RemovedUsers), byID)
	if diff := cmp.Diff(wantRemoved, gotRemoved); diff != "" {
		t.Errorf("removed users (-want +got):\n%s", diff)
	}
	wantGone := []directory.Removal{{ExternalID: ids[normDN(t, doomed)], Reason: directory.ReasonDeleted}}
	if diff := cmp.Diff(wantGone, d.RemovedGroups); diff != "" {
		t.Errorf("removed groups (-want +got):\n%s", diff)
	}
	if len(d.Groups) != 1 || normDN(t, d.Groups[0].DN) != normDN(t, team) || d.Groups[0].Description != "after" {
		t.Errorf("changed groups = %+v, want team with the new description", d.Groups)
	}

	added := []string{ids[normDN(t, carol2)], ids[normDN(t, erin)]}
	slices.Sort(added)
	removed := []string{ids[normDN(t, bob)]}
	wantM := []directory.MembershipChange{
		{GroupID: ids[normDN(t, team)], Added: added, Removed: removed},
		{GroupID: ids[normDN(t, outer)], Added: added, Removed: removed},
	}
	sortM := cmpopts.SortSlices(func(a, b directory.MembershipChange) bool { return a.GroupID < b.GroupID })
	if diff := cmp.Diff(wantM, d.Memberships, sortM, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("membership changes (-want +got):\n%s", diff)
	}

	// With nothing changed since, the previous state is not even read.
	loaded := false
	again, err := src.Delta(ctx, directory.Previous{Watermark: d.Watermark, Load: func() (*directory.Snapshot, error) {
		loaded = true
		return d.Snapshot, nil
	}})
	if err != nil {
		t.Fatalf("second Delta: %v", err)
	}
	if !again.IsEmpty() || again.Snapshot != nil || loaded {
		t.Errorf("second delta not empty: users %d, removed %d, groups %d, memberships %d, state returned %v, previous state read %v",
			len(again.Users), len(again.RemovedUsers), len(again.Groups), len(again.Memberships), again.Snapshot != nil, loaded)
	}
	if again.Watermark.IsZero() || again.Watermark.Mode != d.Watermark.Mode {
		t.Errorf("second delta's watermark %+v", again.Watermark)
	}
	// A change after that reads the previous state, and an error reading
	// it is the delta's error.
	dir.replace(t, alice2, map[string][]string{"title": {"later"}})
	damaged := errors.New("state damaged")
	if _, err := src.Delta(ctx, directory.Previous{Watermark: again.Watermark, Load: func() (*directory.Snapshot, error) { return nil, damaged }}); !errors.Is(err, damaged) {
		t.Errorf("delta with an unreadable previous state: %v; want it wrapped", err)
	}
}

// testDeltaFullSyncRequired checks that a delta the previous read cannot
// anchor is refused with ErrFullSyncRequired, never guessed.
func testDeltaFullSyncRequired(t *testing.T, open func(t *testing.T) deltaDir) {
	tests := []struct {
		name      string
		mode      DeltaMode
		watermark func(w *directory.Watermark)
		options   func(o *Options, dir deltaDir)
	}{
		{name: "another invocationId", mode: DeltaUSN,
			watermark: func(w *directory.Watermark) { w.InvocationID = "00000000-0000-4000-8000-000000000001" }},
		{name: "another DC", mode: DeltaDirSync,
			watermark: func(w *directory.Watermark) { w.DCHost = "otherdc.invalid" }},
		{name: "older than the tombstone lifetime", mode: DeltaUSN,
			watermark: func(w *directory.Watermark) { w.TakenAt = w.TakenAt.AddDate(0, 0, -181) }},
		{name: "no watermark", mode: DeltaUSN,
			watermark: func(w *directory.Watermark) { *w = directory.Watermark{} }},
		{name: "the DC refuses the DirSync cookie", mode: DeltaDirSync,
			// The USN moved back: something was written since, so the
			// cookie is sent (without a write there is nothing to ask).
			watermark: func(w *directory.Watermark) { w.Cookie, w.USN = []byte("garbage-from-another-dc"), w.USN-1 }},
		{name: "scope changed", mode: DeltaUSN,
			options: func(o *Options, dir deltaDir) { o.Scope.OrganizationalUnits = []string{"OU=Out," + dir.root()} }},
		{name: "mapping changed", mode: DeltaDirSync,
			options: func(o *Options, _ deltaDir) {
				o.Mapping = directory.DefaultMapping().Override(map[directory.UserField]directory.AttributeMapping{
					directory.FieldFullName: {Source: "cn", Type: directory.Direct}}, nil)
			}},
		{name: "mode changed", mode: DeltaUSN,
			options: func(o *Options, _ deltaDir) { o.DeltaMode = DeltaDirSync }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := open(t)
			in := "OU=In," + dir.root()
			dir.addOU(t, in)
			dir.addOU(t, "OU=Out,"+dir.root())
			dir.addGroup(t, "team", in, "", dir.addUser(t, "alice", in))
			base := func(o *Options) {
				o.Scope.OrganizationalUnits = []string{in}
				o.DeltaMode = tt.mode
			}
			prev, err := dir.source(t, base).Snapshot(t.Context())
			if err != nil {
				t.Fatalf("Snapshot: %v", err)
			}
			if tt.watermark != nil {
				tt.watermark(&prev.Watermark)
			}
			src := dir.source(t, func(o *Options) {
				base(o)
				if tt.options != nil {
					tt.options(o, dir)
				}
			})
			d, err := src.Delta(context.WithoutCancel(t.Context()), directory.PreviousOf(prev))
			if !errors.Is(err, ErrFullSyncRequired) {
				t.Fatalf("Delta = %+v, %v; want ErrFullSyncRequired", d, err)
			}
		})
	}
}
