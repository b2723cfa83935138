package main

import (
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/testing/testdc"
)

// guardTrips runs plan and sync, which must both stop on guard (exit 4)
// naming key, without changing the pool.
func (e *e2e) guardTrips(guard, key string) {
	e.t.Helper()
	out, _, code := e.run("plan")
	if code != exitSafety || !strings.Contains(out, "GUARD "+guard+" would trip") {
		e.t.Fatalf("plan: exit %d, want %d listing the guard %s:\n%s", code, exitSafety, guard, out)
	}
	before, pool := e.mutating(), e.pool()
	_, errOut, code := e.run("sync")
	if code != exitSafety || !strings.Contains(errOut, key) || !strings.Contains(errOut, `"guard": "`+guard+`"`) {
		e.t.Fatalf("sync: exit %d, want %d naming %s:\n%s", code, exitSafety, key, errOut)
	}
	if e.mutating() != before || !cmp.Equal(pool, e.pool()) {
		e.t.Fatalf("the %s guard stop changed the pool", guard)
	}
}

// The membership (count and percent), group-member-loss and username
// guards each stop a cycle over their limit and let it through under it.
func TestE2EGuardsMembershipsAndUsernames(t *testing.T) {
	e := newE2E(t, "e2e-guard2", emulator.Options{}, "")
	e.mustRun(exitOK, "sync", "--full")
	conn := testdc.Dial(t, e.dc)
	var g1 string
	for _, g := range e.set.Before.Groups {
		if strings.Contains(g.CN, "G1") {
			g1 = g.DN
		}
	}
	// Delta G1 holds three users directly and sits in Delta G2: removing
	// two of them removes four memberships, 2 of 3 of G1's members.
	var members []string
	for _, g := range e.set.Before.Groups {
		if g.DN == g1 {
			members = g.Members[:2]
		}
	}
	mod := ldap.NewModifyRequest(g1, nil)
	mod.Delete("member", members)
	if err := conn.Modify(mod); err != nil {
		t.Fatal(err)
	}

	e.editConfig("safety:\n", "safety:\n  max_membership_removals: 3\n")
	e.guardTrips("membership_removals", "safety.max_membership_removals")
	e.editConfig("max_membership_removals: 3\n", "max_membership_removals: 4\n  max_membership_removal_percent: 10\n")
	e.guardTrips("membership_removals", "safety.max_membership_removal_percent")
	e.editConfig("max_membership_removal_percent: 10\n", "max_membership_removal_percent: 90\n  group_member_loss_min_members: 3\n  max_group_member_loss_percent: 50\n")
	e.guardTrips("group_member_loss", "safety.max_group_member_loss_percent")
	before := e.mutating()
	e.editConfig("max_group_member_loss_percent: 50", "max_group_member_loss_percent: 70")
	e.mustRun(exitOK, "sync")
	if e.mutating() == before {
		t.Error("the cycle under the membership limits changed nothing")
	}

	// Two users renamed.
	renamed := 0
	for _, u := range e.set.Before.ScopedUsers() {
		if !u.Enabled || u.UPN == "" || renamed == 2 {
			continue
		}
		mod := ldap.NewModifyRequest(u.DN, nil)
		mod.Replace("userPrincipalName", []string{"renamed-" + u.UPN})
		if err := conn.Modify(mod); err != nil {
			t.Fatalf("rename %s: %v", u.DN, err)
		}
		renamed++
	}
	e.editConfig("safety:\n", "safety:\n  max_username_changes: 1\n")
	e.guardTrips("username_changes", "safety.max_username_changes")
	before = e.mutating()
	e.editConfig("max_username_changes: 1", "max_username_changes: 2")
	e.mustRun(exitOK, "sync")
	if e.mutating() == before {
		t.Error("the cycle under the username limit changed nothing")
	}
}
