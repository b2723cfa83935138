package agent

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/state"
)

func TestQuarantine(t *testing.T) {
	var (
		mu  sync.Mutex
		now = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	bad := dirUser(2)
	r := newRig(t, emulator.Options{NoMinInterval: true, FailObjects: []string{bad.ExternalID}}, func(o *Options) {
		o.Quarantine, o.QuarantineAfter, o.Now = nil, 2, clock
	})
	r.opts.Quarantine = r.store
	var err error
	if r.agent, err = New(r.opts); err != nil {
		t.Fatal(err)
	}
	r.dir.set(func(d *fakeDir) { d.users = []directory.User{dirUser(1), bad, dirUser(3)} })

	// cycle runs one cycle and returns how many calls on the bad user were
	// made and the skipped user creates.
	cycle := func(name string) (calls int, skipped int64) {
		t.Helper()
		before := r.emu.FailedObjectCalls()
		job, err := r.agent.RunCycle(t.Context(), CycleOptions{})
		var pe *PartialError
		if err != nil && !errors.As(err, &pe) {
			t.Fatalf("%s: %v", name, err)
		}
		advance(time.Minute)
		return r.emu.FailedObjectCalls() - before, job.Result.UserStatistics.Created.Skipped
	}
	record := func() state.Failure {
		t.Helper()
		fs, err := r.store.Failures()
		if err != nil || len(fs) != 1 {
			t.Fatalf("failures = %+v, %v; want one", fs, err)
		}
		return fs[0]
	}

	for i := 1; i <= 2; i++ {
		if calls, _ := cycle("failing cycle"); calls != 1 {
			t.Fatalf("failing cycle %d: %d calls on the bad user, want 1", i, calls)
		}
	}
	f := record()
	if f.Count != 2 || f.ExternalID != bad.ExternalID || f.Name != "user2@"+testDomain || !f.Quarantined || f.LastError == "" {
		t.Fatalf("record after two failures: %+v", f)
	}

	// Quarantined: not tried, counted as skipped, still recorded.
	if calls, skipped := cycle("quarantined"); calls != 0 || skipped != 1 {
		t.Fatalf("quarantined cycle: %d calls, %d skipped; want 0 and 1", calls, skipped)
	}
	if got := record().Count; got != 2 {
		t.Errorf("count while quarantined = %d, want 2", got)
	}

	// A change of the directory object tries it again (and it fails again).
	changed := bad
	changed.Department = "Moved"
	r.dir.set(func(d *fakeDir) { d.users = []directory.User{dirUser(1), changed, dirUser(3)} })
	if calls, _ := cycle("directory object changed"); calls != 1 {
		t.Fatalf("after the directory object changed: %d calls, want 1", calls)
	}
	if calls, _ := cycle("quarantined again"); calls != 0 {
		t.Fatalf("unchanged again: %d calls, want 0", calls)
	}

	// A day later it is tried once.
	advance(DefaultQuarantineRetry)
	if calls, _ := cycle("a day later"); calls != 1 {
		t.Fatalf("a day later: %d calls, want 1", calls)
	}

	// Released and healed: tried at the next cycle, succeeds, forgotten.
	rel, err := r.store.ReleaseFailure(bad.DN)
	if err != nil || len(rel) != 1 {
		t.Fatalf("release: %+v, %v", rel, err)
	}
	r.emu.SetFailObjects(nil)
	if _, skipped := cycle("released"); skipped != 0 {
		t.Fatalf("released object skipped")
	}
	if fs, _ := r.store.Failures(); len(fs) != 0 {
		t.Fatalf("failures after success: %+v", fs)
	}
	if users, _ := r.poolState(); users[bad.ExternalID] == "" {
		t.Fatal("released user not created")
	}
}

func TestQuarantinedRule(t *testing.T) {
	now := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	f := state.Failure{Count: 5, Last: now.Add(-time.Hour), Version: "v1"}
	tests := []struct {
		name    string
		f       state.Failure
		after   int
		version string
		want    bool
	}{
		{"at the threshold", f, 5, "v1", true},
		{"below the threshold", f, 6, "v1", false},
		{"off", f, 0, "v1", false},
		{"directory object changed", f, 5, "v2", false},
		{"object not read this cycle", f, 5, "", true},
		{"released", state.Failure{Count: 5, Last: f.Last, Version: "v1", Released: true}, 5, "v1", false},
		{"a day passed", state.Failure{Count: 5, Last: now.Add(-25 * time.Hour), Version: "v1"}, 5, "v1", false},
	}
	for _, tt := range tests {
		if got := Quarantined(tt.f, tt.after, DefaultQuarantineRetry, now, tt.version); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

type noFailures struct{}

func (noFailures) Failures() ([]state.Failure, error)               { return nil, nil }
func (noFailures) RecordFailures(_, _ []state.Failure, _ int) error { return nil }

// Without failure records, holding quarantined objects back costs nothing
// per directory object: no object is versioned or indexed.
func TestHoldQuarantinedWithoutRecordsIsCheap(t *testing.T) {
	in := &Input{}
	for i := range 2000 {
		in.Users = append(in.Users, dirUser(i))
	}
	c := &cycle{a: &Agent{opts: Options{Quarantine: noFailures{}, QuarantineAfter: 2}, now: time.Now}, job: &state.Job{}}
	pr := &prepared{in: in, plan: &Plan{}}
	allocs := testing.AllocsPerRun(3, func() {
		if err := c.holdQuarantined(pr); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 100 {
		t.Fatalf("holdQuarantined made %.0f allocations for %d users and no failure record, want a few", allocs, len(in.Users))
	}
}
