package ldapsource

import (
	"crypto/x509"
	"os"
	"testing"
)

// TestCAFileReplacesSystemRoots: with a CA file, the DC's certificate is
// verified against that file's CAs only, not against them and the system
// roots (as README and config.example.yaml say).
func TestCAFileReplacesSystemRoots(t *testing.T) {
	_, caFile := testPKI(t)
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	want := x509.NewCertPool()
	if !want.AppendCertsFromPEM(pem) {
		t.Fatal("test CA file holds no certificate")
	}
	s := &Source{opts: Options{CAFile: caFile}}
	tc, err := s.tlsConfig("dc1.corp.test")
	if err != nil {
		t.Fatal(err)
	}
	if tc.RootCAs == nil || !tc.RootCAs.Equal(want) {
		t.Error("with a CA file the trusted roots are not exactly the file's CAs")
	}
	if tc, err := (&Source{}).tlsConfig("dc1.corp.test"); err != nil || tc.RootCAs != nil {
		t.Errorf("without a CA file: roots %v, err %v; want the system roots (nil)", tc.RootCAs, err)
	}
}
