package ldapsource

import (
	"errors"
	"testing"

	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/krberror"
	"github.com/jcmturner/gokrb5/v8/messages"
)

// TestClassifyKerberos wraps KDC errors the way gokrb5 does and checks each
// lands on its documented sentinel; the clock-skew case cannot be produced
// against the test DC without moving its clock.
func TestClassifyKerberos(t *testing.T) {
	kdc := func(code int32) error {
		return krberror.Errorf(messages.KRBError{ErrorCode: code}, krberror.KDCError, "TGS Exchange Error: kerberos error response from KDC")
	}
	for name, tc := range map[string]struct {
		err  error
		want error
	}{
		"skew":          {kdc(errorcode.KRB_AP_ERR_SKEW), ErrKerberosClockSkew},
		"client":        {kdc(errorcode.KDC_ERR_C_PRINCIPAL_UNKNOWN), ErrKerberosUnknownPrincipal},
		"service":       {kdc(errorcode.KDC_ERR_S_PRINCIPAL_UNKNOWN), ErrKerberosNoSPN},
		"preauth":       {kdc(errorcode.KDC_ERR_PREAUTH_FAILED), ErrKerberosWrongKey},
		"bad integrity": {kdc(errorcode.KRB_AP_ERR_BAD_INTEGRITY), ErrKerberosWrongKey},
		"network":       {krberror.Errorf(errors.New("dial tcp: connection refused"), krberror.NetworkingError, "communication error with KDC"), ErrKerberosKDCUnreachable},
	} {
		t.Run(name, func(t *testing.T) {
			got := classifyKerberos(tc.err)
			if !errors.Is(got, tc.want) {
				t.Fatalf("classifyKerberos(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
	other := errors.New("something else")
	if got := classifyKerberos(other); got != other {
		t.Errorf("unrelated error changed: %v", got)
	}
}

func TestKerberosOptionsNeedTLS(t *testing.T) {
	_, err := New(Options{URLs: []string{"ldap://dc1.example.com"}, Auth: AuthKerberos,
		Kerberos: Kerberos{KeytabPath: "k", Principal: "p@R", ConfigPath: "c"}})
	if err == nil {
		t.Fatal("kerberos over plain ldap:// accepted")
	}
	if _, err := New(Options{URLs: []string{"ldap://dc1.example.com"}, StartTLS: true, Auth: AuthKerberos,
		Kerberos: Kerberos{KeytabPath: "k", Principal: "p@R", ConfigPath: "c"}}); err != nil {
		t.Fatalf("kerberos with StartTLS: %v", err)
	}
	if _, err := New(Options{URLs: []string{"ldaps://dc1.example.com"}, Auth: AuthKerberos}); err == nil {
		t.Fatal("kerberos without keytab accepted")
	}
}
