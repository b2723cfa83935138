package agent

import (
	"errors"
	"strings"
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
	if err := EnsureCloudSettings(ctx, r.client, ToCloud(local, time.Hour), false, log); err != nil {
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
	if err := EnsureCloudSettings(ctx, r.client, ToCloud(local, time.Hour), false, log); err != nil {
		t.Fatal(err)
	}
	if n := calls("UpdateSynchronizationSettings"); n != 0 {
		t.Errorf("unchanged settings were updated %d times", n)
	}
	local.Plan.CaptureGroups = true
	if err := EnsureCloudSettings(ctx, r.client, ToCloud(local, 240*time.Second), false, log); err != nil {
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

	// Another scope: nothing is written, the stop names both scopes.
	other := local
	other.OrganizationalUnits = []string{"OU=Contractors,DC=corp,DC=test"}
	err = EnsureCloudSettings(ctx, r.client, ToCloud(other, time.Hour), false, log)
	var se *SafetyError
	if !errors.As(err, &se) || !se.Stop.ScopeChange || !strings.Contains(err.Error(), "OU=Staff") || !strings.Contains(err.Error(), "OU=Contractors") {
		t.Fatalf("settings with another scope: %v, want a scope stop naming both scopes", err)
	}
	if n := calls("UpdateSynchronizationSettings"); n != 1 {
		t.Errorf("a scope stop updated the settings (%d updates)", n)
	}
	// Another mapping is another scope too.
	remapped := local
	remapped.Mapping = directory.DefaultMapping()
	if err := EnsureCloudSettings(ctx, r.client, ToCloud(remapped, time.Hour), false, log); !errors.As(err, &se) {
		t.Errorf("settings with another mapping: %v, want a scope stop", err)
	}
	// Confirmed, the change goes through.
	if err := EnsureCloudSettings(ctx, r.client, ToCloud(other, time.Hour), true, log); err != nil {
		t.Fatalf("confirmed scope change: %v", err)
	}
	got, _ = r.client.GetSyncSettings(ctx)
	if ScopeFingerprint(FromCloud(got)) != ScopeFingerprint(other) {
		t.Errorf("after the confirmed change the pool has %s", ScopeLabel(FromCloud(got)))
	}
}

func TestScopeFingerprint(t *testing.T) {
	base := SyncSettings{Domain: "corp.test", OrganizationalUnits: []string{"OU=A,DC=corp,DC=test", "OU=B,DC=corp,DC=test"},
		Plan: Settings{ReplacementDomain: "pool.test"}, Mapping: directory.DefaultMapping()}
	same := base
	same.OrganizationalUnits = []string{"ou=b,dc=corp,dc=test", "OU=A,DC=corp,DC=test"}
	same.Plan.CaptureUsers, same.Plan.RemoveBehavior = true, RemoveBlock
	if ScopeFingerprint(base) != ScopeFingerprint(same) {
		t.Error("case, order, capture and remove behaviour changed the fingerprint")
	}
	for name, change := range map[string]func(*SyncSettings){
		"unit":               func(s *SyncSettings) { s.OrganizationalUnits = s.OrganizationalUnits[:1] },
		"domain":             func(s *SyncSettings) { s.Domain = "other.test" },
		"groups":             func(s *SyncSettings) { s.Groups = []string{"Staff"} },
		"replacement domain": func(s *SyncSettings) { s.Plan.ReplacementDomain = "other.test" },
		"mapping": func(s *SyncSettings) {
			s.Mapping = directory.DefaultMapping().Override(map[directory.UserField]directory.AttributeMapping{
				directory.FieldFullName: {Source: "cn", Type: directory.Direct}}, nil)
		},
	} {
		s := base
		change(&s)
		if ScopeFingerprint(s) == ScopeFingerprint(base) {
			t.Errorf("a different %s kept the fingerprint", name)
		}
	}
	// The pool's copy of the settings has the fingerprint of the local ones.
	if ScopeFingerprint(FromCloud(ToCloud(base, 0))) != ScopeFingerprint(base) {
		t.Error("the fingerprint changes on a round trip through the pool")
	}
	tok, err := encodeToken(directory.Watermark{Mode: directory.ModeDirSync, DCHost: "dc1", Cookie: []byte{1}}, ScopeFingerprint(base))
	if err != nil || tokenScope(tok) != ScopeFingerprint(base) {
		t.Errorf("token %q (%v) records scope %q, want %q", tok, err, tokenScope(tok), ScopeFingerprint(base))
	}
	if tokenScope("AAECAw==") != "" || tokenScope("sha256:00") != "" {
		t.Error("a token without a scope reports one")
	}
}
