// Package config loads and validates the idsync configuration file.
//
// The file is YAML. It accepts every key of the Yandex Identity Hub AD Sync
// Agent's config.yaml, so an administrator can reuse that file, plus idsync's
// own keys (agent_id, iam_token, endpoints, state_path, schedule, safety,
// apply, metrics, ...). config.example.yaml at the repository root documents
// every key and its default.
//
// Decoding is strict: unknown keys, duplicate keys and values of the wrong
// type are errors that name the line and the key path. Load applies the
// defaults (Default and the derived defaults described on each field),
// resolves secrets and relative paths, and validates; every problem found is
// reported at once in an *Error.
package config

import "time"

// Config is the whole configuration. After Load or Parse every field holds
// its effective value: defaults applied, relative paths made absolute
// against WorkingDirectory, secrets read.
type Config struct {
	// UserpoolID is the Identity Hub user pool to synchronize into.
	// Required, at most 50 characters.
	UserpoolID string `yaml:"userpool_id"`
	// AgentID identifies this agent to the session API (at most 50
	// characters of [A-Za-z0-9._-]). Default: "idsync-" followed by the
	// host name, lowercased and sanitized, stable across restarts.
	AgentID string `yaml:"agent_id"`
	// WorkingDirectory is the base of every relative path in the file.
	// Default: the directory holding the config file. (The Yandex agent
	// uses its executable's directory; idsync uses the config's, so a key
	// file kept next to the config is found wherever the binary lives.)
	// A relative value resolves against the config file's directory.
	WorkingDirectory string `yaml:"working_directory"`
	// CloudCredentialsFilePath is a service account authorized key (JSON).
	// One of CloudCredentialsFilePath, UseMetadataService and IAMToken is
	// required; see Credentials.
	CloudCredentialsFilePath string `yaml:"cloud_credentials_file_path"`
	// UseMetadataService takes IAM tokens from the Compute Cloud VM
	// metadata service. When true, CloudCredentialsFilePath is ignored
	// (as in the Yandex agent) with a warning.
	UseMetadataService bool `yaml:"use_metadata_service"`
	// IAMToken is a static bearer token, for the emulator and tests. It
	// cannot be combined with the other two credential sources.
	IAMToken Secret `yaml:"iam_token"`
	// CheckConfigPermissions makes Load refuse a config file, key file,
	// CA file or secret file that is not owned by the current user or is
	// readable by group or others (Unix). Not checked on Windows yet.
	CheckConfigPermissions bool `yaml:"check_config_permissions"`
	// EnablePasswordWriteback writes passwords set in Identity Hub to
	// Active Directory first (password writeback): 'idsync run' keeps the
	// stream of password changes open, and the pool's settings get the
	// same value when the file has a sync_settings section. Passwords are
	// written only over LDAPS or StartTLS.
	EnablePasswordWriteback bool `yaml:"enable_password_writeback"`
	// UseSessionAPI is accepted for compatibility and ignored: idsync
	// always uses the synchronization session API.
	UseSessionAPI bool `yaml:"use_session_api"`
	// DryRun computes and logs the changes without applying them.
	DryRun DryRun `yaml:"dry_run"`

	// Endpoints are the Yandex Cloud API endpoints.
	Endpoints Endpoints `yaml:"endpoints"`
	// StatePath is the directory for local durable state. Default:
	// <working_directory>/state.
	StatePath string `yaml:"state_path"`

	// DRSR holds the credentials for reading password hashes (MS-DRSR),
	// used only when PasswordHashSync.Enabled. As in the Yandex agent, a
	// drsr section with any key turns PasswordHashSync.Enabled on unless
	// the file sets password_hash_sync.enabled itself.
	DRSR DRSR `yaml:"drsr"`
	// LDAP is how to reach and read Active Directory.
	LDAP LDAP `yaml:"ldap"`
	// Kerberos is the keytab used when ldap.use_kerberos is true.
	Kerberos Kerberos `yaml:"kerberos"`
	// Logger configures logging.
	Logger Logger `yaml:"logger"`
	// SyncSettings are the synchronization settings; see SyncSettings.Present.
	SyncSettings SyncSettings `yaml:"sync_settings"`

	// Schedule is when cycles run: a cron expression (optional seconds
	// field) or a descriptor such as "@every 10m" or "@hourly", optionally
	// prefixed with CRON_TZ=Zone. Default: "@every " + SyncSettings.Interval.
	Schedule string `yaml:"schedule"`
	// FullSyncInterval is how often a full reconciliation replaces the
	// delta read. Default 24h.
	FullSyncInterval time.Duration `yaml:"full_sync_interval"`
	// Safety holds the limits that stop a cycle before it applies changes.
	Safety Safety `yaml:"safety"`
	// Apply tunes how changes are applied to Identity Hub.
	Apply Apply `yaml:"apply"`
	// ReportInterval is how often session progress is reported. Default 5s.
	ReportInterval time.Duration `yaml:"report_interval"`
	// HeartbeatInterval is how often an open session is kept alive.
	// Default 30s.
	HeartbeatInterval time.Duration `yaml:"heartbeat_interval"`
	// Metrics configures the Prometheus and health endpoint.
	Metrics Metrics `yaml:"metrics"`
	// PasswordHashSync configures password hash synchronization.
	PasswordHashSync PasswordHashSync `yaml:"password_hash_sync"`
	// UserControl configures the account-state loop (AD_USER_CONTROL).
	UserControl UserControl `yaml:"user_control"`

	file  string         // config file, for messages and the permission check
	lines map[string]int // key path -> line, for messages
	// hashSyncFromDRSR: PasswordHashSync.Enabled is true because of a drsr
	// section, as in the Yandex agent (see PasswordHashSync.Enabled).
	hashSyncFromDRSR bool
}

// DryRun is the dry_run section.
type DryRun struct {
	// Enabled computes and logs what would change, applying nothing.
	Enabled bool `yaml:"enabled"`
}

// Endpoints are host:port addresses of the Yandex Cloud gRPC APIs.
type Endpoints struct {
	// OrganizationManager serves users, groups and synchronization
	// sessions. Default organization-manager.api.cloud.yandex.net:443.
	OrganizationManager string `yaml:"organization_manager"`
	// IAM serves IAM tokens. Default iam.api.cloud.yandex.net:443.
	IAM string `yaml:"iam"`
	// Operation serves long-running operations. Default
	// operation.api.cloud.yandex.net:443.
	Operation string `yaml:"operation"`
	// Logging serves Cloud Logging ingestion (logger.cloud_logger).
	// Default ingester.logging.yandexcloud.net:443.
	Logging string `yaml:"logging"`
	// Plaintext disables TLS; for the local emulator only.
	Plaintext bool `yaml:"plaintext"`
}

// DRSR is the drsr section.
type DRSR struct {
	// Host is the domain controller. Default: the host of the first LDAP URL.
	Host string `yaml:"host"`
	// Username is the account's sAMAccountName.
	Username string `yaml:"username"`
	// Password is the account's password.
	Password Secret `yaml:"password"`
	// UseKerberos authenticates with the kerberos section's keytab instead
	// of Username and Password; Host must then be the DC's FQDN.
	UseKerberos bool `yaml:"use_kerberos"`
	// UseWindowsIdentity is always an error: MS-DRSR cannot use the
	// Windows identity (no SSPI in the DRSR library); use UseKerberos.
	UseWindowsIdentity bool `yaml:"use_windows_identity"`
}

// LDAP is the ldap section.
type LDAP struct {
	// Host is the Yandex agent's single-URL form, such as
	// "ldaps://dc1.example.com:636". Use URLs, which merges it with Hosts.
	Host string `yaml:"host"`
	// Hosts are more ldaps:// (or ldap://) URLs, tried in order for
	// failover. Use URLs.
	Hosts []string `yaml:"hosts"`
	// Username is the bind DN or user principal name.
	Username string `yaml:"username"`
	// Password is the bind password.
	Password Secret `yaml:"password"`
	// CertificatePath is a PEM file of the CA certificates trusted for
	// the DC's certificate, in place of the system roots. Optional: empty
	// means the system roots.
	CertificatePath string `yaml:"certificate_path"`
	// InsecureSkipVerify disables server certificate checks (warned).
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// StartTLS upgrades ldap:// connections with StartTLS.
	StartTLS bool `yaml:"start_tls"`
	// AllowInsecureBind permits a simple bind over ldap:// without
	// StartTLS, which sends the password in clear text. Testing only.
	AllowInsecureBind bool `yaml:"allow_insecure_bind"`
	// BaseDN is where searches start. Default: derived from
	// SyncSettings.Filter.Domain ("example.com" -> "DC=example,DC=com");
	// empty when that is empty too, and the agent then uses the domain of
	// the cloud's synchronization settings.
	BaseDN string `yaml:"base_dn"`
	// Timeout bounds dialing and each request. Default 30s.
	Timeout time.Duration `yaml:"timeout"`
	// PageSize is the paged-search page size, 1..10000. Default 1000.
	PageSize int `yaml:"page_size"`
	// DeltaMode is how changes are read: "auto" (DirSync when permitted,
	// else uSNChanged), "dirsync" or "usn". Default "auto".
	DeltaMode string `yaml:"delta_mode"`
	// UseKerberos binds with a SASL GSSAPI bind using the kerberos
	// section's keytab, over LDAPS or StartTLS only; Username and
	// Password are then ignored.
	UseKerberos bool `yaml:"use_kerberos"`
	// UseWindowsIdentity binds with the Windows service's own logon
	// credentials through SSPI (a gMSA when the service runs as one).
	// Windows only.
	UseWindowsIdentity bool `yaml:"use_windows_identity"`
}

// Kerberos is the kerberos section.
type Kerberos struct {
	// KeytabPath is the keytab of Principal; relative to WorkingDirectory.
	KeytabPath string `yaml:"keytab_path"`
	// Principal is the client principal, name@REALM (realm in capitals);
	// without a realm the krb5.conf default realm is used.
	Principal string `yaml:"principal"`
	// Krb5ConfigPath is the krb5.conf naming the realm's KDCs. Default
	// $KRB5_CONFIG, else /etc/krb5.conf (set only when Kerberos is used).
	Krb5ConfigPath string `yaml:"krb5_config_path"`
	// DisablePAFXFast leaves PA-FX-FAST out of requests to the KDC.
	DisablePAFXFast bool `yaml:"disable_pa_fx_fast"`
}

// Logger is the logger section.
type Logger struct {
	// Level is debug, info, warn, error, dpanic, panic or fatal.
	// Default info.
	Level string `yaml:"level"`
	// Format is plain or json. Default plain.
	Format string `yaml:"format"`
	// File, when File.Filename is set, writes logs to a rotated file
	// instead of standard output.
	File LogFile `yaml:"file"`
	// CloudLogger sends log entries to Yandex Cloud Logging.
	CloudLogger CloudLogger `yaml:"cloud_logger"`
	// EventLog writes warnings and errors to the Windows Application log
	// (Windows only; elsewhere ignored with a warning).
	EventLog EventLog `yaml:"event_log"`
}

// LogFile is the logger.file section.
type LogFile struct {
	// Filename is the log file; relative to WorkingDirectory. Empty: stdout.
	Filename string `yaml:"filename"`
	// MaxSize is the size in megabytes that triggers rotation. Default 30.
	MaxSize int `yaml:"maxsize"`
	// MaxBackups is how many rotated files are kept. Default 10.
	MaxBackups int `yaml:"maxbackups"`
}

// CloudLogger is the logger.cloud_logger section.
type CloudLogger struct {
	// LogGroupID, when set, also sends log entries (info and above, each
	// with agent_id) to this Yandex Cloud Logging log group.
	LogGroupID string `yaml:"log_group_id"`
}

// EventLog is the logger.event_log section.
type EventLog struct {
	// Source is the event source name, registered by `idsync service
	// install`. Empty: no Event Log.
	Source string `yaml:"source"`
}

// Safety holds the limits checked after planning, before any change.
type Safety struct {
	// MaxDeletions stops the cycle when it would delete (or block) more
	// users and groups than this. 0 allows no deletion at all; -1 means no
	// limit. Default 500.
	MaxDeletions int `yaml:"max_deletions"`
	// MaxDeletionPercent stops the cycle when deletions exceed this
	// percentage of the objects in Identity Hub, 0..100 (100 = no limit).
	// Default 20.
	MaxDeletionPercent float64 `yaml:"max_deletion_percent"`
	// MinSourceUsers stops the cycle when the directory returns fewer
	// users than this, guarding against an empty or truncated read.
	// 0 disables the check. Default 0.
	MinSourceUsers int `yaml:"min_source_users"`
	// MaxMembershipRemovals stops the cycle when it would remove more group
	// memberships than this; 0 allows none, -1 (default) turns it off.
	MaxMembershipRemovals int `yaml:"max_membership_removals"`
	// MaxMembershipRemovalPercent stops the cycle when it would remove more
	// than this percentage of the memberships of the groups it looked at,
	// 0..100 (100, the default, turns it off).
	MaxMembershipRemovalPercent float64 `yaml:"max_membership_removal_percent"`
	// MaxAttributeLosses stops the cycle when more users than this would
	// lose the value of one mapped attribute (mail emptied, ...); 0 allows
	// none, -1 (default) turns it off.
	MaxAttributeLosses int `yaml:"max_attribute_losses"`
	// MaxUsernameChanges stops the cycle when more users than this would
	// get a new username (a UPN suffix change renames everyone); 0 allows
	// none, -1 (default) turns it off.
	MaxUsernameChanges int `yaml:"max_username_changes"`
	// MaxGroupMemberLossPercent stops the cycle when a group would lose more
	// than this percentage of its members, 0..100 (100, the default, turns
	// it off).
	MaxGroupMemberLossPercent float64 `yaml:"max_group_member_loss_percent"`
	// GroupMemberLossMinMembers exempts groups with fewer members than this
	// from max_group_member_loss_percent. Default 10.
	GroupMemberLossMinMembers int `yaml:"group_member_loss_min_members"`
}

// Apply tunes the applier.
type Apply struct {
	// Concurrency is the number of parallel API calls, 1..64. Default 8.
	Concurrency int `yaml:"concurrency"`
	// RateLimit caps Identity Hub API calls per second, every call counted
	// (retries and operation polls too); 0 means unlimited. Default 50.
	RateLimit float64 `yaml:"rate_limit"`
	// MaxRetries is how often an Identity Hub call that failed with a
	// transient error is retried after its first attempt, 0..100: at most
	// MaxRetries+1 attempts per call, 0 meaning one. Default 5.
	MaxRetries int `yaml:"max_retries"`
	// QuarantineAfter is the number of consecutive cycles an object's
	// change may fail before the object is quarantined: no longer tried
	// every cycle, only once a day, when its directory object changes, or
	// after `idsync jobs quarantine release`. 0 turns quarantine off.
	// Default 5.
	QuarantineAfter int `yaml:"quarantine_after"`
}

// Metrics is the metrics section.
type Metrics struct {
	// Listen is the host:port for /metrics and /healthz. Empty (the
	// default) serves nothing.
	Listen string `yaml:"listen"`
	// HealthyAfter is the maximum age of the last successful cycle for
	// /healthz to report healthy. Default: 3 × SyncSettings.Interval, at
	// least 1h.
	HealthyAfter time.Duration `yaml:"healthy_after"`
	// UnhealthyAfterFailures makes /healthz report unhealthy once this
	// many cycles in a row have failed (a safety stop counts; a cycle the
	// pool said was too early does not), before HealthyAfter passes.
	// Default 3; 0 turns it off.
	UnhealthyAfterFailures int `yaml:"unhealthy_after_failures"`
}

// UserControl is the user_control section: the loop that suspends pool
// users whose AD account is disabled, expired or locked out, and
// reactivates them, within seconds.
type UserControl struct {
	// Enabled runs the loop in the daemon. Default true: it is the
	// security feature (an account disabled in AD loses cloud access
	// now, not at the next cycle), needs no right beyond the directory
	// read, and an idle tick makes no cloud call.
	Enabled bool `yaml:"enabled"`
	// Interval is the time between ticks. Default 10s.
	Interval time.Duration `yaml:"interval"`
	// SuspendLockedOut suspends locked-out accounts until their lockout
	// ends. Default true.
	SuspendLockedOut bool `yaml:"suspend_locked_out"`
}

// PasswordHashSync is the password_hash_sync section.
type PasswordHashSync struct {
	// Enabled turns on password hash synchronization over MS-DRSR, using
	// the drsr credentials. Default: true when the file has a drsr section
	// with any key (the Yandex agent's behaviour), false otherwise; an
	// explicit value always wins.
	Enabled bool `yaml:"enabled"`
	// Interval is how often password changes are read. Default 2m.
	Interval time.Duration `yaml:"interval"`
}
