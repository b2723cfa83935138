package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/testing/krbtest"
	"github.com/idsync/idsync/internal/testing/testdc"
)

// TestE2EKerberos runs a full and a delta sync with LDAP over Kerberos and
// password hashes over DRSR with Kerberos (one keytab, no password in the
// config), and checks `idsync check` reports the mechanism, principal and
// ticket.
func TestE2EKerberos(t *testing.T) {
	e := newE2E(t, "e2e-krb", emulator.Options{}, "")
	k := krbtest.Load(t, e.dc.Dir)
	raw, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(raw), "  host: "+e.dc.LDAPSURL+"\n", "  host: "+k.LDAPSURL+"\n  use_kerberos: true\n", 1)
	cfg = strings.Replace(cfg, "  username: "+e.dc.BindUPN+"\n  password: {env: IDSYNC_E2E_LDAP_PASSWORD}\n", "", 1)
	cfg += "kerberos:\n  keytab_path: " + k.Keytab + "\n  principal: " + k.Principal +
		"\n  krb5_config_path: " + k.Config + "\npassword_hash_sync:\n  enabled: true\ndrsr:\n  use_kerberos: true\n"
	if strings.Contains(cfg, "password:") || !strings.Contains(cfg, "use_kerberos") {
		t.Fatalf("config not rewritten for kerberos:\n%s", cfg)
	}
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	first := e.set.Before.ScopedUsers()[0]
	const pw = "Idsync-E2E-krb-1"
	setPassword(t, testdc.Dial(t, e.dc), first.DN, pw)

	out := e.mustRun(exitOK, "check")
	for _, want := range []string{"bound with kerberos as " + k.Principal, "kerberos ticket valid from", "lifetime ",
		k.Principal + " (kerberos) may replicate password hashes"} {
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
	var got emulator.DumpUser
	for _, u := range e.emu.Dump().Users {
		if u.Username == usernameOf(first.UPN) {
			got = u
		}
	}
	if got.PasswordHashType != "AD_MD4" || got.PasswordFingerprint != fingerprintOf(ntHash(pw)) {
		t.Errorf("user created over kerberos: hash type %q fingerprint %q, want AD_MD4 %q", got.PasswordHashType, got.PasswordFingerprint, fingerprintOf(ntHash(pw)))
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
