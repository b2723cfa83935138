package config

import (
	"crypto/x509"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

func (c *Config) validateLDAP(ps *problems) {
	l := &c.LDAP
	c.validateLDAPAuth(ps)
	if l.Host == "" && len(l.Hosts) == 0 {
		ps.add("ldap.host", "required: set ldap.host or ldap.hosts to an ldaps:// URL of a domain controller")
	}
	if l.Host != "" {
		c.validateLDAPURL(ps, "ldap.host", l.Host)
	}
	for i, h := range l.Hosts {
		c.validateLDAPURL(ps, fmt.Sprintf("ldap.hosts[%d]", i), h)
	}
	if !l.UseKerberos && !l.UseWindowsIdentity {
		if l.Username == "" {
			ps.add("ldap.username", "required: the bind DN or user principal name")
		}
		if l.Password.IsZero() {
			ps.add("ldap.password", "required")
		}
	}
	if l.CertificatePath != "" {
		validateCAFile(ps, "ldap.certificate_path", l.CertificatePath)
	}
	if l.BaseDN != "" {
		if _, err := ldap.ParseDN(l.BaseDN); err != nil {
			ps.add("ldap.base_dn", "invalid DN %q: %s; %s", l.BaseDN, err.Error(), dnExample)
		}
	}
	positive(ps, "ldap.timeout", l.Timeout)
	intRange(ps, "ldap.page_size", l.PageSize, 1, 10000)
	switch l.DeltaMode {
	case DeltaAuto, DeltaDirSync, DeltaUSN:
	default:
		ps.add("ldap.delta_mode", "must be auto, dirsync or usn, got %q", l.DeltaMode)
	}
}

// validateLDAPURL checks one directory server URL.
func (c *Config) validateLDAPURL(ps *problems, key, raw string) {
	u, err := url.Parse(raw)
	if err != nil {
		ps.add(key, "invalid URL %q", raw)
		return
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "ldap" && scheme != "ldaps" {
		ps.add(key, "must be an ldaps:// or ldap:// URL, such as \"ldaps://dc1.example.com:636\", got %q", raw)
		return
	}
	if u.Hostname() == "" {
		ps.add(key, "URL %q has no host", raw)
		return
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		ps.add(key, "URL %q must hold only scheme, host and port (set the base DN with ldap.base_dn)", raw)
		return
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			ps.add(key, "URL %q has an invalid port", raw)
			return
		}
	}
	if scheme == "ldap" && !c.LDAP.StartTLS && (c.LDAP.UseKerberos || c.LDAP.UseWindowsIdentity) {
		ps.add(key, "Kerberos and Windows identity binds run only over TLS: use ldaps:// or set ldap.start_tls: true")
		return
	}
	if scheme == "ldap" && !c.LDAP.StartTLS && !c.LDAP.AllowInsecureBind {
		ps.add(key, "ldap:// would send the password in clear text; use ldaps://, set ldap.start_tls: true, or (for testing only) ldap.allow_insecure_bind: true")
	}
}

// validateCAFile checks that path holds at least one PEM certificate.
func validateCAFile(ps *problems, key, path string) {
	data, err := readSmallFile(path)
	if err != nil {
		ps.add(key, "read CA certificates: %s", err.Error())
		return
	}
	if !x509.NewCertPool().AppendCertsFromPEM(data) {
		ps.add(key, "no PEM certificate found in %s", path)
	}
}

func (c *Config) validateDRSR(ps *problems) {
	d := &c.DRSR
	c.validateDRSRAuth(ps)
	if !c.PasswordHashSync.Enabled || d.UseKerberos || d.UseWindowsIdentity {
		return
	}
	if d.Host == "" {
		ps.add("drsr.host", "required when %s", c.hashSyncReason())
	}
	if d.Username == "" {
		ps.add("drsr.username", "required when %s", c.hashSyncReason())
	}
	if d.Password.IsZero() {
		ps.add("drsr.password", "required when %s", c.hashSyncReason())
	}
}
