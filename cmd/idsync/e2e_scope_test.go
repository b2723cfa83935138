package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/testing/testdc"
)

// groupCalls counts the emulator's GroupService calls of one method.
func (e *e2e) groupCalls(method string) int64 {
	return e.emu.Stats().Calls["/yandex.cloud.organizationmanager.v1.GroupService/"+method]
}

// groupNames maps the external id of every pool group to its name.
func (e *e2e) groupNames() map[string]string {
	out := map[string]string{}
	for _, g := range e.emu.Dump().Groups {
		out[g.ExternalID] = g.Name
	}
	return out
}

func TestE2EGroupNameCollisionsStayStable(t *testing.T) {
	e := newE2E(t, "e2e-collide", emulator.Options{}, "")
	conn := testdc.Dial(t, e.dc)
	users := e.set.Before.ScopedUsers()
	// Three directory names that map to one pool name, and one valid name
	// close to them.
	cns := []string{"IT Ops", "IT-Ops", "IT / Ops", "IT_Ops"}
	var dns []string
	for i, cn := range cns {
		dn := "CN=" + ldap.EscapeDN(cn) + "," + e.set.Before.Scope
		req := ldap.NewAddRequest(dn, nil)
		req.Attribute("objectClass", []string{"group"})
		req.Attribute("sAMAccountName", []string{fmt.Sprintf("itops%d-%d", i, time.Now().UnixNano()%1e9)})
		req.Attribute("member", []string{users[i].DN})
		if err := conn.Add(req); err != nil {
			t.Fatalf("add group %s: %v", dn, err)
		}
		dns = append(dns, dn)
	}
	t.Cleanup(func() {
		for _, dn := range dns {
			_ = conn.Del(ldapDel(dn))
		}
	})

	e.mustRun(exitOK, "sync", "--full")
	names := e.groupNames()
	seen := map[string]bool{}
	for _, n := range names {
		if seen[strings.ToLower(n)] {
			t.Fatalf("two pool groups named %q: %v", n, names)
		}
		seen[strings.ToLower(n)] = true
	}
	for _, want := range []string{"IT-Ops", "IT_Ops"} {
		if !seen[strings.ToLower(want)] {
			t.Errorf("no pool group named %s after the full sync: %v", want, names)
		}
	}

	// Change the members of each colliding group in turn, a delta each: a
	// delta that touches one of them must not rename it onto the name
	// another one holds.
	updates := e.groupCalls("Update")
	var out string
	for i, dn := range dns {
		mod := ldap.NewModifyRequest(dn, nil)
		mod.Add("member", []string{users[len(dns)+i].DN})
		if err := conn.Modify(mod); err != nil {
			t.Fatalf("add a member to %s: %v", dn, err)
		}
		out = e.mustRun(exitOK, "sync")
		if !strings.Contains(out, "success (delta)") || !strings.Contains(out, "added 1") {
			t.Errorf("delta after changing %s:\n%s", cns[i], out)
		}
	}
	if n := e.groupCalls("Update") - updates; n != 0 {
		t.Errorf("the deltas updated groups %d times (a rename)", n)
	}
	if got := e.groupNames(); fmt.Sprint(got) != fmt.Sprint(names) {
		t.Errorf("group names changed in the deltas: %v, were %v", got, names)
	}
	// All of them at once, then a run without changes.
	for i, dn := range dns {
		mod := ldap.NewModifyRequest(dn, nil)
		mod.Delete("member", []string{users[i].DN})
		if err := conn.Modify(mod); err != nil {
			t.Fatalf("remove a member of %s: %v", dn, err)
		}
	}
	out = e.mustRun(exitOK, "sync")
	if !strings.Contains(out, fmt.Sprintf("removed %d", len(dns))) || e.groupCalls("Update") != updates {
		t.Errorf("delta of every colliding group:\n%s", out)
	}
	before := e.mutating()
	out = e.mustRun(exitOK, "sync")
	if !strings.Contains(out, "success (delta)") || e.mutating() != before {
		t.Errorf("no-change run made %d mutating calls:\n%s", e.mutating()-before, out)
	}
}

func TestE2ETwoAgentsWithDifferentScopes(t *testing.T) {
	a := newE2E(t, "e2e-scope", emulator.Options{}, "")
	scope := a.set.Before.Scope
	outside := strings.Replace(scope, "OU=Scope,", "OU=Outside,", 1)
	raw, err := os.ReadFile(a.config)
	if err != nil {
		t.Fatal(err)
	}
	// Agent B: its own state and id, a wider scope, on the same pool.
	b := *a
	b.dir = t.TempDir()
	b.config = filepath.Join(b.dir, "config.yaml")
	cfg := strings.NewReplacer(
		"agent_id: e2e-agent", "agent_id: e2e-agent-b",
		filepath.Join(a.dir, "state"), filepath.Join(b.dir, "state"),
		fmt.Sprintf("organization_units: [%q]", scope), fmt.Sprintf("organization_units: [%q, %q]", scope, outside),
	).Replace(string(raw))
	if cfg == string(raw) || !strings.Contains(cfg, outside) {
		t.Fatal("agent B's config is agent A's")
	}
	if err := os.WriteFile(b.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	// The first sync on an empty pool and A's next cycle run.
	a.mustRun(exitOK, "sync")
	a.mustRun(exitOK, "sync")
	before, pool := a.mutating(), a.pool()
	out, errOut, code := b.run("sync")
	if code != exitSafety || !strings.Contains(errOut, "OU=Outside") || !strings.Contains(errOut, scope) ||
		!strings.Contains(errOut, "--accept-scope-change") {
		t.Fatalf("agent B on agent A's pool: exit %d, want %d naming both scopes\nstdout:\n%s\nstderr:\n%s", code, exitSafety, out, errOut)
	}
	if a.mutating() != before || fmt.Sprint(pool) != fmt.Sprint(a.pool()) {
		t.Error("the scope stop changed the pool")
	}
	if got := a.groupCalls("Create") + a.emu.Stats().Calls["/yandex.cloud.organizationmanager.v1.idp.SynchronizationService/UpdateSynchronizationSettings"]; got != 0 {
		t.Errorf("the scope stop wrote %d settings or groups", got)
	}
	if _, errOut, code := b.run("sync", "--accept-scope-change"); code != exitUsage {
		t.Errorf("--accept-scope-change without --full: exit %d\n%s", code, errOut)
	}

	// Confirmed once, B takes the pool over; then A stops, and B's later
	// cycles run.
	b.mustRun(exitOK, "sync", "--full", "--accept-scope-change")
	if len(a.pool().Users) <= len(pool.Users) {
		t.Errorf("agent B's wider scope added no users: %d before, %d after", len(pool.Users), len(a.pool().Users))
	}
	before = a.mutating()
	if out, errOut, code := a.run("sync"); code != exitSafety || !strings.Contains(errOut, "OU=Outside") || a.mutating() != before {
		t.Errorf("agent A after B took over: exit %d, %d mutating calls\nstdout:\n%s\nstderr:\n%s", code, a.mutating()-before, out, errOut)
	}
	if out := b.mustRun(exitOK, "sync"); !strings.Contains(out, "success") {
		t.Errorf("agent B's next cycle:\n%s", out)
	}
}
