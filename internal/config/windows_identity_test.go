package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWindowsIdentityOnWindows validates ldap.use_windows_identity as on
// Windows: no username or password needed, over TLS only.
func TestWindowsIdentityOnWindows(t *testing.T) {
	saved := windowsIdentityAvailable
	windowsIdentityAvailable = true
	t.Cleanup(func() { windowsIdentityAvailable = saved })
	dir := t.TempDir()
	key, err := os.ReadFile(filepath.Join("testdata", "authorized_key.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "key.json"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	base := "userpool_id: ek0o6pgq1ai5tlcgghh1\ncloud_credentials_file_path: key.json\nldap:\n  use_windows_identity: true\n"
	cfg, err := Parse([]byte(base+"  host: ldaps://dc1.example.com:636\n"), ParseOptions{Dir: dir})
	if err != nil {
		t.Fatalf("windows identity over LDAPS refused: %v", err)
	}
	if !cfg.LDAP.UseWindowsIdentity {
		t.Error("use_windows_identity lost")
	}
	_, err = Parse([]byte(base+"  host: ldap://dc1.example.com:389\n  allow_insecure_bind: true\n"), ParseOptions{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "only over TLS") {
		t.Errorf("windows identity over plain ldap: %v", err)
	}
}
