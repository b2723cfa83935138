package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/agent"
	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/state"
	"github.com/idsync/idsync/reporter"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, diff)
	}
}

func TestPlanJSONGolden(t *testing.T) {
	expires := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	in := agent.Input{
		Mode: agent.ModeFull,
		Users: []directory.User{
			{ExternalID: "0d7c4b1e-0000-4000-8000-000000000001", DN: "CN=Ann Lee,OU=Staff,DC=corp,DC=test", Username: "ann@corp.test",
				FullName: "Ann Lee", GivenName: "Ann", FamilyName: "Lee", Email: "ann@corp.test", Enabled: true, ExpiresAt: expires},
			{ExternalID: "0d7c4b1e-0000-4000-8000-000000000002", DN: "CN=Bob,OU=Staff,DC=corp,DC=test", Username: "bob@corp.test",
				FullName: "Bob Stone", JobTitle: "Engineer", Enabled: false},
			{ExternalID: "0d7c4b1e-0000-4000-8000-000000000003", DN: "CN=Bad,OU=Staff,DC=corp,DC=test", Username: "bad name@corp.test", FullName: "Bad", Enabled: true},
		},
		Groups: []directory.Group{
			{ExternalID: "6a1f0000-0000-4000-8000-00000000000a", DN: "CN=Domain Users,CN=Users,DC=corp,DC=test", Name: "Domain Users",
				Members: []string{"0d7c4b1e-0000-4000-8000-000000000001", "0d7c4b1e-0000-4000-8000-000000000002"}},
		},
		Target: agent.Target{
			Users: []agent.PoolUser{
				{ID: "user-2", ExternalID: "0d7c4b1e-0000-4000-8000-000000000002", Active: true, Fields: agent.UserFields{Username: "bob@pool.test", FullName: "Bob Stone"}},
				{ID: "user-9", ExternalID: "0d7c4b1e-0000-4000-8000-000000000009", Active: true, Fields: agent.UserFields{Username: "gone@pool.test", FullName: "Gone"}},
			},
		},
		Settings: agent.Settings{ReplacementDomain: "pool.test", RemoveBehavior: agent.RemoveDelete},
		Limits:   agent.Limits{MaxDeletions: 500, MaxDeletionPercent: 100},
	}
	var buf bytes.Buffer
	if err := writePlanJSON(&buf, agent.BuildPlan(in)); err != nil {
		t.Fatal(err)
	}
	golden(t, "plan.golden.json", buf.Bytes())
}

func TestJobsShowJSONGolden(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte("userpool_id: pool1\niam_token: t\nstate_path: "+dir+"/state\nldap:\n  host: ldaps://dc.corp.test:636\n  username: svc@corp.test\n  password: p\nsync_settings:\n  filter:\n    domain: corp.test\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	j := &state.Job{
		ID: "sync_20261123T100000.000Z_0a0b0c0d", TargetType: "user_pool", TargetID: "pool1", Direction: "ingress",
		StartTime: state.UnixMilli{Time: start}, EndTime: state.UnixMilli{Time: start.Add(2500 * time.Millisecond)},
		TriggerType: "auto", Status: state.StatusPartialSuccess, ErrorCode: "PartialFailure",
		ErrorMessage: "1 changes failed; they are retried in the next cycle (see the log and 'idsync jobs show')",
		Mode:         "full", SessionID: "session-1", AgentID: "idsync-host1",
	}
	var c reporter.Counts
	c.Add(directory.KindUser, reporter.Create, reporter.Success, 120)
	c.Add(directory.KindUser, reporter.Create, reporter.Failed, 1)
	c.Add(directory.KindUser, reporter.Deactivate, reporter.Success, 3)
	c.Add(directory.KindGroup, reporter.Create, reporter.Success, 7)
	c.Add(directory.KindGroup, reporter.Bind, reporter.Success, 1)
	c.Add(directory.KindMembership, reporter.Create, reporter.Success, 310)
	c.Add(directory.KindMembership, reporter.Create, reporter.Skipped, 2)
	j.Result = c.Result()
	j.Objects = jobObjects()
	if err := state.OpenJobs(filepath.Join(dir, "state")).Save(j); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"jobs", "show", j.ID, "-o", "json", "--config", cfg}, &out, &errOut); code != exitOK {
		t.Fatalf("jobs show: exit %d: %s", code, errOut.String())
	}
	golden(t, "jobs-show.golden.json", out.Bytes())
}
