package ldapsource

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.uber.org/zap/zaptest"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/testing/adseed"
	"github.com/idsync/idsync/internal/testing/testdc"
)

// These tests run against the Samba DC of scripts/samba-dc.sh (see
// internal/testing/testdc); they fail when CI=true and the DC is missing.

func dcSource(t testing.TB, dc testdc.DC, mod func(*Options)) *Source {
	t.Helper()
	o := Options{URLs: []string{dc.LDAPSURL}, Username: dc.BindUPN, Password: dc.Password, CAFile: dc.CAFile,
		Scope: Scope{Domain: dc.Domain}, Logger: zaptest.NewLogger(t)}
	if mod != nil {
		mod(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func normDN(t testing.TB, dn string) string {
	t.Helper()
	p, err := ldap.ParseDN(dn)
	if err != nil {
		t.Fatalf("parse DN %q: %v", dn, err)
	}
	return strings.ToLower(p.String())
}

// expectedUser is the part of directory.User the dataset determines.
type expectedUser struct {
	DN, SAMAccountName, Username, FullName, GivenName, FamilyName, Email, PhoneNumber string
	EmployeeID, Department, JobTitle, CompanyName                                     string
	Enabled                                                                           bool
	ExpiresAt                                                                         time.Time
	PrimaryGroup                                                                      string
}

type expectedGroup struct {
	DN, SAMAccountName, Name, Description string
	Members                               []string // normalized user DNs
}

func TestIntegrationSnapshot(t *testing.T) {
	dc, ds := testdc.Seeded(t, "test")
	for _, mode := range []DeltaMode{DeltaUSN, DeltaDirSync} {
		t.Run(string(mode), func(t *testing.T) {
			src := dcSource(t, dc, func(o *Options) {
				o.Scope.OrganizationalUnits = []string{ds.Scope}
				o.DeltaMode = mode
			})
			snap, err := src.Snapshot(t.Context())
			if err != nil {
				t.Fatalf("Snapshot: %v", err)
			}
			compareDataset(t, ds, snap)
		})
	}
	t.Run("starttls", func(t *testing.T) {
		src := dcSource(t, dc, func(o *Options) {
			o.URLs = []string{dc.LDAPURL}
			o.StartTLS = true
			o.Scope.OrganizationalUnits = []string{ds.Scope}
		})
		if rep := src.Check(t.Context()); !rep.OK() || rep.TLSVersion == "" || !rep.DirSync {
			t.Fatalf("Check = %+v", rep)
		}
	})
}

func compareDataset(t *testing.T, ds *adseed.Dataset, snap *directory.Snapshot) {
	t.Helper()
	groupByDN := map[string]directory.Group{}
	for _, g := range snap.Groups {
		groupByDN[normDN(t, g.DN)] = g
	}
	dnByID := map[string]string{}
	ridToDN := map[uint32]string{513: normDN(t, ds.DomainUsersDN())}
	for _, g := range snap.Groups {
		ridToDN[g.RID] = normDN(t, g.DN)
	}
	var want, got []expectedUser
	for _, u := range ds.ScopedUsers() {
		pg := ds.DomainUsersDN()
		if u.PrimaryGroup != "" {
			pg = u.PrimaryGroup
		}
		want = append(want, expectedUser{DN: normDN(t, u.DN), SAMAccountName: u.SAMAccountName, Username: u.UPN,
			FullName: u.DisplayName, GivenName: u.GivenName, FamilyName: u.Surname, Email: u.Mail, PhoneNumber: u.Telephone,
			EmployeeID: u.EmployeeID, Department: u.Department, JobTitle: u.Title, CompanyName: u.Company,
			Enabled: u.Enabled, ExpiresAt: u.AccountExpires, PrimaryGroup: normDN(t, pg)})
	}
	for _, u := range snap.Users {
		dnByID[u.ExternalID] = normDN(t, u.DN)
		got = append(got, expectedUser{DN: normDN(t, u.DN), SAMAccountName: u.SAMAccountName, Username: u.Username,
			FullName: u.FullName, GivenName: u.GivenName, FamilyName: u.FamilyName, Email: u.Email, PhoneNumber: u.PhoneNumber,
			EmployeeID: u.EmployeeID, Department: u.Department, JobTitle: u.JobTitle, CompanyName: u.CompanyName,
			Enabled: u.Enabled, ExpiresAt: u.ExpiresAt, PrimaryGroup: ridToDN[u.PrimaryGroupID]})
		if u.SID == "" || !strings.HasPrefix(u.SID, "S-1-5-21-") {
			t.Errorf("user %s: SID %q", u.DN, u.SID)
		}
	}
	byDN := func(a, b expectedUser) int { return strings.Compare(a.DN, b.DN) }
	slices.SortFunc(want, byDN)
	slices.SortFunc(got, byDN)
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("users differ from the dataset (-want +got):\n%s", diff)
	}
	var wantG, gotG []expectedGroup
	for _, g := range ds.ScopedGroups() {
		var members []string
		for _, m := range ds.EffectiveMembers(g.DN) {
			if ds.InScope(m) {
				members = append(members, normDN(t, m))
			}
		}
		slices.Sort(members)
		wantG = append(wantG, expectedGroup{DN: normDN(t, g.DN), SAMAccountName: g.SAMAccountName, Name: g.CN,
			Description: g.Description, Members: members})
	}
	for _, g := range snap.Groups {
		var members []string
		for _, id := range g.Members {
			members = append(members, dnByID[id])
		}
		slices.Sort(members)
		gotG = append(gotG, expectedGroup{DN: normDN(t, g.DN), SAMAccountName: g.SAMAccountName, Name: g.Name,
			Description: g.Description, Members: members})
	}
	byGDN := func(a, b expectedGroup) int { return strings.Compare(a.DN, b.DN) }
	slices.SortFunc(wantG, byGDN)
	slices.SortFunc(gotG, byGDN)
	if diff := cmp.Diff(wantG, gotG, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("groups differ from the dataset (-want +got):\n%s", diff)
	}
	biggest := 0
	for _, g := range snap.Groups {
		biggest = max(biggest, len(g.Members))
	}
	if biggest <= 1500 {
		t.Errorf("largest group has %d members, want the >1,500-member group", biggest)
	}
	t.Logf("dataset matched: %d users, %d groups, largest group %d", len(got), len(gotG), biggest)
}

// deltaFixture creates a private OU with a few objects on the DC.
type deltaFixture struct {
	t    *testing.T
	conn *ldap.Conn
	ou   string
}

func (f *deltaFixture) add(dn string, attrs map[string][]string) {
	req := ldap.NewAddRequest(dn, nil)
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range attrs {
			if !yield(k) {
				return
			}
		}
	}) {
		req.Attribute(k, attrs[k])
	}
	if err := f.conn.Add(req); err != nil {
		f.t.Fatalf("add %s: %v", dn, err)
	}
}

func (f *deltaFixture) user(cn, parent string) string {
	dn := "CN=" + cn + "," + parent
	f.add(dn, map[string][]string{"objectClass": {"user"}, "sAMAccountName": {f.sam(cn)},
		"userPrincipalName": {f.sam(cn) + "@it.example"}, "displayName": {"IT " + cn}, "userAccountControl": {"514"}})
	return dn
}

func (f *deltaFixture) sam(cn string) string {
	return fmt.Sprintf("it%s%d", cn, len(f.ou)%97)
}

func (f *deltaFixture) modify(dn string, fn func(*ldap.ModifyRequest)) {
	req := ldap.NewModifyRequest(dn, nil)
	fn(req)
	if err := f.conn.Modify(req); err != nil {
		f.t.Fatalf("modify %s: %v", dn, err)
	}
}

func (f *deltaFixture) move(dn, newRDN, newParent string) string {
	if err := f.conn.ModifyDN(ldap.NewModifyDNRequest(dn, newRDN, true, newParent)); err != nil {
		f.t.Fatalf("move %s: %v", dn, err)
	}
	return newRDN + "," + newParent
}

func (f *deltaFixture) cleanup() {
	// Delete the subtree children first, deepest last-created first.
	for range 3 {
		res, err := f.conn.Search(ldap.NewSearchRequest(f.ou, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=*)", []string{"1.1"}, nil))
		if err != nil {
			return
		}
		slices.SortFunc(res.Entries, func(a, b *ldap.Entry) int { return len(b.DN) - len(a.DN) })
		for _, e := range res.Entries {
			_ = f.conn.Del(ldap.NewDelRequest(e.DN, nil))
		}
	}
}

func TestIntegrationDelta(t *testing.T) {
	dc := testdc.Env(t)
	conn := testdc.Dial(t, dc)
	for _, mode := range []DeltaMode{DeltaUSN, DeltaDirSync} {
		t.Run(string(mode), func(t *testing.T) {
			ctx := t.Context()
			name := fmt.Sprintf("ldapsource-it-%s-%d", mode, time.Now().UnixNano())
			fx := &deltaFixture{t: t, conn: conn, ou: "OU=" + name + "," + dc.BaseDN}
			fx.add(fx.ou, map[string][]string{"objectClass": {"organizationalUnit"}})
			t.Cleanup(fx.cleanup)
			in := "OU=In," + fx.ou
			out := "OU=Out," + fx.ou
			fx.add(in, map[string][]string{"objectClass": {"organizationalUnit"}})
			fx.add(out, map[string][]string{"objectClass": {"organizationalUnit"}})
			alice := fx.user("alice", in)
			bob := fx.user("bob", in)
			carol := fx.user("carol", out)
			dave := fx.user("dave", in)
			ghost := fx.user("ghost", in)
			grp := "CN=itgroup," + in
			fx.add(grp, map[string][]string{"objectClass": {"group"}, "sAMAccountName": {fx.sam("grp")},
				"description": {"before"}, "member": {alice, bob, carol}})
			src := dcSource(t, dc, func(o *Options) {
				o.Scope.OrganizationalUnits = []string{in}
				o.DeltaMode = mode
			})
			prev, err := src.Snapshot(ctx)
			if err != nil {
				t.Fatalf("Snapshot: %v", err)
			}
			ids := map[string]string{}
			for _, u := range prev.Users {
				ids[normDN(t, u.DN)] = u.ExternalID
			}
			if len(prev.Users) != 4 || len(prev.Groups) != 1 || len(prev.Groups[0].Members) != 2 {
				t.Fatalf("initial snapshot: %d users, groups %+v", len(prev.Users), prev.Groups)
			}
			groupID := prev.Groups[0].ExternalID

			// Changes: rename alice, enable bob, carol moves in, dave moves
			// out, ghost is deleted, a new user joins the group, bob leaves
			// it, the group description changes.
			alice2 := fx.move(alice, "CN=alice2", in)
			fx.modify(bob, func(r *ldap.ModifyRequest) { r.Replace("userAccountControl", []string{"512"}) })
			carol2 := fx.move(carol, "CN=carol", in)
			fx.move(dave, "CN=dave", out)
			if err := conn.Del(ldap.NewDelRequest(ghost, nil)); err != nil {
				t.Fatalf("delete ghost: %v", err)
			}
			erin := fx.user("erin", in)
			fx.modify(grp, func(r *ldap.ModifyRequest) {
				r.Add("member", []string{erin})
				r.Delete("member", []string{bob})
				r.Replace("description", []string{"after"})
			})

			d, err := src.Delta(ctx, prev)
			if err != nil {
				t.Fatalf("Delta: %v", err)
			}
			fresh, err := src.Snapshot(ctx)
			if err != nil {
				t.Fatalf("Snapshot after changes: %v", err)
			}
			if diff := cmp.Diff(fresh, d.Snapshot, cmpopts.EquateEmpty(), cmpopts.IgnoreFields(directory.Snapshot{}, "Watermark")); diff != "" {
				t.Errorf("state after delta differs from a full read (-full +delta):\n%s", diff)
			}
			var changed []string
			for _, u := range d.Users {
				changed = append(changed, normDN(t, u.DN))
			}
			slices.Sort(changed)
			wantChanged := []string{normDN(t, alice2), normDN(t, bob), normDN(t, carol2), normDN(t, erin)}
			slices.Sort(wantChanged)
			if diff := cmp.Diff(wantChanged, changed); diff != "" {
				t.Errorf("changed users (-want +got):\n%s", diff)
			}
			wantRemoved := []directory.Removal{
				{ExternalID: ids[normDN(t, dave)], Reason: directory.ReasonOutOfScope},
				{ExternalID: ids[normDN(t, ghost)], Reason: directory.ReasonDeleted},
			}
			slices.SortFunc(wantRemoved, func(a, b directory.Removal) int { return strings.Compare(a.ExternalID, b.ExternalID) })
			if diff := cmp.Diff(wantRemoved, d.RemovedUsers); diff != "" {
				t.Errorf("removed users (-want +got):\n%s", diff)
			}
			if len(d.Groups) != 1 || d.Groups[0].Description != "after" {
				t.Errorf("changed groups = %+v, want the group with the new description", d.Groups)
			}
			var erinID, carolID string
			for _, u := range fresh.Users {
				switch normDN(t, u.DN) {
				case normDN(t, erin):
					erinID = u.ExternalID
				case normDN(t, carol2):
					carolID = u.ExternalID
				}
			}
			added := []string{erinID, carolID}
			slices.Sort(added)
			wantM := []directory.MembershipChange{{GroupID: groupID, Added: added, Removed: []string{ids[normDN(t, bob)]}}}
			if diff := cmp.Diff(wantM, d.Memberships); diff != "" {
				t.Errorf("membership changes (-want +got):\n%s", diff)
			}
			again, err := src.Delta(ctx, d.Snapshot)
			if err != nil {
				t.Fatalf("second Delta: %v", err)
			}
			if !again.IsEmpty() {
				t.Errorf("second delta not empty: users %d, removed %d, groups %d, memberships %d",
					len(again.Users), len(again.RemovedUsers), len(again.Groups), len(again.Memberships))
			}
		})
	}
}

func TestIntegrationFullSyncRequired(t *testing.T) {
	dc, ds := testdc.Seeded(t, "test")
	src := dcSource(t, dc, func(o *Options) {
		o.Scope.OrganizationalUnits = []string{"OU=Groups," + ds.Scope}
		o.DeltaMode = DeltaUSN
	})
	prev, err := src.Snapshot(t.Context())
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	tests := []struct {
		name   string
		mutate func(w *directory.Watermark)
		now    time.Time
	}{
		{name: "different invocationId", mutate: func(w *directory.Watermark) { w.InvocationID = "00000000-0000-4000-8000-000000000001" }},
		{name: "different host", mutate: func(w *directory.Watermark) { w.DCHost = "otherdc." + dc.Domain }},
		{name: "older than tombstone lifetime", mutate: func(w *directory.Watermark) { w.TakenAt = w.TakenAt.AddDate(0, 0, -181) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := *prev
			tt.mutate(&p.Watermark)
			_, err := src.Delta(context.WithoutCancel(t.Context()), &p)
			if !errors.Is(err, ErrFullSyncRequired) {
				t.Fatalf("Delta err = %v, want ErrFullSyncRequired", err)
			}
		})
	}
}
