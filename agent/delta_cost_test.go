package agent

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	om "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/idhub"
	"github.com/idsync/idsync/internal/state"
)

// A delta cycle that finds no change neither reads nor rewrites the
// snapshot: it moves the watermark (local state first, then the pool's
// token), and the next delta with a change builds on the same snapshot.
func TestNoChangeDeltaLeavesTheSnapshot(t *testing.T) {
	r := newRig(t, emulator.Options{NoMinInterval: true}, nil)
	ctx := t.Context()
	users := []directory.User{dirUser(1), dirUser(2), dirUser(3)}
	r.dir.set(func(d *fakeDir) {
		d.users = users
		d.groups = []directory.Group{{ExternalID: "g-eng", Name: "Engineering", Members: []string{users[0].ExternalID, users[1].ExternalID}}}
	})
	if _, err := r.agent.RunCycle(ctx, CycleOptions{Trigger: TriggerManual}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(r.store.Dir(), "snapshot.AD_SYNC.gz")
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	token := r.emu.Dump().ReplicationTokens["AD_SYNC"]
	loads, calls := r.dir.loads, totalCalls(r)

	job, err := r.agent.RunCycle(ctx, CycleOptions{Trigger: TriggerAuto})
	if err != nil || job.Mode != "delta" || job.Status != state.StatusSuccess {
		t.Fatalf("no-change cycle: %+v, %v", job, err)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("a delta without changes rewrote the snapshot")
	}
	if r.dir.loads != loads {
		t.Errorf("a delta without changes loaded the previous state %d times", r.dir.loads-loads)
	}
	// Open the session, set the token, close it: the pool is not read.
	if n := totalCalls(r) - calls; n != 3 {
		t.Errorf("a delta without changes made %d calls; want 3 (session and token)", n)
	}
	wm, err := r.store.Watermark("AD_SYNC")
	if err != nil {
		t.Fatal(err)
	}
	newToken := r.emu.Dump().ReplicationTokens["AD_SYNC"]
	if newToken == token || newToken != encodeTokenOrEmpty(wm, ScopeFingerprint(*r.opts.Settings)) {
		t.Errorf("token after a no-change delta %q (before %q); want the new local watermark's", newToken, token)
	}

	// A change after that is a delta from the stored state.
	r.dir.set(func(d *fakeDir) {
		d.users[2].JobTitle = "Boss"
		d.groups[0].Members = []string{users[0].ExternalID}
	})
	job, err = r.agent.RunCycle(ctx, CycleOptions{Trigger: TriggerAuto})
	if err != nil || job.Mode != "delta" {
		t.Fatalf("delta after a no-change delta: %+v, %v", job, err)
	}
	if r.dir.loads != loads+1 {
		t.Errorf("a delta with a change loaded the previous state %d times; want 1", r.dir.loads-loads)
	}
	res := job.Result
	if res.UserStatistics.Updated.Success != 1 || res.GroupMemberStatistics.Deleted.Success != 1 {
		t.Errorf("delta: %d users updated, %d members removed; want 1, 1", res.UserStatistics.Updated.Success, res.GroupMemberStatistics.Deleted.Success)
	}
	if _, groups := r.poolState(); len(groups["Engineering"]) != 1 {
		t.Errorf("Engineering members %v", groups["Engineering"])
	}
	if snap, err := r.store.Snapshot("AD_SYNC"); err != nil || snap.Users[2].JobTitle != "Boss" {
		t.Errorf("snapshot after the delta: %v", err)
	}
}

// A snapshot damaged where only its body is (the header still reads) is
// found by the watermark read of a cycle with nothing to change: that
// cycle is full, never a delta from a state that cannot be read.
func TestDamagedSnapshotBodyMeansAFullCycle(t *testing.T) {
	r, path, good := syncedSnapshot(t)
	ctx := t.Context()
	bad := bytes.Clone(good)
	bad[len(bad)-10] ^= 0xff // in the last block, far from the header
	if err := os.WriteFile(path, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	job, err := r.agent.RunCycle(ctx, CycleOptions{Trigger: TriggerAuto})
	if err != nil || job.Mode != "full" {
		t.Fatalf("cycle over a damaged snapshot body: %+v, %v; want full", job, err)
	}
	if snap, err := r.store.Snapshot("AD_SYNC"); err != nil || len(snap.Users) != 2 {
		t.Fatalf("snapshot after the full cycle: %v", err)
	}
}

func totalCalls(r *rig) int64 {
	var n int64
	for _, c := range r.emu.Stats().Calls {
		n += c
	}
	return n
}

// callsOf counts the emulator's calls of methods ending in suffix.
func callsOf(r *rig, suffix string) int64 {
	var n int64
	for m, c := range r.emu.Stats().Calls {
		if strings.HasSuffix(m, suffix) {
			n += c
		}
	}
	return n
}

// A delta cycle sends the member changes the directory reports without
// reading the members of any group, whether the pool takes adding a
// present member and removing an absent one as a no-op or refuses them
// (emulator StrictMembers): then the group's members are read and the
// exact change applied. Hand edits in the pool that the directory does not
// touch stay until the full cycle repairs them.
func TestTrustedMembersConverge(t *testing.T) {
	for _, strict := range []bool{false, true} {
		t.Run(fmt.Sprintf("strict=%v", strict), func(t *testing.T) {
			r := newRig(t, emulator.Options{NoMinInterval: true, StrictMembers: strict}, nil)
			ctx := t.Context()
			u := []directory.User{dirUser(1), dirUser(2), dirUser(3), dirUser(4)}
			id := func(i int) string { return u[i-1].ExternalID }
			r.dir.set(func(d *fakeDir) {
				d.users = u
				d.groups = []directory.Group{
					{ExternalID: "g-a", Name: "Alpha", Members: []string{id(1), id(2)}},
					{ExternalID: "g-b", Name: "Beta", Members: []string{id(3)}},
				}
			})
			run := func(step string, full bool) *state.Job {
				t.Helper()
				job, err := r.agent.RunCycle(ctx, CycleOptions{Trigger: TriggerManual, Full: full})
				if err != nil || job.Status != state.StatusSuccess {
					t.Fatalf("%s: %+v, %v", step, job, err)
				}
				return job
			}
			members := func(name string) []string {
				t.Helper()
				_, groups := r.poolState()
				return groups[name]
			}
			run("full sync", true)

			// A member added and a group renamed: no member read.
			r.dir.set(func(d *fakeDir) {
				d.groups[0].Members = []string{id(1), id(2), id(3)}
				d.groups[1].Name = "Beta2"
			})
			lists := callsOf(r, "/ListMembers")
			if job := run("delta", false); job.Mode != "delta" {
				t.Fatalf("mode %s", job.Mode)
			}
			if n := callsOf(r, "/ListMembers") - lists; n != 0 {
				t.Errorf("the delta read the members of %d groups; want none", n)
			}
			if diff := cmp.Diff([]string{id(1), id(2), id(3)}, members("Alpha")); diff != "" {
				t.Errorf("Alpha after the delta (-want +got):\n%s", diff)
			}

			// By hand in the pool: 4 joins Alpha, 1 leaves it, 1 joins Beta2.
			handEdit(t, r, "g-a", []string{id(4)}, []string{id(1)})
			handEdit(t, r, "g-b", []string{id(1)}, nil)
			// The directory makes the same change to Alpha: the trusted
			// change adds a present member and removes an absent one.
			r.dir.set(func(d *fakeDir) { d.groups[0].Members = []string{id(2), id(3), id(4)} })
			lists = callsOf(r, "/ListMembers")
			job := run("delta over hand edits", false)
			wantLists := int64(0)
			if strict {
				wantLists = 1 // Alpha, after the pool refused the change
			}
			if n := callsOf(r, "/ListMembers") - lists; n != wantLists {
				t.Errorf("the delta read the members of %d groups; want %d", n, wantLists)
			}
			if f := job.Result.Failures(); f != 0 {
				t.Errorf("delta over hand edits: %d failures", f)
			}
			if diff := cmp.Diff([]string{id(2), id(3), id(4)}, members("Alpha")); diff != "" {
				t.Errorf("Alpha after the delta over hand edits (-want +got):\n%s", diff)
			}
			// Beta2 is not in the delta: the hand edit stays until a full cycle.
			if diff := cmp.Diff([]string{id(1), id(3)}, members("Beta2")); diff != "" {
				t.Errorf("Beta2 before the full cycle (-want +got):\n%s", diff)
			}
			run("full cycle", true)
			if diff := cmp.Diff([]string{id(3)}, members("Beta2")); diff != "" {
				t.Errorf("Beta2 after the full cycle (-want +got):\n%s", diff)
			}
		})
	}
}

// handEdit adds and removes members of a managed group directly in the
// pool, as an administrator would.
func handEdit(t *testing.T, r *rig, groupExt string, add, remove []string) {
	t.Helper()
	ctx := t.Context()
	g, err := r.client.ResolveExternalGroup(ctx, groupExt)
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.client.ResolveExternalIDs(ctx, append(slices.Clone(add), remove...))
	if err != nil {
		t.Fatal(err)
	}
	uid := map[string]string{}
	for _, x := range res {
		uid[x.GetExternalId()] = x.GetUserId()
	}
	var deltas []*om.MemberDelta
	for _, ext := range add {
		deltas = append(deltas, idhub.AddMember(uid[ext]))
	}
	for _, ext := range remove {
		deltas = append(deltas, idhub.RemoveMember(uid[ext]))
	}
	if _, err := r.client.UpdateGroupMembers(ctx, g.GetId(), deltas); err != nil {
		t.Fatal(err)
	}
}

// An object whose change failed is planned again by the next delta even
// when the directory reports no change: the state is loaded for it.
func TestNoChangeDeltaRetriesPendingObjects(t *testing.T) {
	r := newRig(t, emulator.Options{NoMinInterval: true}, nil)
	ctx := t.Context()
	r.dir.set(func(d *fakeDir) { d.users = []directory.User{dirUser(1), dirUser(2)} })
	if _, err := r.agent.RunCycle(ctx, CycleOptions{Trigger: TriggerManual}); err != nil {
		t.Fatal(err)
	}
	r.emu.SetFailObjects([]string{"user2@pool.idp.test"})
	r.dir.set(func(d *fakeDir) { d.users[1].JobTitle = "Boss" })
	if job, _ := r.agent.RunCycle(ctx, CycleOptions{Trigger: TriggerAuto}); job == nil || job.Result.UserStatistics.Updated.Failed != 1 {
		t.Fatalf("cycle with a failing update: %+v", job)
	}
	r.emu.SetFailObjects(nil)
	job, err := r.agent.RunCycle(ctx, CycleOptions{Trigger: TriggerAuto})
	if err != nil || job.Mode != "delta" || job.Result.UserStatistics.Updated.Success != 1 {
		t.Fatalf("delta without directory change after a failure: %+v, %v; want the failed update made", job, err)
	}
	users, _ := r.poolState()
	if len(users) != 2 {
		t.Errorf("pool users %v", users)
	}
}
