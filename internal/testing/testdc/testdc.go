package testdc

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/idsync/idsync/internal/testing/adseed"
)

// Env returns the running DC's details from ${IDSYNC_DC_DIR:-/tmp/idsync-dc}/dc.env
// after checking that LDAPS answers. With IDSYNC_DC_AUTOSTART=1 it first runs
// `scripts/samba-dc.sh up`. When the DC is unavailable the test fails if
// CI=true and is skipped otherwise.
func Env(t testing.TB) DC {
	t.Helper()
	dc, err := available(t)
	if err != nil {
		unavailable(t, err)
	}
	return dc
}

// Seeded is Env plus EnsureSeeded: it returns the DC and the expected dataset
// of profile, seeding it first if this DC does not have it yet.
func Seeded(t testing.TB, profile string) (DC, *adseed.Dataset) {
	t.Helper()
	dc := Env(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	ds, _, err := EnsureSeeded(ctx, dc, profile, adseed.SeedOptions{})
	if err != nil {
		t.Fatalf("testdc: seed profile %s into %s: %v", profile, dc, err)
	}
	return dc, ds
}

// Dial returns a bound LDAPS connection to the DC, closed when the test ends.
func Dial(t testing.TB, dc DC) *ldap.Conn {
	t.Helper()
	conn, err := dc.Target().Dial(t.Context())
	if err != nil {
		t.Fatalf("testdc: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func available(t testing.TB) (DC, error) {
	dir := DefaultDir()
	if os.Getenv("IDSYNC_DC_AUTOSTART") == "1" {
		if err := startDC(t); err != nil {
			return DC{}, err
		}
	}
	dc, err := Load(EnvFile(dir))
	if err != nil {
		return DC{}, err
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	conn, err := dc.Target().Dial(ctx)
	if err != nil {
		return DC{}, fmt.Errorf("dc in %s does not answer: %w", dir, err)
	}
	conn.Close()
	return dc, nil
}

func unavailable(t testing.TB, err error) {
	t.Helper()
	msg := fmt.Sprintf("testdc: no Samba DC (%v); start one with scripts/samba-dc.sh up or set IDSYNC_DC_AUTOSTART=1", err)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// startDC runs scripts/samba-dc.sh up (idempotent) from the module root.
func startDC(t testing.TB) error {
	root, err := ModuleRoot()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "scripts", "samba-dc.sh"), "up")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("scripts/samba-dc.sh up: %w\n%s", err, out)
	}
	return nil
}

// ModuleRoot walks up from the working directory to the directory of
// go.mod, where scripts/ lives.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find module root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("find module root: no go.mod above the working directory")
		}
		dir = parent
	}
}
