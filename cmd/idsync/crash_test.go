package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/zap/zaptest"
)

// writeOfflineConfig writes a valid config whose directory and cloud are
// unreachable, and returns its path.
func writeOfflineConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	key, err := os.ReadFile("../../internal/config/testdata/authorized_key.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "key.json"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := `userpool_id: ek0o6pgq1ai5tlcgghh1
cloud_credentials_file_path: key.json
state_path: state
schedule: "@every 1h"
endpoints:
  organization_manager: "127.0.0.1:9"
  iam: "127.0.0.1:9"
  operation: "127.0.0.1:9"
ldap:
  host: ldaps://127.0.0.1:9
  username: svc@example.com
  password: {env: IDSYNC_LDAP_PASSWORD}
`
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// A panic in a scheduled cycle stops the daemon with exit status 1, not
// 2 (a configuration error, on which the service is not restarted).
func TestDaemonCyclePanicExitsOne(t *testing.T) {
	t.Setenv("IDSYNC_LDAP_PASSWORD", "x")
	cfg, err := loadConfig(writeOfflineConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	d := &daemon{cfg: cfg, log: zaptest.NewLogger(t), runCycle: func(context.Context) { panic("cycle fault") }}
	err = d.run(t.Context())
	if err == nil {
		t.Fatal("the daemon ran on after a panicking cycle")
	}
	if got := exitCode(err); got != exitFailed {
		t.Errorf("exit status %d (%v), want %d", got, err, exitFailed)
	}
}

// A panic in the password hash loop stops the daemon with exit status 1.
func TestDaemonPasswordLoopPanicExitsOne(t *testing.T) {
	t.Setenv("IDSYNC_LDAP_PASSWORD", "x")
	cfg, err := loadConfig(writeOfflineConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.PasswordHashSync.Enabled = true
	d := &daemon{cfg: cfg, log: zaptest.NewLogger(t),
		runCycle:     func(context.Context) {},
		passwordLoop: func(context.Context) { panic("password loop fault") }}
	err = d.run(t.Context())
	if got := exitCode(err); err == nil || got != exitFailed {
		t.Errorf("exit status %d (%v), want %d", got, err, exitFailed)
	}
}
