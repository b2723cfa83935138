package agent

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSanitizeGroupName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Engineering", "Engineering"},
		{"Domain Users", "Domain-Users"},
		{"  R&D / Lab  ", "R-D-Lab"},
		{"123 Ops", "Ops"},
		{"_hidden_", "hidden"},
		{"Отдел продаж", "Otdel-prodazh"},
		{"Отдел Sales 2", "Otdel-Sales-2"},
		{"Юридический отдел", "Iuridicheskii-otdel"},
		{"№ 5", ""},
		{"a", "a"},
		{"a.", "a"},
		{"Group--Name", "Group--Name"},
		{"Group - Name", "Group-Name"},
		{"x" + strings.Repeat("y", 80), "x" + strings.Repeat("y", 62)},
		{"(admins)*\\,=", "admins"},
	}
	for _, tt := range tests {
		got := SanitizeGroupName(tt.in)
		if got != tt.want {
			t.Errorf("SanitizeGroupName(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got != "" && !ValidGroupName(got) {
			t.Errorf("SanitizeGroupName(%q) = %q, which Identity Hub rejects", tt.in, got)
		}
	}
}

func FuzzSanitizeGroupName(f *testing.F) {
	for _, s := range []string{"Domain Users", "Отдел", "", "9", "a-", strings.Repeat("ab ", 40)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := SanitizeGroupName(s)
		if got != "" && !ValidGroupName(got) {
			t.Fatalf("SanitizeGroupName(%q) = %q, which Identity Hub rejects", s, got)
		}
		if ValidGroupName(s) && got != s {
			t.Fatalf("valid name %q changed to %q", s, got)
		}
		if got2 := suffixedGroupName(got, "0123abcd-ef01-2345-6789-abcdefabcdef"); !ValidGroupName(got2) {
			t.Fatalf("suffixed name %q is invalid", got2)
		}
	})
}

func TestAssignGroupNames(t *testing.T) {
	got := assignGroupNames([]groupNameCandidate{
		{ExternalID: "11111111-0000-0000-0000-000000000000", Original: "Domain Users"},
		{ExternalID: "22222222-0000-0000-0000-000000000000", Original: "Domain-Users"},
		{ExternalID: "33333333-0000-0000-0000-000000000000", Original: "sales"},
		{ExternalID: "44444444-0000-0000-0000-000000000000", Original: "Sales", Current: "Sales"},
		{ExternalID: "55555555-0000-0000-0000-000000000000", Original: "№ 5"},
	}, nil)
	want := map[string]string{
		// The directory name that is already valid wins over a mapped one.
		"22222222-0000-0000-0000-000000000000": "Domain-Users",
		"11111111-0000-0000-0000-000000000000": "Domain-Users-11111111",
		// Both valid: the group that holds the name in the pool keeps it.
		"44444444-0000-0000-0000-000000000000": "Sales",
		"33333333-0000-0000-0000-000000000000": "sales-33333333",
		// Nothing usable: named after the external id.
		"55555555-0000-0000-0000-000000000000": "group-55555555",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("assignGroupNames (-want +got):\n%s", diff)
	}
}

func TestAssignGroupNamesStable(t *testing.T) {
	const (
		a = "aaaaaaaa-0000-0000-0000-000000000000"
		b = "bbbbbbbb-0000-0000-0000-000000000000"
		c = "cccccccc-0000-0000-0000-000000000000"
		d = "dddddddd-0000-0000-0000-000000000000"
		e = "eeeeeeee-0000-0000-0000-000000000000"
	)
	got := assignGroupNames([]groupNameCandidate{
		// Holds the plain name although a valid directory name maps to it
		// now: names never move between groups.
		{ExternalID: a, Original: "IT Ops", Current: "IT-Ops"},
		{ExternalID: b, Original: "IT-Ops"},
		// Keeps its suffixed name, in the directory name's new case.
		{ExternalID: c, Original: "it ops", Current: "IT-Ops-cccccccc"},
		// Renamed in the directory: named anew, and the name another pool
		// group holds is not free.
		{ExternalID: d, Original: "Sales", Current: "Marketing"},
		// Kept with its extended suffix.
		{ExternalID: e, Original: "IT Ops", Current: "IT-Ops-eeeeeeee-2"},
	}, map[string]bool{"sales": true})
	want := map[string]string{
		a: "IT-Ops",
		b: "IT-Ops-bbbbbbbb",
		c: "it-ops-cccccccc",
		d: "Sales-dddddddd",
		e: "IT-Ops-eeeeeeee-2",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("assignGroupNames (-want +got):\n%s", diff)
	}
}
