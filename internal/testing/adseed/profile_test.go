package adseed

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const testBase = "DC=idsync,DC=test"

func mustProfile(t *testing.T, name string) *Dataset {
	t.Helper()
	ds, err := Profile(name, testBase)
	if err != nil {
		t.Fatalf("Profile(%q): %v", name, err)
	}
	return ds
}

func TestProfileDeterministic(t *testing.T) {
	for _, name := range []string{"test", "demo", "w1k"} {
		t.Run(name, func(t *testing.T) {
			a, b := mustProfile(t, name), mustProfile(t, name)
			if diff := cmp.Diff(a, b); diff != "" {
				t.Fatalf("two generations differ (-first +second):\n%s", diff)
			}
		})
	}
	if cmp.Equal(mustProfile(t, "test").Users[:50], mustProfile(t, "demo").Users[:50]) {
		t.Error("test and demo profiles generated the same users")
	}
}

func TestProfileErrors(t *testing.T) {
	if _, err := Profile("nope", testBase); !errors.Is(err, ErrUnknownProfile) {
		t.Errorf("Profile(nope) error = %v, want ErrUnknownProfile", err)
	}
	if _, err := Profile("test", ""); err == nil {
		t.Error("Profile with empty base DN: want error")
	}
}

func TestProfileShape(t *testing.T) {
	tests := []struct {
		name                   string
		users, scoped          int
		groups                 int
		minMembers, maxMembers int
		minBiggest             int
	}{
		{name: "test", users: 2022, scoped: 2002, groups: 15, minMembers: 2000, maxMembers: 2100, minBiggest: 1600},
		{name: "demo", users: 312, scoped: 302, groups: 14, minMembers: 300, maxMembers: 400, minBiggest: 50},
		{name: "w1k", users: 1000, scoped: 1000, groups: 100, minMembers: 4900, maxMembers: 5100, minBiggest: 50},
		{name: "w10k", users: 10000, scoped: 10000, groups: 1000, minMembers: 49000, maxMembers: 51000, minBiggest: 5000},
	}
	if !testing.Short() {
		tests = append(tests, struct {
			name                   string
			users, scoped          int
			groups                 int
			minMembers, maxMembers int
			minBiggest             int
		}{name: "w100k", users: 100000, scoped: 100000, groups: 5000, minMembers: 990000, maxMembers: 1010000, minBiggest: 5000})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds := mustProfile(t, tt.name)
			if len(ds.Users) != tt.users || len(ds.ScopedUsers()) != tt.scoped || len(ds.Groups) != tt.groups {
				t.Errorf("users %d (scoped %d), groups %d; want %d (%d), %d",
					len(ds.Users), len(ds.ScopedUsers()), len(ds.Groups), tt.users, tt.scoped, tt.groups)
			}
			if n := ds.MembershipCount(); n < tt.minMembers || n > tt.maxMembers {
				t.Errorf("member values %d, want %d..%d", n, tt.minMembers, tt.maxMembers)
			}
			biggest := 0
			for _, g := range ds.Groups {
				biggest = max(biggest, len(g.Members))
			}
			if biggest < tt.minBiggest {
				t.Errorf("largest group has %d members, want >= %d", biggest, tt.minBiggest)
			}
			if tt.name != "w100k" { // keep the large profile's test quick
				checkConsistent(t, ds)
			}
		})
	}
}

// checkConsistent verifies invariants AD enforces: unique DNs and account
// names, member values and primary groups that resolve, parents that exist.
func checkConsistent(t *testing.T, ds *Dataset) {
	t.Helper()
	dns := map[string]string{} // lower DN -> kind
	sams := map[string]bool{}
	add := func(kind, dn, sam string) {
		k := strings.ToLower(dn)
		if dns[k] != "" {
			t.Errorf("duplicate DN %s", dn)
		}
		dns[k] = kind
		if sam != "" {
			if sams[strings.ToLower(sam)] {
				t.Errorf("duplicate sAMAccountName %s", sam)
			}
			sams[strings.ToLower(sam)] = true
		}
		_, parent, err := splitDN(dn)
		if err != nil {
			t.Errorf("%s: %v", dn, err)
			return
		}
		if !strings.EqualFold(parent, ds.BaseDN) && dns[strings.ToLower(parent)] != "ou" &&
			!strings.EqualFold(parent, "CN=Computers,"+ds.BaseDN) {
			t.Errorf("%s %s: parent %s is not a dataset OU", kind, dn, parent)
		}
	}
	for _, ou := range ds.OUs {
		add("ou", ou.DN, "")
	}
	for _, u := range ds.Users {
		add("user", u.DN, u.SAMAccountName)
		if len(u.SAMAccountName) > 20 {
			t.Errorf("user sAMAccountName %q longer than 20", u.SAMAccountName)
		}
	}
	for _, g := range ds.Groups {
		add("group", g.DN, g.SAMAccountName)
	}
	for _, c := range ds.Computers {
		add("computer", c.DN, c.SAMAccountName)
	}
	for _, g := range ds.Groups {
		seen := map[string]bool{}
		for _, m := range g.Members {
			k := strings.ToLower(m)
			if kind := dns[k]; kind != "user" && kind != "group" {
				t.Errorf("group %s: member %s is not a dataset user or group", g.DN, m)
			}
			if seen[k] {
				t.Errorf("group %s: duplicate member %s", g.DN, m)
			}
			seen[k] = true
		}
	}
	for _, u := range ds.Users {
		if u.PrimaryGroup != "" && dns[strings.ToLower(u.PrimaryGroup)] != "group" {
			t.Errorf("user %s: primary group %s is not a dataset group", u.DN, u.PrimaryGroup)
		}
	}
}

func TestTestProfileEdgeCases(t *testing.T) {
	ds := mustProfile(t, "test")
	group := func(cn string) Group {
		t.Helper()
		for _, g := range ds.Groups {
			if g.CN == cn {
				return g
			}
		}
		t.Fatalf("no group %q", cn)
		return Group{}
	}
	a, b := group("Cycle A"), group("Cycle B")
	if !contains(a.Members, b.DN) || !contains(b.Members, a.DN) {
		t.Error("Cycle A and Cycle B are not members of each other")
	}
	if n := len(group("Bulk Members").Members); n <= 1500 {
		t.Errorf("Bulk Members has %d members, want > 1500", n)
	}
	allStaff := ds.EffectiveMembers(group("All Staff").DN)
	backend := ds.EffectiveMembers(group("Backend").DN)
	for _, dn := range backend {
		if !contains(allStaff, dn) {
			t.Fatalf("Backend member %s is not an effective member of All Staff (three-level nesting)", dn)
		}
	}
	pg := group("Primary Staff")
	var primaryUsers int
	for _, u := range ds.Users {
		if u.PrimaryGroup == pg.DN {
			primaryUsers++
			if contains(pg.Members, u.DN) {
				t.Errorf("%s is listed in member of its primary group", u.DN)
			}
			if !contains(ds.EffectiveMembers(pg.DN), u.DN) {
				t.Errorf("%s is not an effective member of its primary group", u.DN)
			}
		}
	}
	if primaryUsers == 0 {
		t.Error("no user with a custom primary group")
	}
	var withPassword int
	for _, u := range ds.Users {
		if u.Password != "" {
			withPassword++
		}
	}
	if withPassword == 0 || withPassword > 10 {
		t.Errorf("%d users with a password, want a few", withPassword)
	}

	var disabled, expiring, noMail, noPhone, noTitle, comma int
	scripts := map[string]*regexp.Regexp{
		"cyrillic": regexp.MustCompile(`\p{Cyrillic}`),
		"accented": regexp.MustCompile(`[À-ÿĀ-ž]`),
		"cjk":      regexp.MustCompile(`\p{Han}`),
	}
	found := map[string]int{}
	for _, u := range ds.ScopedUsers() {
		if !u.Enabled {
			disabled++
		}
		if !u.AccountExpires.IsZero() {
			expiring++
		}
		if u.Mail == "" {
			noMail++
		}
		if u.Telephone == "" {
			noPhone++
		}
		if u.Title == "" {
			noTitle++
		}
		if strings.Contains(u.CN, ",") && strings.Contains(u.DN, `\,`) {
			comma++
		}
		for name, re := range scripts {
			if re.MatchString(u.DisplayName + u.GivenName + u.Surname) {
				found[name]++
			}
		}
	}
	for what, n := range map[string]int{"disabled": disabled, "expiring": expiring, "without mail": noMail,
		"without telephone": noPhone, "without title": noTitle, "with an escaped comma in the CN": comma} {
		if n == 0 {
			t.Errorf("no in-scope user %s", what)
		}
	}
	for name := range scripts {
		if found[name] == 0 {
			t.Errorf("no user with a %s name", name)
		}
	}
	var outUsers, outGroups, inComputers, outComputers int
	for _, u := range ds.Users {
		if !ds.InScope(u.DN) {
			outUsers++
		}
	}
	for _, g := range ds.Groups {
		if !ds.InScope(g.DN) {
			outGroups++
		}
	}
	for _, c := range ds.Computers {
		if ds.InScope(c.DN) {
			inComputers++
		} else {
			outComputers++
		}
	}
	if outUsers == 0 || outGroups == 0 || inComputers == 0 || outComputers == 0 {
		t.Errorf("out-of-scope users %d, groups %d; computers in scope %d, out %d: want all > 0",
			outUsers, outGroups, inComputers, outComputers)
	}
}
