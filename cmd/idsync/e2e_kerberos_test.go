package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/internal/emulator"
)

// krbEnv reads the Kerberos env file `scripts/samba-dc.sh keytab` writes,
// running it first when missing.
func krbEnv(t *testing.T, dcDir string) map[string]string {
	t.Helper()
	path := filepath.Join(dcDir, "krb", "krb.env")
	if _, err := os.Stat(path); err != nil {
		cmd := exec.CommandContext(t.Context(), "bash", filepath.Join("..", "..", "scripts", "samba-dc.sh"), "keytab")
		cmd.Env = append(os.Environ(), "IDSYNC_DC_DIR="+dcDir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("scripts/samba-dc.sh keytab: %v\n%s", err, out)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	kv := map[string]string{}
	for sc := bufio.NewScanner(f); sc.Scan(); {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			kv[k] = v
		}
	}
	return kv
}

// TestE2EKerberos runs a full and a delta sync with LDAP over Kerberos (a
// keytab, no password in the config) and checks `idsync check` reports the
// mechanism, principal and ticket.
func TestE2EKerberos(t *testing.T) {
	e := newE2E(t, "e2e-krb", emulator.Options{}, "")
	kv := krbEnv(t, e.dc.Dir)
	raw, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(raw), "  host: "+e.dc.LDAPSURL+"\n", "  host: "+kv["IDSYNC_KRB_LDAPS_URL"]+"\n  use_kerberos: true\n", 1)
	cfg = strings.Replace(cfg, "  username: "+e.dc.BindUPN+"\n  password: {env: IDSYNC_E2E_LDAP_PASSWORD}\n", "", 1)
	cfg += "kerberos:\n  keytab_path: " + kv["IDSYNC_KRB_KEYTAB"] + "\n  principal: " + kv["IDSYNC_KRB_PRINCIPAL"] +
		"\n  krb5_config_path: " + kv["IDSYNC_KRB_CONFIG"] + "\n"
	if strings.Contains(cfg, "password") || !strings.Contains(cfg, "use_kerberos") {
		t.Fatalf("config not rewritten for kerberos:\n%s", cfg)
	}
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	out := e.mustRun(exitOK, "check")
	for _, want := range []string{"bound with kerberos as " + kv["IDSYNC_KRB_PRINCIPAL"], "kerberos ticket valid from", "lifetime "} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}

	out = e.mustRun(exitOK, "sync", "--full")
	if !strings.Contains(out, "success (full)") {
		t.Errorf("full sync over kerberos:\n%s", out)
	}
	if diff := cmp.Diff(expected(e.set.Before), e.pool()); diff != "" {
		t.Fatalf("pool after the full sync (-want +got):\n%s", diff)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if err := e.set.Apply(ctx, e.dc.Target()); err != nil {
		t.Fatalf("apply directory changes: %v", err)
	}
	out = e.mustRun(exitOK, "sync")
	if !strings.Contains(out, "success (delta)") {
		t.Errorf("delta sync over kerberos:\n%s", out)
	}
	if diff := cmp.Diff(expected(e.set.After), e.pool()); diff != "" {
		t.Fatalf("pool after the delta (-want +got):\n%s", diff)
	}
}
