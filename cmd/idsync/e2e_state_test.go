package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idsync/idsync/internal/emulator"
)

// TestE2EDamagedStateDatabase: a state database cut short (a full disk, a
// crash mid-write) is moved aside with a warning; sync runs in full and
// the job history still lists.
func TestE2EDamagedStateDatabase(t *testing.T) {
	e := newE2E(t, "e2e-damaged-db", emulator.Options{}, "")
	e.mustRun(exitOK, "sync", "--full")
	db := filepath.Join(e.dir, "state", "idsync.db")
	if err := os.Truncate(db, 2048); err != nil {
		t.Fatal(err)
	}
	if out := e.mustRun(exitOK, "jobs", "list"); !strings.Contains(out, "success") {
		t.Errorf("jobs list over a damaged database:\n%s", out)
	}
	out, errOut, code := e.run("sync")
	if code != exitOK || !strings.Contains(out, "success (full)") || !strings.Contains(errOut, "state database was damaged") {
		t.Errorf("sync over a damaged database: exit %d, want %d, a full cycle and a warning\nstdout:\n%s\nstderr:\n%s",
			code, exitOK, out, errOut)
	}
	if m, _ := filepath.Glob(db + ".damaged-*"); len(m) != 1 {
		t.Errorf("damaged databases moved aside: %v, want one", m)
	}
	if out := e.mustRun(exitOK, "sync"); !strings.Contains(out, "success (delta)") {
		t.Errorf("sync after the full cycle:\n%s", out)
	}
}
