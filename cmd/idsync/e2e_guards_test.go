package main

import (
	"os"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/testing/testdc"
)

// editConfig replaces the first old with new in the test's config.
func (e *e2e) editConfig(old, new string) {
	e.t.Helper()
	raw, err := os.ReadFile(e.config)
	if err != nil {
		e.t.Fatal(err)
	}
	if !strings.Contains(string(raw), old) {
		e.t.Fatalf("config lacks %q", old)
	}
	if err := os.WriteFile(e.config, []byte(strings.Replace(string(raw), old, new, 1)), 0o600); err != nil {
		e.t.Fatal(err)
	}
}

func TestE2EGuardAttributeLosses(t *testing.T) {
	e := newE2E(t, "e2e-guard", emulator.Options{}, "")
	e.mustRun(exitOK, "sync", "--full")
	conn := testdc.Dial(t, e.dc)
	var emptied []string
	for _, u := range e.set.Before.ScopedUsers() {
		if u.Mail == "" || !u.Enabled {
			continue
		}
		mod := ldap.NewModifyRequest(u.DN, nil)
		mod.Replace("mail", nil)
		if err := conn.Modify(mod); err != nil {
			t.Fatalf("clear mail of %s: %v", u.DN, err)
		}
		emptied = append(emptied, u.DN)
		if len(emptied) == 3 {
			break
		}
	}
	if len(emptied) < 3 {
		t.Fatalf("only %d users with mail in scope", len(emptied))
	}

	e.editConfig("safety:\n", "safety:\n  max_attribute_losses: 2\n")
	out, _, code := e.run("plan")
	if code != exitSafety || !strings.Contains(out, "GUARD attribute_losses would trip: the cycle would empty email for 3 users, over the limit of 2") {
		t.Fatalf("plan: exit %d, want %d listing the guard:\n%s", code, exitSafety, out)
	}
	before, pool := e.mutating(), e.pool()
	_, errOut, code := e.run("sync")
	if code != exitSafety || !strings.Contains(errOut, "safety.max_attribute_losses") || !strings.Contains(errOut, "for example") ||
		!strings.Contains(errOut, `"guard": "attribute_losses"`) {
		t.Fatalf("sync: exit %d, want %d naming the guard, the numbers and examples:\n%s", code, exitSafety, errOut)
	}
	if e.mutating() != before || !cmp.Equal(pool, e.pool()) {
		t.Fatal("a guard stop changed the pool")
	}
	if jobs := e.mustRun(exitOK, "jobs", "show", "last"); !strings.Contains(jobs, "empty email for 3 users") {
		t.Errorf("job record lacks the guard:\n%s", jobs)
	}

	// At the limit the guard passes and the cycle applies.
	e.editConfig("max_attribute_losses: 2", "max_attribute_losses: 3")
	e.mustRun(exitOK, "sync")
	if e.mutating() == before {
		t.Error("the cycle under the limit changed nothing")
	}
}
