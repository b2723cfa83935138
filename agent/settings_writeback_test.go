package agent

import (
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/idsync/idsync/internal/emulator"
)

// TestSettingsPushPasswordWriteback: enable_password_writeback is created
// with the settings and updated when only it differs.
func TestSettingsPushPasswordWriteback(t *testing.T) {
	r := newRig(t, emulator.Options{NoMinInterval: true}, nil)
	ctx, log := t.Context(), zaptest.NewLogger(t)
	local := SyncSettings{Plan: Settings{ReplacementDomain: testDomain}, Domain: "corp.test"}
	want := ToCloud(local, time.Hour)
	want.EnablePasswordWriteback = true
	if err := EnsureCloudSettings(ctx, r.cloud, want, false, log); err != nil {
		t.Fatal(err)
	}
	got, err := r.cloud.GetSyncSettings(ctx)
	if err != nil || !got.EnablePasswordWriteback {
		t.Fatalf("created settings: writeback %v, err %v; want true", got.EnablePasswordWriteback, err)
	}
	want.EnablePasswordWriteback = false
	if err := EnsureCloudSettings(ctx, r.cloud, want, false, log); err != nil {
		t.Fatal(err)
	}
	if got, _ := r.cloud.GetSyncSettings(ctx); got.EnablePasswordWriteback {
		t.Error("enable_password_writeback was not updated to false")
	}
}
