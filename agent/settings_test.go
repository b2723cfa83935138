package agent

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap/zaptest"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/emulator"
)

func TestSettingsRoundTripAndPush(t *testing.T) {
	r := newRig(t, emulator.Options{NoMinInterval: true}, nil)
	ctx := t.Context()
	log := zaptest.NewLogger(t)
	local := SyncSettings{
		Plan:                Settings{ReplacementDomain: testDomain, RemoveBehavior: RemoveBlock, CaptureUsers: true},
		Domain:              "corp.test",
		OrganizationalUnits: []string{"OU=Staff,DC=corp,DC=test"},
		Groups:              []string{"Sync Users"},
		Mapping: directory.DefaultMapping().Override(
			map[directory.UserField]directory.AttributeMapping{
				directory.FieldFullName:    {Source: "name", Type: directory.Direct},
				directory.FieldPhoneNumber: {Type: directory.Empty},
			}, nil),
	}
	calls := func(method string) int64 {
		return r.emu.Stats().Calls["/yandex.cloud.organizationmanager.v1.idp.SynchronizationService/"+method]
	}
	if err := EnsureCloudSettings(ctx, r.client, ToCloud(local, time.Hour), log); err != nil {
		t.Fatal(err)
	}
	got, err := r.client.GetSyncSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(local, FromCloud(got)); diff != "" {
		t.Errorf("settings after a round trip through the pool (-want +got):\n%s", diff)
	}
	if got.GetSynchronizationInterval().AsDuration() != time.Hour {
		t.Errorf("interval = %v, want 1h", got.GetSynchronizationInterval().AsDuration())
	}
	if err := EnsureCloudSettings(ctx, r.client, ToCloud(local, time.Hour), log); err != nil {
		t.Fatal(err)
	}
	if n := calls("UpdateSynchronizationSettings"); n != 0 {
		t.Errorf("unchanged settings were updated %d times", n)
	}
	local.Plan.CaptureGroups = true
	if err := EnsureCloudSettings(ctx, r.client, ToCloud(local, 240*time.Second), log); err != nil {
		t.Fatal(err)
	}
	got, _ = r.client.GetSyncSettings(ctx)
	if !got.GetAllowToCaptureGroups() || got.GetSynchronizationInterval().AsDuration() != time.Hour {
		t.Errorf("after update: capture groups %v, interval %v (a too short local interval must leave the pool's)",
			got.GetAllowToCaptureGroups(), got.GetSynchronizationInterval().AsDuration())
	}
	if n := calls("UpdateSynchronizationSettings"); n != 1 || calls("CreateSynchronizationSettings") != 1 {
		t.Errorf("create/update calls = %d/%d, want 1/1", calls("CreateSynchronizationSettings"), n)
	}
}
