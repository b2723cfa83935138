package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idsync/idsync/internal/state"
)

// readOnlyWorld is a config whose secrets do not resolve and whose mode
// check_config_permissions refuses, and a job history, in a directory
// every user may enter.
func readOnlyWorld(t *testing.T) (dir, cfg string, job *state.Job) {
	t.Helper()
	dir, err := os.MkdirTemp("", "idsync-readonly")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg = filepath.Join(dir, "config.yaml")
	data := "userpool_id: pool1\ncheck_config_permissions: true\niam_token: {env: IDSYNC_E2E_UNSET_TOKEN}\nstate_path: state\n" +
		"ldap:\n  host: ldaps://dc.corp.test:636\n  username: svc@corp.test\n  password: {file: /nonexistent/ldap-password}\n"
	if err := os.WriteFile(cfg, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	job = &state.Job{ID: "sync_20261123T100000.000Z_0a0b0c0d", TargetType: "user_pool", TargetID: "pool1", Direction: "ingress",
		StartTime: state.UnixMilli{Time: start}, EndTime: state.UnixMilli{Time: start.Add(time.Second)}, TriggerType: "auto", Status: state.StatusSuccess, Mode: "full"}
	if err := state.OpenJobs(filepath.Join(dir, "state")).Save(job); err != nil {
		t.Fatal(err)
	}
	return dir, cfg, job
}

// TestE2EJobsNeedsOnlyStatePath: the real binary lists and shows jobs with
// a config whose secrets do not resolve and whose permissions
// check_config_permissions refuses; the commands that need the secrets
// still refuse it.
func TestE2EJobsNeedsOnlyStatePath(t *testing.T) {
	_, cfg, job := readOnlyWorld(t)
	run := func(args ...string) (string, string, int) {
		cmd := exec.CommandContext(t.Context(), binPath, append(args, "--config", cfg)...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return out.String(), errb.String(), ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return out.String(), errb.String(), 0
	}
	if out, errOut, code := run("jobs", "list"); code != exitOK || !strings.Contains(out, job.ID) {
		t.Errorf("jobs list: exit %d\n%s\n%s", code, out, errOut)
	}
	if out, errOut, code := run("jobs", "show", job.ID, "-o", "json"); code != exitOK || !strings.Contains(out, job.ID) {
		t.Errorf("jobs show: exit %d\n%s\n%s", code, out, errOut)
	}
	if _, errOut, code := run("plan"); code != exitUsage || !strings.Contains(errOut, "iam_token") {
		t.Errorf("plan with unresolved secrets: exit %d, want %d naming iam_token\n%s", code, exitUsage, errOut)
	}
}
