package ldapsource

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/testing/fakead"
)

// mutate applies a scripted set of changes to the scenario and returns the
// users as they must look afterwards.
func mutate(f *fakead.Server, sc scenario) (alice, bob, carol, frank directory.User) {
	frank = addUser(f, fakeUser{cn: "frank", ou: ouStaff, n: 8})
	f.AddMember(sc.engineers.DN, frank.DN)
	f.Modify(sc.alice.DN, map[string][]string{"displayName": {"Alice Renamed"}})
	alice = sc.alice
	alice.FullName = "Alice Renamed"
	bob = sc.bob
	bob.DN = "CN=robert," + ouSub
	f.Rename(sc.bob.DN, bob.DN)
	f.Rename(sc.dave.DN, "CN=dave,"+ouOther)
	carol = sc.carol
	carol.DN = "CN=carol," + ouStaff
	f.Rename(sc.carol.DN, carol.DN)
	f.Delete("CN=ghost," + ouStaff)
	f.RemoveMember(sc.engineers.DN, sc.alice.DN)
	f.Delete(sc.primary.DN)
	return alice, bob, carol, frank
}

func TestDelta(t *testing.T) {
	for _, mode := range []DeltaMode{DeltaUSN, DeltaDirSync} {
		t.Run(string(mode), func(t *testing.T) {
			ctx := context.Background()
			f := startFake(t, fakead.Options{DirSyncPageSize: 3})
			sc := seedScenario(f)
			ghost := addUser(f, fakeUser{cn: "ghost", ou: ouStaff, n: 9})
			src := newTestSource(t, f, func(o *Options) {
				o.DeltaMode = mode
				o.Scope.OrganizationalUnits = []string{ouStaff}
			})
			prev, err := src.Snapshot(ctx)
			if err != nil {
				t.Fatalf("Snapshot: %v", err)
			}
			if got := string(prev.Watermark.Mode); got != string(mode) {
				t.Fatalf("watermark mode = %s, want %s", got, mode)
			}
			alice, bob, carol, frank := mutate(f, sc)
			rounds := f.DirSyncRounds.Load()
			d, err := src.Delta(ctx, prev)
			if err != nil {
				t.Fatalf("Delta: %v", err)
			}
			if mode == DeltaDirSync {
				// 8 changed objects at 3 per round: more-data twice, then done.
				if n := f.DirSyncRounds.Load() - rounds; n != 3 {
					t.Errorf("dirsync rounds = %d, want 3", n)
				}
			}
			ids := func(us ...directory.User) []string {
				var out []string
				for _, u := range us {
					out = append(out, u.ExternalID)
				}
				return out
			}
			want := &directory.Delta{
				Users: []directory.User{alice, bob, carol, frank},
				RemovedUsers: []directory.Removal{
					{ExternalID: sc.dave.ExternalID, Reason: directory.ReasonOutOfScope},
					{ExternalID: ghost.ExternalID, Reason: directory.ReasonDeleted},
				},
				RemovedGroups: []directory.Removal{{ExternalID: sc.primary.ExternalID, Reason: directory.ReasonDeleted}},
				Memberships: []directory.MembershipChange{
					{GroupID: sc.engineers.ExternalID, Added: ids(carol, frank), Removed: ids(alice)},
					{GroupID: sc.backend.ExternalID, Added: ids(carol, frank), Removed: ids(alice)},
					{GroupID: sc.cycle.ExternalID, Added: ids(carol, frank), Removed: ids(alice)},
				},
			}
			if diff := cmp.Diff(want, d, cmpopts.EquateEmpty(), cmpopts.IgnoreFields(directory.Delta{}, "Snapshot")); diff != "" {
				t.Errorf("delta mismatch (-want +got):\n%s", diff)
			}
			// The state after the delta equals a fresh full read.
			fresh, err := src.Snapshot(ctx)
			if err != nil {
				t.Fatalf("Snapshot after changes: %v", err)
			}
			if diff := cmp.Diff(fresh, d.Snapshot, cmpopts.EquateEmpty(),
				cmpopts.IgnoreFields(directory.Snapshot{}, "Watermark")); diff != "" {
				t.Errorf("state after delta differs from a full read (-full +delta):\n%s", diff)
			}
			// A second delta with nothing changed is empty.
			again, err := src.Delta(ctx, d.Snapshot)
			if err != nil {
				t.Fatalf("second Delta: %v", err)
			}
			if !again.IsEmpty() {
				t.Errorf("second delta not empty: %+v", again)
			}
		})
	}
}

func TestDeltaFullSyncRequired(t *testing.T) {
	tests := []struct {
		name    string
		mode    DeltaMode
		arrange func(f *fakead.Server, prev *directory.Snapshot, o *Options)
	}{
		{name: "restored DC has a new invocationId", mode: DeltaUSN, arrange: func(f *fakead.Server, _ *directory.Snapshot, _ *Options) {
			f.SetInvocationID("11111111-2222-4333-8444-555555555555")
		}},
		{name: "another DC", mode: DeltaDirSync, arrange: func(_ *fakead.Server, prev *directory.Snapshot, _ *Options) {
			prev.Watermark.DCHost = "dc2.test.example.com"
		}},
		{name: "older than the tombstone lifetime", mode: DeltaUSN, arrange: func(_ *fakead.Server, _ *directory.Snapshot, o *Options) {
			o.Now = func() time.Time { return testNow.Add(181 * 24 * time.Hour) }
		}},
		{name: "no watermark", mode: DeltaUSN, arrange: func(_ *fakead.Server, prev *directory.Snapshot, _ *Options) {
			prev.Watermark = directory.Watermark{}
		}},
		{name: "scope changed", mode: DeltaUSN, arrange: func(_ *fakead.Server, _ *directory.Snapshot, o *Options) {
			o.Scope.OrganizationalUnits = []string{ouOther}
		}},
		{name: "mapping changed", mode: DeltaDirSync, arrange: func(_ *fakead.Server, _ *directory.Snapshot, o *Options) {
			o.Mapping = directory.DefaultMapping().Override(map[directory.UserField]directory.AttributeMapping{
				directory.FieldFullName: {Source: "cn", Type: directory.Direct}}, nil)
		}},
		{name: "mode changed", mode: DeltaUSN, arrange: func(_ *fakead.Server, _ *directory.Snapshot, o *Options) {
			o.DeltaMode = DeltaDirSync
		}},
		{name: "the DC refuses the DirSync cookie", mode: DeltaDirSync, arrange: func(_ *fakead.Server, prev *directory.Snapshot, _ *Options) {
			prev.Watermark.Cookie = []byte("garbage-from-another-dc")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			f := startFake(t, fakead.Options{})
			seedScenario(f)
			src := newTestSource(t, f, func(o *Options) { o.DeltaMode = tt.mode })
			prev, err := src.Snapshot(ctx)
			if err != nil {
				t.Fatalf("Snapshot: %v", err)
			}
			opts := src.opts
			tt.arrange(f, prev, &opts)
			src2, err := New(opts)
			if err != nil {
				t.Fatal(err)
			}
			defer src2.Close()
			d, err := src2.Delta(ctx, prev)
			t.Logf("delta error: %v", err)
			if !errors.Is(err, ErrFullSyncRequired) {
				t.Fatalf("Delta = %v, %v; want ErrFullSyncRequired", d, err)
			}
		})
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
