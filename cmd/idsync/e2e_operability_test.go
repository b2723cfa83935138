package main

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/state"
)

// TestE2ESettingsDiffAndFailedJobs: check shows what the first sync changes
// in the pool's settings; a sync records the settings it pushed (old ->
// new) in its job and log; a cycle that fails on authentication before it
// starts still records a job with the reason.
func TestE2ESettingsDiffAndFailedJobs(t *testing.T) {
	e := newE2E(t, "e2e-ops", emulator.Options{}, "")
	out := e.mustRun(exitOK, "check")
	if !strings.Contains(out, "the next sync changes") || !strings.Contains(out, "filter: (none) -> domain "+e.dc.Domain) {
		t.Errorf("check before the first sync lacks the settings diff:\n%s", out)
	}
	// In a pipe, sync prints one progress line per phase.
	_, logs, code := e.run("sync")
	if code != exitOK || !regexp.MustCompile(`(?m)^read \d+ directory objects in \d+ pages in `).MatchString(logs) ||
		!regexp.MustCompile(`(?m)^applied (\d+)/(\d+) changes in `).MatchString(logs) {
		t.Errorf("sync: exit %d, stderr lacks a line per phase:\n%s", code, logs)
	}
	if out := e.mustRun(exitOK, "check"); !strings.Contains(out, "the pool's synchronization settings match sync_settings") {
		t.Errorf("check after the sync:\n%s", out)
	}

	raw, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	capture := strings.Replace(string(raw), "sync_settings:\n", "sync_settings:\n  allow_to_capture_users: true\n", 1)
	if err := os.WriteFile(e.config, []byte(capture), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := e.mustRun(exitOK, "check"); !strings.Contains(out, "allow_to_capture_users: false -> true") {
		t.Errorf("check lacks the changed setting:\n%s", out)
	}
	_, logs, code = e.run("sync")
	if code != exitOK || !strings.Contains(logs, `"field": "allow_to_capture_users", "old": "false", "new": "true"`) {
		t.Errorf("sync after a settings change: exit %d, log lacks old -> new:\n%s", code, logs)
	}
	var j state.Job
	if err := json.Unmarshal([]byte(e.mustRun(exitOK, "jobs", "show", "last", "-o", "json")), &j); err != nil {
		t.Fatal(err)
	}
	if len(j.SettingsChanges) != 1 || j.SettingsChanges[0] != (state.SettingChange{Field: "allow_to_capture_users", Old: "false", New: "true"}) {
		t.Errorf("job settings changes %+v", j.SettingsChanges)
	}
	if out := e.mustRun(exitOK, "jobs", "show", "last"); !strings.Contains(out, "settings      allow_to_capture_users: false -> true") {
		t.Errorf("jobs show lacks the settings change:\n%s", out)
	}

	// A token the pool refuses: the cycle fails before it starts, and the
	// job history says why.
	if err := os.WriteFile(e.config, []byte(strings.Replace(capture, "{env: IDSYNC_E2E_TOKEN}", "not-the-token", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, logs, code = e.run("sync")
	if code == exitOK || !strings.Contains(logs, "ERROR") {
		t.Errorf("sync with a refused token: exit %d, want a failure logged at ERROR:\n%s", code, logs)
	}
	if err := json.Unmarshal([]byte(e.mustRun(exitOK, "jobs", "show", "last", "-o", "json")), &j); err != nil {
		t.Fatal(err)
	}
	if j.Status != state.StatusFailed || j.ErrorCode != "PermissionDenied" || j.ErrorMessage == "" {
		t.Errorf("job of the refused sync: status %q code %q message %q", j.Status, j.ErrorCode, j.ErrorMessage)
	}
}
