package config

import (
	"strings"
	"testing"
)

func TestPasswordWritebackConfig(t *testing.T) {
	base := "userpool_id: pool1\niam_token: tok\nenable_password_writeback: true\nldap:\n  username: svc@example.com\n  password: pw\n"
	parse := func(t *testing.T, extra string) (*Config, error) {
		t.Helper()
		return Parse([]byte(base+extra), ParseOptions{Dir: t.TempDir(), Hostname: func() (string, error) { return "host", nil }})
	}
	for _, ldap := range []string{"  host: ldaps://dc1.example.com:636\n", "  host: ldap://dc1.example.com:389\n  start_tls: true\n"} {
		c, err := parse(t, ldap)
		if err != nil {
			t.Fatalf("%q: %v", ldap, err)
		}
		if !c.EnablePasswordWriteback {
			t.Errorf("%q: writeback not enabled", ldap)
		}
		if w := c.Warnings(); len(w) != 0 {
			t.Errorf("%q: warnings %v", ldap, w)
		}
	}
	c, err := parse(t, "  host: ldaps://dc1.example.com:636\ndry_run:\n  enabled: true\n")
	if err != nil {
		t.Fatal(err)
	}
	if w := c.Warnings(); len(w) != 1 || !strings.Contains(w[0].String(), "ignored in a dry run") {
		t.Errorf("dry run warnings = %v", w)
	}
	if _, err := parse(t, "  host: ldap://dc1.example.com:389\n  allow_insecure_bind: true\n"); err == nil ||
		!strings.Contains(err.Error(), "passwords are written only over LDAPS or StartTLS") {
		t.Errorf("plain ldap: %v", err)
	}
}
