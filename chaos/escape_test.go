//go:build chaos

package chaos

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/idsync/idsync/internal/emulator"
)

// TestFilterEscaping puts `*()\,=` into an OU name and into group names used
// as the group filter: each must select exactly its own objects, and a
// filter value that would widen an unescaped LDAP filter ("*", "*)(cn=*")
// must match nothing (an error), never every user.
func TestFilterEscaping(t *testing.T) {
	sc := begin(t, "security: *()\\,= in OUs and group names escaped")
	w := newWorld(t, "escape")
	users := w.set.Before.ScopedUsers()
	scope := w.set.Before.Scope
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	conn, err := w.dc.Target().Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// go-ldap leaves '=' bare, which Samba refuses; RFC 4514 allows \=.
	esc := func(v string) string { return strings.ReplaceAll(ldap.EscapeDN(v), "=", `\=`) }
	oddOU := "OU=" + esc(`Odd,(ou)*=x\y`) + "," + scope
	ou := ldap.NewAddRequest(oddOU, nil)
	ou.Attribute("objectClass", []string{"organizationalUnit"})
	if err := conn.Add(ou); err != nil {
		t.Fatalf("add %s: %v", oddOU, err)
	}
	moved := users[7]
	if err := conn.ModifyDN(ldap.NewModifyDNRequest(moved.DN, "CN="+ldap.EscapeDN(moved.CN), true, oddOU)); err != nil {
		t.Fatalf("move %s: %v", moved.DN, err)
	}
	addGroup := func(cn, sam string, members ...string) string {
		dn := "CN=" + esc(cn) + "," + scope
		req := ldap.NewAddRequest(dn, nil)
		req.Attribute("objectClass", []string{"group"})
		req.Attribute("sAMAccountName", []string{sam})
		req.Attribute("member", members)
		if err := conn.Add(req); err != nil {
			t.Fatalf("add %s: %v", dn, err)
		}
		return dn
	}
	suffix := w.name[len(w.name)-6:]
	name1 := `Odd*(grp)\,x` + suffix
	addGroup(name1, "oddgrp1-"+suffix, users[0].DN, users[1].DN)
	dn2 := addGroup(`g=(eq)*\,y`+suffix, "oddgrp2-"+suffix, users[2].DN)

	names := func(us ...int) []string {
		var out []string
		for _, i := range us {
			out = append(out, username(users[i].UPN))
		}
		slices.Sort(out)
		return out
	}
	for i, tc := range []struct {
		name   string
		scope  string
		groups []string
		want   []string // nil: the cycle must fail
	}{
		{name: "OU with *()\\,=", scope: oddOU, want: []string{username(moved.UPN)}},
		{name: "group name with *()\\,", groups: []string{name1}, want: names(0, 1)},
		{name: "group DN with *()\\,=", groups: []string{dn2}, want: names(2)},
		{name: "group filter *", groups: []string{"*"}},
		{name: "group filter *)(cn=*", groups: []string{"*)(cn=*"}},
		{name: "group filter with a NUL", groups: []string{"a\x00*"}},
	} {
		sc.trial()
		w.startEmulator(emulator.Options{})
		path := w.config(cfg{Scope: tc.scope, State: filepath.Join(w.dir, fmt.Sprintf("state-esc-%d", i))})
		if len(tc.groups) > 0 {
			rewrite(t, path, func(s string) string {
				return strings.Replace(s, "    organization_units:", fmt.Sprintf("    groups: [%q]\n    organization_units:", tc.groups[0]), 1)
			})
		}
		res := w.run(path, "sync")
		var got []string
		for _, u := range w.emu.Dump().Users {
			got = append(got, u.Username)
		}
		slices.Sort(got)
		switch {
		case tc.want == nil && (res.code == 0 || len(got) > 0):
			sc.fail("%s: want a failed cycle and an empty pool, got %d users, %s", tc.name, len(got), res)
		case tc.want != nil && (res.code != 0 || !slices.Equal(got, tc.want)):
			sc.fail("%s: want exactly %v, got %v, %s", tc.name, tc.want, got, res)
		}
		t.Logf("%s: exit %d, %d users; %s", tc.name, res.code, len(got), firstLine(res.stderr))
	}
}
