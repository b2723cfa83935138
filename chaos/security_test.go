//go:build chaos

package chaos

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idsync/idsync/internal/emulator"
)

// TestSecurityTLS: a DC certificate that does not verify is refused with a
// clear message and accepted only with the explicit opt-out; a simple bind
// over plain ldap:// is refused.
func TestSecurityTLS(t *testing.T) {
	w := newWorld(t, "sectls")
	w.startEmulator(emulator.Options{})
	t.Run("certificate", func(t *testing.T) {
		sc := begin(t, "security: unverifiable DC certificate refused")
		wrongCA, err := filepath.Abs("testdata/ca.pem")
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name, ldap string
			code       int
			want       string
		}{
			{"another CA", "  certificate_path: " + wrongCA, 1, "not signed by a trusted CA"},
			{"system roots only", "", 1, "not signed by a trusted CA"},
			{"another CA, verification off", "  certificate_path: " + wrongCA + "\n  insecure_skip_verify: true", 0, ""},
		} {
			sc.trial()
			path := w.config(cfg{State: filepath.Join(w.dir, "state-tls-"+strings.ReplaceAll(tc.name, " ", "-"))})
			rewrite(t, path, func(s string) string {
				s = strings.Replace(s, "  certificate_path: "+w.dc.CAFile+"\n", "", 1)
				if tc.ldap != "" {
					s = strings.Replace(s, "  timeout: 10s\n", "  timeout: 10s\n"+tc.ldap+"\n", 1)
				}
				return s
			})
			res := w.run(path, "sync")
			if res.code != tc.code || !strings.Contains(res.stderr, tc.want) {
				sc.fail("%s: want exit %d and %q, got %s", tc.name, tc.code, tc.want, res)
			}
			if tc.code == 0 && !strings.Contains(res.stderr, "insecure_skip_verify") {
				sc.fail("%s: skipping verification is not warned about:\n%s", tc.name, res.stderr)
			}
		}
	})
	t.Run("plain-bind", func(t *testing.T) {
		sc := begin(t, "security: simple bind over plain LDAP refused")
		for _, tc := range []struct {
			name, ldap string
			code       int
			want       string
		}{
			{"ldap:// without TLS", "", 2, "clear text"},
			{"ldap:// with StartTLS", "  start_tls: true", 0, ""},
		} {
			sc.trial()
			path := w.config(cfg{LDAPURL: w.dc.LDAPURL, State: filepath.Join(w.dir, "state-plain-"+strings.ReplaceAll(tc.name, " ", "-"))})
			rewrite(t, path, func(s string) string {
				return strings.Replace(s, "  timeout: 10s\n", "  timeout: 10s\n"+tc.ldap+"\n", 1)
			})
			res := w.run(path, "sync")
			if res.code != tc.code || !strings.Contains(res.stderr, tc.want) {
				sc.fail("%s: want exit %d and %q, got %s", tc.name, tc.code, tc.want, res)
			}
		}
	})
}

// rewrite edits a file in place.
func rewrite(t testing.TB, path string, edit func(string) string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(edit(string(b))), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestSecurityPermissions: with check_config_permissions, a config, key or
// CA file readable by others is refused (exit 2, naming the file); every
// file idsync writes to its state directory is private.
func TestSecurityPermissions(t *testing.T) {
	w := newWorld(t, "secperm")
	w.startEmulator(emulator.Options{})
	t.Run("check_config_permissions", func(t *testing.T) {
		sc := begin(t, "security: check_config_permissions refuses open files")
		key, err := w.emu.NewServiceAccountKey()
		if err != nil {
			t.Fatal(err)
		}
		keyPath := filepath.Join(w.dir, "key.json")
		if err := key.WriteFile(keyPath); err != nil {
			t.Fatal(err)
		}
		caPath := filepath.Join(w.dir, "ca.pem")
		ca, err := os.ReadFile(w.dc.CAFile)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(caPath, ca, 0o600); err != nil {
			t.Fatal(err)
		}
		path := w.config(cfg{Extra: "check_config_permissions: true\n"})
		rewrite(t, path, func(s string) string {
			s = strings.Replace(s, "iam_token: {env: IDSYNC_CHAOS_TOKEN}", "cloud_credentials_file_path: "+keyPath, 1)
			return strings.Replace(s, w.dc.CAFile, caPath, 1)
		})
		for _, tc := range []struct {
			file string
			mode os.FileMode
		}{{path, 0o644}, {keyPath, 0o604}, {caPath, 0o640}} {
			sc.trial()
			if err := os.Chmod(tc.file, tc.mode); err != nil {
				t.Fatal(err)
			}
			res := w.run(path, "sync")
			if res.code != 2 || !strings.Contains(res.stderr, tc.file) || !strings.Contains(res.stderr, "chmod 600") {
				sc.fail("%s with mode %04o: want exit 2 naming it, got %s", filepath.Base(tc.file), tc.mode, res)
			}
			if err := os.Chmod(tc.file, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		sc.trial()
		if res := w.run(path, "sync"); res.code != 0 {
			sc.fail("all files private, authorized key: want exit 0, got %s", res)
		}
	})
	t.Run("state-files", func(t *testing.T) {
		sc := begin(t, "security: state and job files are private (0600)")
		sc.trial()
		state := filepath.Join(w.dir, "state-private")
		path := w.config(cfg{State: state, Extra: "logger:\n  file:\n    filename: " + filepath.Join(w.dir, "idsync.log") + "\n"})
		if res := w.run(path, "sync"); res.code != 0 {
			t.Fatalf("sync: %s", res)
		}
		n := 0
		for _, root := range []string{state, filepath.Join(w.dir, "idsync.log")} {
			err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
				if err != nil {
					return err
				}
				n++
				if fi.Mode().Perm()&0o077 != 0 {
					sc.fail("%s has mode %04o, want no access for group and others", p, fi.Mode().Perm())
				}
				return nil
			})
			if err != nil {
				sc.fail("walk %s: %v", root, err)
			}
		}
		if n < 3 {
			sc.fail("only %d state files and directories written", n)
		}
	})
}
