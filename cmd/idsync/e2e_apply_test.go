package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/testing/testdc"
)

func TestE2EApplySavedPlan(t *testing.T) {
	e := newE2E(t, "e2e-apply", emulator.Options{}, "")
	e.mustRun(exitOK, "sync", "--full")
	conn := testdc.Dial(t, e.dc)
	users := e.set.Before.ScopedUsers()
	setTitle := func(dn, title string) {
		t.Helper()
		mod := ldap.NewModifyRequest(dn, nil)
		mod.Replace("title", []string{title})
		if err := conn.Modify(mod); err != nil {
			t.Fatalf("modify %s: %v", dn, err)
		}
	}

	// A fresh plan applies exactly its changes.
	setTitle(users[0].DN, "Reviewed Title")
	fresh := filepath.Join(e.dir, "fresh.json")
	if out := e.mustRun(exitOK, "plan", "--out", fresh); !strings.Contains(out, "1 user changes") {
		t.Fatalf("plan --out:\n%s", out)
	}
	before := e.mutating()
	if out := e.mustRun(exitOK, "apply", fresh); !strings.Contains(out, "success") {
		t.Fatalf("apply of a fresh plan:\n%s", out)
	}
	if e.mutating() == before {
		t.Fatal("the fresh plan changed nothing")
	}
	// Applied once, it is stale.
	if _, errOut, code := e.run("apply", fresh); code != exitFailed || !strings.Contains(errOut, "replication token moved") {
		t.Fatalf("second apply: exit %d\n%s", code, errOut)
	}

	// The directory moved since the plan: refused, saying what changed.
	setTitle(users[1].DN, "Planned Title")
	stale := filepath.Join(e.dir, "stale.json")
	e.mustRun(exitOK, "plan", "--out", stale)
	setTitle(users[2].DN, "Unreviewed Title")
	before = e.mutating()
	_, errOut, code := e.run("apply", stale)
	if code != exitFailed || !strings.Contains(errOut, "the plan is stale") || !strings.Contains(errOut, "1 users changed in the directory") {
		t.Fatalf("apply of a stale plan: exit %d, want %d saying what changed\n%s", code, exitFailed, errOut)
	}
	if e.mutating() != before {
		t.Fatal("a stale plan changed the pool")
	}
	if job := e.mustRun(exitOK, "jobs", "show", "last"); !strings.Contains(job, "StalePlan") && !strings.Contains(job, "stale") {
		t.Errorf("job of the refused apply:\n%s", job)
	}

	// The pool moved since the plan (a cycle ran): refused.
	again := filepath.Join(e.dir, "again.json")
	e.mustRun(exitOK, "plan", "--out", again)
	e.mustRun(exitOK, "sync")
	if _, errOut, code := e.run("apply", again); code != exitFailed || !strings.Contains(errOut, "replication token moved") {
		t.Fatalf("apply after a cycle: exit %d\n%s", code, errOut)
	}
}
