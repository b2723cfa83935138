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
	if err := EnsureCloudSettings(ctx, r.cloud, ToCloud(local, time.Hour), false, log); err != nil {
		t.Fatal(err)
	}
	got, err := r.cloud.GetSyncSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(local, FromCloud(got)); diff != "" {
		t.Errorf("settings after a round trip through the pool (-want +got):\n%s", diff)
	}
	if got.SynchronizationInterval != time.Hour {
		t.Errorf("interval = %v, want 1h", got.SynchronizationInterval)
	}
	if err := EnsureCloudSettings(ctx, r.cloud, ToCloud(local, time.Hour), false, log); err != nil {
		t.Fatal(err)
	}
	if n := calls("UpdateSynchronizationSettings"); n != 0 {
		t.Errorf("unchanged settings were updated %d times", n)
	}
	local.Plan.CaptureGroups = true
	if err := EnsureCloudSettings(ctx, r.cloud, ToCloud(local, 240*time.Second), false, log); err != nil {
		t.Fatal(err)
	}
	got, _ = r.cloud.GetSyncSettings(ctx)
	if !got.AllowToCaptureGroups || got.SynchronizationInterval != time.Hour {
		t.Errorf("after update: capture groups %v, interval %v (a too short local interval must leave the pool's)",
			got.AllowToCaptureGroups, got.SynchronizationInterval)
	}
	if n := calls("UpdateSynchronizationSettings"); n != 1 || calls("CreateSynchronizationSettings") != 1 {
		t.Errorf("create/update calls = %d/%d, want 1/1", calls("CreateSynchronizationSettings"), n)
	}

	// Another scope: nothing is written, the stop names both scopes.
	other := local
	other.OrganizationalUnits = []string{"OU=Contractors,DC=corp,DC=test"}
	err = EnsureCloudSettings(ctx, r.cloud, ToCloud(other, time.Hour), false, log)
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
	if err := EnsureCloudSettings(ctx, r.cloud, ToCloud(remapped, time.Hour), false, log); !errors.As(err, &se) {
		t.Errorf("settings with another mapping: %v, want a scope stop", err)
	}
	// Confirmed, the change goes through.
	if err := EnsureCloudSettings(ctx, r.cloud, ToCloud(other, time.Hour), true, log); err != nil {
		t.Fatalf("confirmed scope change: %v", err)
	}
	got, _ = r.cloud.GetSyncSettings(ctx)
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

// TestSettingsArbitraryAttributes: a mapping from an attribute Identity Hub
// does not list for its target (ListSupportedAttributes) is sent as
// DIRECT_ARBITRARY_ATTRIBUTE, a listed one as DIRECT, and a target that
// accepts neither refuses the settings before anything is written, naming
// the config entry and the attribute.
func TestSettingsArbitraryAttributes(t *testing.T) {
	r := newRig(t, emulator.Options{NoMinInterval: true}, nil)
	ctx := t.Context()
	log := zaptest.NewLogger(t)
	calls := func(method string) int64 {
		return r.emu.Stats().Calls["/yandex.cloud.organizationmanager.v1.idp.SynchronizationService/"+method]
	}
	// Only EMPTY overrides: nothing to check, no call.
	plain := SyncSettings{Plan: Settings{ReplacementDomain: testDomain, RemoveBehavior: RemoveDelete}, Domain: "corp.test",
		Mapping: directory.DefaultMapping().Override(map[directory.UserField]directory.AttributeMapping{
			directory.FieldPhoneNumber: {Type: directory.Empty}}, nil)}
	if err := EnsureCloudSettings(ctx, r.cloud, ToCloud(plain, time.Hour), false, log); err != nil {
		t.Fatal(err)
	}
	if n := calls("ListSupportedAttributes"); n != 0 {
		t.Errorf("ListSupportedAttributes called %d times for settings without DIRECT overrides", n)
	}

	local := plain
	local.Mapping = directory.DefaultMapping().Override(
		map[directory.UserField]directory.AttributeMapping{
			directory.FieldFullName:   {Source: "cn", Type: directory.Direct},
			directory.FieldEmployeeID: {Source: "extensionAttribute1", Type: directory.Direct},
			directory.FieldDepartment: {Source: "physicalDeliveryOfficeName", Type: directory.Direct},
			directory.FieldJobTitle:   {Source: "TITLE", Type: directory.Direct}, // listed, in another case
		},
		map[directory.GroupField]directory.AttributeMapping{
			directory.FieldGroupDescription: {Source: "info", Type: directory.Direct},
		})
	if err := EnsureCloudSettings(ctx, r.cloud, ToCloud(local, time.Hour), true, log); err != nil {
		t.Fatalf("settings with arbitrary attributes: %v", err)
	}
	got, err := r.cloud.GetSyncSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]string{}
	for _, m := range got.UserAttributeMappings {
		types[m.Source] = string(m.Type)
	}
	for _, m := range got.GroupAttributeMappings {
		types[m.Source] = string(m.Type)
	}
	want := map[string]string{
		"cn": "DIRECT_ARBITRARY_ATTRIBUTE", "extensionAttribute1": "DIRECT_ARBITRARY_ATTRIBUTE",
		"physicalDeliveryOfficeName": "DIRECT_ARBITRARY_ATTRIBUTE", "TITLE": "DIRECT", "info": "DIRECT_ARBITRARY_ATTRIBUTE",
	}
	if diff := cmp.Diff(want, types); diff != "" {
		t.Errorf("mapping types in the pool (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(local, FromCloud(got)); diff != "" {
		t.Errorf("settings after a round trip through the pool (-want +got):\n%s", diff)
	}
	// The same settings again: no scope stop, no update.
	updates := calls("UpdateSynchronizationSettings")
	if err := EnsureCloudSettings(ctx, r.cloud, ToCloud(local, time.Hour), false, log); err != nil {
		t.Fatalf("unchanged settings with arbitrary attributes: %v", err)
	}
	if n := calls("UpdateSynchronizationSettings"); n != updates {
		t.Errorf("unchanged settings were updated %d times", n-updates)
	}

	// The group name takes only the listed source: refused before any write.
	bad := local
	bad.Mapping = directory.DefaultMapping().Override(nil, map[directory.GroupField]directory.AttributeMapping{
		directory.FieldGroupName: {Source: "cn", Type: directory.Direct}})
	err = EnsureCloudSettings(ctx, r.cloud, ToCloud(bad, time.Hour), true, log)
	var me *MappingError
	if !errors.As(err, &me) || me.Key != "sync_settings.group_attribute_mapping" || me.Target != "Name" || me.Source != "cn" ||
		!strings.Contains(err.Error(), `"cn"`) || !strings.Contains(err.Error(), "sync_settings.group_attribute_mapping") {
		t.Fatalf("unsupported group name source: %v, want a MappingError naming the entry", err)
	}
	if n := calls("UpdateSynchronizationSettings"); n != updates {
		t.Errorf("refused settings were written (%d updates)", n-updates)
	}
}
