package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadStatePathNeedsOnlyStatePath(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "config.yaml")
	// Secrets that do not resolve, a missing required key, an unknown key
	// and a lax mode with check_config_permissions: none of it matters.
	data := "check_config_permissions: true\niam_token: {env: IDSYNC_TEST_UNSET_TOKEN}\nldap:\n  password: {file: /nonexistent}\n  hots: x\nstate_path: var/state\n"
	if err := os.WriteFile(file, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(file); err == nil {
		t.Fatal("Load accepted the file; the test needs one it rejects")
	}
	got, err := LoadStatePath(file)
	if err != nil || got != filepath.Join(dir, "var", "state") {
		t.Errorf("LoadStatePath = %q, %v; want %q", got, err, filepath.Join(dir, "var", "state"))
	}

	if err := os.WriteFile(file, []byte("state_path: [a]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var cerr *Error
	if _, err := LoadStatePath(file); !errors.As(err, &cerr) || !strings.Contains(err.Error(), "state_path") {
		t.Errorf("a list as state_path: %v", err)
	}
}
