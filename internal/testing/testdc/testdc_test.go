package testdc_test

import (
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/idsync/idsync/internal/testing/testdc"
)

// TestEnvReachesDC checks the env file against the running DC: LDAPS with
// certificate verification against the CA file, bind, and the rootDSE.
func TestEnvReachesDC(t *testing.T) {
	dc := testdc.Env(t)
	conn := testdc.Dial(t, dc)
	res, err := conn.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"defaultNamingContext", "dnsHostName"}, nil))
	if err != nil {
		t.Fatalf("rootDSE: %v", err)
	}
	if got := res.Entries[0].GetAttributeValue("defaultNamingContext"); got != dc.BaseDN {
		t.Errorf("defaultNamingContext = %q, env file says %q", got, dc.BaseDN)
	}
	if got := res.Entries[0].GetAttributeValue("dnsHostName"); dc.Host != "" && got != dc.Host {
		t.Errorf("dnsHostName = %q, env file says %q", got, dc.Host)
	}
}
