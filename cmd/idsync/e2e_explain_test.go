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

	// The first in-scope user is a direct member of G1, which is nested
	// in G2 (adseed.Mutations).
	var g1, g2 string
	for _, g := range e.set.Before.Groups {
		switch {
		case strings.Contains(g.CN, "G1"):
			g1 = g.CN
		case strings.Contains(g.CN, "G2"):
			g2 = g.CN
		}
	}

	// In scope: scope, mapped fields, groups with their nesting, pool,
	// no change, and the job that created it.
	text := e.mustRun(exitOK, "explain", inUPN)
	for _, want := range []string{"in scope: the directory read selects it", "under " + e.set.Before.Scope + ": matched",
		"the account is enabled", "userPrincipalName", "domain replaced by " + e2eDomain,
		"3. effective groups", "  - " + g1 + " (direct)\n", "  - " + g2 + " (via " + g1 + ")\n",
		"4. pool\n  user ", "none: the pool is up to date", "7. last job: sync_", "full manual", ", create)"} {
		if !strings.Contains(text, want) {
			t.Errorf("explain of an in-scope user lacks %q:\n%s", want, text)
		}
	}

	// A change and a delta cycle: the last job is the update.
	conn := testdc.Dial(t, e.dc)
	mod := ldap.NewModifyRequest(in, nil)
	mod.Replace("title", []string{"Explained Tester"})
	if err := conn.Modify(mod); err != nil {
		t.Fatal(err)
	}
	e.mustRun(exitOK, "sync")
	text = e.mustRun(exitOK, "explain", inUPN)
	if !strings.Contains(text, "delta manual") || !strings.Contains(text, ", update: job_title)") {
		t.Errorf("explain after an update lacks the delta job and its change:\n%s", text)
	}
	jobText := e.mustRun(exitOK, "jobs", "show", "last")
	if !strings.Contains(jobText, "objects\n") || !strings.Contains(jobText, "update") || !strings.Contains(jobText, "job_title") {
		t.Errorf("jobs show lacks the object list:\n%s", jobText)
	}
	var ex struct {
		Found       bool                             `json:"found"`
		InScope     bool                             `json:"in_scope"`
		Fields      []struct{ Field, Source string } `json:"fields"`
		Memberships []struct {
			Group string   `json:"group"`
			Via   []string `json:"via"`
		} `json:"memberships"`
		Directory struct {
			DN        string `json:"dn"`
			InOUScope bool   `json:"in_ou_scope"`
			Enabled   bool   `json:"enabled"`
		} `json:"directory"`
		LastJob struct {
			ID     string `json:"job_id"`
			Object struct {
				Action string   `json:"Action"`
				Fields []string `json:"Fields"`
			} `json:"object"`
		} `json:"last_job"`
	}
	if err := json.Unmarshal([]byte(e.mustRun(exitOK, "explain", in, "-o", "json")), &ex); err != nil || !ex.Found || !ex.InScope || len(ex.Fields) == 0 {
		t.Errorf("explain -o json of an in-scope user: %+v, %v", ex, err)
	}
	nested := false
	for _, m := range ex.Memberships {
		nested = nested || m.Group == g2 && len(m.Via) == 1 && m.Via[0] == g1
	}
	if !nested || !ex.Directory.InOUScope || !ex.Directory.Enabled || !strings.EqualFold(ex.Directory.DN, in) ||
		ex.LastJob.ID == "" || ex.LastJob.Object.Action != "update" || len(ex.LastJob.Object.Fields) != 1 {
		t.Errorf("explain -o json lacks the nesting, directory facts or last job: %+v", ex)
	}

	// Out of scope: named by DN, the OU it is in against the configured one.
	text = e.mustRun(exitOK, "explain", out)
	for _, want := range []string{"not synchronized", "not under any configured OU: it is in " + parentDN(out),
		"the OUs are " + e.set.Before.Scope, "out of scope"} {
		if !strings.Contains(text, want) {
			t.Errorf("explain of an out-of-scope user lacks %q:\n%s", want, text)
		}
	}

	// A system object: the built-in Administrator.
	text = e.mustRun(exitOK, "explain", "Administrator")
	for _, want := range []string{"never synchronized: it is a critical system object", "out of scope", "7. last job: none of the object lists of the last"} {
		if !strings.Contains(text, want) {
			t.Errorf("explain of Administrator lacks %q:\n%s", want, text)
		}
	}
	var sys struct {
		Directory struct {
			System   string `json:"system"`
			Selected bool   `json:"selected"`
		} `json:"directory"`
	}
	if err := json.Unmarshal([]byte(e.mustRun(exitOK, "explain", "Administrator", "-o", "json")), &sys); err != nil ||
		!sys.Directory.Selected || !strings.Contains(sys.Directory.System, "isCriticalSystemObject") {
		t.Errorf("explain -o json of Administrator: %+v, %v", sys, err)
	}

	// Nothing by that name; the name is escaped in the filter.
	text = e.mustRun(exitOK, "explain", "no*such)(user")
	if !strings.Contains(text, "not found") || !strings.Contains(text, "no directory object matches") {
		t.Errorf("explain of an unknown name:\n%s", text)
	}

	// Rejected: a UPN without a domain part.
	mod = ldap.NewModifyRequest(bad, nil)
	mod.Replace("userPrincipalName", []string{"no-domain-part"})
	if err := conn.Modify(mod); err != nil {
		t.Fatal(err)
	}
	text = e.mustRun(exitOK, "explain", bad)
	if !strings.Contains(text, "REJECTED") || !strings.Contains(text, "has no @domain part") {
		t.Errorf("explain of a rejected user:\n%s", text)
	}
	// A cycle records the rejection as the object's last job.
	e.mustRun(exitPartial, "sync")
	text = e.mustRun(exitOK, "explain", bad)
	if !strings.Contains(text, "reject, failed: ") || !strings.Contains(text, "has no @domain part)") {
		t.Errorf("explain of a rejected user after a cycle lacks the job's rejection:\n%s", text)
	}
}

// parentDN is the DN of the container holding dn (test helper).
func parentDN(dn string) string {
	_, parent, _ := strings.Cut(dn, ",")
	return parent
}
