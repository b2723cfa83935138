package config

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var goodEnv = map[string]string{
	"IDSYNC_LDAP_PASSWORD": "ldap-secret",
	"IDSYNC_DRSR_PASSWORD": "drsr-secret",
	// kerberos.yaml takes its krb5.conf from $KRB5_CONFIG.
	"KRB5_CONFIG": "../krb5.conf",
}

// TestGoodConfigs loads each testdata/good fixture and compares the result
// with the expected effective configuration and warnings.
func TestGoodConfigs(t *testing.T) {
	td := testdataDir(t)
	tests := []struct {
		file         string
		want         func() *Config
		wantWarnings []string
	}{
		{
			file: "minimal.yaml",
			want: func() *Config {
				c := Default()
				c.UserpoolID = "ek0o6pgq1ai5tlcgghh1"
				c.AgentID = "idsync-sync-host-01.corp.example.com"
				c.WorkingDirectory = filepath.Join(td, "good")
				c.CloudCredentialsFilePath = filepath.Join(td, "authorized_key.json")
				c.StatePath = filepath.Join(td, "good", "state")
				c.LDAP.Host = "ldaps://dc1.example.com"
				c.LDAP.Username = "svc-idsync@example.com"
				c.LDAP.Password = Secret{value: "ldap-secret", env: "IDSYNC_LDAP_PASSWORD"}
				c.Schedule = "@every 4m0s"
				c.Metrics.HealthyAfter = time.Hour
				return c
			},
		},
		{
			file: "yandex-template.yaml",
			want: func() *Config {
				c := Default()
				c.UserpoolID = "ek0o6pgq1ai5tlcgghh1"
				c.AgentID = "idsync-sync-host-01.corp.example.com"
				c.WorkingDirectory = td
				c.CloudCredentialsFilePath = filepath.Join(td, "authorized_key.json")
				c.StatePath = filepath.Join(td, "state")
				c.DRSR = DRSR{Host: "dc1.example.com", Username: "svc-idsync", Password: NewSecret("drsr-password")}
				c.PasswordHashSync.Enabled = true // the drsr section, as in the Yandex agent
				c.LDAP.Host = "ldaps://dc1.example.com:636"
				c.LDAP.Username = "CN=svc-idsync,CN=Users,DC=example,DC=com"
				c.LDAP.Password = NewSecret("ldap-password")
				c.LDAP.CertificatePath = filepath.Join(td, "ca.pem")
				c.LDAP.BaseDN = "DC=example,DC=com"
				c.Kerberos = Kerberos{
					KeytabPath:      filepath.Join(td, "idsync.keytab"),
					Principal:       "HTTP/sync.example.com@EXAMPLE.COM",
					Krb5ConfigPath:  "/etc/krb5.conf",
					DisablePAFXFast: true,
				}
				c.Logger.File.Filename = filepath.Join(td, "identity_hub.log")
				c.Logger.CloudLogger.LogGroupID = "e23logroup0000000000"
				c.Logger.EventLog.Source = "IdentityHubSync"
				c.SyncSettings = SyncSettings{
					Present:           true,
					Interval:          600 * time.Second,
					ReplacementDomain: "pool.idp.yandexcloud.net",
					UserAttributeMapping: []AttributeMapping{
						{Source: "CustomAttr", Target: TargetFullName, Type: MappingDirect},
						{Source: "", Target: TargetGivenName, Type: MappingEmpty},
					},
					GroupAttributeMapping: []AttributeMapping{{Source: "", Target: TargetDescription, Type: MappingEmpty}},
					Filter: Filter{
						Domain:            "example.com",
						OrganizationUnits: []string{"OU=IdPUsersOU,DC=example,DC=com"},
						Groups:            []string{"GroupName1"},
					},
					RemoveUserBehavior: RemoveUserRemove,
				}
				c.Schedule = "@every 10m0s"
				c.Metrics.HealthyAfter = time.Hour
				return c
			},
			wantWarnings: []string{
				"line 11: drsr: password hashes are synchronized because this section is present, as in the Yandex agent; set password_hash_sync.enabled: false to turn that off",
				"line 23: kerberos: ignored: neither ldap.use_kerberos nor drsr.use_kerberos is true",
				"line 33: logger.event_log.source: ignored: the Windows Event Log exists only on Windows",
				"line 35: sync_settings.interval: 10m0s is outside the pool's range of 15m0s to 6h0m0s: idsync runs cycles every 10m0s but leaves the pool's synchronization interval as it is",
			},
		},
		{
			file: "kerberos.yaml",
			want: func() *Config {
				c := Default()
				c.UserpoolID = "ek0o6pgq1ai5tlcgghh1"
				c.AgentID = "idsync-sync-host-01.corp.example.com"
				c.WorkingDirectory = filepath.Join(td, "good")
				c.CloudCredentialsFilePath = filepath.Join(td, "authorized_key.json")
				c.StatePath = filepath.Join(td, "good", "state")
				c.LDAP.Host = "ldaps://dc1.example.com:636"
				c.LDAP.UseKerberos = true
				c.PasswordHashSync.Enabled = true
				c.DRSR = DRSR{Host: "dc1.example.com", UseKerberos: true}
				c.Kerberos = Kerberos{KeytabPath: filepath.Join(td, "idsync.keytab"), Principal: "svc-idsync@EXAMPLE.COM",
					Krb5ConfigPath: filepath.Join(td, "krb5.conf"), DisablePAFXFast: true}
				c.Schedule = "@every 4m0s"
				c.Metrics.HealthyAfter = time.Hour
				return c
			},
		},
		{
			file: "full.yaml",
			want: func() *Config {
				return &Config{
					UserpoolID:       "ek0o6pgq1ai5tlcgghh1",
					AgentID:          "sync-01.example",
					WorkingDirectory: td,
					IAMToken:         Secret{value: "file-password", file: filepath.Join(td, "ldap-password")},
					UseSessionAPI:    true,
					DryRun:           DryRun{Enabled: true},
					Endpoints: Endpoints{
						OrganizationManager: "127.0.0.1:7001",
						IAM:                 "127.0.0.1:7002",
						Operation:           "127.0.0.1:7003",
						Logging:             "127.0.0.1:7004",
						Plaintext:           true,
					},
					StatePath: "/var/lib/idsync",
					DRSR: DRSR{
						Host:     "dc1.example.com",
						Username: "svc-idsync",
						Password: Secret{value: "drsr-secret", env: "IDSYNC_DRSR_PASSWORD"},
					},
					LDAP: LDAP{
						Host:            "ldaps://dc1.example.com:636",
						Hosts:           []string{"ldaps://dc2.example.com:636", "ldap://dc3.example.com:389", "ldaps://dc1.example.com:636"},
						Username:        "CN=svc-idsync,OU=Service,DC=corp,DC=example,DC=com",
						Password:        Secret{value: "file-password", file: filepath.Join(td, "ldap-password")},
						CertificatePath: filepath.Join(td, "ca.pem"),
						StartTLS:        true,
						BaseDN:          "OU=Corp,DC=corp,DC=example,DC=com",
						Timeout:         45 * time.Second,
						PageSize:        500,
						DeltaMode:       DeltaDirSync,
					},
					Logger: Logger{
						Level:  "debug",
						Format: "json",
						File:   LogFile{Filename: filepath.Join(td, "logs", "idsync.log"), MaxSize: 100, MaxBackups: 3},
					},
					SyncSettings: SyncSettings{
						Present:              true,
						Interval:             15 * time.Minute,
						AllowToCaptureUsers:  true,
						AllowToCaptureGroups: true,
						ReplacementDomain:    "corp.idp.yandexcloud.net",
						UserAttributeMapping: []AttributeMapping{
							{Source: "objectSid", Target: TargetEmployeeID, Type: MappingDirect},
							{Source: "", Target: TargetPhoneNumber, Type: MappingEmpty},
						},
						GroupAttributeMapping: []AttributeMapping{{Source: "cn", Target: TargetName, Type: MappingDirect}},
						Filter: Filter{
							Domain: "corp.example.com",
							OrganizationUnits: []string{
								"OU=Staff,OU=Corp,DC=corp,DC=example,DC=com",
								"OU=Contractors,OU=Corp,DC=corp,DC=example,DC=com",
							},
							Groups: []string{"idsync-users", "Staff"},
						},
						RemoveUserBehavior: RemoveUserBlock,
						GroupNameOverrides: map[string]string{"Юридический отдел": "legal", "CN=Sales,OU=Groups,DC=corp,DC=example,DC=com": "sales-team"},
					},
					Schedule:         "CRON_TZ=Europe/Moscow 0 */15 * * * *",
					FullSyncInterval: 12 * time.Hour,
					Safety: Safety{MaxDeletions: -1, MaxDeletionPercent: 7.5, MinSourceUsers: 100,
						MaxMembershipRemovals: 200, MaxMembershipRemovalPercent: 10, MaxAttributeLosses: 20,
						MaxUsernameChanges: 0, MaxGroupMemberLossPercent: 50, GroupMemberLossMinMembers: 4},
					Apply:             Apply{Concurrency: 16, RateLimit: 0, MaxRetries: 2, QuarantineAfter: 3},
					ReportInterval:    10 * time.Second,
					HeartbeatInterval: time.Minute,
					Metrics:           Metrics{Listen: "127.0.0.1:9464", HealthyAfter: 2 * time.Hour, UnhealthyAfterFailures: 5},
					PasswordHashSync:  PasswordHashSync{Enabled: true, Interval: 30 * time.Second},
					UserControl:       UserControl{Interval: 3 * time.Second},
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := loadTest(filepath.Join("testdata", "good", tt.file), goodEnv)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			if diff := cmp.Diff(tt.want(), got, cmpopts.IgnoreUnexported(Config{})); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
			var warnings []string
			for _, w := range got.Warnings() {
				warnings = append(warnings, w.String())
			}
			if diff := cmp.Diff(tt.wantWarnings, warnings); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("Validate after load: %v", err)
			}
		})
	}
}

// TestEffectiveMapping checks that overrides replace defaults by target.
func TestEffectiveMapping(t *testing.T) {
	s := SyncSettings{
		UserAttributeMapping: []AttributeMapping{
			{Source: "CustomAttr", Target: "fullname", Type: "DIRECT"},
			{Source: "ignored", Target: TargetGivenName, Type: MappingEmpty},
			{Source: "objectSid", Target: TargetEmployeeID, Type: MappingDirect},
		},
		GroupAttributeMapping: []AttributeMapping{{Target: TargetDescription, Type: MappingEmpty}},
	}
	wantUsers := []AttributeMapping{
		{Source: "CustomAttr", Target: TargetFullName, Type: MappingDirect},
		{Source: "", Target: TargetGivenName, Type: MappingEmpty},
		{Source: "sn", Target: TargetFamilyName, Type: MappingDirect},
		{Source: "mail", Target: TargetEmail, Type: MappingDirect},
		{Source: "telephoneNumber", Target: TargetPhoneNumber, Type: MappingDirect},
		{Source: "userPrincipalName", Target: TargetUsername, Type: MappingDirect},
		{Source: "objectSid", Target: TargetEmployeeID, Type: MappingDirect},
		{Source: "department", Target: TargetDepartment, Type: MappingDirect},
		{Source: "title", Target: TargetJobTitle, Type: MappingDirect},
		{Source: "company", Target: TargetCompanyName, Type: MappingDirect},
	}
	if diff := cmp.Diff(wantUsers, s.EffectiveUserMapping()); diff != "" {
		t.Errorf("user mapping (-want +got):\n%s", diff)
	}
	wantGroups := []AttributeMapping{
		{Source: "name", Target: TargetName, Type: MappingDirect},
		{Source: "", Target: TargetDescription, Type: MappingEmpty},
	}
	if diff := cmp.Diff(wantGroups, s.EffectiveGroupMapping()); diff != "" {
		t.Errorf("group mapping (-want +got):\n%s", diff)
	}
	// The defaults themselves must not be modified by a merge.
	if got := DefaultUserMapping()[0].Source; got != "displayName" {
		t.Errorf("DefaultUserMapping changed: FullName source %q", got)
	}
}

// TestRedactedRoundTrip checks that the printed configuration hides
// secrets and parses back into the same configuration.
func TestRedactedRoundTrip(t *testing.T) {
	cfg, err := loadTest("testdata/good/full.yaml", goodEnv)
	if err != nil {
		t.Fatal(err)
	}
	out, err := cfg.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"file-password", "drsr-secret"} {
		if strings.Contains(string(out), secret) {
			t.Errorf("Redacted output contains the secret %q:\n%s", secret, out)
		}
	}
	back, err := Parse(out, ParseOptions{Dir: testdataDir(t), Hostname: func() (string, error) { return testHostname, nil }})
	if err != nil {
		t.Fatalf("parse redacted output: %v\n%s", err, out)
	}
	ignoreSecrets := cmp.Comparer(func(a, b Secret) bool { return true })
	if diff := cmp.Diff(cfg, back, cmpopts.IgnoreUnexported(Config{}), ignoreSecrets); diff != "" {
		t.Errorf("round trip (-loaded +reparsed):\n%s", diff)
	}
	if back.IAMToken.Value() != redacted {
		t.Errorf("reparsed iam_token = %q, want the placeholder", back.IAMToken.Value())
	}
}

// TestDefaultAgentID checks how host names become agent IDs.
func TestDefaultAgentID(t *testing.T) {
	tests := []struct{ host, want string }{
		{"dc-sync-01", "idsync-dc-sync-01"},
		{"Sync Host_01.corp.example.com", "idsync-sync-host-01.corp.example.com"},
		{"", "idsync"},
		{"ПК-1", "idsync----1"},
		{"a-very-long-host-name-that-goes-on-and-on.with.many.labels.example.com", "idsync-a-very-long-host-name-that-goes-on-and-on.w"},
		{"host-name-whose-cut-lands-on-a-dot-here-abcd.x.example", "idsync-host-name-whose-cut-lands-on-a-dot-here-abc"},
	}
	for _, tt := range tests {
		got := defaultAgentID(tt.host)
		if got != tt.want {
			t.Errorf("defaultAgentID(%q) = %q, want %q", tt.host, got, tt.want)
		}
		if len(got) > maxIDLength || !agentIDRE.MatchString(got) {
			t.Errorf("defaultAgentID(%q) = %q is not a valid agent ID", tt.host, got)
		}
	}
}

// TestDerivedDefaults checks defaults that depend on other keys.
func TestDerivedDefaults(t *testing.T) {
	td := testdataDir(t)
	tests := []struct {
		name string
		yaml string
		want func(c *Config) any
		exp  any
	}{
		{"base DN from domain", "sync_settings: {filter: {domain: corp.example.com}}", func(c *Config) any { return c.LDAP.BaseDN }, "DC=corp,DC=example,DC=com"},
		{"schedule from interval", "sync_settings: {interval: 90s, filter: {domain: a.b}}", func(c *Config) any { return c.Schedule }, "@every 1m30s"},
		{"healthy_after from long interval", "sync_settings: {interval: 2h, filter: {domain: a.b}}", func(c *Config) any { return c.Metrics.HealthyAfter }, 6 * time.Hour},
		{"hosts merged", "", func(c *Config) any { return c.LDAP.URLs() }, []string{"ldaps://a", "ldaps://b"}},
		{"relative working directory", "working_directory: good", func(c *Config) any { return c.StatePath }, filepath.Join(td, "good", "state")},
		{"drsr host from ldap", "password_hash_sync: {enabled: true}\ndrsr: {username: u, password: p}", func(c *Config) any { return c.DRSR.Host }, "a"},
		{"metadata wins over key file", "use_metadata_service: true", func(c *Config) any { return c.Credentials() }, CredentialsMetadata},
		{"key file", "", func(c *Config) any { return c.Credentials() }, CredentialsKeyFile},
		{"null keeps default", "apply: {concurrency: }", func(c *Config) any { return c.Apply.Concurrency }, 8},
		{"anchors and aliases", "sync_settings: {filter: {domain: &d a.b}, replacement_domain: *d}", func(c *Config) any { return c.SyncSettings.ReplacementDomain }, "a.b"},
	}
	base := "userpool_id: p1\ncloud_credentials_file_path: " + filepath.Join(td, "authorized_key.json") +
		"\nldap: {host: ldaps://a, hosts: [ldaps://b, ldaps://a], username: u, password: p}\n"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(base+tt.yaml), ParseOptions{Dir: td})
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if diff := cmp.Diff(tt.exp, tt.want(c)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
