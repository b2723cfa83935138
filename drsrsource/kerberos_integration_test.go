package drsrsource_test

import (
	"testing"

	"github.com/idsync/idsync/drsrsource"
	"github.com/idsync/idsync/internal/testing/krbtest"
	"github.com/idsync/idsync/internal/testing/pwfixture"
)

// TestKerberosHashes reads password hashes over a sealed DRSUAPI channel
// authenticated with the test DC's keytab instead of a password.
func TestKerberosHashes(t *testing.T) {
	f := pwfixture.New(t, "krb")
	k := krbtest.Load(t, f.DC.Dir)
	a := f.AddUser(f.In, "pw-kerb")
	o := f.Admin()
	o.Username, o.Password, o.TargetName = "", "", f.DC.Host
	o.Kerberos = &drsrsource.Kerberos{KeytabPath: k.Keytab, Principal: k.Principal, ConfigPath: k.Config}
	c := dial(t, o)
	accs, _, full := collect(t, c, drsrsource.Cursor{})
	acc, ok := accs[a.GUID]
	if !full || !ok {
		t.Fatalf("first pass over kerberos: full=%v, %d accounts, %s missing", full, len(accs), a.DN)
	}
	var got string
	if err := c.Hashes(t.Context(), []drsrsource.Account{acc}, func(s *drsrsource.Secret) error {
		got = s.Hash.Hex()
		return nil
	}); err != nil {
		t.Fatalf("Hashes over kerberos: %v", err)
	}
	if got != pwfixture.NTHash(a.Password) {
		t.Errorf("hash of %s over kerberos is not MD4(UTF-16LE(password))", a.DN)
	}

	// A stale keytab fails the bind.
	o.Kerberos = &drsrsource.Kerberos{KeytabPath: k.StaleKeytab, Principal: k.StalePrincipal, ConfigPath: k.Config}
	if c, err := drsrsource.Dial(t.Context(), o); err == nil {
		c.Close()
		t.Fatal("bound with a stale keytab")
	}
}
