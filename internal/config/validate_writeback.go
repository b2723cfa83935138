package config

// validateWriteback checks what password writeback needs: a way to write
// passwords that never sends them in clear text.
func (c *Config) validateWriteback(ps *problems) {
	if !c.EnablePasswordWriteback {
		return
	}
	if hasPlainLDAP(c.LDAP.URLs()) && !c.LDAP.StartTLS {
		ps.add("enable_password_writeback", "passwords are written only over LDAPS or StartTLS: use ldaps:// URLs or set ldap.start_tls: true (ldap.allow_insecure_bind does not apply to passwords)")
	}
}
