package agent

import (
	"errors"
	"strings"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/state"
)

func TestCycleStopsUnderAnotherAgentsScope(t *testing.T) {
	a := newRig(t, emulator.Options{NoMinInterval: true}, func(o *Options) {
		o.Settings.OrganizationalUnits = []string{"OU=Staff,DC=corp,DC=test"}
	})
	ctx := t.Context()
	a.dir.set(func(d *fakeDir) { d.users = []directory.User{dirUser(1), dirUser(2)} })
	// A writes its settings to the pool, as 'idsync sync' does. B's cycle
	// below does not (its own settings check would stop it first): the
	// token alone must stop it.
	if err := EnsureCloudSettings(ctx, a.cloud, ToCloud(*a.opts.Settings, 0), false, zaptest.NewLogger(t)); err != nil {
		t.Fatal(err)
	}
	// The first cycle on an empty pool, and the same agent's next one, run.
	for i := range 2 {
		if _, err := a.agent.RunCycle(ctx, CycleOptions{}); err != nil {
			t.Fatalf("agent A, cycle %d: %v", i+1, err)
		}
	}

	// Agent B: the same pool, its own state and another scope.
	bdir := &fakeDir{deleted: map[string]bool{}, users: []directory.User{dirUser(3)}}
	store, err := state.Open(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	bopts := a.opts
	bopts.AgentID, bopts.Store, bopts.Jobs = "agent-b", store, state.OpenJobs(t.TempDir())
	bopts.NewSource = func(SyncSettings) (Source, error) { return bdir, nil }
	bs := *a.opts.Settings
	bs.OrganizationalUnits = []string{"OU=Contractors,DC=corp,DC=test"}
	bopts.Settings = &bs
	bopts.Limits = Limits{MaxDeletions: -1, MaxDeletionPercent: 100}
	bopts.Logger = zaptest.NewLogger(t)
	b, err := New(bopts)
	if err != nil {
		t.Fatal(err)
	}
	before := a.mutating()
	job, err := b.RunCycle(ctx, CycleOptions{})
	var se *SafetyError
	if !errors.As(err, &se) || !se.Stop.ScopeChange {
		t.Fatalf("agent B under agent A's token: %v, want a scope stop", err)
	}
	if !strings.Contains(err.Error(), "OU=Staff") || !strings.Contains(err.Error(), "OU=Contractors") {
		t.Errorf("the stop does not name both scopes: %v", err)
	}
	if a.mutating() != before || job.ErrorCode != "ScopeChanged" {
		t.Errorf("scope stop: %d mutating calls, job error code %q", a.mutating()-before, job.ErrorCode)
	}
	sess := a.emu.Dump().Sessions
	if last := sess[len(sess)-1]; last.Status != "FAILED" {
		t.Errorf("the scope stop closed its session as %s", last.Status)
	}

	// Confirmed once, B takes the pool over in full; its next cycle runs
	// without confirmation, and now A stops.
	job, err = b.RunCycle(ctx, CycleOptions{AcceptScopeChange: true})
	if err != nil || job.Mode != string(ModeFull) {
		t.Fatalf("agent B, confirmed: %v (mode %s)", err, job.Mode)
	}
	if _, err := b.RunCycle(ctx, CycleOptions{}); err != nil {
		t.Fatalf("agent B, next cycle: %v", err)
	}
	before = a.mutating()
	if _, err := a.agent.RunCycle(ctx, CycleOptions{}); !errors.As(err, &se) || !se.Stop.ScopeChange || a.mutating() != before {
		t.Fatalf("agent A after B took over: %v", err)
	}
}
