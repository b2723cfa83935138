package main

import (
	"os"
	"strings"
	"testing"

	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/testing/testdc"
)

// TestE2EYandexDRSRSectionSyncsHashes: a Yandex agent config has a drsr
// section and no password_hash_sync key; as with the Yandex agent, its
// users get their AD password hashes.
func TestE2EYandexDRSRSectionSyncsHashes(t *testing.T) {
	e := newE2E(t, "e2e-ydrsr", emulator.Options{}, "")
	raw, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(raw) + "drsr:                               # password auth\n  host: " + e.dc.Addr +
		"\n  username: Administrator\n  password: {env: IDSYNC_E2E_LDAP_PASSWORD}\n"
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	conn := testdc.Dial(t, e.dc)
	first := e.set.Before.ScopedUsers()[0]
	const pw = "Idsync-E2E-yandex-1"
	setPassword(t, conn, first.DN, pw)

	out := e.mustRun(exitOK, "check")
	if !strings.Contains(out, "as in the Yandex agent") || !strings.Contains(out, "[ok  ] passwords") {
		t.Errorf("check of a Yandex config with a drsr section:\n%s", out)
	}
	e.mustRun(exitOK, "sync")
	var found bool
	for _, u := range e.emu.Dump().Users {
		if u.Username == usernameOf(first.UPN) {
			found = true
			if u.PasswordHashType != "AD_MD4" || u.PasswordFingerprint != fingerprintOf(ntHash(pw)) {
				t.Errorf("user created with hash type %q fingerprint %q, want AD_MD4 %q", u.PasswordHashType, u.PasswordFingerprint, fingerprintOf(ntHash(pw)))
			}
		}
	}
	if !found {
		t.Fatalf("user %s not created", first.UPN)
	}
}
