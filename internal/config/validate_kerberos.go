package config

import (
	"net"
	"runtime"
	"strings"
)

// DefaultKrb5ConfigPath is kerberos.krb5_config_path when neither the file
// nor $KRB5_CONFIG names one.
const DefaultKrb5ConfigPath = "/etc/krb5.conf"

// windowsIdentityAvailable reports whether use_windows_identity can work:
// SSPI exists only on Windows. A variable so tests can flip it.
var windowsIdentityAvailable = runtime.GOOS == "windows"

// eventLogAvailable reports whether logger.event_log can work.
var eventLogAvailable = runtime.GOOS == "windows"

// usesKerberos reports whether any connection authenticates with the keytab.
func (c *Config) usesKerberos() bool {
	return c.LDAP.UseKerberos || (c.PasswordHashSync.Enabled && c.DRSR.UseKerberos)
}

// ldapMechanism names the LDAP bind for messages.
func (c *Config) ldapMechanism() string {
	switch {
	case c.LDAP.UseKerberos:
		return "Kerberos (the kerberos section)"
	case c.LDAP.UseWindowsIdentity:
		return "the Windows service identity"
	}
	return "a simple bind"
}

func (c *Config) validateLDAPAuth(ps *problems) {
	l := &c.LDAP
	if l.UseKerberos && l.UseWindowsIdentity {
		ps.add("ldap.use_windows_identity", "choose one of ldap.use_kerberos and ldap.use_windows_identity")
	}
	if l.UseWindowsIdentity && !windowsIdentityAvailable {
		ps.add("ldap.use_windows_identity", "works only on Windows (the service's logon identity through SSPI); on %s use ldap.use_kerberos with a keytab", runtime.GOOS)
	}
	if l.UseKerberos {
		c.validateKerberos(ps)
	}
}

func (c *Config) validateDRSRAuth(ps *problems) {
	d := &c.DRSR
	if d.UseWindowsIdentity {
		ps.add("drsr.use_windows_identity", "the Windows identity cannot authenticate MS-DRSR (the DRSR library has no SSPI support); set drsr.use_kerberos: true with a kerberos keytab instead")
	}
	if !d.UseKerberos || !c.PasswordHashSync.Enabled {
		return
	}
	if d.Host == "" {
		ps.add("drsr.host", "required when %s", c.hashSyncReason())
	} else if net.ParseIP(d.Host) != nil {
		ps.add("drsr.host", "must be the domain controller's FQDN with Kerberos (the service ticket is for host/<name>), got the address %s", d.Host)
	}
	if !c.LDAP.UseKerberos {
		c.validateKerberos(ps)
	}
}

// validateKerberos checks the kerberos section once, whichever connection
// needs it.
func (c *Config) validateKerberos(ps *problems) {
	k := &c.Kerberos
	if k.KeytabPath == "" {
		ps.add("kerberos.keytab_path", "required when use_kerberos is true: the keytab of the service principal")
	} else if _, err := readSmallFile(k.KeytabPath); err != nil {
		ps.add("kerberos.keytab_path", "cannot read the keytab: %s", err.Error())
	}
	switch {
	case k.Principal == "":
		ps.add("kerberos.principal", "required when use_kerberos is true, such as svc-idsync@EXAMPLE.COM")
	case strings.Count(k.Principal, "@") > 1 || strings.HasPrefix(k.Principal, "@") || strings.HasSuffix(k.Principal, "@"):
		ps.add("kerberos.principal", "must be name@REALM, got %q", k.Principal)
	}
	if _, err := readSmallFile(k.Krb5ConfigPath); err != nil {
		ps.add("kerberos.krb5_config_path", "cannot read krb5.conf (set kerberos.krb5_config_path or $KRB5_CONFIG): %s", err.Error())
	}
}
