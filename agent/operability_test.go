package agent

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/pool"
	"github.com/idsync/idsync/internal/state"
)

// A cycle that fails before it runs still gets a failed job record whose
// code says whether authentication or the network failed.
func TestNotStartedJob(t *testing.T) {
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		err  error
		code string
	}{
		{fmt.Errorf("read the pool's synchronization settings: %w", poolErr(pool.ClassPermission, "bad token")), "PermissionDenied"},
		{fmt.Errorf("read the pool's synchronization settings: %w", poolErr(pool.ClassPermission, "no role")), "PermissionDenied"},
		{fmt.Errorf("read the pool's synchronization settings: %w", poolErr(pool.ClassRetryable, "connection refused")), "Unavailable"},
		{errors.New("state: locked by another idsync"), "Failed"},
	} {
		j := NotStartedJob("agent-a", "pool-1", TriggerAuto, false, start, start.Add(time.Second), tt.err)
		if j.Status != state.StatusFailed || j.ErrorCode != tt.code || j.ErrorMessage != tt.err.Error() ||
			j.TriggerType != string(TriggerAuto) || j.TargetID != "pool-1" || j.AgentID != "agent-a" || !j.EndTime.Equal(start.Add(time.Second)) {
			t.Errorf("NotStartedJob(%v) = %+v, want failed with code %s", tt.err, j, tt.code)
		}
	}
}

// A failed cycle is logged at error level.
func TestFailedCycleLogsError(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	r := newRig(t, emulator.Options{NoMinInterval: true}, func(o *Options) { o.Logger = zap.New(core) })
	r.dir.set(func(d *fakeDir) { d.fail = errors.New("ldap: connection refused") })
	job, err := r.agent.RunCycle(t.Context(), CycleOptions{})
	if err == nil || job.Status != state.StatusFailed {
		t.Fatalf("cycle: job %+v err %v, want a failure", job, err)
	}
	found := logs.FilterMessage("cycle failed").All()
	if len(found) != 1 || found[0].Level != zapcore.ErrorLevel {
		t.Errorf("log of a failed cycle: %+v, want one error entry", logs.All())
	}
}

// DiffCloudSettings shows each differing field with readable old and new
// values, and every field when the pool has none.
func TestDiffCloudSettings(t *testing.T) {
	have := &pool.Settings{
		Filter:             pool.Filter{Domain: "corp.test", OrganizationUnits: []string{"OU=Staff,DC=corp,DC=test"}},
		RemoveUserBehavior: pool.RemoveUser, SynchronizationInterval: time.Hour,
		UserAttributeMappings: []pool.AttributeMapping{{Source: "cn", Target: "FULL_NAME", Type: pool.MappingDirect}},
	}
	want := &pool.Settings{
		Filter:             pool.Filter{Domain: "corp.test", OrganizationUnits: []string{"OU=Staff,DC=corp,DC=test"}},
		RemoveUserBehavior: pool.BlockUser, SynchronizationInterval: 2 * time.Hour,
		AllowToCaptureGroups: true, ReplacementDomain: "pool.example",
		UserAttributeMappings: []pool.AttributeMapping{{Target: "PHONE_NUMBER", Type: pool.MappingEmpty}},
	}
	got := DiffCloudSettings(have, want)
	wantChanges := []SettingChange{
		{Field: "replacement_domain", Old: `""`, New: `"pool.example"`},
		{Field: "remove_user_behavior", Old: "REMOVE", New: "BLOCK"},
		{Field: "synchronization_interval", Old: "1h0m0s", New: "2h0m0s"},
		{Field: "allow_to_capture_groups", Old: "false", New: "true"},
		{Field: "user_attribute_mappings", Old: "[cn -> FULL_NAME]", New: "[PHONE_NUMBER empty]"},
	}
	if diff := cmp.Diff(wantChanges, got); diff != "" {
		t.Errorf("diff (-want +got):\n%s", diff)
	}
	if got := DiffCloudSettings(want, want); len(got) != 0 {
		t.Errorf("equal settings differ: %v", got)
	}
	all := DiffCloudSettings(nil, want)
	if len(all) != 9 || all[0].String() != "filter: (none) -> domain corp.test, organization units [OU=Staff,DC=corp,DC=test], groups []" {
		t.Errorf("diff against no settings: %v", all)
	}
}

// PushCloudSettings logs each changed field with its old and new value and
// returns the changes.
func TestPushCloudSettingsLogsOldNew(t *testing.T) {
	r := newRig(t, emulator.Options{NoMinInterval: true}, nil)
	ctx := t.Context()
	core, logs := observer.New(zap.InfoLevel)
	log := zap.New(core)
	local := *r.opts.Settings
	if _, err := PushCloudSettings(ctx, r.cloud, ToCloud(local, time.Hour), false, log); err != nil {
		t.Fatal(err)
	}
	local.Plan.CaptureUsers = true
	changes, err := PushCloudSettings(ctx, r.cloud, ToCloud(local, time.Hour), false, log)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]SettingChange{{Field: "allow_to_capture_users", Old: "false", New: "true"}}, changes); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	e := logs.FilterMessage("updated the pool's synchronization setting from the config file").All()
	if len(e) != 1 || e[0].ContextMap()["field"] != "allow_to_capture_users" || e[0].ContextMap()["old"] != "false" || e[0].ContextMap()["new"] != "true" {
		t.Errorf("log entries: %+v", logs.All())
	}
}
