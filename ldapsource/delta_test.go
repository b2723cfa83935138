package ldapsource

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/testing/fakead"
)

// fakeDir runs the shared delta suite against the in-process fake AD.
type fakeDir struct {
	f *fakead.Server
	n int // numbers the objects, for their GUIDs and SIDs
}

func (d *fakeDir) root() string { return "OU=Suite," + testBase }

func (d *fakeDir) addOU(_ *testing.T, dn string) {
	d.f.Add(dn, map[string][]string{"objectClass": {"top", "organizationalUnit"}})
}

func (d *fakeDir) addUser(_ *testing.T, cn, parent string) string {
	d.n++
	return addUser(d.f, fakeUser{cn: cn, ou: parent, n: d.n, disabled: true}).DN
}

func (d *fakeDir) addGroup(_ *testing.T, cn, parent, description string, members ...string) string {
	d.n++
	dn := addGroup(d.f, fakeGroup{cn: cn, ou: parent, n: d.n, members: members}).DN
	d.f.Modify(dn, map[string][]string{"description": {description}})
	return dn
}

func (d *fakeDir) replace(_ *testing.T, dn string, attrs map[string][]string) { d.f.Modify(dn, attrs) }

func (d *fakeDir) members(_ *testing.T, group string, add, remove []string) {
	for _, m := range add {
		d.f.AddMember(group, m)
	}
	for _, m := range remove {
		d.f.RemoveMember(group, m)
	}
}

func (d *fakeDir) move(_ *testing.T, dn, newRDN, newParent string) string {
	d.f.Rename(dn, newRDN+","+newParent)
	return newRDN + "," + newParent
}

func (d *fakeDir) remove(_ *testing.T, dn string) { d.f.Delete(dn) }

func (d *fakeDir) source(t *testing.T, mod func(*Options)) *Source { return newTestSource(t, d.f, mod) }

// TestDeltaSuite runs the shared delta suite against the fake AD, with
// small DirSync pages so that every DirSync read takes several rounds.
// TestDeltaMemberValuesFake: the fake gives no incremental member values,
// so the groups are read again; the delta is the same either way.
func TestDeltaMemberValuesFake(t *testing.T) {
	f := startFake(t, fakead.Options{DirSyncPageSize: 3})
	d := &fakeDir{f: f}
	d.addOU(t, d.root())
	testDeltaMemberValues(t, d)
}

func TestDeltaSuite(t *testing.T) {
	runDeltaSuite(t, func(t *testing.T) deltaDir {
		f := startFake(t, fakead.Options{DirSyncPageSize: 3})
		d := &fakeDir{f: f}
		d.addOU(t, d.root())
		return d
	})
}

// TestDeltaDirSyncPages reads a DirSync delta of eight changed objects at
// three per page: more data twice, then done. Samba's page size cannot be
// set from the client, so only the fake checks the paging.
func TestDeltaDirSyncPages(t *testing.T) {
	ctx := context.Background()
	f := startFake(t, fakead.Options{DirSyncPageSize: 3})
	sc := seedScenario(f)
	ghost := addUser(f, fakeUser{cn: "ghost", ou: ouStaff, n: 9})
	src := newTestSource(t, f, func(o *Options) {
		o.DeltaMode = DeltaDirSync
		o.Scope.OrganizationalUnits = []string{ouStaff}
	})
	prev, err := src.Snapshot(ctx)
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	addUser(f, fakeUser{cn: "frank", ou: ouStaff, n: 8})
	f.AddMember(sc.engineers.DN, "CN=frank,"+ouStaff)
	f.Modify(sc.alice.DN, map[string][]string{"displayName": {"Alice Renamed"}})
	f.Rename(sc.bob.DN, "CN=robert,"+ouSub)
	f.Rename(sc.dave.DN, "CN=dave,"+ouOther)
	f.Rename(sc.carol.DN, "CN=carol,"+ouStaff)
	f.Delete(ghost.DN)
	f.RemoveMember(sc.engineers.DN, sc.alice.DN)
	f.Delete(sc.primary.DN)
	rounds := f.DirSyncRounds.Load()
	d, err := src.Delta(ctx, directory.PreviousOf(prev))
	if err != nil {
		t.Fatalf("Delta: %v", err)
	}
	if n := f.DirSyncRounds.Load() - rounds; n != 3 {
		t.Errorf("dirsync rounds = %d, want 3", n)
	}
	fresh, err := src.Snapshot(ctx)
	if err != nil {
		t.Fatalf("Snapshot after changes: %v", err)
	}
	if diff := cmp.Diff(fresh, d.Snapshot, cmpopts.EquateEmpty(),
		cmpopts.IgnoreFields(directory.Snapshot{}, "Watermark")); diff != "" {
		t.Errorf("state after delta differs from a full read (-full +delta):\n%s", diff)
	}
	if len(d.Users) != 4 || len(d.RemovedUsers) != 2 || len(d.RemovedGroups) != 1 || len(d.Memberships) != 3 {
		t.Errorf("delta: %d users, %d removed users, %d removed groups, %d membership changes; want 4, 2, 1, 3",
			len(d.Users), len(d.RemovedUsers), len(d.RemovedGroups), len(d.Memberships))
	}
}

// A delta when nothing was written on the DC since the last read (its
// highestCommittedUSN did not move) asks no DirSync pass and keeps the
// cookie; after a write it asks again.
func TestDeltaWithoutDCWritesSkipsDirSync(t *testing.T) {
	ctx := context.Background()
	f := startFake(t, fakead.Options{})
	sc := seedScenario(f)
	src := newTestSource(t, f, func(o *Options) { o.DeltaMode = DeltaDirSync })
	prev, err := src.Snapshot(ctx)
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	rounds := f.DirSyncRounds.Load()
	d, err := src.Delta(ctx, directory.PreviousOf(prev))
	if err != nil {
		t.Fatalf("Delta: %v", err)
	}
	if n := f.DirSyncRounds.Load() - rounds; n != 0 || d.Snapshot != nil || !slices.Equal(d.Watermark.Cookie, prev.Watermark.Cookie) {
		t.Errorf("delta without writes: %d dirsync rounds, state returned %v, cookie kept %v; want 0, false, true",
			n, d.Snapshot != nil, slices.Equal(d.Watermark.Cookie, prev.Watermark.Cookie))
	}
	f.Modify(sc.alice.DN, map[string][]string{"title": {"new"}})
	d, err = src.Delta(ctx, directory.Previous{Watermark: d.Watermark, Load: directory.PreviousOf(prev).Load})
	if err != nil {
		t.Fatalf("Delta after a write: %v", err)
	}
	if n := f.DirSyncRounds.Load() - rounds; n == 0 || len(d.Users) != 1 {
		t.Errorf("delta after a write: %d dirsync rounds, %d users changed; want some, 1", n, len(d.Users))
	}
}

// TestDeltaRestoredDC covers a reason for a full sync only the fake can
// produce: a DC restored from backup comes back with a new invocationId. The
// shared suite covers the other reasons on both directories.
func TestDeltaRestoredDC(t *testing.T) {
	ctx := context.Background()
	f := startFake(t, fakead.Options{})
	seedScenario(f)
	src := newTestSource(t, f, func(o *Options) { o.DeltaMode = DeltaUSN })
	prev, err := src.Snapshot(ctx)
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	f.SetInvocationID("11111111-2222-4333-8444-555555555555")
	d, err := src.Delta(ctx, directory.PreviousOf(prev))
	if !errors.Is(err, ErrFullSyncRequired) {
		t.Fatalf("Delta = %v, %v; want ErrFullSyncRequired", d, err)
	}
}

func TestDeltaModeAuto(t *testing.T) {
	for _, denied := range []bool{false, true} {
		f := startFake(t, fakead.Options{DirSyncDenied: denied})
		seedScenario(f)
		src := newTestSource(t, f, nil)
		snap, err := src.Snapshot(context.Background())
		if err != nil {
			t.Fatalf("Snapshot: %v", err)
		}
		want := directory.ModeDirSync
		if denied {
			want = directory.ModeUSN
		}
		if snap.Watermark.Mode != want {
			t.Errorf("denied=%v: mode = %s, want %s", denied, snap.Watermark.Mode, want)
		}
		if rep := src.Check(context.Background()); rep.DirSync == denied || !rep.OK() {
			t.Errorf("denied=%v: Check = %+v", denied, rep)
		}
	}
}

// TestMergeUsers checks the merge of the previous state's users with the
// users a delta read against filtering and sorting them all, for states
// Build made (sorted) and for others.
func TestMergeUsers(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	id := func() string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", r.Uint32(), r.Uint64()&0xffffffffffff) }
	byID := func(a, b directory.User) int { return strings.Compare(a.ExternalID, b.ExternalID) }
	for round := range 200 {
		prev := &directory.Snapshot{}
		var read []directory.User
		replaced := map[string]bool{}
		for range r.IntN(40) {
			prev.Users = append(prev.Users, directory.User{ExternalID: id()})
		}
		for range r.IntN(10) {
			prev.Graph.Excluded = append(prev.Graph.Excluded, directory.User{ExternalID: id()})
		}
		sorted := round%5 != 0
		if sorted {
			slices.SortFunc(prev.Users, byID)
			slices.SortFunc(prev.Graph.Excluded, byID)
		}
		for _, us := range [][]directory.User{prev.Users, prev.Graph.Excluded} {
			for _, u := range us {
				switch r.IntN(4) {
				case 0: // re-read, changed
					replaced[u.ExternalID] = true
					read = append(read, directory.User{ExternalID: u.ExternalID, JobTitle: "re-read"})
				case 1: // gone
					replaced[u.ExternalID] = true
				}
			}
		}
		for range r.IntN(8) {
			u := directory.User{ExternalID: id(), JobTitle: "new"}
			replaced[u.ExternalID] = true
			read = append(read, u)
		}
		var want []directory.User
		for _, us := range [][]directory.User{prev.Users, prev.Graph.Excluded} {
			for _, u := range us {
				if !replaced[u.ExternalID] {
					want = append(want, u)
				}
			}
		}
		want = append(want, read...)
		slices.SortFunc(want, byID)
		got := mergeUsers(prev, read, replaced)
		if sorted {
			if !slices.IsSortedFunc(got, byID) {
				t.Fatalf("round %d: merge of sorted states is not sorted", round)
			}
		} else {
			slices.SortFunc(got, byID)
		}
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round %d (sorted %v) (-want +got):\n%s", round, sorted, diff)
		}
	}
}

// TestDirSyncAttrs: the delta's DirSync pass asks for every attribute the
// user and group reads use, mapped ones included, and for the ones that
// report deletions (isDeleted) and renames and moves (name); an attribute
// missing here would be a change the delta never sees.
func TestDirSyncAttrs(t *testing.T) {
	s := &Source{opts: Options{Mapping: directory.DefaultMapping().Override(map[directory.UserField]directory.AttributeMapping{
		directory.FieldJobTitle: {Source: "extensionAttribute1", Type: directory.Direct}}, nil)}}
	got := s.dirSyncAttrs()
	has := func(a string) bool {
		return slices.ContainsFunc(got, func(g string) bool { return strings.EqualFold(a, g) })
	}
	// Named, not taken from userAttrs: account state, scope and identity
	// must reach a delta whatever the read lists.
	want := slices.Concat(s.userAttrs(), s.groupAttrs(), []string{"isDeleted", "name", "member", "extensionAttribute1",
		"userAccountControl", "accountExpires", "pwdLastSet", "lockoutTime", "primaryGroupID", "objectClass",
		"isCriticalSystemObject", "objectSid", "sAMAccountName", "userPrincipalName"})
	for _, a := range want {
		if !has(a) {
			t.Errorf("dirSyncAttrs %v lacks %s", got, a)
		}
	}
	if has("title") {
		t.Errorf("dirSyncAttrs %v asks for title, which the mapping no longer reads", got)
	}
}
