package ldapsource

import (
	"errors"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/idsync/idsync/internal/testing/fakead"
)

func TestWritePasswordNeverOverPlainLDAP(t *testing.T) {
	f := startFake(t, fakead.Options{})
	src := newTestSource(t, f, nil)
	err := src.WritePassword(t.Context(), PasswordWrite{GUID: guidOf(1, 1), Password: []byte("New-Pass-1")})
	if !errors.Is(err, ErrPlainConnection) {
		t.Fatalf("WritePassword over plain ldap: %v, want ErrPlainConnection", err)
	}
}

func TestClassifyPasswordError(t *testing.T) {
	w := PasswordWrite{Password: []byte("Secret-9"), OldPassword: []byte("Old-1")}
	cases := []struct {
		code uint16
		msg  string
		want PasswordRefusal
	}{
		{ldap.LDAPResultConstraintViolation, "0000052D: Constraint violation - check_password_restrictions: the password is too short", RefusedPolicy},
		{ldap.LDAPResultUnwillingToPerform, "0000052D: SvcErr: DSID-031A12D2, problem 5003 (WILL_NOT_PERFORM), data 0", RefusedPolicy},
		{ldap.LDAPResultInsufficientAccessRights, "00002098: SecErr: DSID-03150F94, problem 4003 (INSUFF_ACCESS_RIGHTS), data 0", RefusedPermission},
		{ldap.LDAPResultUnwillingToPerform, "00000005: access denied", RefusedPermission},
		{ldap.LDAPResultConstraintViolation, "00000056: AtrErr: DSID-03190F80, #1: 0: 00000056: the old password Old-1 is wrong", RefusedUnknown},
		{ldap.LDAPResultConstraintViolation, "", RefusedPolicy},
		{ldap.LDAPResultBusy, "busy", RefusedUnknown},
	}
	for _, c := range cases {
		pe := classifyPasswordError(&ldap.Error{ResultCode: c.code, Err: errors.New(c.msg)}, w)
		if pe.Refusal != c.want {
			t.Errorf("%d %q: %s, want %s", c.code, c.msg, pe.Refusal, c.want)
		}
		if pe.Message == "" {
			t.Errorf("%d %q: empty message", c.code, c.msg)
		}
		for _, p := range []string{"Secret-9", "Old-1"} {
			if strings.Contains(pe.Error(), p) {
				t.Errorf("the message shows a password: %s", pe.Error())
			}
		}
	}
}
