package ldapsource

import (
	"bytes"
	"crypto/x509"
	"errors"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/idsync/idsync/internal/testing/fakead"
)

var errFakeSSPI = errors.New("fake sspi: no credentials")

// fakeGSSAPI stands in for the SSPI client: it records the SPN it is asked
// for and fails the handshake.
type fakeGSSAPI struct {
	target  string
	deleted bool
}

func (f *fakeGSSAPI) InitSecContext(target string, _ []byte) ([]byte, bool, error) {
	f.target = target
	return nil, false, errFakeSSPI
}

func (f *fakeGSSAPI) InitSecContextWithOptions(target string, tok []byte, _ []int) ([]byte, bool, error) {
	return f.InitSecContext(target, tok)
}

func (f *fakeGSSAPI) NegotiateSaslAuth([]byte, string) ([]byte, error) { return nil, errFakeSSPI }

func (f *fakeGSSAPI) DeleteSecContext() error { f.deleted = true; return nil }

// TestSSPIBinder runs the Windows-identity bind with a fake SSPI client over
// LDAPS: the SPN is ldap/<host of the URL>, the client is bound to the DC's
// certificate (channel binding) and its context is released.
func TestSSPIBinder(t *testing.T) {
	serverTLS, caFile := testPKI(t)
	f := startFake(t, fakead.Options{TLS: serverTLS})
	fake := &fakeGSSAPI{}
	var gotCert *x509.Certificate
	b := &sspiBinder{newClient: func(cert *x509.Certificate) (ldap.GSSAPIClient, error) {
		gotCert = cert
		return fake, nil
	}}
	s := newTestSource(t, f, func(o *Options) { o.CAFile = caFile; o.AllowInsecureBind = false })
	s.binder = b
	_, err := s.connection(t.Context())
	if !errors.Is(err, errFakeSSPI) || !strings.Contains(err.Error(), "sspi bind to ldap/") {
		t.Fatalf("connection error = %v, want the fake SSPI failure", err)
	}
	u, _ := url.Parse(f.URL())
	host, _, _ := net.SplitHostPort(u.Host)
	if fake.target != "ldap/"+host {
		t.Errorf("SPN = %q, want ldap/%s", fake.target, host)
	}
	if gotCert == nil || !bytes.Equal(gotCert.Raw, serverTLS.Certificates[0].Certificate[0]) {
		t.Error("the SSPI client was not bound to the DC's certificate")
	}
	if !fake.deleted {
		t.Error("security context not released")
	}
}
