package testdc

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/internal/testing/adseed"
)

const goodEnv = `# written by scripts/samba-dc.sh
IDSYNC_DC_LDAPS_URL=ldaps://127.77.0.1:636
IDSYNC_DC_LDAP_URL=ldap://127.77.0.1:389
IDSYNC_DC_BIND_DN=CN=Administrator,CN=Users,DC=idsync,DC=test
IDSYNC_DC_BIND_UPN=administrator@idsync.test
IDSYNC_DC_PASSWORD=Ids-a=b-9aZ

IDSYNC_DC_BASE_DN=DC=idsync,DC=test
IDSYNC_DC_DOMAIN=idsync.test
IDSYNC_DC_CA_FILE=/tmp/x/tls/ca.pem
IDSYNC_DC_ADDR=127.77.0.1
`

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "dc.env")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoad(t *testing.T) {
	p := writeFile(t, goodEnv)
	got, err := Load(p)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := DC{
		LDAPSURL: "ldaps://127.77.0.1:636", LDAPURL: "ldap://127.77.0.1:389",
		BindDN: "CN=Administrator,CN=Users,DC=idsync,DC=test", BindUPN: "administrator@idsync.test",
		Password: "Ids-a=b-9aZ", BaseDN: "DC=idsync,DC=test", Domain: "idsync.test",
		CAFile: "/tmp/x/tls/ca.pem", Addr: "127.77.0.1", Dir: filepath.Dir(p),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load (-want +got):\n%s", diff)
	}
	if s := got.String(); strings.Contains(s, got.Password) {
		t.Errorf("String() leaks the password: %s", s)
	}
	if tg := got.Target(); tg.URL != want.LDAPSURL || tg.BindDN != want.BindUPN || tg.CAFile != want.CAFile {
		t.Errorf("Target() = %+v", tg)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, content, wantErr string
		is                     error
	}{
		{"missing keys", "IDSYNC_DC_LDAPS_URL=ldaps://x:636\n", "missing IDSYNC_DC_BASE_DN, IDSYNC_DC_BIND_UPN, IDSYNC_DC_CA_FILE, IDSYNC_DC_PASSWORD", ErrIncomplete},
		{"malformed", goodEnv + "garbage\n", "malformed line", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeFile(t, tt.content))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Load error = %v, want it to contain %q", err, tt.wantErr)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("Load error %v is not %v", err, tt.is)
			}
		})
	}
	if _, err := Load(filepath.Join(t.TempDir(), "absent")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(absent) = %v, want ErrNotExist", err)
	}
}

func TestMarkSeeded(t *testing.T) {
	dir := t.TempDir()
	if got, err := SeededProfiles(dir); err != nil || len(got) != 0 {
		t.Fatalf("SeededProfiles(empty) = %v, %v", got, err)
	}
	a := &adseed.Dataset{Profile: "test", BaseDN: "DC=a"}
	b := &adseed.Dataset{Profile: "w1k", BaseDN: "DC=a"}
	a2 := &adseed.Dataset{Profile: "test", BaseDN: "DC=b"}
	for _, ds := range []*adseed.Dataset{a, b, a, a2} {
		if err := MarkSeeded(dir, ds); err != nil {
			t.Fatal(err)
		}
	}
	got, err := SeededProfiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"test": a2.Fingerprint(), "w1k": b.Fingerprint()}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SeededProfiles (-want +got):\n%s", diff)
	}
	if a.Fingerprint() == a2.Fingerprint() {
		t.Error("datasets with different base DNs have the same fingerprint")
	}
}

func TestLockExclusive(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lock(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if _, err := lock(ctx, dir); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second lock while held: err = %v, want deadline exceeded", err)
	}
	unlock()
	unlock2, err := lock(t.Context(), dir)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	unlock2()

	// An abandoned lock older than staleLock is taken over.
	p := filepath.Join(dir, lockFile)
	if err := os.WriteFile(p, []byte("1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * staleLock)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	unlock3, err := lock(t.Context(), dir)
	if err != nil {
		t.Fatalf("lock over a stale lock: %v", err)
	}
	unlock3()
}
