package agent

import (
	"testing"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/emulator"
)

func TestCycleDeltaNewGroupAvoidsPoolNames(t *testing.T) {
	r := newRig(t, emulator.Options{NoMinInterval: true}, nil)
	ctx := t.Context()
	u := dirUser(1)
	held := directory.Group{ExternalID: "a1000000-0000-0000-0000-000000000000", Name: "IT-Ops", Members: []string{u.ExternalID}}
	r.dir.set(func(d *fakeDir) { d.users, d.groups = []directory.User{u}, []directory.Group{held} })
	if _, err := r.agent.RunCycle(ctx, CycleOptions{}); err != nil {
		t.Fatal(err)
	}
	// A delta brings only the new group; the pool name it maps to belongs
	// to a group outside the delta.
	added := directory.Group{ExternalID: "b2000000-0000-0000-0000-000000000000", Name: "IT Ops", Members: []string{u.ExternalID}}
	r.dir.set(func(d *fakeDir) { d.groups = []directory.Group{held, added} })
	job, err := r.agent.RunCycle(ctx, CycleOptions{})
	if err != nil || job.Mode != string(ModeDelta) {
		t.Fatalf("delta with a colliding new group: %v (mode %s)", err, job.Mode)
	}
	names := map[string]string{}
	for _, g := range r.emu.Dump().Groups {
		names[g.ExternalID] = g.Name
	}
	if names[held.ExternalID] != "IT-Ops" || names[added.ExternalID] != "IT-Ops-b2000000" {
		t.Errorf("pool group names %v", names)
	}
}
