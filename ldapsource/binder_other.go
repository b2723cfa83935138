//go:build !windows

package ldapsource

import (
	"crypto/x509"

	"github.com/go-ldap/ldap/v3"
)

// newSSPIClient is nil: SSPI exists only on Windows.
var newSSPIClient func(cert *x509.Certificate) (ldap.GSSAPIClient, error)
