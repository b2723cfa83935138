package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/idsync/idsync/agent"
	"github.com/idsync/idsync/internal/directory"
)

// reviewPlan is a plan with every kind of change an admin reviews: a
// create, an update with old -> new values and a deactivation, a delete, a
// rejection, a new group with more members than a text plan lists, a group
// update and a safety stop.
func reviewPlan() *agent.Plan {
	in := agent.Input{
		Mode: agent.ModeFull,
		Users: []directory.User{
			{ExternalID: "0d7c4b1e-0000-4000-8000-000000000001", DN: "CN=Ann Lee,OU=Staff,DC=corp,DC=test", Username: "ann@corp.test",
				FullName: "Ann Lee", GivenName: "Ann", FamilyName: "Lee", Email: "ann@corp.test", Enabled: true},
			{ExternalID: "0d7c4b1e-0000-4000-8000-000000000002", DN: "CN=Bob,OU=Staff,DC=corp,DC=test", Username: "bob@corp.test",
				FullName: "Bob Stone", JobTitle: "Engineer", Enabled: false, ExpiresAt: time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)},
			{ExternalID: "0d7c4b1e-0000-4000-8000-000000000003", DN: "CN=Bad,OU=Staff,DC=corp,DC=test", Username: "bad name@corp.test", FullName: "Bad", Enabled: true},
			{ExternalID: "0d7c4b1e-0000-4000-8000-000000000004", DN: "CN=<script>,OU=Staff,DC=corp,DC=test", Username: "eve@corp.test", FullName: "=HYPERLINK(\"x\") <b>Eve</b>", Enabled: true},
		},
		Groups: []directory.Group{
			{ExternalID: "6a1f0000-0000-4000-8000-00000000000a", DN: "CN=Domain Users,CN=Users,DC=corp,DC=test", Name: "Domain Users"},
			{ExternalID: "6a1f0000-0000-4000-8000-00000000000b", DN: "CN=Sales,OU=Staff,DC=corp,DC=test", Name: "Sales", Description: "sales team",
				Members: []string{"0d7c4b1e-0000-4000-8000-000000000002"}},
		},
		Target: agent.Target{
			Users: []agent.PoolUser{
				{ID: "user-2", ExternalID: "0d7c4b1e-0000-4000-8000-000000000002", Active: true, Fields: agent.UserFields{Username: "bob@pool.test", FullName: "Bob S."}},
				{ID: "user-9", ExternalID: "0d7c4b1e-0000-4000-8000-000000000009", Active: true, Fields: agent.UserFields{Username: "gone@pool.test", FullName: "Gone"}},
			},
			Groups: []agent.PoolGroup{{ID: "group-b", ExternalID: "6a1f0000-0000-4000-8000-00000000000b", Name: "Sales", Description: "old text"}},
		},
		Settings: agent.Settings{ReplacementDomain: "pool.test", RemoveBehavior: agent.RemoveDelete},
		Limits:   agent.Limits{MaxDeletions: 0, MaxDeletionPercent: 100},
	}
	// Twelve more users in Domain Users: the text lists ten.
	for i := 10; i < 22; i++ {
		ext := fmt.Sprintf("0d7c4b1e-0000-4000-8000-0000000000%02d", i)
		in.Users = append(in.Users, directory.User{ExternalID: ext, DN: fmt.Sprintf("CN=u%d,OU=Staff,DC=corp,DC=test", i),
			Username: fmt.Sprintf("u%d@corp.test", i), FullName: fmt.Sprintf("User %d", i), Enabled: true})
		in.Groups[0].Members = append(in.Groups[0].Members, ext)
	}
	in.Groups[0].Members = append(in.Groups[0].Members, "0d7c4b1e-0000-4000-8000-000000000001")
	return agent.BuildPlan(in)
}

var reviewMeta = planReportMeta{Pool: "pool1", Agent: "idsync-host", Version: "v1.2.3", Generated: "2026-12-01T10:00:00Z"}

func TestPlanReportGolden(t *testing.T) {
	for _, tt := range []struct{ format, file string }{
		{"text", "plan.golden.txt"},
		{"csv", "plan.golden.csv"},
		{"html", "plan.golden.html"},
	} {
		t.Run(tt.format, func(t *testing.T) {
			var buf bytes.Buffer
			err := writePlan(&buf, reviewPlan(), tt.format, reviewMeta)
			golden(t, tt.file, buf.Bytes())
			var se *agent.SafetyError
			if !errors.As(err, &se) || exitCode(err) != exitSafety {
				t.Errorf("%s plan with a safety stop: error %v (exit %d), want a safety stop (exit %d)", tt.format, err, exitCode(err), exitSafety)
			}
		})
	}
}

// Every format exits 4 for a plan a safety limit stops, JSON included.
func TestPlanSafetyExitSameInEveryFormat(t *testing.T) {
	for _, format := range []string{"text", "json", "csv", "html"} {
		err := writePlan(&bytes.Buffer{}, reviewPlan(), format, reviewMeta)
		if exitCode(err) != exitSafety {
			t.Errorf("-o %s: exit %d, want %d", format, exitCode(err), exitSafety)
		}
	}
	if err := writePlan(&bytes.Buffer{}, &agent.Plan{Mode: agent.ModeDelta}, "json", reviewMeta); err != nil {
		t.Errorf("a plan without a stop: %v", err)
	}
}

// The HTML report escapes directory values and loads nothing.
func TestPlanHTMLEscapes(t *testing.T) {
	var buf bytes.Buffer
	_ = writePlanHTML(&buf, reviewPlan(), reviewMeta)
	out := buf.String()
	for _, bad := range []string{"<script>", "<b>Eve</b>", "src=", "href=", "<link"} {
		if strings.Contains(out, bad) {
			t.Errorf("report contains %q", bad)
		}
	}
	if !strings.Contains(out, "CN=&lt;script&gt;") {
		t.Error("report lacks the escaped DN")
	}
}

// A directory value a spreadsheet would run as a formula is quoted.
func TestCSVSafe(t *testing.T) {
	for in, want := range map[string]string{
		`=HYPERLINK("x")`: `'=HYPERLINK("x")`, "+1": "'+1", "-2": "'-2", "@SUM": "'@SUM", "Ann": "Ann", "": "",
	} {
		if got := csvSafe(in); got != want {
			t.Errorf("csvSafe(%q) = %q, want %q", in, got, want)
		}
	}
}
