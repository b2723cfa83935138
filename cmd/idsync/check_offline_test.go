package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckOfflineGolden: check --offline checks the config file, prints
// its warnings, and touches no network: the endpoints and the DC below
// would refuse every connection, and a listener counts any attempt.
func TestCheckOfflineGolden(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dialed := make(chan struct{}, 1)
	go func() {
		if c, err := l.Accept(); err == nil {
			c.Close()
			dialed <- struct{}{}
		}
	}()
	addr := l.Addr().String()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	data := "userpool_id: pool1\niam_token: t\nendpoints:\n  organization_manager: " + addr + "\n  iam: " + addr + "\n  operation: " + addr + "\n  logging: " + addr + "\n  plaintext: true\n" +
		"state_path: state\nldap:\n  host: ldaps://" + addr + "\n  username: svc@corp.test\n  password: p\n" +
		"sync_settings:\n  interval: 4m\n  filter:\n    domain: corp.test\n    organization_units: [\"OU=Staff,DC=other,DC=test\"]\n"
	if err := os.WriteFile(cfg, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"check", "--offline", "--config", cfg}, &out, &errOut); code != exitOK {
		t.Fatalf("check --offline: exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	select {
	case <-dialed:
		t.Error("check --offline opened a connection")
	default:
	}
	golden(t, "check-offline.golden", []byte(strings.ReplaceAll(out.String(), dir, "$DIR")))
}
