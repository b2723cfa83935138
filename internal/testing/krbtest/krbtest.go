// Package krbtest gives tests the Kerberos side of the Samba test DC:
// the service principal, its keytab (and a stale one), the krb5.conf and
// the DC's URLs by FQDN, as `scripts/samba-dc.sh keytab` prepares them.
package krbtest

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idsync/idsync/internal/testing/testdc"
)

// Env is the content of ${IDSYNC_DC_DIR}/krb/krb.env.
type Env struct {
	Principal, User, Keytab, Config string
	StalePrincipal, StaleKeytab     string
	LDAPSURL, LDAPURL               string
}

// Load returns the Kerberos env of the DC in dcDir, running
// `scripts/samba-dc.sh keytab` for that DC first when it is missing.
func Load(t testing.TB, dcDir string) Env {
	t.Helper()
	path := filepath.Join(dcDir, "krb", "krb.env")
	if _, err := os.Stat(path); err != nil {
		root, err := testdc.ModuleRoot()
		if err != nil {
			t.Fatalf("krbtest: %v", err)
		}
		cmd := exec.CommandContext(t.Context(), "bash", filepath.Join(root, "scripts", "samba-dc.sh"), "keytab")
		cmd.Env = append(os.Environ(), "IDSYNC_DC_DIR="+dcDir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("krbtest: scripts/samba-dc.sh keytab: %v\n%s", err, out)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("krbtest: %v", err)
	}
	defer f.Close()
	kv := map[string]string{}
	for sc := bufio.NewScanner(f); sc.Scan(); {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			kv[k] = v
		}
	}
	e := Env{Principal: kv["IDSYNC_KRB_PRINCIPAL"], User: kv["IDSYNC_KRB_USER"], Keytab: kv["IDSYNC_KRB_KEYTAB"],
		Config: kv["IDSYNC_KRB_CONFIG"], StalePrincipal: kv["IDSYNC_KRB_STALE_PRINCIPAL"],
		StaleKeytab: kv["IDSYNC_KRB_STALE_KEYTAB"], LDAPSURL: kv["IDSYNC_KRB_LDAPS_URL"], LDAPURL: kv["IDSYNC_KRB_LDAP_URL"]}
	if e.Principal == "" || e.Keytab == "" || e.Config == "" || e.LDAPSURL == "" {
		t.Fatalf("krbtest: %s is incomplete", path)
	}
	return e
}
