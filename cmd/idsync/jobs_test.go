package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/state"
	"github.com/idsync/idsync/reporter"
)

// jobHistory writes three jobs and a config naming their state directory.
func jobHistory(t *testing.T) (cfg string, jobs []*state.Job) {
	t.Helper()
	dir := t.TempDir()
	cfg = filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte("state_path: "+filepath.Join(dir, "state")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	var c reporter.Counts
	c.Add(directory.KindUser, reporter.Create, reporter.Success, 120)
	c.Add(directory.KindUser, reporter.Create, reporter.Failed, 1)
	c.Add(directory.KindGroup, reporter.Create, reporter.Success, 7)
	c.Add(directory.KindMembership, reporter.Create, reporter.Success, 310)
	jobs = []*state.Job{
		{ID: "sync_20261123T100000.000Z_0a0b0c0d", TargetType: "user_pool", TargetID: "pool1", Direction: "ingress",
			StartTime: state.UnixMilli{Time: start}, EndTime: state.UnixMilli{Time: start.Add(2500 * time.Millisecond)},
			TriggerType: "auto", Status: state.StatusPartialSuccess, Result: c.Result(), ErrorCode: "PartialFailure",
			ErrorMessage: "1 changes failed; they are retried in the next cycle (see the log and 'idsync jobs show')",
			SessionType:  "AD_SYNC", Mode: "full", SessionID: "session-1", AgentID: "idsync-host1", UsersRead: 2002, GroupsRead: 15},
		{ID: "sync_20261123T101500.000Z_1a1b1c1d", TargetType: "user_pool", TargetID: "pool1", Direction: "ingress",
			StartTime: state.UnixMilli{Time: start.Add(15 * time.Minute)}, EndTime: state.UnixMilli{Time: start.Add(15*time.Minute + 300*time.Millisecond)},
			TriggerType: "auto", Status: state.StatusFailed, ErrorCode: "SourceUnavailable",
			ErrorMessage: "read directory: connect to domain controllers: ldaps://dc1.corp.test:636: connection refused: nothing accepts connections on port 636",
			SessionType:  "AD_SYNC", Mode: "delta", SessionID: "session-2", AgentID: "idsync-host1"},
		{ID: "sync_20261123T110000.000Z_2a2b2c2d", TargetType: "user_pool", TargetID: "pool1", Direction: "ingress",
			StartTime: state.UnixMilli{Time: start.Add(time.Hour)}, EndTime: state.UnixMilli{Time: start.Add(time.Hour + time.Second)},
			TriggerType: "manual", Status: state.StatusSuccess, SessionType: "AD_SYNC", Mode: "delta", SessionID: "session-3", AgentID: "idsync-host1", DryRun: true},
	}
	jobs[0].Objects, jobs[0].ObjectsOmitted = jobObjects(), 1
	h := state.OpenJobs(filepath.Join(dir, "state"))
	for _, j := range jobs {
		if err := h.Save(j); err != nil {
			t.Fatal(err)
		}
	}
	return cfg, jobs
}

// jobObjects is a job's object list: a user updated, one that failed, a
// group whose pool name differs from its directory name, its members.
func jobObjects() []state.JobObject {
	return []state.JobObject{
		{Kind: "user", ExternalID: "fd079e6c-adf2-4520-8d33-339798da5d81", Name: "ann@idp.example", Action: "update", Fields: []string{"department", "job_title"}},
		{Kind: "user", ExternalID: "c7af0265-2902-47d3-98d6-5254362c9fd5", Name: "bob@idp.example", Action: "create",
			Error: "idhub: CreateUser: rpc error: code = FailedPrecondition desc = login taken"},
		{Kind: "group", ExternalID: "5d1c8b0e-77a4-4f0e-9a43-2f1f3a8d0b11", Name: "Sales-EMEA", ADName: "Sales EMEA", Action: "create"},
		{Kind: "group", ExternalID: "5d1c8b0e-77a4-4f0e-9a43-2f1f3a8d0b11", Name: "Sales-EMEA", Action: "members", Added: 2},
	}
}

var msk = time.FixedZone("MSK", 3*60*60)

func TestJobsTextGolden(t *testing.T) {
	_, jobs := jobHistory(t)
	var list bytes.Buffer
	writeJobList(&list, []*state.Job{jobs[2], jobs[1], jobs[0]}, msk)
	golden(t, "jobs-list.golden.txt", list.Bytes())
	var show bytes.Buffer
	writeJobDetail(&show, jobs[0], msk)
	golden(t, "jobs-show.golden.txt", show.Bytes())
}

func TestJobsIDsAndFlags(t *testing.T) {
	cfg, jobs := jobHistory(t)
	run1 := func(args ...string) (string, string, int) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), args, &out, &errOut)
		return out.String(), errOut.String(), code
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"jobs", "show", "last", "--config", cfg}, jobs[2].ID},
		{[]string{"jobs", "--config", cfg, "show", "20261123T1015", "-o", "json"}, `"SynchronizationJobId": "` + jobs[1].ID},
		{[]string{"jobs", "show", "-o", "json", "sync_20261123T10000", "--config", cfg}, `"StartTimeRFC3339": "2026-11-23T10:00:00.000Z"`},
		{[]string{"jobs", "-n", "1", "list", "--config", cfg}, jobs[2].ID},
		{[]string{"jobs", "--config", cfg, "list", "-o", "json", "-n", "2"}, jobs[1].ID},
	} {
		out, errOut, code := run1(tc.args...)
		if code != exitOK || !strings.Contains(out, tc.want) {
			t.Errorf("idsync %v: exit %d, want output with %q\n%s\n%s", tc.args, code, tc.want, out, errOut)
		}
	}
	if out, _, _ := run1("jobs", "-n", "1", "list", "--config", cfg); strings.Contains(out, jobs[1].ID) {
		t.Errorf("-n 1 before the subcommand was ignored:\n%s", out)
	}
	// A prefix of several jobs, and one of none.
	if _, errOut, code := run1("jobs", "show", "20261123T10", "--config", cfg); code != exitUsage || !strings.Contains(errOut, "matches 2 jobs") {
		t.Errorf("ambiguous prefix: exit %d\n%s", code, errOut)
	}
	if _, errOut, code := run1("jobs", "show", "2025", "--config", cfg); code != exitUsage || !strings.Contains(errOut, `no job "2025"`) {
		t.Errorf("unknown prefix: exit %d\n%s", code, errOut)
	}
}

// A damaged object list leaves the record to show, with a warning; the
// list is set aside.
func TestJobsShowDamagedObjectList(t *testing.T) {
	cfg, jobs := jobHistory(t)
	list := filepath.Join(filepath.Dir(cfg), "state", "jobs", "objects", jobs[0].ID+".json")
	if err := os.WriteFile(list, []byte("{garbled"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"jobs", "show", jobs[0].ID, "--config", cfg}, &out, &errOut)
	if code != exitOK || !strings.Contains(out.String(), jobs[0].ID) || !strings.Contains(out.String(), "4 recorded, list not available") {
		t.Errorf("jobs show with a damaged list: exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(errOut.String(), "warning: ") || !strings.Contains(errOut.String(), "damaged") {
		t.Errorf("no warning about the damaged list:\n%s", errOut.String())
	}
	if _, err := os.Stat(list + ".damaged"); err != nil {
		t.Errorf("damaged list not set aside: %v", err)
	}
}
