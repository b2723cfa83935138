package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/testing/testdc"
)

func TestE2EExplain(t *testing.T) {
	e := newE2E(t, "e2e-explain", emulator.Options{}, "")
	e.mustRun(exitOK, "sync", "--full")
	var in, out, bad string
	var inUPN string
	for _, u := range e.set.Before.Users {
		switch {
		case !e.set.Before.InScope(u.DN) && out == "":
			out = u.DN
		case e.set.Before.InScope(u.DN) && u.Enabled && in == "":
			in, inUPN = u.DN, u.UPN
		case e.set.Before.InScope(u.DN) && u.Enabled && bad == "":
			bad = u.DN
		}
	}
	if in == "" || out == "" || bad == "" {
		t.Fatalf("test set lacks users: in %q out %q bad %q", in, out, bad)
	}

	// In scope: scope, mapped fields, groups, pool, no change.
	text := e.mustRun(exitOK, "explain", inUPN)
	for _, want := range []string{"in scope: the directory read selects it", ": matched", "userPrincipalName", "domain replaced by " + e2eDomain,
		"3. effective groups", "4. pool\n  user ", "none: the pool is up to date"} {
		if !strings.Contains(text, want) {
			t.Errorf("explain of an in-scope user lacks %q:\n%s", want, text)
		}
	}
	var ex struct {
		Found   bool `json:"found"`
		InScope bool `json:"in_scope"`
		Fields  []struct {
			Field, Source string
		} `json:"fields"`
	}
	if err := json.Unmarshal([]byte(e.mustRun(exitOK, "explain", in, "-o", "json")), &ex); err != nil || !ex.Found || !ex.InScope || len(ex.Fields) == 0 {
		t.Errorf("explain -o json of an in-scope user: %+v, %v", ex, err)
	}

	// Out of scope: named by DN, the OU filter that did not match.
	text = e.mustRun(exitOK, "explain", out)
	if !strings.Contains(text, "not found") || !strings.Contains(text, "not under "+e.set.Before.Scope) {
		t.Errorf("explain of an out-of-scope user:\n%s", text)
	}

	// Rejected: a UPN without a domain part.
	conn := testdc.Dial(t, e.dc)
	mod := ldap.NewModifyRequest(bad, nil)
	mod.Replace("userPrincipalName", []string{"no-domain-part"})
	if err := conn.Modify(mod); err != nil {
		t.Fatal(err)
	}
	text = e.mustRun(exitOK, "explain", bad)
	if !strings.Contains(text, "REJECTED") || !strings.Contains(text, "has no @domain part") {
		t.Errorf("explain of a rejected user:\n%s", text)
	}
}
