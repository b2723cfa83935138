package main

import (
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"

	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/testing/poolcheck"
	"github.com/idsync/idsync/internal/testing/testdc"
)

func TestE2ESyncObject(t *testing.T) {
	e := newE2E(t, "e2e-object", emulator.Options{}, "")
	var users []struct{ dn, upn, sam, name string }
	for _, u := range e.set.Before.ScopedUsers() {
		if u.Enabled {
			users = append(users, struct{ dn, upn, sam, name string }{u.DN, u.UPN, u.SAMAccountName, poolcheck.Username(u.UPN, e2eDomain)})
		}
	}
	if len(users) < 4 {
		t.Fatalf("only %d enabled users in scope", len(users))
	}
	token := func() string {
		t.Helper()
		tok, err := e.client().GetReplicationToken(t.Context(), idp.SessionType_AD_SYNC)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}

	// A new user: only it is created, with trigger on_demand.
	out := e.mustRun(exitOK, "sync", "--object", users[0].upn)
	if pool := e.pool(); len(pool.Users) != 1 || pool.Users[users[0].name] == "" {
		t.Fatalf("pool after sync --object of a new user: %v\n%s", pool.Users, out)
	}
	if job := e.mustRun(exitOK, "jobs", "show", "last", "-o", "json"); !strings.Contains(job, `"TriggerType": "on_demand"`) {
		t.Errorf("job of sync --object:\n%s", job)
	}
	if tok := token(); tok != "" {
		t.Errorf("sync --object set the replication token: %q", tok)
	}

	e.mustRun(exitOK, "sync", "--full")
	before := token()
	conn := testdc.Dial(t, e.dc)
	modify := func(dn, attr, value string) {
		t.Helper()
		mod := ldap.NewModifyRequest(dn, nil)
		mod.Replace(attr, []string{value})
		if err := conn.Modify(mod); err != nil {
			t.Fatalf("modify %s: %v", dn, err)
		}
	}

	// A changed user, named by sAMAccountName.
	modify(users[1].dn, "displayName", "Changed On Demand")
	e.mustRun(exitOK, "sync", "--object", users[1].sam)
	if got := e.pool().Users[users[1].name]; !strings.HasPrefix(got, "Changed On Demand|") {
		t.Errorf("changed user in the pool: %q", got)
	}

	// A disabled user, named by DN.
	was := e.pool().Users[users[2].name]
	modify(users[2].dn, "userAccountControl", "514")
	e.mustRun(exitOK, "sync", "--object", users[2].dn)
	if got := e.pool().Users[users[2].name]; got == was {
		t.Errorf("disabled user unchanged in the pool: %q", got)
	}
	if tok := token(); tok != before {
		t.Error("sync --object moved the replication token")
	}

	// A deleted user: refused without --allow-delete.
	if err := conn.Del(ldapDel(users[3].dn)); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := e.run("sync", "--object", users[3].upn); code != exitSafety || !strings.Contains(errOut, "--allow-delete") {
		t.Fatalf("sync --object of a deleted user: exit %d\n%s", code, errOut)
	}
	if e.pool().Users[users[3].name] == "" {
		t.Fatal("refused deletion removed the user")
	}
	e.mustRun(exitOK, "sync", "--object", users[3].upn, "--allow-delete")
	if got, ok := e.pool().Users[users[3].name]; ok {
		t.Errorf("user still in the pool after --allow-delete: %q", got)
	}

	// The next cycle finds the pool up to date.
	if out := e.mustRun(exitOK, "sync"); !strings.Contains(out, "created 0") {
		t.Errorf("cycle after on-demand syncs:\n%s", out)
	}
}
