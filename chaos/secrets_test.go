//go:build chaos

package chaos

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idsync/idsync/internal/emulator"
)

// TestSecretsNeverWritten runs idsync the ways that write output: a debug
// sync logging to a file, plan, check, jobs list and show as JSON, a sync
// with a wrong LDAP password, one with a forged IAM token, and one with a
// service account key. Then it greps everything they printed and every
// file they wrote for the passwords, tokens and the private key.
func TestSecretsNeverWritten(t *testing.T) {
	sc := begin(t, "security: secrets never in logs, state, jobs, errors")
	w := newWorld(t, "secrets")
	w.startEmulator(emulator.Options{})
	key, err := w.emu.NewServiceAccountKey()
	if err != nil {
		t.Fatal(err)
	}
	keyDir := t.TempDir() // the key file itself holds the key: keep it out of the grep
	keyPath := filepath.Join(keyDir, "key.json")
	if err := key.WriteFile(keyPath); err != nil {
		t.Fatal(err)
	}
	const (
		wrongPassword = "Wrong-Ldap-Pa55word-77"
		forgedToken   = "t1.forged-token-4f1b9c"
	)
	logFile := filepath.Join(w.dir, "logs", "idsync.log")
	path := w.config(cfg{Extra: "logger:\n  level: debug\n  file:\n    filename: " + logFile + "\n"})
	var printed []string
	run := func(env []string, want int, args ...string) result {
		sc.trial()
		res := runBin(t, append(w.env(), env...), append(args, "--config", path)...)
		if want >= 0 && res.code != want {
			sc.fail("idsync %v: want exit %d, got %s", args, want, res)
		}
		printed = append(printed, res.stdout, res.stderr)
		return res
	}
	res := run(nil, 0, "sync")
	id := strings.TrimSuffix(strings.Fields(res.stdout + " x x")[1], ":")
	run(nil, 0, "plan")
	run(nil, 0, "check")
	run(nil, 0, "jobs", "list", "-o", "json")
	run(nil, 0, "jobs", "show", id, "-o", "json")
	run([]string{"IDSYNC_CHAOS_LDAP_PASSWORD=" + wrongPassword}, 1, "sync", "--full")
	run([]string{"IDSYNC_CHAOS_TOKEN=" + forgedToken}, 1, "sync")
	rewrite(t, path, func(s string) string {
		return strings.Replace(s, "iam_token: {env: IDSYNC_CHAOS_TOKEN}", "cloud_credentials_file_path: "+keyPath, 1)
	})
	run(nil, 0, "sync", "--full")
	run(nil, 0, "check")

	pem := key.PrivateKey[strings.Index(key.PrivateKey, "-----BEGIN"):]
	body := strings.Join(strings.Split(pem, "\n")[1:4], "")
	secrets := map[string]string{
		"LDAP password": w.dc.Password, "wrong LDAP password": wrongPassword,
		"IAM token": iamToken, "forged IAM token": forgedToken, "private key": body[:40],
	}
	check := func(where, text string) {
		for name, s := range secrets {
			if strings.Contains(text, s) {
				sc.fail("the %s appears in %s", name, where)
			}
		}
	}
	for i, p := range printed {
		check("the output of run "+string(rune('1'+i/2)), p)
	}
	files := 0
	err = filepath.Walk(w.dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || strings.HasSuffix(p, ".yaml") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files++
		check(p, string(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(logFile); err != nil || !strings.Contains(string(b), "DEBUG") {
		sc.fail("the debug log file was not written (%v)", err)
	}
	t.Logf("grepped %d outputs and %d files", len(printed), files)
}
