package main

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/testing/testdc"
)

// TestE2ECyrillicGroupNames: Cyrillic AD groups on Samba get their ICAO
// Doc 9303 transliteration as pool names, or the name
// sync_settings.group_name_overrides gives them; the plan shows the AD name
// next to the pool name, and the description keeps the AD name.
func TestE2ECyrillicGroupNames(t *testing.T) {
	e := newE2E(t, "e2e-cyrillic", emulator.Options{}, "")
	raw, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	suffix := fmt.Sprint(time.Now().UnixNano() % 1e6)
	legal, accounting := "Юридический отдел "+suffix, "Бухгалтерия "+suffix
	cfg := strings.Replace(string(raw), "sync_settings:\n",
		fmt.Sprintf("sync_settings:\n  group_name_overrides:\n    %q: accounting-%s\n", accounting, suffix), 1)
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	conn := testdc.Dial(t, e.dc)
	users := e.set.Before.ScopedUsers()
	for i, name := range []string{legal, accounting} {
		dn := "CN=" + ldap.EscapeDN(name) + "," + e.set.Before.Scope
		req := ldap.NewAddRequest(dn, nil)
		req.Attribute("objectClass", []string{"group"})
		req.Attribute("sAMAccountName", []string{fmt.Sprintf("cyr%d-%s", i, suffix)})
		req.Attribute("member", []string{users[i].DN})
		if err := conn.Add(req); err != nil {
			t.Fatalf("add group %s: %v", dn, err)
		}
		t.Cleanup(func() { _ = conn.Del(ldapDel(dn)) })
	}

	wantLegal := "Iuridicheskii-otdel-" + suffix
	plan := e.mustRun(exitOK, "plan")
	for _, want := range []string{
		fmt.Sprintf("%s (AD %q)", wantLegal, legal),
		fmt.Sprintf("accounting-%s (AD %q)", suffix, accounting),
	} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan lacks %q:\n%s", want, plan)
		}
	}
	e.mustRun(exitOK, "sync", "--full")
	byName := map[string]string{}
	for _, g := range e.emu.Dump().Groups {
		byName[g.Name] = g.Description
	}
	if d, ok := byName[wantLegal]; !ok || d != legal {
		t.Errorf("pool group %s: present %v, description %q, want %q (groups %v)", wantLegal, ok, d, legal, byName)
	}
	if d, ok := byName["accounting-"+suffix]; !ok || d != accounting {
		t.Errorf("pool group accounting-%s: present %v, description %q (groups %v)", suffix, ok, d, byName)
	}
}
