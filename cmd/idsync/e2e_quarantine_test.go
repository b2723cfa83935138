package main

import (
	"strings"
	"testing"

	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/testing/poolcheck"
)

func TestE2EQuarantine(t *testing.T) {
	e := newE2E(t, "e2e-quarantine", emulator.Options{}, "apply:\n  quarantine_after: 2\n")
	var name string
	for _, u := range e.set.Before.ScopedUsers() {
		if u.Enabled {
			name = poolcheck.Username(u.UPN, e2eDomain)
			break
		}
	}
	e.emu.SetFailObjects([]string{name})

	e.mustRun(exitPartial, "sync", "--full")
	e.mustRun(exitPartial, "sync")
	out := e.mustRun(exitOK, "jobs", "quarantine")
	if !strings.Contains(out, "1 objects quarantined") || !strings.Contains(out, name) || !strings.Contains(out, "injected failure for this object") {
		t.Fatalf("jobs quarantine after two failed cycles:\n%s", out)
	}

	// Quarantined: the next cycle does not try it and succeeds.
	calls := e.emu.FailedObjectCalls()
	e.mustRun(exitOK, "sync")
	if got := e.emu.FailedObjectCalls(); got != calls {
		t.Fatalf("a quarantined object was tried: %d calls, was %d", got, calls)
	}
	if job := e.mustRun(exitOK, "jobs", "show", "last", "-o", "json"); !strings.Contains(job, `"Quarantined": 1`) {
		t.Errorf("job record lacks the quarantine count:\n%s", job)
	}

	// Released (and healed): tried at the next cycle, created, forgotten.
	if out := e.mustRun(exitOK, "jobs", "quarantine", "release", name); !strings.Contains(out, "released user "+name) {
		t.Fatalf("release:\n%s", out)
	}
	e.emu.SetFailObjects(nil)
	e.mustRun(exitOK, "sync")
	if _, ok := e.pool().Users[name]; !ok {
		t.Fatalf("released user %s not in the pool", name)
	}
	if out := e.mustRun(exitOK, "jobs", "quarantine"); !strings.Contains(out, "0 objects quarantined, 0 more failing") {
		t.Errorf("jobs quarantine after the release:\n%s", out)
	}
}
