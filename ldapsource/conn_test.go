package ldapsource

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idsync/idsync/internal/testing/fakead"
)

// testPKI makes a CA and a server certificate for 127.0.0.1, and writes the
// CA to a PEM file.
func testPKI(t *testing.T) (server *tls.Config, caFile string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "dc1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}, caFile
}

func TestConnectTLS(t *testing.T) {
	serverTLS, caFile := testPKI(t)
	ldaps := startFake(t, fakead.Options{TLS: serverTLS})
	addUser(ldaps, fakeUser{cn: "alice", ou: ouStaff, n: 1})
	starttls := startFake(t, fakead.Options{StartTLS: serverTLS})
	addUser(starttls, fakeUser{cn: "alice", ou: ouStaff, n: 1})
	tests := []struct {
		name    string
		f       *fakead.Server
		mod     func(*Options)
		wantErr string
	}{
		{name: "ldaps verified with CA file", f: ldaps, mod: func(o *Options) { o.CAFile = caFile }},
		{name: "ldaps unverified certificate refused", f: ldaps, wantErr: "not signed by a trusted CA"},
		{name: "ldaps insecure skip verify", f: ldaps, mod: func(o *Options) { o.InsecureSkipVerify = true }},
		{name: "starttls verified", f: starttls, mod: func(o *Options) { o.CAFile = caFile; o.StartTLS = true; o.AllowInsecureBind = false }},
		{name: "starttls unverified refused", f: starttls, mod: func(o *Options) { o.StartTLS = true }, wantErr: "not signed by a trusted CA"},
		{name: "plain bind refused", f: starttls, mod: func(o *Options) { o.AllowInsecureBind = false }, wantErr: ErrInsecureBind.Error()},
		{name: "bad CA file", f: ldaps, mod: func(o *Options) { o.CAFile = filepath.Join(t.TempDir(), "none.pem") }, wantErr: "read CA file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := newTestSource(t, tt.f, func(o *Options) {
				o.DeltaMode = DeltaUSN
				if tt.mod != nil {
					tt.mod(o)
				}
			})
			snap, err := src.Snapshot(context.Background())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Snapshot: %v", err)
			}
			if len(snap.Users) != 1 {
				t.Fatalf("users = %d, want 1", len(snap.Users))
			}
			if rep := src.Check(context.Background()); rep.TLSVersion == "" || !rep.OK() {
				t.Fatalf("Check = %+v, want TLS and no problems", rep)
			}
		})
	}
}

func TestPlainBindRefusedBeforeDialing(t *testing.T) {
	// Nothing listens on this URL: the refusal must come before any dial.
	src, err := New(Options{URLs: []string{"ldap://127.0.0.1:1"}, Username: "svc@example.com", Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Snapshot(context.Background())
	if !errors.Is(err, ErrInsecureBind) {
		t.Fatalf("err = %v, want ErrInsecureBind", err)
	}
}

func TestBindFailureHidesPassword(t *testing.T) {
	f := startFake(t, fakead.Options{})
	src := newTestSource(t, f, func(o *Options) { o.Password = "Wr0ng-Secret-Value" })
	_, err := src.Snapshot(context.Background())
	if err == nil {
		t.Fatal("Snapshot with a wrong password succeeded")
	}
	if strings.Contains(err.Error(), "Wr0ng-Secret-Value") {
		t.Fatalf("error leaks the password: %v", err)
	}
	if !strings.Contains(err.Error(), "Invalid Credentials") {
		t.Fatalf("err = %v, want invalid credentials", err)
	}
}

func TestFailoverAndReconnect(t *testing.T) {
	ctx := context.Background()
	f := startFake(t, fakead.Options{})
	addUser(f, fakeUser{cn: "alice", ou: ouStaff, n: 1})
	dead := startFake(t, fakead.Options{})
	deadURL := dead.URL()
	dead.Stop()
	src := newTestSource(t, f, func(o *Options) { o.URLs = []string{deadURL, f.URL()}; o.DeltaMode = DeltaUSN })
	rep := src.Check(ctx)
	if rep.URL != f.URL() || !rep.OK() {
		t.Fatalf("Check = %+v, want the second URL to answer", rep)
	}
	// Cut the live connection: the failed read is an error, the next one
	// re-dials.
	f.CutAfterEntries(0)
	src.mu.Lock()
	_ = src.conn.Close()
	src.mu.Unlock()
	snap, err := src.Snapshot(ctx)
	if err != nil {
		t.Fatalf("Snapshot after reconnect: %v", err)
	}
	if len(snap.Users) != 1 {
		t.Fatalf("users = %d, want 1", len(snap.Users))
	}
}

func TestNewValidates(t *testing.T) {
	_, err := New(Options{URLs: []string{"http://dc"}, Scope: Scope{OrganizationalUnits: make([]string, 11)}, DeltaMode: "poll"})
	if err == nil {
		t.Fatal("New accepted invalid options")
	}
	for _, want := range []string{"scheme must be ldap", "username is required", "at most 10 organizational units", "unknown delta mode"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestOptionsStringHidesPassword(t *testing.T) {
	o := Options{URLs: []string{"ldaps://dc"}, Username: "svc", Password: "Very-Secret-1"}
	printed := []string{o.String(), o.GoString(), fmt.Sprint(&o)}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x"} {
		printed = append(printed, fmt.Sprintf(verb, o), fmt.Sprintf(verb, &o))
	}
	js, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	printed = append(printed, string(js))
	for _, s := range printed {
		if strings.Contains(s, "Very-Secret-1") || strings.Contains(s, fmt.Sprintf("%x", "Very-Secret-1")) || !strings.Contains(s, "secret") {
			t.Errorf("options print as %q", s)
		}
	}
}
