package adseed_test

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/idsync/idsync/internal/testing/adseed"
	"github.com/idsync/idsync/internal/testing/testdc"
)

// TestSeededTestProfile seeds the test profile (once per DC) and compares
// every in-scope user and group read back over LDAPS with the dataset.
func TestSeededTestProfile(t *testing.T) {
	dc, ds := testdc.Seeded(t, "test")
	conn := testdc.Dial(t, dc)
	if _, err := adseed.Seed(t.Context(), dc.Target(), ds, adseed.SeedOptions{Workers: 1}); !errors.Is(err, adseed.ErrAlreadySeeded) {
		t.Errorf("seeding twice: err = %v, want ErrAlreadySeeded", err)
	}

	got := read(t, conn, ds.Scope, ds.BaseDN)
	if n := len(got.Users); n != len(ds.ScopedUsers()) {
		t.Errorf("LDAP search found %d users under %s, want %d", n, ds.Scope, len(ds.ScopedUsers()))
	}
	want := normalize(&adseed.Dataset{Users: ds.ScopedUsers(), Groups: ds.ScopedGroups()})
	// Passwords cannot be read back; binding with one proves it was set.
	if diff := cmp.Diff(want.Users, got.Users, cmpopts.IgnoreFields(adseed.User{}, "Password")); diff != "" {
		t.Errorf("users differ (-dataset +ldap):\n%s", diff)
	}
	if diff := cmp.Diff(want.Groups, got.Groups); diff != "" {
		t.Errorf("groups differ (-dataset +ldap):\n%s", diff)
	}

	var withPassword int
	for _, u := range ds.Users {
		if u.Password == "" {
			continue
		}
		withPassword++
		c := testdc.Dial(t, dc)
		if err := c.Bind(u.UPN, u.Password); err != nil {
			t.Errorf("bind as %s with the known password: %v", u.UPN, err)
		}
	}
	if withPassword == 0 {
		t.Error("the test profile has no user with a password")
	}

	// The server's own transitive closure (LDAP_MATCHING_RULE_IN_CHAIN, which
	// ignores primary groups) agrees with EffectiveMembers on nested groups.
	for _, cn := range []string{"All Staff", "Cycle A", "Engineering"} {
		var g adseed.Group
		for _, x := range ds.Groups {
			if x.CN == cn {
				g = x
			}
		}
		res, err := conn.SearchWithPaging(ldap.NewSearchRequest(ds.Scope, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			"(&(objectCategory=person)(memberOf:1.2.840.113556.1.4.1941:="+ldap.EscapeFilter(g.DN)+"))", []string{"1.1"}, nil), 1000)
		if err != nil {
			t.Fatalf("in-chain search of %s: %v", cn, err)
		}
		var dns []string
		for _, e := range res.Entries {
			dns = append(dns, e.DN)
		}
		if diff := cmp.Diff(ds.EffectiveMembers(g.DN), sortFold(dns)); diff != "" {
			t.Errorf("effective members of %s (-dataset +server):\n%s", cn, diff)
		}
	}
}

// TestMutationsApply seeds a mutation set, applies it and compares the
// directory with the expected After dataset.
func TestMutationsApply(t *testing.T) {
	dc := testdc.Env(t)
	set := adseed.Mutations(dc.BaseDN, "it"+strconv.FormatInt(time.Now().UnixNano()%1e6, 10))
	ctx := t.Context()
	if _, err := set.Seed(ctx, dc.Target(), adseed.SeedOptions{}); err != nil {
		t.Fatalf("seed: %v", err)
	}
	t.Cleanup(func() {
		// t.Context is already cancelled when cleanups run.
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := set.Remove(cctx, dc.Target()); err != nil {
			t.Errorf("remove: %v", err)
		}
	})
	conn := testdc.Dial(t, dc)
	root := set.Before.OUs[0].DN
	if diff := cmp.Diff(normalize(set.Before), read(t, conn, root, dc.BaseDN), cmpopts.IgnoreFields(adseed.User{}, "Password")); diff != "" {
		t.Fatalf("before (-want +ldap):\n%s", diff)
	}
	if err := set.Apply(ctx, dc.Target()); err != nil {
		t.Fatalf("apply: %v", err)
	}
	if diff := cmp.Diff(normalize(set.After), read(t, conn, root, dc.BaseDN), cmpopts.IgnoreFields(adseed.User{}, "Password")); diff != "" {
		t.Errorf("after (-want +ldap):\n%s", diff)
	}
}

// normalize keeps users and groups sorted by DN with sorted members, the
// shape read returns.
func normalize(ds *adseed.Dataset) *adseed.Dataset {
	out := &adseed.Dataset{Users: slices.Clone(ds.Users)}
	for _, g := range ds.Groups {
		g.Members = sortFold(slices.Clone(g.Members))
		if len(g.Members) == 0 {
			g.Members = nil
		}
		out.Groups = append(out.Groups, g)
	}
	slices.SortFunc(out.Users, func(a, b adseed.User) int { return cmpFold(a.DN, b.DN) })
	slices.SortFunc(out.Groups, func(a, b adseed.Group) int { return cmpFold(a.DN, b.DN) })
	return out
}

// read loads users and groups under base into a Dataset.
func read(t *testing.T, conn *ldap.Conn, base, baseDN string) *adseed.Dataset {
	t.Helper()
	search := func(filter string, attrs ...string) []*ldap.Entry {
		res, err := conn.SearchWithPaging(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
			0, 0, false, filter, attrs, nil), 1000)
		if err != nil {
			t.Fatalf("search %s under %s: %v", filter, base, err)
		}
		return res.Entries
	}
	ds := &adseed.Dataset{}
	ridToDN := map[uint32]string{513: ""}
	for _, e := range search("(objectClass=group)", "cn", "sAMAccountName", "description", "member", "objectSid") {
		sid := e.GetRawAttributeValue("objectSid")
		ridToDN[binary.LittleEndian.Uint32(sid[len(sid)-4:])] = e.DN
		ds.Groups = append(ds.Groups, adseed.Group{
			DN: e.DN, CN: e.GetAttributeValue("cn"), SAMAccountName: e.GetAttributeValue("sAMAccountName"),
			Description: e.GetAttributeValue("description"), Members: sortFold(e.GetAttributeValues("member")),
		})
	}
	attrs := []string{"cn", "sAMAccountName", "userPrincipalName", "givenName", "sn", "displayName", "mail",
		"telephoneNumber", "employeeID", "department", "title", "company", "userAccountControl", "accountExpires", "primaryGroupID"}
	for _, e := range search("(&(objectCategory=person)(objectClass=user))", attrs...) {
		uac, _ := strconv.Atoi(e.GetAttributeValue("userAccountControl"))
		pgid, _ := strconv.ParseUint(e.GetAttributeValue("primaryGroupID"), 10, 32)
		pg, ok := ridToDN[uint32(pgid)]
		if !ok {
			pg = "RID " + strconv.FormatUint(pgid, 10)
		}
		ds.Users = append(ds.Users, adseed.User{
			DN: e.DN, CN: e.GetAttributeValue("cn"), SAMAccountName: e.GetAttributeValue("sAMAccountName"),
			UPN: e.GetAttributeValue("userPrincipalName"), GivenName: e.GetAttributeValue("givenName"),
			Surname: e.GetAttributeValue("sn"), DisplayName: e.GetAttributeValue("displayName"),
			Mail: e.GetAttributeValue("mail"), Telephone: e.GetAttributeValue("telephoneNumber"),
			EmployeeID: e.GetAttributeValue("employeeID"), Department: e.GetAttributeValue("department"),
			Title: e.GetAttributeValue("title"), Company: e.GetAttributeValue("company"),
			Enabled: uac&2 == 0, AccountExpires: fromFileTime(e.GetAttributeValue("accountExpires")),
			PrimaryGroup: pg,
		})
	}
	return normalize(ds)
}

func fromFileTime(s string) time.Time {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v == 0 || v == math.MaxInt64 {
		return time.Time{}
	}
	return time.Unix(v/1e7-11644473600, (v%1e7)*100).UTC()
}

func sortFold(dns []string) []string {
	slices.SortFunc(dns, cmpFold)
	return dns
}

func cmpFold(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) }
