//go:build chaos

package chaos

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/internal/emulator"
)

// TestEmptyRead is the failure peers are known for: a directory read that
// comes back empty must not delete the pool. With the default safety
// limits, a scope that suddenly holds no users (the configured OU replaced
// by an empty one, or every user moved out and read as a delta) stops the
// cycle with exit 4 and changes nothing; once the users are back, a cycle
// succeeds with nothing to delete.
func TestEmptyRead(t *testing.T) {
	sc := begin(t, "directory: empty read never deletes (safety stop)")
	w := newWorld(t, "empty")
	w.startEmulator(emulator.Options{})
	// The default safety limits, not the relaxed ones of the other scenarios.
	noSafety := func(s string) string { return strings.Replace(s, "safety:\n  max_deletion_percent: 50\n", "", 1) }
	state := filepath.Join(w.dir, "state-empty")
	path := w.config(cfg{State: state})
	rewrite(t, path, noSafety)
	if res := w.run(path, "sync"); res.code != 0 {
		t.Fatalf("first sync: %s", res)
	}
	want := expected(w.set.Before)

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	conn, err := w.dc.Target().Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	root := w.set.Before.Scope[strings.Index(w.set.Before.Scope, ",")+1:]
	empty := "OU=Empty," + root
	ou := ldap.NewAddRequest(empty, nil)
	ou.Attribute("objectClass", []string{"organizationalUnit"})
	if err := conn.Add(ou); err != nil {
		t.Fatalf("add %s: %v", empty, err)
	}
	stopped := func(what, why string, args ...string) {
		sc.trial()
		calls := mutating(w.emu)
		res := w.run(path, args...)
		if res.code != 4 || !strings.Contains(res.stderr, "safety stop") || !strings.Contains(res.stderr, why) {
			sc.fail("%s: want exit 4 (safety stop: ...%s...), got %s", what, why, res)
		}
		got, _ := view(w.emu.Dump())
		if diff := cmp.Diff(want, got); diff != "" || mutating(w.emu) != calls {
			sc.fail("%s: the pool changed (-want +got):\n%s", what, diff)
		}
	}

	// The configured OU now holds nobody.
	emptyPath := w.config(cfg{State: state, Scope: empty})
	rewrite(t, emptyPath, noSafety)
	scopePath := path
	path = emptyPath
	// A new scope is stopped by the scope guard first (confirmed, at the
	// end, by the deletion guard).
	const noUsers = "returned no users in scope"
	stopped("scope switched to an empty OU", "scope", "sync")
	stopped("scope switched to an empty OU, full read", "scope", "sync", "--full")
	path = scopePath

	// Every user leaves the scope between two cycles (a delta read). Users
	// of different OUs may share a CN, so each OU's users move to an OU of
	// their own under the empty one.
	users := w.set.Before.ScopedUsers()
	parentOf := func(dn string) string { return dn[strings.Index(dn, ",")+1:] }
	away := map[string]string{} // original parent -> its OU under empty
	for _, u := range users {
		if _, ok := away[parentOf(u.DN)]; ok {
			continue
		}
		dn := fmt.Sprintf("OU=p%d,%s", len(away), empty)
		add := ldap.NewAddRequest(dn, nil)
		add.Attribute("objectClass", []string{"organizationalUnit"})
		if err := conn.Add(add); err != nil {
			t.Fatalf("add %s: %v", dn, err)
		}
		away[parentOf(u.DN)] = dn
	}
	back := map[string]string{}
	for from, to := range away {
		back[to] = from
	}
	move := func(to map[string]string) {
		for i := range users {
			rdn := users[i].DN[:strings.Index(users[i].DN, ",")]
			parent := to[parentOf(users[i].DN)]
			if err := conn.ModifyDN(ldap.NewModifyDNRequest(users[i].DN, rdn, true, parent)); err != nil {
				t.Fatalf("move %s: %v", users[i].DN, err)
			}
			users[i].DN = rdn + "," + parent
		}
	}
	move(away)
	stopped("every user moved out of the scope, delta read", "managed users", "sync")
	move(back)
	sc.trial()
	if res := w.run(path, "sync"); res.code != 0 {
		sc.fatal("sync once the users are back: %s", res)
	}
	got, _ := view(w.emu.Dump())
	if diff := cmp.Diff(want, got); diff != "" {
		sc.fail("pool once the users are back (-want +got):\n%s", diff)
	}
	// The admin confirms the switch to the empty OU: the scope guard lets
	// it through and the deletion guard stops it.
	path = emptyPath
	stopped("scope switched to an empty OU, confirmed", noUsers, "sync", "--full", "--accept-scope-change")
	if n := w.emu.Stats().Calls["/yandex.cloud.organizationmanager.v1.idp.UserService/Delete"]; n != 0 {
		sc.fail("%d users were deleted", n)
	}
}
