package idhub_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/idhub"
)

// serveTLS serves a fresh emulator over TLS with a self-signed
// certificate for 127.0.0.1 and returns its address and the PEM file of
// the certificate.
func serveTLS(t *testing.T) (addr, caFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "emulator"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	emu, err := emulator.New(emulator.Options{UserpoolID: confPool, OrganizationID: confOrg, Domain: confDomain,
		StaticToken: confToken, Logger: zaptest.NewLogger(t).Named("emulator")})
	if err != nil {
		t.Fatal(err)
	}
	creds := credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
	srv := grpc.NewServer(append(emu.ServerOptions(), grpc.Creds(creds))...)
	emu.Register(srv)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { srv.Stop(); _ = emu.Close() })
	return lis.Addr().String(), caFile
}

// TestTLSVerifiedWithCAFile: TLS is verified against the system roots by
// default, and a CA file adds roots for every endpoint of the connection.
func TestTLSVerifiedWithCAFile(t *testing.T) {
	addr, caFile := serveTLS(t)
	client := func(ca string) *idhub.Client {
		c, err := idhub.New(idhub.Options{UserpoolID: confPool, StaticToken: confToken, CAFile: ca,
			OrganizationManagerEndpoint: addr, OperationEndpoint: addr, IAMEndpoint: addr,
			Retry: idhub.RetryOptions{MaxAttempts: 1}, Logger: zaptest.NewLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := client("").GetUserpool(ctx); err == nil {
		t.Error("a self-signed certificate was accepted without a CA file")
	}
	if _, err := client(caFile).GetUserpool(ctx); err != nil {
		t.Errorf("with the CA file: %v", err)
	}
}
