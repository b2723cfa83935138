package ldapsource

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/idsync/idsync/internal/testing/testdc"
)

// pwFixture is an OU of its own with users for password writes.
type pwFixture struct {
	dc    testdc.DC
	admin *ldap.Conn
	ou    string
}

func newPWFixture(t *testing.T) *pwFixture {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs the Samba test DC")
	}
	dc := testdc.Env(t)
	f := &pwFixture{dc: dc, admin: testdc.Dial(t, dc)}
	f.ou = fmt.Sprintf("OU=pw-%d,%s", time.Now().UnixNano()%1e9, dc.BaseDN)
	req := ldap.NewAddRequest(f.ou, nil)
	req.Attribute("objectClass", []string{"organizationalUnit"})
	if err := f.admin.Add(req); err != nil {
		t.Fatalf("add OU: %v", err)
	}
	t.Cleanup(func() {
		del := ldap.NewDelRequest(f.ou, []ldap.Control{ldap.NewControlString("1.2.840.113556.1.4.805", true, "")})
		if err := f.admin.Del(del); err != nil {
			t.Logf("remove %s: %v", f.ou, err)
		}
	})
	return f
}

// user adds an enabled user with password and returns its DN and GUID.
func (f *pwFixture) user(t *testing.T, name, password string) (string, string) {
	t.Helper()
	dn := "CN=" + name + "," + f.ou
	req := ldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", []string{"user"})
	req.Attribute("sAMAccountName", []string{name})
	req.Attribute("userPrincipalName", []string{name + "@" + f.dc.Domain})
	req.Attribute("unicodePwd", []string{string(encodePassword([]byte(password)))})
	req.Attribute("userAccountControl", []string{"512"})
	if err := f.admin.Add(req); err != nil {
		t.Fatalf("add user %s: %v", name, err)
	}
	res, err := f.admin.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"objectGUID"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	guid, err := DecodeGUID(res.Entries[0].GetRawAttributeValue("objectGUID"))
	if err != nil {
		t.Fatal(err)
	}
	return dn, guid
}

func (f *pwFixture) pwdLastSet(t *testing.T, dn string) string {
	t.Helper()
	res, err := f.admin.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"pwdLastSet"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	return res.Entries[0].GetAttributeValue("pwdLastSet")
}

// canBind reports whether dn binds with password over LDAPS.
func canBind(t *testing.T, dc testdc.DC, dn, password string) bool {
	t.Helper()
	s := dcSource(t, dc, func(o *Options) { o.Username, o.Password = dn, password })
	_, err := s.connection(t.Context())
	return err == nil
}

func TestIntegrationWritePassword(t *testing.T) {
	f := newPWFixture(t)
	dn, guid := f.user(t, "wb-ann", "Start-Pass-1")
	src := dcSource(t, f.dc, func(o *Options) { o.Scope.OrganizationalUnits = []string{f.ou} })

	// An administrator's reset, the user must change it at the next logon.
	if err := src.WritePassword(t.Context(), PasswordWrite{GUID: guid, Password: []byte("Reset-Pass-2"), NeedChange: true}); err != nil {
		t.Fatalf("reset: %v", err)
	}
	if got := f.pwdLastSet(t, dn); got != "0" {
		t.Errorf("pwdLastSet after a reset with need_change = %q, want 0", got)
	}
	// A user's own change, checked against the current password.
	if err := src.WritePassword(t.Context(), PasswordWrite{GUID: guid, Password: []byte("Own-Pass-3x"), OldPassword: []byte("Reset-Pass-2")}); err != nil {
		t.Fatalf("own change: %v", err)
	}
	if !canBind(t, f.dc, dn, "Own-Pass-3x") {
		t.Error("the user cannot bind with the new password")
	}
	if got := f.pwdLastSet(t, dn); got == "0" {
		t.Error("pwdLastSet is 0 after a change without need_change")
	}
	// Too short: the directory's policy refuses it.
	err := src.WritePassword(t.Context(), PasswordWrite{GUID: guid, Password: []byte("a1"), OldPassword: []byte("Own-Pass-3x")})
	var pe *PasswordError
	if !errors.As(err, &pe) || pe.Refusal != RefusedPolicy || pe.Message == "" {
		t.Fatalf("short password: %v, want a policy refusal", err)
	}
	t.Logf("policy refusal: %v", pe)
	if !canBind(t, f.dc, dn, "Own-Pass-3x") {
		t.Error("a refused change changed the password")
	}
}

func TestIntegrationWritePasswordRefusals(t *testing.T) {
	f := newPWFixture(t)
	_, guid := f.user(t, "wb-bob", "Start-Pass-1")
	weakDN, _ := f.user(t, "wb-weak", "Weak-Pass-1")

	t.Run("no right", func(t *testing.T) {
		src := dcSource(t, f.dc, func(o *Options) {
			o.Username, o.Password = weakDN, "Weak-Pass-1"
			o.Scope.OrganizationalUnits = []string{f.ou}
		})
		err := src.WritePassword(t.Context(), PasswordWrite{GUID: guid, Password: []byte("Reset-Pass-2")})
		var pe *PasswordError
		if !errors.As(err, &pe) || pe.Refusal != RefusedPermission {
			t.Fatalf("reset without the right: %v, want a permission refusal", err)
		}
	})
	t.Run("out of scope", func(t *testing.T) {
		src := dcSource(t, f.dc, func(o *Options) { o.Scope.OrganizationalUnits = []string{"OU=Corp," + f.dc.BaseDN} })
		err := src.WritePassword(t.Context(), PasswordWrite{GUID: guid, Password: []byte("Reset-Pass-2")})
		if !errors.Is(err, ErrUserNotInScope) {
			t.Fatalf("out of scope: %v", err)
		}
	})
}

func TestIntegrationCheckPasswordRights(t *testing.T) {
	f := newPWFixture(t)
	f.user(t, "wb-carl", "Start-Pass-1")
	weakDN, _ := f.user(t, "wb-weak2", "Weak-Pass-1")

	admin := dcSource(t, f.dc, func(o *Options) { o.Scope.OrganizationalUnits = []string{f.ou} })
	r, err := admin.CheckPasswordRights(t.Context())
	if err != nil {
		t.Fatalf("CheckPasswordRights: %v", err)
	}
	if len(r.Missing) != 0 || r.Sampled[f.ou] == "" {
		t.Errorf("administrator: missing %v, sampled %v; want every right on a sampled user", r.Missing, r.Sampled)
	}

	weak := dcSource(t, f.dc, func(o *Options) {
		o.Username, o.Password = weakDN, "Weak-Pass-1"
		o.Scope.OrganizationalUnits = []string{f.ou}
	})
	r, err = weak.CheckPasswordRights(t.Context())
	if err != nil {
		t.Fatalf("CheckPasswordRights as a plain user: %v", err)
	}
	want := []string{"Reset Password on " + f.ou, "Write pwdLastSet on " + f.ou}
	if fmt.Sprint(r.Missing) != fmt.Sprint(want) {
		t.Errorf("plain user: missing %v, want %v", r.Missing, want)
	}
}
