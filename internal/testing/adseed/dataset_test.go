package adseed

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// graph is a hand-made dataset:
//
//	G1: u1, G2          G2: u2, G3          G3: u3, G2 (cycle G2<->G3)
//	G4: u4, unknown DN  P: (primary group of u5), u6
//	E: empty
func graph() *Dataset {
	const base = "DC=x,DC=test"
	dn := func(cn string) string { return "CN=" + cn + ",OU=T," + base }
	ds := &Dataset{BaseDN: base, Scope: "OU=T," + base}
	for _, u := range []string{"u1", "u2", "u3", "u4", "u5", "u6"} {
		ds.Users = append(ds.Users, User{DN: dn(u), CN: u})
	}
	ds.Users[4].PrimaryGroup = dn("P")
	ds.Groups = []Group{
		{DN: dn("G1"), Members: []string{dn("u1"), dn("G2")}},
		{DN: dn("G2"), Members: []string{dn("u2"), dn("G3")}},
		{DN: dn("G3"), Members: []string{dn("u3"), dn("G2")}},
		{DN: dn("G4"), Members: []string{dn("u4"), dn("nobody")}},
		{DN: dn("P"), Members: []string{dn("u6")}},
		{DN: dn("E")},
	}
	return ds
}

func TestEffectiveMembers(t *testing.T) {
	ds := graph()
	dn := func(cn string) string { return "CN=" + cn + ",OU=T,DC=x,DC=test" }
	tests := []struct {
		group string
		want  []string
	}{
		{dn("G1"), []string{dn("u1"), dn("u2"), dn("u3")}},
		{dn("G2"), []string{dn("u2"), dn("u3")}},
		{dn("G3"), []string{dn("u2"), dn("u3")}},
		{"cn=g3,ou=t,dc=x,dc=test", []string{dn("u2"), dn("u3")}}, // case-insensitive
		{dn("G4"), []string{dn("u4")}},
		{dn("P"), []string{dn("u5"), dn("u6")}},
		{dn("E"), []string{}},
		{dn("missing"), []string{}},
		{ds.DomainUsersDN(), []string{dn("u1"), dn("u2"), dn("u3"), dn("u4"), dn("u5"), dn("u6")}},
	}
	for _, tt := range tests {
		t.Run(tt.group, func(t *testing.T) {
			got := ds.EffectiveMembers(tt.group)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("EffectiveMembers(%s) mismatch (-want +got):\n%s", tt.group, diff)
			}
		})
	}
}

func TestIsUnder(t *testing.T) {
	tests := []struct {
		dn, base string
		want     bool
	}{
		{"CN=a,OU=Corp,DC=x", "OU=Corp,DC=x", true},
		{"OU=Corp,DC=x", "ou=corp,dc=x", true},
		{"CN=a,OU=Corp Contractors,DC=x", "OU=Corp,DC=x", false},
		{"CN=a,OU=XCorp,DC=x", "OU=Corp,DC=x", false},
		{"DC=x", "OU=Corp,DC=x", false},
	}
	for _, tt := range tests {
		if got := IsUnder(tt.dn, tt.base); got != tt.want {
			t.Errorf("IsUnder(%q, %q) = %v, want %v", tt.dn, tt.base, got, tt.want)
		}
	}
}

func TestCloneIsDeep(t *testing.T) {
	ds := graph()
	c := ds.Clone()
	c.Groups[0].Members[0] = "changed"
	c.Users[0].CN = "changed"
	if ds.Groups[0].Members[0] == "changed" || ds.Users[0].CN == "changed" {
		t.Fatal("Clone shares memory with the original")
	}
}

func TestFileTime(t *testing.T) {
	tests := []struct {
		t    time.Time
		want int64
	}{
		{time.Unix(0, 0), 116444736000000000},
		{time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC), 0},
		{time.Date(2021, 3, 1, 0, 0, 0, 0, time.UTC), 132590304000000000},
		{time.Unix(1, 500), 116444736010000005},
	}
	for _, tt := range tests {
		if got := FileTime(tt.t); got != tt.want {
			t.Errorf("FileTime(%v) = %d, want %d", tt.t, got, tt.want)
		}
	}
}

func TestDomainFromBaseDN(t *testing.T) {
	tests := map[string]string{
		"DC=idsync,DC=test":          "idsync.test",
		"dc=Corp, dc=Example,DC=com": "corp.example.com",
		"OU=x,DC=a,DC=b":             "a.b",
		"":                           "",
	}
	for in, want := range tests {
		if got := DomainFromBaseDN(in); got != want {
			t.Errorf("DomainFromBaseDN(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUnicodePwd(t *testing.T) {
	got := []byte(unicodePwd("Ab1"))
	want := []byte{'"', 0, 'A', 0, 'b', 0, '1', 0, '"', 0}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("unicodePwd (-want +got):\n%s", diff)
	}
}
