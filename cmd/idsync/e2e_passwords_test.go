package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/go-ldap/ldap/v3"
	"golang.org/x/crypto/md4" //lint:ignore SA1019 MD4 is what AD's NT hash is; needed to compute the expected value.

	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/testing/testdc"
)

// ntHash is MD4(UTF-16LE(password)) in hex: the AD_MD4 value.
func ntHash(password string) string {
	h := md4.New()
	for _, r := range utf16.Encode([]rune(password)) {
		h.Write([]byte{byte(r), byte(r >> 8)})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// fingerprintOf is how the emulator's dump shows a password hash.
func fingerprintOf(hash string) string {
	sum := sha256.Sum256([]byte(hash))
	return hex.EncodeToString(sum[:4])
}

func setPassword(t *testing.T, conn *ldap.Conn, dn, password string) {
	t.Helper()
	q := utf16.Encode([]rune(`"` + password + `"`))
	b := make([]byte, 0, 2*len(q))
	for _, r := range q {
		b = append(b, byte(r), byte(r>>8))
	}
	req := ldap.NewModifyRequest(dn, nil)
	req.Replace("unicodePwd", []string{string(b)})
	if err := conn.Modify(req); err != nil {
		t.Fatalf("set the password of %s: %v", dn, err)
	}
}

func TestE2EPasswordHashSync(t *testing.T) {
	e := newE2E(t, "e2e-pw", emulator.Options{}, "")
	raw, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(raw) + "password_hash_sync:\n  enabled: true\ndrsr:\n  host: " + e.dc.Addr +
		"\n  username: Administrator\n  password: {env: IDSYNC_E2E_LDAP_PASSWORD}\n"
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	conn := testdc.Dial(t, e.dc)
	users := e.set.Before.ScopedUsers()
	first, second := users[0], users[1]
	const pw1, pw2 = "Idsync-E2E-first-1", "Idsync-E2E-second-2"
	setPassword(t, conn, first.DN, pw1)

	out := e.mustRun(exitOK, "check")
	if !strings.Contains(out, "[ok  ] passwords") {
		t.Errorf("check with password hash sync:\n%s", out)
	}

	// New users are created with their AD password hash.
	e.mustRun(exitOK, "sync")
	byName := map[string]emulator.DumpUser{}
	for _, u := range e.emu.Dump().Users {
		byName[u.Username] = u
	}
	if got := byName[usernameOf(first.UPN)]; got.PasswordHashType != "AD_MD4" || got.PasswordFingerprint != fingerprintOf(ntHash(pw1)) {
		t.Fatalf("user created with hash: type %q fingerprint %q, want AD_MD4 %q", got.PasswordHashType, got.PasswordFingerprint, fingerprintOf(ntHash(pw1)))
	}

	// A password changed in AD reaches the pool at the next password session.
	setPassword(t, conn, second.DN, pw2)
	out = e.mustRun(exitOK, "sync", "--password-hashes")
	if !strings.Contains(out, "success") {
		t.Errorf("password session summary:\n%s", out)
	}
	for _, u := range e.emu.Dump().Users {
		if u.Username == usernameOf(second.UPN) && u.PasswordFingerprint != fingerprintOf(ntHash(pw2)) {
			t.Errorf("changed password: fingerprint %q, want %q", u.PasswordFingerprint, fingerprintOf(ntHash(pw2)))
		}
	}
	sess := e.emu.Dump().Sessions
	last := sess[len(sess)-1]
	if last.Type != "AD_PASSWORD_HASH" || last.Status != "COMPLETED" {
		t.Fatalf("last session %+v, want a completed AD_PASSWORD_HASH session", last)
	}
	var updated int64
	for _, p := range last.Progress {
		if p.Object == "USER" && p.Change == "PASSWORD_HASH_UPDATE" {
			updated = p.Successful
		}
	}
	if updated < 1 {
		t.Errorf("password session progress %+v, want PASSWORD_HASH_UPDATE for the changed user", last.Progress)
	}

	// Nothing the runs wrote holds a hash or a password.
	var written strings.Builder
	for _, path := range append(listFiles(t, e.dir), e.config) {
		b, _ := os.ReadFile(path)
		written.Write(b)
	}
	for _, secret := range []string{pw1, pw2, ntHash(pw1), ntHash(pw2)} {
		if strings.Contains(written.String(), secret) {
			t.Errorf("a password or hash was written under %s", e.dir)
		}
	}
}
