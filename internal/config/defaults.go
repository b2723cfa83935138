package config

import (
	"net/url"
	"path/filepath"
	"strings"
	"time"
)

// Default endpoints of the Yandex Cloud API.
const (
	DefaultOrganizationManagerEndpoint = "organization-manager.api.cloud.yandex.net:443"
	DefaultIAMEndpoint                 = "iam.api.cloud.yandex.net:443"
	DefaultOperationEndpoint           = "operation.api.cloud.yandex.net:443"
	DefaultLoggingEndpoint             = "ingester.logging.yandexcloud.net:443"
)

// Delta modes for LDAP.DeltaMode.
const (
	DeltaAuto    = "auto"
	DeltaDirSync = "dirsync"
	DeltaUSN     = "usn"
)

// maxIDLength is the API's limit on userpool and agent IDs.
const maxIDLength = 50

// Default returns a configuration holding every fixed default. Parse
// decodes the file over it, so a key absent from the file keeps the value
// set here; defaults that depend on other keys (agent_id, working_directory,
// state_path, ldap.base_dn, schedule, metrics.healthy_after,
// drsr.host) are filled in later by Parse.
func Default() *Config {
	return &Config{
		Endpoints: Endpoints{
			OrganizationManager: DefaultOrganizationManagerEndpoint,
			IAM:                 DefaultIAMEndpoint,
			Operation:           DefaultOperationEndpoint,
			Logging:             DefaultLoggingEndpoint,
		},
		LDAP: LDAP{
			Timeout:   30 * time.Second,
			PageSize:  1000,
			DeltaMode: DeltaAuto,
		},
		Logger: Logger{
			Level:  "info",
			Format: "plain",
			File:   LogFile{MaxSize: 30, MaxBackups: 10},
		},
		SyncSettings: SyncSettings{
			Interval:           240 * time.Second,
			RemoveUserBehavior: RemoveUserRemove,
		},
		FullSyncInterval: 24 * time.Hour,
		Safety: Safety{MaxDeletions: 500, MaxDeletionPercent: 20,
			MaxMembershipRemovals: -1, MaxMembershipRemovalPercent: 100, MaxAttributeLosses: -1,
			MaxUsernameChanges: -1, MaxGroupMemberLossPercent: 100, GroupMemberLossMinMembers: 10},
		Apply:             Apply{Concurrency: 8, RateLimit: 50, MaxRetries: 5, QuarantineAfter: 5},
		ReportInterval:    5 * time.Second,
		HeartbeatInterval: 30 * time.Second,
		PasswordHashSync:  PasswordHashSync{Interval: 2 * time.Minute},
		UserControl:       UserControl{Enabled: true, Interval: 10 * time.Second, SuspendLockedOut: true},
		Metrics:           Metrics{UnhealthyAfterFailures: 3},
	}
}

// applyDerived fills the defaults that depend on other values, resolves
// relative paths and normalizes case-insensitive values. dir is the
// config file's directory.
func (c *Config) applyDerived(dir, hostname string) {
	wd := c.WorkingDirectory
	if wd == "" {
		wd = dir
	}
	c.WorkingDirectory = filepath.Clean(resolvePath(dir, wd))
	wd = c.WorkingDirectory
	for _, p := range []*string{
		&c.CloudCredentialsFilePath, &c.LDAP.CertificatePath, &c.Kerberos.KeytabPath,
		&c.Kerberos.Krb5ConfigPath, &c.Logger.File.Filename, &c.StatePath,
	} {
		*p = resolvePath(wd, *p)
	}
	if c.StatePath == "" {
		c.StatePath = filepath.Join(wd, "state")
	}
	if c.AgentID == "" {
		c.AgentID = defaultAgentID(hostname)
	}

	if c.LDAP.BaseDN == "" {
		c.LDAP.BaseDN = domainToDN(c.SyncSettings.Filter.Domain)
	}
	c.LDAP.DeltaMode = strings.ToLower(c.LDAP.DeltaMode)
	if c.PasswordHashSync.Enabled && c.DRSR.Host == "" && len(c.LDAP.URLs()) > 0 {
		if u, err := url.Parse(c.LDAP.URLs()[0]); err == nil {
			c.DRSR.Host = u.Hostname()
		}
	}

	c.Logger.Level = strings.ToLower(c.Logger.Level)
	c.Logger.Format = strings.ToLower(c.Logger.Format)

	s := &c.SyncSettings
	s.RemoveUserBehavior = strings.ToLower(s.RemoveUserBehavior)
	normalizeMappings(s.UserAttributeMapping, DefaultUserMapping())
	normalizeMappings(s.GroupAttributeMapping, DefaultGroupMapping())
	if c.Schedule == "" && s.Interval > 0 {
		c.Schedule = "@every " + s.Interval.String()
	}
	if c.Metrics.HealthyAfter == 0 {
		c.Metrics.HealthyAfter = max(time.Hour, 3*s.Interval)
	}
}

// normalizeMappings writes canonical targets and lowercase types; unknown
// targets are left for Validate to report.
func normalizeMappings(ms []AttributeMapping, defaults []AttributeMapping) {
	for i := range ms {
		if t := canonicalTarget(defaults, ms[i].Target); t != "" {
			ms[i].Target = t
		}
		ms[i].Type = strings.ToLower(ms[i].Type)
	}
}

// URLs returns the directory servers to try, in order: Host, then Hosts,
// without empty entries or duplicates.
func (l *LDAP) URLs() []string {
	var out []string
	seen := make(map[string]bool)
	for _, h := range append([]string{l.Host}, l.Hosts...) {
		if h == "" || seen[h] {
			continue
		}
		seen[h] = true
		out = append(out, h)
	}
	return out
}

// domainToDN turns "example.com" into "DC=example,DC=com".
func domainToDN(domain string) string {
	domain = strings.Trim(domain, ".")
	if domain == "" {
		return ""
	}
	labels := strings.Split(domain, ".")
	for i, l := range labels {
		labels[i] = "DC=" + l
	}
	return strings.Join(labels, ",")
}

// defaultAgentID derives a stable agent ID from the host name: "idsync-"
// plus the lowercased name with characters outside [a-z0-9.-] replaced by
// "-", cut to 50 characters.
func defaultAgentID(hostname string) string {
	var b strings.Builder
	b.WriteString("idsync-")
	for _, r := range strings.ToLower(hostname) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	id := b.String()
	if len(id) > maxIDLength {
		id = id[:maxIDLength]
	}
	return strings.TrimRight(id, ".-")
}
