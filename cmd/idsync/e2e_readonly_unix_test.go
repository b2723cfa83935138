//go:build unix

package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestE2EJobsPermissionHint: when the caller cannot read the config or the
// state directory, the error says which command to run instead.
func TestE2EJobsPermissionHint(t *testing.T) {
	dir, cfg, _ := readOnlyWorld(t)
	bin := filepath.Join(dir, "idsync")
	copyFile(t, binPath, bin, 0o755)
	owner := strconv.Itoa(os.Getuid())
	if u, err := user.Current(); err == nil {
		owner = u.Username
	}
	// run runs the binary as another user when this test runs as root (the
	// files stay root's), or else makes blocked unreadable to its owner.
	nobody := os.Getuid() == 0
	run := func(blocked string, mode os.FileMode, args ...string) (string, int) {
		if !nobody {
			if err := os.Chmod(blocked, 0); err != nil {
				t.Fatal(err)
			}
			defer os.Chmod(blocked, mode)
		} else if err := os.Chmod(blocked, mode); err != nil {
			t.Fatal(err)
		}
		cmd := exec.CommandContext(t.Context(), bin, append(args, "--config", cfg)...)
		if nobody {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		}
		var errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = io.Discard, &errb
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("idsync %v as another user: %v, want a failure\n%s", args, err, errb.String())
		}
		return errb.String(), ee.ExitCode()
	}
	for _, tc := range []struct {
		blocked string
		mode    os.FileMode
	}{
		{cfg, 0o600},                         // the config
		{filepath.Join(dir, "state"), 0o700}, // the job history
	} {
		errOut, code := run(tc.blocked, tc.mode, "jobs", "list")
		want := "runuser -u " + owner + " -- idsync jobs list --config " + cfg
		if !nobody {
			want = "chmod u+rw,go= " + tc.blocked
		}
		if code == exitOK || !strings.Contains(errOut, want) || !strings.Contains(errOut, "permission denied") {
			t.Errorf("%s unreadable: exit %d, want the hint %q:\n%s", tc.blocked, code, want, errOut)
		}
	}
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, mode); err != nil {
		t.Fatal(err)
	}
}
