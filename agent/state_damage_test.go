package agent

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/state"
)

// TestDamagedDatabaseMeansAFullCycle: when the state database is found
// damaged and replaced, the snapshot beside it no longer has the ids and
// retries it relied on, so the next cycle is full, and the one after it a
// delta again.
func TestDamagedDatabaseMeansAFullCycle(t *testing.T) {
	r := newRig(t, emulator.Options{NoMinInterval: true}, nil)
	ctx := t.Context()
	r.dir.set(func(d *fakeDir) { d.users = []directory.User{dirUser(1), dirUser(2)} })
	if _, err := r.agent.RunCycle(ctx, CycleOptions{Trigger: TriggerManual}); err != nil {
		t.Fatal(err)
	}
	dir := r.store.Dir()
	if err := r.store.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filepath.Join(dir, "idsync.db"), 1000); err != nil {
		t.Fatal(err)
	}
	store, err := state.Open(dir, 0)
	if err != nil {
		t.Fatalf("open a damaged state database: %v", err)
	}
	t.Cleanup(func() { store.Close() })
	r.opts.Store = store
	if r.agent, err = New(r.opts); err != nil {
		t.Fatal(err)
	}
	before := r.mutating()
	job, err := r.agent.RunCycle(ctx, CycleOptions{Trigger: TriggerAuto})
	if err != nil {
		t.Fatalf("cycle after the database was replaced: %v", err)
	}
	if job.Mode != "full" || job.Status != state.StatusSuccess || r.mutating() != before {
		t.Errorf("cycle after the database was replaced: mode %s, status %s, %d mutating calls; want full, success, none",
			job.Mode, job.Status, r.mutating()-before)
	}
	if job, err := r.agent.RunCycle(ctx, CycleOptions{Trigger: TriggerAuto}); err != nil || job.Mode != "delta" {
		t.Errorf("next cycle: mode %s, err %v; want delta", job.Mode, err)
	}
}
