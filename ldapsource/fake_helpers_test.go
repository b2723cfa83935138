package ldapsource

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/testing/fakead"
)

const (
	testBase   = "DC=test,DC=example,DC=com"
	testBindDN = "CN=svc-sync,CN=Users,DC=test,DC=example,DC=com"
	testPass   = "s3cret-Passw0rd"
	domainSID  = "S-1-5-21-1000-2000-3000"
)

var testNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func guidOf(kind, i int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", kind, i) }

// fakeUser adds a user with every default-mapped attribute and returns the
// directory.User the source must produce for it.
type fakeUser struct {
	cn, ou    string
	n         int
	disabled  bool
	primary   uint32
	expires   string
	pwdSet    string
	critical  bool
	computer  bool
	extraAttr map[string][]string
}

func (u fakeUser) dn() string { return "CN=" + u.cn + "," + u.ou }

func addUser(f *fakead.Server, u fakeUser) directory.User {
	guid := guidOf(1, u.n)
	sid := fmt.Sprintf("%s-%d", domainSID, 1100+u.n)
	uac := 512
	if u.disabled {
		uac |= 2
	}
	if u.primary == 0 {
		u.primary = 513
	}
	if u.expires == "" {
		u.expires = "9223372036854775807"
	}
	if u.pwdSet == "" {
		u.pwdSet = "133485408000000000"
	}
	classes := []string{"top", "person", "organizationalPerson", "user"}
	if u.computer {
		classes = append(classes, "computer")
		uac = 4096
	}
	attrs := map[string][]string{
		"objectClass":        classes,
		"objectCategory":     {"person"},
		"objectGUID":         {fakead.GUIDBytes(guid)},
		"objectSid":          {fakead.SIDBytes(sid)},
		"sAMAccountName":     {u.cn},
		"userPrincipalName":  {u.cn + "@test.example.com"},
		"displayName":        {"Display " + u.cn},
		"givenName":          {"Given" + u.cn},
		"sn":                 {"Family" + u.cn},
		"mail":               {u.cn + "@mail.example.com"},
		"telephoneNumber":    {"+1 555 " + strconv.Itoa(u.n)},
		"employeeID":         {"E" + strconv.Itoa(u.n)},
		"department":         {"Dept"},
		"title":              {"Engineer"},
		"company":            {"Example"},
		"userAccountControl": {strconv.Itoa(uac)},
		"accountExpires":     {u.expires},
		"pwdLastSet":         {u.pwdSet},
		"primaryGroupID":     {strconv.Itoa(int(u.primary))},
	}
	if u.critical {
		attrs["isCriticalSystemObject"] = []string{"TRUE"}
	}
	for k, v := range u.extraAttr {
		attrs[k] = v
	}
	f.Add(u.dn(), attrs)
	exp, _ := ParseFileTime(u.expires)
	pwd, _ := ParseFileTime(u.pwdSet)
	return directory.User{
		ExternalID: guid, DN: u.dn(), SID: sid, SAMAccountName: u.cn, Username: u.cn + "@test.example.com",
		FullName: "Display " + u.cn, GivenName: "Given" + u.cn, FamilyName: "Family" + u.cn,
		Email: u.cn + "@mail.example.com", PhoneNumber: "+1 555 " + strconv.Itoa(u.n), EmployeeID: "E" + strconv.Itoa(u.n),
		Department: "Dept", JobTitle: "Engineer", CompanyName: "Example", Enabled: !u.disabled,
		ExpiresAt: exp, PasswordLastSet: pwd, MustChangePassword: u.pwdSet == "0", PrimaryGroupID: u.primary,
	}
}

type fakeGroup struct {
	cn, ou   string
	n        int
	rid      uint32
	members  []string
	critical bool
}

func (g fakeGroup) dn() string { return "CN=" + g.cn + "," + g.ou }

func addGroup(f *fakead.Server, g fakeGroup) directory.Group {
	guid := guidOf(2, g.n)
	if g.rid == 0 {
		g.rid = uint32(5000 + g.n)
	}
	sid := fmt.Sprintf("%s-%d", domainSID, g.rid)
	attrs := map[string][]string{
		"objectClass":    {"top", "group"},
		"objectCategory": {"group"},
		"objectGUID":     {fakead.GUIDBytes(guid)},
		"objectSid":      {fakead.SIDBytes(sid)},
		"sAMAccountName": {g.cn},
		"cn":             {g.cn},
		"name":           {g.cn},
		"description":    {"about " + g.cn},
	}
	if len(g.members) > 0 {
		attrs["member"] = g.members
	}
	if g.critical {
		attrs["isCriticalSystemObject"] = []string{"TRUE"}
	}
	f.Add(g.dn(), attrs)
	return directory.Group{ExternalID: guid, DN: g.dn(), SID: sid, SAMAccountName: g.cn, Name: g.cn,
		Description: "about " + g.cn, RID: g.rid}
}

func startFake(t *testing.T, fo fakead.Options) *fakead.Server {
	t.Helper()
	fo.BindDN, fo.Password = testBindDN, testPass
	if fo.TombstoneLifetime == 0 {
		fo.TombstoneLifetime = 180
	}
	f := fakead.Start(t, fo)
	for _, ou := range []string{"CN=Users", "OU=Staff", "OU=Sub,OU=Staff", "OU=Other", "CN=Deleted Objects"} {
		f.Add(ou+","+testBase, map[string][]string{"objectClass": {"top", "container"}})
	}
	return f
}

func newTestSource(t *testing.T, f *fakead.Server, mod func(*Options)) *Source {
	t.Helper()
	o := Options{
		URLs: []string{f.URL()}, Username: testBindDN, Password: testPass, AllowInsecureBind: true,
		Scope: Scope{Domain: "test.example.com"}, Logger: zaptest.NewLogger(t),
		Now: func() time.Time { return testNow },
	}
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
