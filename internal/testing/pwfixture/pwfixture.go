// Package pwfixture gives integration tests a set of directory accounts with
// known passwords on the project's Samba DC (internal/testing/testdc): its own OU
// with an in-scope and an out-of-scope OU, and an account without
// replication rights. Everything is removed when the test ends.
package pwfixture

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/go-ldap/ldap/v3"
	//lint:ignore SA1019 the NT hash is MD4 by definition; tests compute it to compare.
	"golang.org/x/crypto/md4"

	"github.com/idsync/idsync/drsrsource"
	"github.com/idsync/idsync/internal/testing/testdc"
	"github.com/idsync/idsync/ldapsource"
)

// User is a fixture account.
type User struct {
	DN         string
	SAM        string
	GUID       string // canonical objectGUID text, the external id
	Password   string
	MustChange bool
}

// Fixture is one test's accounts.
type Fixture struct {
	DC testdc.DC
	// Root is the fixture's OU; In is the in-scope OU, Out the out-of-scope one.
	Root, In, Out string
	conn          *ldap.Conn
	t             testing.TB
}

// New creates the fixture OUs under the DC's base DN. name keeps runs apart.
func New(t testing.TB, name string) *Fixture {
	t.Helper()
	dc := testdc.Env(t)
	conn := testdc.Dial(t, dc)
	f := &Fixture{DC: dc, conn: conn, t: t}
	f.Root = fmt.Sprintf("OU=pw-%s-%s,%s", name, randHex(4), dc.BaseDN)
	f.In = "OU=in," + f.Root
	f.Out = "OU=out," + f.Root
	for _, ou := range []string{f.Root, f.In, f.Out} {
		req := ldap.NewAddRequest(ou, nil)
		req.Attribute("objectClass", []string{"organizationalUnit"})
		if err := conn.Add(req); err != nil {
			t.Fatalf("pwfixture: add %s: %v", ou, err)
		}
	}
	t.Cleanup(func() {
		del := ldap.NewDelRequest(f.Root, []ldap.Control{ldap.NewControlSubtreeDelete()})
		if err := conn.Del(del); err != nil {
			t.Errorf("pwfixture: remove %s: %v", f.Root, err)
		}
	})
	return f
}

// AddUser creates an enabled user with a random known password under ou
// (In, Out or Root).
func (f *Fixture) AddUser(ou, cn string) User {
	f.t.Helper()
	cn = samName(cn) + "-" + randHex(3)
	u := User{DN: "CN=" + cn + "," + ou, SAM: cn, Password: NewPassword()}
	req := ldap.NewAddRequest(u.DN, nil)
	req.Attribute("objectClass", []string{"user"})
	req.Attribute("sAMAccountName", []string{u.SAM})
	req.Attribute("userPrincipalName", []string{u.SAM + "@" + f.DC.Domain})
	req.Attribute("userAccountControl", []string{"512"})
	req.Attribute("unicodePwd", []string{quotedUTF16(u.Password)})
	if err := f.conn.Add(req); err != nil {
		f.t.Fatalf("pwfixture: add user %s: %v", u.DN, err)
	}
	res, err := f.conn.Search(ldap.NewSearchRequest(u.DN, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"objectGUID"}, nil))
	if err != nil || len(res.Entries) != 1 {
		f.t.Fatalf("pwfixture: read %s: %v", u.DN, err)
	}
	u.GUID, err = ldapsource.DecodeGUID(res.Entries[0].GetRawAttributeValue("objectGUID"))
	if err != nil {
		f.t.Fatalf("pwfixture: %v", err)
	}
	return u
}

// SetPassword gives u a new random password (an administrator reset, as
// `samba-tool user setpassword` does) and returns the user with it.
func (f *Fixture) SetPassword(u User) User {
	f.t.Helper()
	u.Password = NewPassword()
	req := ldap.NewModifyRequest(u.DN, nil)
	req.Replace("unicodePwd", []string{quotedUTF16(u.Password)})
	if err := f.conn.Modify(req); err != nil {
		f.t.Fatalf("pwfixture: set password of %s: %v", u.DN, err)
	}
	return u
}

// RequireChange sets pwdLastSet to 0: the user must change the password at
// next logon.
func (f *Fixture) RequireChange(u User) User {
	f.t.Helper()
	req := ldap.NewModifyRequest(u.DN, nil)
	req.Replace("pwdLastSet", []string{"0"})
	if err := f.conn.Modify(req); err != nil {
		f.t.Fatalf("pwfixture: set pwdLastSet of %s: %v", u.DN, err)
	}
	u.MustChange = true
	return u
}

// Admin returns DRSR options for the DC's administrator (who holds the
// replication rights), scoped to the In OU.
func (f *Fixture) Admin() drsrsource.Options {
	return drsrsource.Options{
		Host: f.DC.Addr, Username: adminSAM(f.DC), Domain: f.DC.Domain,
		Password: f.DC.Password, BaseDN: f.DC.BaseDN, Scope: []string{f.In},
	}
}

// Unprivileged creates an ordinary user (no replication rights) in Root
// and returns DRSR options that authenticate as it.
func (f *Fixture) Unprivileged() drsrsource.Options {
	f.t.Helper()
	u := f.AddUser(f.Root, "norepl-"+randHex(3))
	o := f.Admin()
	o.Username, o.Password = u.SAM, u.Password
	return o
}

// NTHash is the expected AD_MD4 value: hex MD4 of the UTF-16LE password.
func NTHash(password string) string {
	h := md4.New()
	for _, r := range utf16.Encode([]rune(password)) {
		h.Write([]byte{byte(r), byte(r >> 8)})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// NewPassword returns a random password that meets AD complexity.
func NewPassword() string { return "Pw-" + randHex(8) + "-9aZ" }

func adminSAM(dc testdc.DC) string {
	name, _, _ := strings.Cut(dc.BindUPN, "@")
	return name
}

func samName(cn string) string {
	if len(cn) > 13 {
		cn = cn[:13]
	}
	return cn
}

func quotedUTF16(pw string) string {
	var b []byte
	for _, r := range utf16.Encode([]rune(`"` + pw + `"`)) {
		b = append(b, byte(r), byte(r>>8))
	}
	return string(b)
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
