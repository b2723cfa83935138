//go:build unix

package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckConfigPermissions writes a config and its key file with various
// modes and checks which files check_config_permissions rejects.
func TestCheckConfigPermissions(t *testing.T) {
	key, err := os.ReadFile("testdata/authorized_key.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		cfgMode   os.FileMode
		keyMode   os.FileMode
		pwMode    os.FileMode
		check     bool
		wantLines []string // each must appear in the problems, $DIR for the temp dir
	}{
		{name: "private files", cfgMode: 0o600, keyMode: 0o600, pwMode: 0o400, check: true},
		{name: "unchecked", cfgMode: 0o644, keyMode: 0o644, pwMode: 0o644, check: false},
		{
			name: "world-readable key", cfgMode: 0o600, keyMode: 0o644, pwMode: 0o600, check: true,
			wantLines: []string{"line 2: cloud_credentials_file_path: $DIR/key.json has mode 0644; group and others must have no access (chmod 600) (check_config_permissions is true)"},
		},
		{
			name: "group-readable config and secret file", cfgMode: 0o640, keyMode: 0o600, pwMode: 0o660, check: true,
			wantLines: []string{
				"line 1: check_config_permissions: config file $DIR/idsync.yaml has mode 0640; group and others must have no access (chmod 600)",
				"line 6: ldap.password: $DIR/pw has mode 0660; group and others must have no access (chmod 600) (check_config_permissions is true)",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			doc := "check_config_permissions: " + map[bool]string{true: "true", false: "false"}[tt.check] + `
cloud_credentials_file_path: key.json
userpool_id: p1
ldap:
  host: ldaps://dc1.example.com
  password: {file: pw}
  username: u
`
			write := func(name string, data []byte, mode os.FileMode) string {
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, data, 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(p, mode); err != nil {
					t.Fatal(err)
				}
				return p
			}
			cfgPath := write("idsync.yaml", []byte(doc), tt.cfgMode)
			write("key.json", key, tt.keyMode)
			write("pw", []byte("pw\n"), tt.pwMode)

			cfg, err := Load(cfgPath)
			if len(tt.wantLines) == 0 {
				if err != nil {
					t.Fatalf("load: %v", err)
				}
				if cfg.LDAP.Password.Value() != "pw" {
					t.Errorf("password = %q from the file, want pw", cfg.LDAP.Password.Value())
				}
				return
			}
			got := strings.ReplaceAll(problemText(t, err), dir, "$DIR")
			want := strings.Join(tt.wantLines, "\n") + "\n"
			if got != want {
				t.Errorf("problems:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}
