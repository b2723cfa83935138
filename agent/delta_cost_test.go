package agent

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/emulator"
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
	r := newRig(t, emulator.Options{NoMinInterval: true}, nil)
	ctx := t.Context()
	r.dir.set(func(d *fakeDir) { d.users = []directory.User{dirUser(1), dirUser(2)} })
	if _, err := r.agent.RunCycle(ctx, CycleOptions{Trigger: TriggerManual}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(r.store.Dir(), "snapshot.AD_SYNC.gz")
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
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
