package ldapsource

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
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

// sambaDir runs the shared delta suite against the Samba DC, in an OU of
// its own that is removed when the test ends.
type sambaDir struct {
	dc   testdc.DC
	conn *ldap.Conn
	ou   string
	tag  string // makes sAMAccountNames unique in the domain
}

// openSambaDir makes a private OU on the DC for one test.
func openSambaDir(t *testing.T, dc testdc.DC, conn *ldap.Conn) deltaDir {
	n := time.Now().UnixNano()
	d := &sambaDir{dc: dc, conn: conn, ou: fmt.Sprintf("OU=ldapsource-it-%d,%s", n, dc.BaseDN), tag: strconv.FormatInt(n%1_000_000, 36)}
	d.addOU(t, d.ou)
	t.Cleanup(d.cleanup)
	return d
}

func (d *sambaDir) root() string { return d.ou }

func (d *sambaDir) add(t *testing.T, dn string, attrs map[string][]string) {
	t.Helper()
	req := ldap.NewAddRequest(dn, nil)
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		req.Attribute(k, attrs[k])
	}
	if err := d.conn.Add(req); err != nil {
		t.Fatalf("add %s: %v", dn, err)
	}
}

func (d *sambaDir) addOU(t *testing.T, dn string) {
	d.add(t, dn, map[string][]string{"objectClass": {"organizationalUnit"}})
}

func (d *sambaDir) sam(cn string) string { return "it" + cn + d.tag }

func (d *sambaDir) addUser(t *testing.T, cn, parent string) string {
	dn := "CN=" + cn + "," + parent
	d.add(t, dn, map[string][]string{"objectClass": {"user"}, "sAMAccountName": {d.sam(cn)},
		"userPrincipalName": {d.sam(cn) + "@it.example"}, "displayName": {"IT " + cn}, "userAccountControl": {"514"}})
	return dn
}

func (d *sambaDir) addGroup(t *testing.T, cn, parent, description string, members ...string) string {
	dn := "CN=" + cn + "," + parent
	attrs := map[string][]string{"objectClass": {"group"}, "sAMAccountName": {d.sam(cn)}}
	if description != "" {
		attrs["description"] = []string{description}
	}
	if len(members) > 0 {
		attrs["member"] = members
	}
	d.add(t, dn, attrs)
	return dn
}

func (d *sambaDir) modify(t *testing.T, dn string, fn func(*ldap.ModifyRequest)) {
	t.Helper()
	req := ldap.NewModifyRequest(dn, nil)
	fn(req)
	if err := d.conn.Modify(req); err != nil {
		t.Fatalf("modify %s: %v", dn, err)
	}
}

func (d *sambaDir) replace(t *testing.T, dn string, attrs map[string][]string) {
	d.modify(t, dn, func(r *ldap.ModifyRequest) {
		for _, k := range slices.Sorted(maps.Keys(attrs)) {
			r.Replace(k, attrs[k])
		}
	})
}

func (d *sambaDir) members(t *testing.T, group string, add, remove []string) {
	d.modify(t, group, func(r *ldap.ModifyRequest) {
		if len(add) > 0 {
			r.Add("member", add)
		}
		if len(remove) > 0 {
			r.Delete("member", remove)
		}
	})
}

func (d *sambaDir) move(t *testing.T, dn, newRDN, newParent string) string {
	if err := d.conn.ModifyDN(ldap.NewModifyDNRequest(dn, newRDN, true, newParent)); err != nil {
		t.Fatalf("move %s: %v", dn, err)
	}
	return newRDN + "," + newParent
}

func (d *sambaDir) remove(t *testing.T, dn string) {
	if err := d.conn.Del(ldap.NewDelRequest(dn, nil)); err != nil {
		t.Fatalf("delete %s: %v", dn, err)
	}
}

func (d *sambaDir) source(t *testing.T, mod func(*Options)) *Source { return dcSource(t, d.dc, mod) }

func (d *sambaDir) cleanup() {
	// Delete the subtree, deepest DNs first.
	for range 3 {
		res, err := d.conn.Search(ldap.NewSearchRequest(d.ou, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=*)", []string{"1.1"}, nil))
		if err != nil {
			return
		}
		slices.SortFunc(res.Entries, func(a, b *ldap.Entry) int { return len(b.DN) - len(a.DN) })
		for _, e := range res.Entries {
			_ = d.conn.Del(ldap.NewDelRequest(e.DN, nil))
		}
	}
}

// TestIntegrationDeltaSuite runs the shared delta suite against the Samba DC.
func TestIntegrationDeltaSuite(t *testing.T) {
	dc := testdc.Env(t)
	conn := testdc.Dial(t, dc)
	runDeltaSuite(t, func(t *testing.T) deltaDir { return openSambaDir(t, dc, conn) })
}

// TestIntegrationDeltaMemberValues: Samba gives DirSync's incremental member
// values with GUIDs, so the groups whose members alone changed are not read
// again, and the delta is the one reading them gives.
func TestIntegrationDeltaMemberValues(t *testing.T) {
	dc := testdc.Env(t)
	conn := testdc.Dial(t, dc)
	if n := testDeltaMemberValues(t, openSambaDir(t, dc, conn)); n != 3 {
		t.Errorf("%d groups taken from member values; want 3", n)
	}
}

// sambaUnit opens the test DC for a delta test and makes it an
// organizational unit of its own, whose DN it returns.
func sambaUnit(t *testing.T) (deltaDir, string) {
	dc := testdc.Env(t)
	dir := openSambaDir(t, dc, testdc.Dial(t, dc))
	in := "OU=In," + dir.root()
	dir.addOU(t, in)
	return dir, in
}

// TestIntegrationDeltaDirSyncAttributes: the delta's DirSync pass asks only
// for the attributes idsync reads, so a change of another attribute (title,
// once the job title maps to info) reads nothing, while a change of a
// mapped attribute outside the defaults (info) is delivered.
func TestIntegrationDeltaDirSyncAttributes(t *testing.T) {
	dir, in := sambaUnit(t)
	ctx := t.Context()
	alice := dir.addUser(t, "alice", in)
	dir.addGroup(t, "team", in, "", alice)
	src := dir.source(t, func(o *Options) {
		o.Scope.OrganizationalUnits = []string{in}
		o.DeltaMode = DeltaDirSync
		o.Mapping = directory.DefaultMapping().Override(map[directory.UserField]directory.AttributeMapping{
			directory.FieldJobTitle: {Source: "info", Type: directory.Direct}}, nil)
	})
	prev, err := src.Snapshot(ctx)
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}

	dir.replace(t, alice, map[string][]string{"title": {"not read"}})
	read := src.readObjects.Load()
	d, err := src.Delta(ctx, directory.PreviousOf(prev))
	if err != nil {
		t.Fatalf("Delta after a title change: %v", err)
	}
	if n := src.readObjects.Load() - read; n != 0 || d.Snapshot != nil {
		t.Errorf("delta after a change of an attribute idsync does not read: %d objects read, state returned %v; want 0, false",
			n, d.Snapshot != nil)
	}

	dir.replace(t, alice, map[string][]string{"info": {"Engineer"}})
	d, err = src.Delta(ctx, directory.PreviousOf(prev))
	if err != nil {
		t.Fatalf("Delta after an info change: %v", err)
	}
	if len(d.Users) != 1 || d.Users[0].JobTitle != "Engineer" {
		t.Errorf("delta after a change of the mapped info: users %+v; want alice with job title Engineer", d.Users)
	}
}

// TestIntegrationDeltaUserValues: users whose mapped attributes alone
// changed (a title set, a mail cleared) are taken from the values DirSync
// returns instead of being read again, others (a rename, an account
// change) are read again, and the delta is the one reading them all
// gives, leaving the state a full read gives.
func TestIntegrationDeltaUserValues(t *testing.T) {
	dir, in := sambaUnit(t)
	ctx := t.Context()
	a, b, c, d := dir.addUser(t, "a", in), dir.addUser(t, "b", in), dir.addUser(t, "c", in), dir.addUser(t, "d", in)
	dir.replace(t, b, map[string][]string{"mail": {"b@it.example"}})
	dir.addGroup(t, "team", in, "", a, b, c, d)
	src := dir.source(t, func(o *Options) {
		o.Scope.OrganizationalUnits = []string{in}
		o.DeltaMode = DeltaDirSync
	})
	prev, err := src.Snapshot(ctx)
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	dir.replace(t, a, map[string][]string{"title": {"Engineer"}})
	dir.replace(t, b, map[string][]string{"mail": {}})
	dir.replace(t, c, map[string][]string{"title": {"Renamed"}})
	dir.move(t, c, "CN=c2", in)
	dir.replace(t, d, map[string][]string{"title": {"Enabled"}, "userAccountControl": {"512"}})

	got := deltaBothWays(t, src, prev)
	if src.valueEdits != 2 {
		t.Errorf("%d users taken from DirSync's values; want 2 (a and b)", src.valueEdits)
	}
	byDN := map[string]directory.User{}
	for _, u := range got.Users {
		byDN[normDN(t, u.DN)] = u
	}
	if u := byDN[normDN(t, a)]; u.JobTitle != "Engineer" {
		t.Errorf("a after the delta: %+v; want job title Engineer", u)
	}
	if u, ok := byDN[normDN(t, b)]; !ok || u.Email != "" {
		t.Errorf("b after the delta: %+v (in the delta %v); want no email", u, ok)
	}
	if len(got.Users) != 4 {
		t.Errorf("%d users changed; want 4", len(got.Users))
	}
}
