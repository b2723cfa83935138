package adseed

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMutations(t *testing.T) {
	set := Mutations(testBase, "unit")
	if diff := cmp.Diff(set, Mutations(testBase, "unit")); diff != "" {
		t.Fatalf("Mutations is not deterministic:\n%s", diff)
	}
	if other := Mutations(testBase, "other"); other.Before.Users[0].SAMAccountName == set.Before.Users[0].SAMAccountName {
		t.Error("sets with different names share account names")
	}
	checkConsistent(t, set.Before)
	checkConsistent(t, set.After)
	if len(set.Changes) != len(set.Mutations) {
		t.Fatalf("%d changes for %d mutations", len(set.Changes), len(set.Mutations))
	}
	gotOps := map[Op]bool{}
	for _, m := range set.Mutations {
		gotOps[m.Op] = true
	}
	for _, op := range []Op{OpCreateUser, OpModifyUser, OpRenameUser, OpMoveUser, OpDisableUser,
		OpEnableUser, OpDeleteUser, OpDeleteGroup, OpAddMembers, OpRemoveMembers} {
		if !gotOps[op] {
			t.Errorf("no %s mutation", op)
		}
	}

	var summary []string
	for _, c := range set.Changes {
		summary = append(summary, c.Op+" "+c.Object)
	}
	want := []string{
		"create user", "update user", "update user", "delete user", "create user", "update user",
		"update user", "delete user", "delete group", "update group", "update group",
	}
	if diff := cmp.Diff(want, summary); diff != "" {
		t.Errorf("change summary (-want +got):\n%s", diff)
	}

	// The user moved out of scope keeps its group membership under its new DN.
	moved := set.Mutations[3]
	g1, ok := set.After.Group(set.Before.Groups[0].DN)
	if !ok || !contains(g1.Members, moved.NewDN) || contains(g1.Members, moved.DN) {
		t.Errorf("G1 members after the move = %v, want %s instead of %s", g1.Members, moved.NewDN, moved.DN)
	}
	if set.After.InScope(moved.NewDN) {
		t.Errorf("moved user %s is still in scope", moved.NewDN)
	}
	renamed, ok := set.After.User(set.Mutations[2].NewDN)
	if !ok || !strings.HasPrefix(renamed.CN, "Renamed ") || !strings.HasPrefix(renamed.UPN, "renamed.") {
		t.Errorf("renamed user = %+v", renamed)
	}
	if u, _ := set.After.User(set.Mutations[1].DN); u.Mail != "" || u.Title != "Chief Tester" {
		t.Errorf("modified user mail %q title %q", u.Mail, u.Title)
	}
	if _, ok := set.After.User(set.Mutations[7].DN); ok {
		t.Error("deleted user still present")
	}
	if _, ok := set.After.Group(set.Mutations[8].DN); ok {
		t.Error("deleted group still present")
	}
	g2 := set.After.Groups[1]
	for _, m := range g2.Members {
		if strings.EqualFold(m, set.Mutations[7].DN) || strings.EqualFold(m, set.Mutations[10].Members[0]) {
			t.Errorf("G2 still lists %s", m)
		}
	}
	if _, ok := set.Before.User(set.Mutations[0].DN); ok {
		t.Error("the user created by the first mutation is already in Before")
	}
	if u, _ := set.Before.User(set.Mutations[5].DN); !u.Enabled {
		t.Error("Before was modified by computing After")
	}
}
