package ldapsource

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/testing/fakead"
)

// TestDeltaMatchesBuild changes a directory at random, round after round,
// and checks that each delta (nextState: the previous memberships when only
// attributes changed, else a Build of the previous state with the changes;
// users whose mapped attributes alone changed taken from DirSync's values)
// is the delta a Build gives with every reported object read again, and
// that the state it leaves is a fresh full read's: with and without a group
// filter, nesting with a cycle, primary groups, moves in and out of the
// organizational unit, deletions, title changes.
func TestDeltaMatchesBuild(t *testing.T) {
	scopes := map[string]Scope{
		"unit":               {OrganizationalUnits: []string{ouStaff}},
		"unit and group":     {OrganizationalUnits: []string{ouStaff}, Groups: []string{"G1"}},
		"domain and a group": {Groups: []string{"G2"}},
	}
	for name, scope := range scopes {
		for _, mode := range []DeltaMode{DeltaUSN, DeltaDirSync} {
			t.Run(name+"/"+string(mode), func(t *testing.T) {
				fromValues := 0
				for seed := range uint64(4) {
					fromValues += testDeltaGraphRounds(t, scope, mode, seed)
				}
				// The fake AD returns only the changed attributes, as AD
				// does, so title changes come from DirSync's values.
				if mode == DeltaDirSync && fromValues == 0 {
					t.Error("no user was taken from DirSync's values in any round")
				}
			})
		}
	}
}

// testDeltaGraphRounds returns how many users the deltas took from
// DirSync's values.
func testDeltaGraphRounds(t *testing.T, scope Scope, mode DeltaMode, seed uint64) int {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 7))
	fromValues := 0
	f := startFake(t, fakead.Options{})
	var users []string // DNs of live users
	next := 100
	newUser := func() {
		next++
		ou := ouStaff
		if rng.IntN(4) == 0 {
			ou = ouOther
		}
		users = append(users, addUser(f, fakeUser{cn: fmt.Sprintf("u%d", next), ou: ou, n: next}).DN)
	}
	for range 12 {
		newUser()
	}
	var groups []string
	rids := []uint32{513}
	for i := range 6 {
		rid := uint32(7000 + i)
		rids = append(rids, rid)
		var members []string
		for _, u := range users {
			if rng.IntN(3) == 0 {
				members = append(members, u)
			}
		}
		if i > 0 {
			members = append(members, groups[i-1]) // G(i) holds G(i-1); G0 holds G5 below
		}
		groups = append(groups, addGroup(f, fakeGroup{cn: fmt.Sprintf("G%d", i), ou: ouStaff, n: 50 + i, rid: rid, members: members}).DN)
	}
	f.AddMember(groups[0], groups[5])
	addGroup(f, fakeGroup{cn: "Domain Users", ou: cnUsers, n: 60, rid: 513, critical: true})

	src := newTestSource(t, f, func(o *Options) {
		o.Scope = scope
		o.Scope.Domain = "test.example.com"
		o.DeltaMode = mode
	})
	prev, err := src.Snapshot(ctx)
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	all := func() []string { return append(slices.Clone(users), groups...) }
	for round := range 8 {
		for range 1 + rng.IntN(4) {
			switch op := rng.IntN(7); op {
			case 0, 1:
				f.AddMember(groups[rng.IntN(len(groups))], all()[rng.IntN(len(users)+len(groups))])
			case 2:
				g := groups[rng.IntN(len(groups))]
				if ms := f.Members(g); len(ms) > 0 {
					f.RemoveMember(g, ms[rng.IntN(len(ms))])
				}
			case 3:
				u := users[rng.IntN(len(users))]
				f.Modify(u, map[string][]string{"primaryGroupID": {strconv.Itoa(int(rids[rng.IntN(len(rids))]))}})
			case 4:
				i := rng.IntN(len(users))
				to := ouOther
				if rng.IntN(2) == 0 {
					to = ouStaff
				}
				next++
				dn := fmt.Sprintf("CN=m%d,%s", next, to)
				f.Rename(users[i], dn)
				users[i] = dn
			case 5:
				i := rng.IntN(len(users))
				f.Delete(users[i])
				users = slices.Delete(users, i, i+1)
				newUser()
			case 6:
				f.Modify(users[rng.IntN(len(users))], map[string][]string{"title": {fmt.Sprintf("t%d", rng.IntN(100))}})
			}
		}
		src.buildDeltas, src.noMemberEdits = false, false
		d, err := src.Delta(ctx, directory.PreviousOf(prev))
		if err != nil {
			t.Fatalf("seed %d round %d: Delta: %v", seed, round, err)
		}
		fromValues += src.valueEdits
		// Build, and every object DirSync reports read again.
		src.buildDeltas, src.noMemberEdits = true, true
		built, err := src.Delta(ctx, directory.PreviousOf(prev))
		if err != nil {
			t.Fatalf("seed %d round %d: Delta with Build: %v", seed, round, err)
		}
		opts := []cmp.Option{cmpopts.EquateEmpty(), cmpopts.IgnoreFields(directory.Snapshot{}, "Watermark"),
			cmpopts.IgnoreFields(directory.Delta{}, "Watermark")}
		if diff := cmp.Diff(built, d, opts...); diff != "" {
			t.Fatalf("seed %d round %d: delta (-Build, objects read again +nextState):\n%s", seed, round, diff)
		}
		fresh, err := src.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d.Snapshot != nil {
			prev = d.Snapshot
		}
		// A deleted member's id stays in the stored direct members of its
		// groups until they are read again (links change without a change
		// of the group); it reaches no user, so only Links may differ.
		if diff := cmp.Diff(fresh, prev, append(opts, cmpopts.IgnoreFields(directory.Graph{}, "Links"))...); diff != "" {
			t.Fatalf("seed %d round %d: state after the delta (-full read +delta):\n%s", seed, round, diff)
		}
	}
	return fromValues
}

// A delta that changed only users' attributes keeps the previous state's
// memberships as they are (no graph, no Build) and equals the Build-based
// delta.
func TestDeltaAttributesOnly(t *testing.T) {
	ctx := context.Background()
	f := startFake(t, fakead.Options{})
	sc := seedScenario(f)
	src := newTestSource(t, f, func(o *Options) {
		o.DeltaMode = DeltaUSN
		o.Scope.OrganizationalUnits = []string{ouStaff}
		o.Scope.Groups = []string{"Engineers"}
	})
	prev, err := src.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.Modify(sc.alice.DN, map[string][]string{"title": {"Lead"}})
	f.Modify(sc.bob.DN, map[string][]string{"displayName": {"Robert"}})
	d, err := src.Delta(ctx, directory.PreviousOf(prev))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Users) != 2 || len(d.Memberships) != 0 || len(d.Snapshot.Groups) == 0 || &d.Snapshot.Groups[0] != &prev.Groups[0] {
		t.Errorf("attributes-only delta: %d users, %d membership changes, groups shared with the previous state %v; want 2, 0, true",
			len(d.Users), len(d.Memberships), len(d.Snapshot.Groups) > 0 && &d.Snapshot.Groups[0] == &prev.Groups[0])
	}
	src.buildDeltas = true
	built, err := src.Delta(ctx, directory.PreviousOf(prev))
	if err != nil {
		t.Fatal(err)
	}
	opts := []cmp.Option{cmpopts.EquateEmpty(), cmpopts.IgnoreFields(directory.Snapshot{}, "Watermark"), cmpopts.IgnoreFields(directory.Delta{}, "Watermark")}
	if diff := cmp.Diff(built, d, opts...); diff != "" {
		t.Errorf("attributes-only delta (-Build +kept):\n%s", diff)
	}
	// A primary group change is not attributes only.
	f.Modify(sc.alice.DN, map[string][]string{"primaryGroupID": {"6000"}})
	src.buildDeltas = false
	d, err = src.Delta(ctx, directory.PreviousOf(prev))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Snapshot.Groups) > 0 && &d.Snapshot.Groups[0] == &prev.Groups[0] {
		t.Error("a primary group change kept the previous memberships")
	}
}

// A delta whose changes are all outside the scope returns no new state:
// the previous one stands.
func TestDeltaOutOfScopeChangesKeepTheState(t *testing.T) {
	ctx := context.Background()
	f := startFake(t, fakead.Options{})
	sc := seedScenario(f)
	src := newTestSource(t, f, func(o *Options) {
		o.DeltaMode = DeltaDirSync
		o.Scope.OrganizationalUnits = []string{ouStaff}
	})
	prev, err := src.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.Modify(sc.carol.DN, map[string][]string{"title": {"elsewhere"}}) // OU=Other
	d, err := src.Delta(ctx, directory.PreviousOf(prev))
	if err != nil {
		t.Fatal(err)
	}
	if !d.IsEmpty() || d.Snapshot != nil {
		t.Errorf("delta of an out-of-scope change: empty %v, state returned %v; want true, false", d.IsEmpty(), d.Snapshot != nil)
	}
	f.Modify(sc.alice.DN, map[string][]string{"title": {"here"}})
	if d, err = src.Delta(ctx, directory.PreviousOf(prev)); err != nil || d.Snapshot == nil || len(d.Users) != 1 {
		t.Errorf("delta of an in-scope change: %v", err)
	}
}
