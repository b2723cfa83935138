package config

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Warnings returns the things worth telling the operator about a valid
// configuration: settings that are accepted but ignored, and insecure
// choices. They never stop idsync.
func (c *Config) Warnings() []Problem {
	ps := problems{lines: c.lines}
	if c.UseMetadataService && c.CloudCredentialsFilePath != "" && c.IAMToken.IsZero() {
		ps.add("cloud_credentials_file_path", "ignored because use_metadata_service is true")
	}
	if c.CheckConfigPermissions && !permissionsChecked {
		ps.add("check_config_permissions", "file permissions are not checked on this platform yet")
	}
	if c.Endpoints.Plaintext {
		for _, e := range [...]struct{ key, addr string }{
			{"endpoints.organization_manager", c.Endpoints.OrganizationManager},
			{"endpoints.iam", c.Endpoints.IAM},
			{"endpoints.operation", c.Endpoints.Operation},
			{"endpoints.logging", c.Endpoints.Logging},
		} {
			// The logging endpoint is dialled only when Cloud Logging is on.
			if e.key == "endpoints.logging" && c.Logger.CloudLogger.LogGroupID == "" {
				continue
			}
			if !isLoopback(e.addr) {
				ps.add(e.key, "plaintext is true: credentials go to %s unencrypted; use it only with a local emulator", e.addr)
			}
		}
	}
	if c.LDAP.InsecureSkipVerify {
		ps.add("ldap.insecure_skip_verify", "the domain controller's certificate is not verified; set ldap.certificate_path instead")
	}
	if c.LDAP.StartTLS && !hasPlainLDAP(c.LDAP.URLs()) {
		ps.add("ldap.start_tls", "has no effect: every URL is ldaps://")
	}
	if c.hashSyncFromDRSR {
		ps.add("drsr", "password hashes are synchronized because this section is present, as in the Yandex agent; set password_hash_sync.enabled: false to turn that off")
	} else if !c.PasswordHashSync.Enabled && (c.DRSR.Host != "" || c.DRSR.Username != "" || !c.DRSR.Password.IsZero() || c.DRSR.UseKerberos) {
		ps.add("drsr", "ignored: password_hash_sync.enabled is false")
	}
	if c.EnablePasswordWriteback && c.DryRun.Enabled {
		ps.add("enable_password_writeback", "ignored in a dry run: no password is written back")
	}
	k := c.Kerberos
	if !c.usesKerberos() && (k.KeytabPath != "" || k.Principal != "" || k.Krb5ConfigPath != "" || k.DisablePAFXFast) {
		ps.add("kerberos", "ignored: neither ldap.use_kerberos nor drsr.use_kerberos is true")
	}
	if (c.LDAP.UseKerberos || c.LDAP.UseWindowsIdentity) && (c.LDAP.Username != "" || !c.LDAP.Password.IsZero()) {
		ps.add("ldap.username", "ignored: the bind uses %s", c.ldapMechanism())
	}
	if c.Logger.EventLog.Source != "" && !eventLogAvailable {
		ps.add("logger.event_log.source", "ignored: the Windows Event Log exists only on Windows")
	}
	c.syncWarnings(&ps)
	return sortProblems(ps.list)
}

// Limits of the pool's synchronization interval (SynchronizationSettings).
const (
	minPoolInterval = 15 * time.Minute
	maxPoolInterval = 6 * time.Hour
)

// syncWarnings reports an interval the pool does not accept and
// organization units outside filter.domain.
func (c *Config) syncWarnings(ps *problems) {
	s := &c.SyncSettings
	if _, set := c.lines["sync_settings.interval"]; set && s.Interval > 0 && (s.Interval < minPoolInterval || s.Interval > maxPoolInterval) {
		ps.add("sync_settings.interval", "%s is outside the pool's range of %s to %s: idsync runs cycles every %s but leaves the pool's synchronization interval as it is", s.Interval, minPoolInterval, maxPoolInterval, s.Interval)
	}
	if s.Filter.Domain == "" {
		return
	}
	for i, ou := range s.Filter.OrganizationUnits {
		dn, err := ldap.ParseDN(ou)
		if err != nil {
			continue // an error already
		}
		var dcs []string
		for _, rdn := range dn.RDNs {
			for _, a := range rdn.Attributes {
				if strings.EqualFold(a.Type, "DC") {
					dcs = append(dcs, a.Value)
				}
			}
		}
		if got := strings.Join(dcs, "."); !strings.EqualFold(got, s.Filter.Domain) {
			ps.add(fmt.Sprintf("sync_settings.filter.organization_units[%d]", i), "%q is not in the domain %s (its DC= parts say %q); a domain controller of %s does not hold it", ou, s.Filter.Domain, got, s.Filter.Domain)
		}
	}
}

// isLoopback reports whether a host:port names this machine.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func hasPlainLDAP(urls []string) bool {
	for _, raw := range urls {
		if u, err := url.Parse(raw); err == nil && strings.EqualFold(u.Scheme, "ldap") {
			return true
		}
	}
	return false
}
