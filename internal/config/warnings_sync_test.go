package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSyncWarnings(t *testing.T) {
	data := `userpool_id: ek0o6pgq1ai5tlcgghh1
iam_token: t
ldap:
  host: ldaps://dc1.example.com:636
  username: svc-idsync@example.com
  password: p
sync_settings:
  interval: 4m
  filter:
    domain: example.com
    organization_units:
      - OU=Staff,DC=example,DC=com
      - OU=Staff,DC=corp,DC=example,DC=org
`
	cfg, err := Parse([]byte(data), ParseOptions{Dir: t.TempDir(), Hostname: func() (string, error) { return testHostname, nil }})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range cfg.Warnings() {
		got = append(got, w.String())
	}
	want := []string{
		`line 8: sync_settings.interval: 4m0s is outside the pool's range of 15m0s to 6h0m0s: idsync runs cycles every 4m0s but leaves the pool's synchronization interval as it is`,
		`line 13: sync_settings.filter.organization_units[1]: "OU=Staff,DC=corp,DC=example,DC=org" is not in the domain example.com (its DC= parts say "corp.example.org"); a domain controller of example.com does not hold it`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

// TestPlaintextLoggingWarnsOnlyWhenCloudLoggingIsOn: an emulator config
// (plaintext endpoints on loopback) does not dial the default logging
// endpoint unless Cloud Logging is on, so it warns about it only then.
func TestPlaintextLoggingWarnsOnlyWhenCloudLoggingIsOn(t *testing.T) {
	base := `userpool_id: ek0o6pgq1ai5tlcgghh1
iam_token: t
endpoints:
  organization_manager: 127.0.0.1:50061
  iam: 127.0.0.1:50061
  operation: 127.0.0.1:50061
  plaintext: true
ldap:
  host: ldaps://dc1.example.com:636
  username: svc-idsync@example.com
  password: p
`
	for _, tc := range []struct {
		name, extra string
		want        bool
	}{
		{"cloud logging off", "", false},
		{"cloud logging on", "logger:\n  cloud_logger:\n    log_group_id: e23abc\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse([]byte(base+tc.extra), ParseOptions{Dir: t.TempDir(), Hostname: func() (string, error) { return testHostname, nil }})
			if err != nil {
				t.Fatal(err)
			}
			got := false
			for _, w := range cfg.Warnings() {
				got = got || w.Key == "endpoints.logging"
			}
			if got != tc.want {
				t.Errorf("endpoints.logging warning: got %v, want %v (%v)", got, tc.want, cfg.Warnings())
			}
		})
	}
}
