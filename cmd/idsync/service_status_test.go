package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kardianos/service"

	"github.com/idsync/idsync/internal/state"
)

func TestServiceStatusReport(t *testing.T) {
	def := &serviceDefinition{Where: "/etc/systemd/system/idsync.service",
		Command: []string{"/usr/local/bin/idsync", "run", "--config", "/etc/idsync/my config.yaml"}, Account: "idsync"}
	lastFor := func(cfg string) string { return "from " + cfg }
	status := func(st service.Status, err error) func() (service.Status, error) {
		return func() (service.Status, error) { return st, err }
	}
	for _, tc := range []struct {
		name   string
		status func() (service.Status, error)
		def    *serviceDefinition
		config string
		want   string
		// exit is the error the report exits with: only running and
		// stopped services exit 0.
		exit error
	}{
		{"running", status(service.StatusRunning, nil), def, "", `idsync service: running (linux-systemd)
  name      idsync.service
  defined   /etc/systemd/system/idsync.service
  runs      /usr/local/bin/idsync run --config '/etc/idsync/my config.yaml'
  account   idsync
  config    /etc/idsync/my config.yaml
  last job  from /etc/idsync/my config.yaml
`, nil},
		{"stopped, config given", status(service.StatusStopped, nil), def, "/tmp/other.yaml", `idsync service: stopped (linux-systemd)
  name      idsync.service
  defined   /etc/systemd/system/idsync.service
  runs      /usr/local/bin/idsync run --config '/etc/idsync/my config.yaml'
  account   idsync
  config    /tmp/other.yaml
  last job  from /tmp/other.yaml
`, nil},
		{"failed", status(service.StatusUnknown, errors.New("service in failed state")), def, "", `idsync service: failed (linux-systemd)
  name      idsync.service
  defined   /etc/systemd/system/idsync.service
  runs      /usr/local/bin/idsync run --config '/etc/idsync/my config.yaml'
  account   idsync
  config    /etc/idsync/my config.yaml
  last job  from /etc/idsync/my config.yaml
`, errServiceFailed},
		{"not installed", status(service.StatusUnknown, service.ErrNotInstalled), nil, "", `idsync service: not installed (linux-systemd)
  name      idsync.service
  install   idsync service install --config FILE
`, errServiceNotInstalled},
		{"unit without a manager", status(service.StatusUnknown, errors.New("exit status 1")), nil, "", `idsync service: unknown (exit status 1) (linux-systemd)
  name      idsync.service
  config    -
`, errServiceUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			r := inspectService("linux-systemd", "idsync.service", tc.status, tc.def, tc.config, lastFor)
			r.write(&out)
			if diff := cmp.Diff(tc.want, out.String()); diff != "" {
				t.Errorf("report (-want +got):\n%s", diff)
			}
			if err := r.err(); !errors.Is(err, tc.exit) || (err == nil) != (tc.exit == nil) {
				t.Errorf("exits with %v, want %v", err, tc.exit)
			}
			if got, want := exitCode(r.err()), map[bool]int{true: exitOK, false: exitFailed}[tc.exit == nil]; got != want {
				t.Errorf("exit code %d, want %d", got, want)
			}
		})
	}
}

func TestConfigArg(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"/usr/bin/idsync", "run", "--config", "/etc/idsync/config.yaml"}, "/etc/idsync/config.yaml"},
		{[]string{"idsync", "run", "-config", "/a.yaml"}, "/a.yaml"},
		{[]string{"idsync", "run", "--config=/b.yaml"}, "/b.yaml"},
		{[]string{"idsync", "run"}, ""},
		{[]string{"idsync", "run", "--config"}, ""},
	} {
		if got := configArg(tc.args); got != tc.want {
			t.Errorf("configArg(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}

// The last job line comes from the job history of the config's state_path.
func TestServiceStatusLastJob(t *testing.T) {
	cfg, jobs := jobHistory(t)
	newest := jobs[len(jobs)-1]
	if got := lastJob(cfg); !strings.HasPrefix(got, newest.ID+" "+newest.Status+", started ") {
		t.Errorf("lastJob = %q, want the newest job %s", got, newest.ID)
	}
	start := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	j := &state.Job{ID: "sync_x", Status: state.StatusFailed, TriggerType: "auto", StartTime: state.UnixMilli{Time: start},
		EndTime: state.UnixMilli{Time: start.Add(300 * time.Millisecond)}, ErrorCode: "SourceUnavailable", ErrorMessage: "read directory:\n connection refused"}
	if got, want := describeJob(j, time.UTC), "sync_x failed, started 2026-11-23T10:00:00Z (auto, took 300ms): read directory: connection refused"; got != want {
		t.Errorf("describeJob = %q, want %q", got, want)
	}
	if got := lastJob(t.TempDir() + "/missing.yaml"); !strings.HasPrefix(got, "unknown: ") {
		t.Errorf("lastJob of a missing config = %q", got)
	}
}
