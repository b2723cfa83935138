package agent

import (
	"testing"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/idhub"
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

// TestCycleGroupNamesCaseInsensitive: the emulator, like the service it
// stands in for, compares group names case-insensitively. Directory groups
// whose names differ only in case all get distinct pool names, a change of
// case renames the group in place, and a full cycle with capture takes
// over an unmanaged group whose name differs only in case.
func TestCycleGroupNamesCaseInsensitive(t *testing.T) {
	var addr string
	r := newRigClient(t, emulator.Options{NoMinInterval: true},
		func(o *idhub.Options) { addr = o.OrganizationManagerEndpoint },
		func(o *Options) { o.Settings.Plan.CaptureGroups = true })
	ctx := t.Context()
	held := basicGroups(t, addr, "FINANCE")
	u := dirUser(1)
	groups := []directory.Group{
		{ExternalID: "a1000000-0000-0000-0000-000000000000", Name: "Ops", Members: []string{u.ExternalID}},
		{ExternalID: "b2000000-0000-0000-0000-000000000000", Name: "OPS"},
		{ExternalID: "c3000000-0000-0000-0000-000000000000", Name: "ops"},
		{ExternalID: "d4000000-0000-0000-0000-000000000000", Name: "Finance"},
	}
	r.dir.set(func(d *fakeDir) { d.users, d.groups = []directory.User{u}, groups })
	if _, err := r.agent.RunCycle(ctx, CycleOptions{Trigger: TriggerManual}); err != nil {
		t.Fatalf("full cycle: %v", err)
	}
	names := func() map[string]string {
		out := map[string]string{}
		for _, g := range r.emu.Dump().Groups {
			out[g.ExternalID] = g.Name
			if g.ExternalID == "d4000000-0000-0000-0000-000000000000" && g.ID != held["FINANCE"] {
				t.Errorf("Finance was not captured from FINANCE (%s): %+v", held["FINANCE"], g)
			}
		}
		return out
	}
	want := map[string]string{
		"a1000000-0000-0000-0000-000000000000": "Ops", // the lowest external id wins the name
		"b2000000-0000-0000-0000-000000000000": "OPS-b2000000",
		"c3000000-0000-0000-0000-000000000000": "ops-c3000000",
		"d4000000-0000-0000-0000-000000000000": "Finance",
	}
	got := names()
	for ext, n := range want {
		if got[ext] != n {
			t.Errorf("full cycle: group %s named %q, want %q (all: %v)", ext, got[ext], n, got)
		}
	}
	// A change of case only renames the group in place.
	r.dir.set(func(d *fakeDir) { d.groups[3].Name = "FINANCE" })
	job, err := r.agent.RunCycle(ctx, CycleOptions{})
	if err != nil || job.Mode != string(ModeDelta) {
		t.Fatalf("delta: %v (mode %s)", err, job.Mode)
	}
	if got := names()["d4000000-0000-0000-0000-000000000000"]; got != "FINANCE" {
		t.Errorf("after a change of case: %q, want FINANCE", got)
	}
}

// TestCycleGroupNameOverrideTakesAName: an override gives a group the name
// another managed group holds; that group is renamed first, in the same
// cycle, and the override's group created under the name.
func TestCycleGroupNameOverrideTakesAName(t *testing.T) {
	r := newRig(t, emulator.Options{NoMinInterval: true}, func(o *Options) {
		o.Settings.Plan.GroupNameOverrides = map[string]string{"Юридический отдел": "legal"}
	})
	ctx := t.Context()
	u := dirUser(1)
	old := directory.Group{ExternalID: "c3000000-0000-0000-0000-000000000000", Name: "legal", Members: []string{u.ExternalID}}
	r.dir.set(func(d *fakeDir) { d.users, d.groups = []directory.User{u}, []directory.Group{old} })
	if _, err := r.agent.RunCycle(ctx, CycleOptions{}); err != nil {
		t.Fatal(err)
	}
	legal := directory.Group{ExternalID: "b2000000-0000-0000-0000-000000000000", Name: "Юридический отдел", Members: []string{u.ExternalID}}
	r.dir.set(func(d *fakeDir) { d.groups = []directory.Group{old, legal} })
	job, err := r.agent.RunCycle(ctx, CycleOptions{Full: true})
	if err != nil || job.Result.Failures() != 0 {
		t.Fatalf("full cycle with the override: %v, job %+v", err, job)
	}
	names := map[string]string{}
	for _, g := range r.emu.Dump().Groups {
		names[g.ExternalID] = g.Name
	}
	if names[legal.ExternalID] != "legal" || names[old.ExternalID] != "legal-c3000000" {
		t.Errorf("pool group names %v", names)
	}
}

// TestCycleDeltaGroupNameOverrideHeld: in a delta, a new group whose
// override names a managed group outside the delta does not take the name
// (the target read finds its holder); the next full cycle hands it over.
func TestCycleDeltaGroupNameOverrideHeld(t *testing.T) {
	r := newRig(t, emulator.Options{NoMinInterval: true}, func(o *Options) {
		o.Settings.Plan.GroupNameOverrides = map[string]string{"Юридический отдел": "legal"}
	})
	ctx := t.Context()
	u := dirUser(1)
	old := directory.Group{ExternalID: "a1000000-0000-0000-0000-000000000000", Name: "legal", Members: []string{u.ExternalID}}
	r.dir.set(func(d *fakeDir) { d.users, d.groups = []directory.User{u}, []directory.Group{old} })
	if _, err := r.agent.RunCycle(ctx, CycleOptions{}); err != nil {
		t.Fatal(err)
	}
	legal := directory.Group{ExternalID: "b2000000-0000-0000-0000-000000000000", Name: "Юридический отдел", Members: []string{u.ExternalID}}
	r.dir.set(func(d *fakeDir) { d.groups = []directory.Group{old, legal} })
	names := func() map[string]string {
		out := map[string]string{}
		for _, g := range r.emu.Dump().Groups {
			out[g.ExternalID] = g.Name
		}
		return out
	}
	job, err := r.agent.RunCycle(ctx, CycleOptions{})
	if err != nil || job.Mode != string(ModeDelta) || job.Result.Failures() != 0 {
		t.Fatalf("delta: %v (mode %s, failures %d)", err, job.Mode, job.Result.Failures())
	}
	if got := names(); got[old.ExternalID] != "legal" || got[legal.ExternalID] != "legal-b2000000" {
		t.Errorf("after the delta: %v", got)
	}
	if job, err := r.agent.RunCycle(ctx, CycleOptions{Full: true}); err != nil || job.Result.Failures() != 0 {
		t.Fatalf("full: %v", err)
	}
	if got := names(); got[old.ExternalID] != "legal-a1000000" || got[legal.ExternalID] != "legal" {
		t.Errorf("after the full cycle: %v", got)
	}
}
