package ldapsource

import (
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/go-ldap/ldap/v3"
)

// ErrWindowsIdentityUnsupported is returned for AuthWindows off Windows.
var ErrWindowsIdentityUnsupported = errors.New("the Windows service identity is available only on Windows; use Kerberos with a keytab (use_kerberos) elsewhere")

// binder authenticates a fresh connection to host.
type binder interface {
	// mechanism names the bind for logs and `idsync check`.
	mechanism() string
	bind(c *ldap.Conn, host string) error
	close()
}

func newBinder(o Options) (binder, error) {
	switch o.Auth {
	case AuthKerberos:
		return &kerberosBinder{opts: o.Kerberos, now: o.Now}, nil
	case AuthWindows:
		if newSSPIClient == nil {
			return nil, fmt.Errorf("ldapsource: %w", ErrWindowsIdentityUnsupported)
		}
		return &sspiBinder{newClient: newSSPIClient}, nil
	}
	return &simpleBinder{username: o.Username, password: o.Password}, nil
}

// simpleBinder is a simple bind with a name and password.
type simpleBinder struct {
	username, password string
}

func (b *simpleBinder) mechanism() string { return "simple" }

func (b *simpleBinder) bind(c *ldap.Conn, _ string) error {
	if err := c.Bind(b.username, b.password); err != nil {
		return fmt.Errorf("bind as %s: %w", b.username, err)
	}
	return nil
}

func (b *simpleBinder) close() {}

// sspiBinder binds with the credentials of the running service through
// SSPI (a gMSA when the service runs as one). Over LDAPS the token is bound
// to the DC's certificate (channel binding), which AD may require.
type sspiBinder struct {
	// newClient makes a GSSAPI client; cert is the DC's certificate, nil
	// when the connection has none.
	newClient func(cert *x509.Certificate) (ldap.GSSAPIClient, error)
}

func (b *sspiBinder) mechanism() string { return "windows" }

func (b *sspiBinder) bind(c *ldap.Conn, host string) error {
	var cert *x509.Certificate
	if st, ok := c.TLSConnectionState(); ok && len(st.PeerCertificates) > 0 {
		cert = st.PeerCertificates[0]
	}
	cl, err := b.newClient(cert)
	if err != nil {
		return fmt.Errorf("sspi: acquire the service's credentials: %w", err)
	}
	defer func() { _ = cl.DeleteSecContext() }()
	spn := "ldap/" + host
	if err := c.GSSAPIBind(cl, spn, ""); err != nil {
		return fmt.Errorf("sspi bind to %s as the service account: %w", spn, err)
	}
	return nil
}

func (b *sspiBinder) close() {}
