//go:build chaos

package chaos

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadConfigs drives the binary with every broken config of the config
// package's corpus (internal/config/testdata/bad) and this suite's own
// (testdata/badconfig): each must exit 2 and print every expected problem,
// "line N: key: message", exactly as the .err file next to it says.
func TestBadConfigs(t *testing.T) {
	sc := begin(t, "config: broken configs exit 2 naming key and line")
	var files []string
	for _, dir := range []string{"../internal/config/testdata/bad", "testdata/badconfig"} {
		fs, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, fs...)
	}
	if len(files) < 25 {
		t.Fatalf("%d broken configs, want at least 25", len(files))
	}
	env := []string{"IDSYNC_LDAP_PASSWORD=ldap-secret", "IDSYNC_EMPTY="}
	for _, file := range files {
		sc.trial()
		abs, err := filepath.Abs(file)
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(strings.TrimSuffix(file, ".yaml") + ".err")
		if err != nil {
			t.Fatal(err)
		}
		testdata := filepath.Dir(filepath.Dir(abs))
		res := runBin(t, env, "sync", "--config", abs)
		if res.code != 2 {
			sc.fail("%s: %s", file, res)
			continue
		}
		for _, line := range strings.Split(strings.TrimSpace(string(want)), "\n") {
			line = strings.ReplaceAll(line, "$TESTDATA", testdata)
			if !strings.Contains(res.stderr, abs+": "+line) {
				sc.fail("%s: stderr lacks %q:\n%s", file, line, res.stderr)
			}
		}
		if !strings.Contains(res.stderr, "line ") && !strings.Contains(string(want), "required") {
			sc.fail("%s: no line number in:\n%s", file, res.stderr)
		}
		if strings.Contains(res.stderr, "ldap-secret") {
			sc.fail("%s: the password is in the message:\n%s", file, res.stderr)
		}
	}
}
