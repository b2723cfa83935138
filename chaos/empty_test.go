//go:build chaos

package chaos

import (
	"context"
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
	stopped := func(what string, args ...string) {
		sc.trial()
		calls := mutating(w.emu)
		res := w.run(path, args...)
		if res.code != 4 || !strings.Contains(res.stderr, "safety stop") {
			sc.fail("%s: want exit 4 (safety stop), got %s", what, res)
		}
		got, _ := view(w.emu.Dump())
		if diff := cmp.Diff(want, got); diff != "" || mutating(w.emu) != calls {
			sc.fail("%s: the pool changed (-want +got):\n%s", what, diff)
		}
	}

	// The configured OU now holds nobody.
	emptyPath := w.config(cfg{State: state, Scope: empty})
	rewrite(t, emptyPath, noSafety)
	path, emptyPath = emptyPath, path
	stopped("scope switched to an empty OU", "sync")
	stopped("scope switched to an empty OU, full read", "sync", "--full")
	path = emptyPath

	// Every user leaves the scope between two cycles (a delta read).
	users := w.set.Before.ScopedUsers()
	move := func(to func(dn string) string) {
		for i := range users {
			rdn := users[i].DN[:strings.Index(users[i].DN, ",")]
			if err := conn.ModifyDN(ldap.NewModifyDNRequest(users[i].DN, rdn, true, to(users[i].DN))); err != nil {
				t.Fatalf("move %s: %v", users[i].DN, err)
			}
			users[i].DN = rdn + "," + to(users[i].DN)
		}
	}
	parents := map[string]string{}
	for _, u := range users {
		parents[u.DN[:strings.Index(u.DN, ",")]] = u.DN[strings.Index(u.DN, ",")+1:]
	}
	move(func(string) string { return empty })
	stopped("every user moved out of the scope, delta read", "sync")
	move(func(dn string) string { return parents[dn[:strings.Index(dn, ",")]] })
	sc.trial()
	if res := w.run(path, "sync"); res.code != 0 {
		sc.fatal("sync once the users are back: %s", res)
	}
	got, _ := view(w.emu.Dump())
	if diff := cmp.Diff(want, got); diff != "" {
		sc.fail("pool once the users are back (-want +got):\n%s", diff)
	}
	if n := w.emu.Stats().Calls["/yandex.cloud.organizationmanager.v1.idp.UserService/Delete"]; n != 0 {
		sc.fail("%d users were deleted", n)
	}
}
