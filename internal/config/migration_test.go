package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDRSRSectionImpliesHashSync: a drsr section turns password hash
// synchronization on, as in the Yandex agent, unless the file says
// password_hash_sync.enabled itself.
func TestDRSRSectionImpliesHashSync(t *testing.T) {
	const base = `userpool_id: ek0o6pgq1ai5tlcgghh1
iam_token: t
ldap:
  host: ldaps://dc1.example.com:636
  username: svc-idsync@example.com
  password: p
`
	const drsr = "drsr:\n  username: svc-idsync\n  password: d\n"
	tests := []struct {
		name        string
		extra       string
		wantEnabled bool
		wantHost    string
		wantWarning string
	}{
		{name: "no drsr section", extra: ""},
		{name: "empty drsr section", extra: "drsr:\n"},
		{name: "drsr section", extra: drsr, wantEnabled: true, wantHost: "dc1.example.com",
			wantWarning: "line 7: drsr: password hashes are synchronized because this section is present, as in the Yandex agent; set password_hash_sync.enabled: false to turn that off"},
		{name: "explicit false wins", extra: drsr + "password_hash_sync:\n  enabled: false\n",
			wantWarning: "line 7: drsr: ignored: password_hash_sync.enabled is false"},
		{name: "explicit true", extra: drsr + "password_hash_sync:\n  enabled: true\n", wantEnabled: true, wantHost: "dc1.example.com"},
		{name: "interval alone is not explicit", extra: drsr + "password_hash_sync:\n  interval: 1m\n", wantEnabled: true, wantHost: "dc1.example.com",
			wantWarning: "line 7: drsr: password hashes are synchronized because this section is present, as in the Yandex agent; set password_hash_sync.enabled: false to turn that off"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(base+tt.extra), ParseOptions{Dir: t.TempDir(), Hostname: func() (string, error) { return testHostname, nil }})
			if err != nil {
				t.Fatal(err)
			}
			if cfg.PasswordHashSync.Enabled != tt.wantEnabled {
				t.Errorf("password_hash_sync.enabled = %v, want %v", cfg.PasswordHashSync.Enabled, tt.wantEnabled)
			}
			if cfg.HashSyncFromDRSR() != (tt.wantEnabled && tt.wantWarning != "") {
				t.Errorf("HashSyncFromDRSR() = %v", cfg.HashSyncFromDRSR())
			}
			if cfg.DRSR.Host != tt.wantHost {
				t.Errorf("drsr.host = %q, want %q", cfg.DRSR.Host, tt.wantHost)
			}
			var got []string
			for _, w := range cfg.Warnings() {
				if w.Key == "drsr" {
					got = append(got, w.String())
				}
			}
			var want []string
			if tt.wantWarning != "" {
				want = []string{tt.wantWarning}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("drsr warnings (-want +got):\n%s", diff)
			}
		})
	}
}
