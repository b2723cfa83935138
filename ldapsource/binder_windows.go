//go:build windows

package ldapsource

import (
	"crypto/x509"

	"github.com/go-ldap/ldap/v3"
	"github.com/go-ldap/ldap/v3/gssapi"
)

// newSSPIClient uses the logon credentials of the running process.
var newSSPIClient = func(cert *x509.Certificate) (ldap.GSSAPIClient, error) {
	if cert != nil {
		return gssapi.NewSSPIClientWithChannelBinding(cert)
	}
	return gssapi.NewSSPIClient()
}
