package agent

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/internal/directory"
)

func TestFactScope(t *testing.T) {
	now := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	c := &cycle{a: &Agent{now: func() time.Time { return now }}, settings: SyncSettings{
		Domain: "corp.test", OrganizationalUnits: []string{"OU=Staff,DC=corp,DC=test"}, Groups: []string{"Engineering"}}}
	// engineering > backend > platform > ann (platform is outside the OU
	// scope: the group filter still goes through it).
	snap := &directory.Snapshot{
		Groups: []directory.Group{{ExternalID: "backend", Name: "Backend"}},
		Graph: directory.Graph{Links: []directory.Links{
			{GroupID: "engineering", InScope: true, Direct: []string{"backend"}},
			{GroupID: "backend", InScope: true, Direct: []string{"platform"}},
			{GroupID: "platform", Direct: []string{"ann"}},
		}},
	}
	scopeGroups := []directory.ScopeGroup{{Value: "Engineering", ExternalIDs: []string{"engineering"}}}
	user := func(id, dn string, inOU bool) *directory.ObjectFacts {
		return &directory.ObjectFacts{Kind: directory.KindUser, ExternalID: id, DN: dn, Selected: true, InOUScope: inOU,
			OU: map[bool]string{true: "OU=Staff,DC=corp,DC=test"}[inOU], Enabled: true, ScopeGroups: scopeGroups}
	}
	expired := user("bob", "CN=Bob,OU=Staff,DC=corp,DC=test", true)
	expired.Enabled, expired.ExpiresAt = false, now.Add(-time.Hour)
	system := user("krb", "CN=krbtgt,CN=Users,DC=corp,DC=test", false)
	system.System = "a critical system object (isCriticalSystemObject=TRUE)"
	for _, tc := range []struct {
		name string
		f    *directory.ObjectFacts
		want []string
	}{
		{"nested member in scope", user("ann", "CN=Ann,OU=Staff,DC=corp,DC=test", true), []string{
			"domain filter: corp.test",
			"under OU=Staff,DC=corp,DC=test: matched",
			"member of the scope group Engineering (via Backend -> platform): matched",
			"the account is enabled: active in the pool when in scope",
			"in scope: the directory read selects it",
		}},
		{"outside the OU", user("ann", `CN=Ann,OU=Contractors\,Temp,DC=corp,DC=test`, false), []string{
			"domain filter: corp.test",
			`not under any configured OU: it is in OU=Contractors\,Temp,DC=corp,DC=test; the OUs are OU=Staff,DC=corp,DC=test`,
			"member of the scope group Engineering (via Backend -> platform): matched",
			"the account is enabled: active in the pool when in scope",
			"out of scope",
		}},
		{"not in the scope group, disabled and expired", expired, []string{
			"domain filter: corp.test",
			"under OU=Staff,DC=corp,DC=test: matched",
			"not a member of the scope group Engineering (directly, through nested groups or by primary group)",
			"the account is disabled (userAccountControl ACCOUNTDISABLE): synchronized when in scope, but inactive in the pool",
			"the account expired at 2026-12-02T02:00:00Z (sent as expires_at; an expired account is inactive in the pool)",
			"out of scope",
		}},
		{"system object", system, []string{
			"domain filter: corp.test",
			"never synchronized: it is a critical system object (isCriticalSystemObject=TRUE)",
			"not under any configured OU: it is in CN=Users,DC=corp,DC=test; the OUs are OU=Staff,DC=corp,DC=test",
			"not a member of the scope group Engineering (directly, through nested groups or by primary group)",
			"the account is enabled: active in the pool when in scope",
			"out of scope",
		}},
		{"not a user or group", &directory.ObjectFacts{DN: "CN=pc1,CN=Computers,DC=corp,DC=test", Filter: "(user) or (group)",
			ObjectClasses: []string{"computer"}, ObjectCategory: "CN=Computer"}, []string{
			"domain filter: corp.test",
			"not read: the read's filters (user) or (group) do not select it (objectClass computer; objectCategory CN=Computer): only person users and groups are synchronized",
			"out of scope",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, c.factScope(tc.f, snap)); diff != "" {
				t.Errorf("factScope (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMembershipsName(t *testing.T) {
	snap := &directory.Snapshot{
		Users: []directory.User{{ExternalID: "ann", PrimaryGroupID: 513}},
		Groups: []directory.Group{
			{ExternalID: "a-eng", Name: "Engineering", Members: []string{"ann"}},
			{ExternalID: "b-backend", Name: "Backend", Members: []string{"ann"}},
			{ExternalID: "c-platform", Name: "Platform", Members: []string{"ann"}},
			{ExternalID: "d-staff", Name: "Staff", Members: []string{"ann"}},
			{ExternalID: "e-other", Name: "Other"},
		},
		Graph: directory.Graph{Links: []directory.Links{
			{GroupID: "a-eng", InScope: true, Direct: []string{"b-backend"}},
			{GroupID: "b-backend", InScope: true, Direct: []string{"c-platform"}},
			{GroupID: "c-platform", InScope: true, Direct: []string{"ann"}},
			{GroupID: "d-staff", RID: 513, InScope: true},
			{GroupID: "e-other", InScope: true},
		}},
	}
	var got []string
	for _, m := range memberships(snap, &snap.Users[0]) {
		got = append(got, m.String())
	}
	want := []string{"Backend (via Platform)", "Engineering (via Backend -> Platform)", "Platform (direct)", "Staff (primary group)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("memberships (-want +got):\n%s", diff)
	}
	if s := (Membership{Group: "All", Via: []string{"Staff"}, Primary: true}).String(); !strings.Contains(s, "via Staff, primary group") {
		t.Errorf("nested primary membership: %q", s)
	}
}
