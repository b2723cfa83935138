// Package testdc gives tests access to the Samba domain controller started by
// scripts/samba-dc.sh: it reads the DC's env file, optionally starts the DC,
// and seeds adseed profiles exactly once per DC so that several test
// packages can share one seeded DC.
//
// Tests call Env (DC connection details) or Seeded (details plus the
// expected dataset of a seeded profile). When the DC is not available they
// fail if CI=true and skip otherwise. IDSYNC_DC_AUTOSTART=1 makes them run
// `scripts/samba-dc.sh up` first.
package testdc

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/idsync/idsync/internal/testing/adseed"
)

// DC holds the connection details from the env file written by
// scripts/samba-dc.sh.
type DC struct {
	LDAPSURL string // IDSYNC_DC_LDAPS_URL, e.g. ldaps://127.77.0.1:636
	LDAPURL  string // IDSYNC_DC_LDAP_URL, e.g. ldap://127.77.0.1:389 (StartTLS)
	BindDN   string // IDSYNC_DC_BIND_DN (the domain Administrator)
	BindUPN  string // IDSYNC_DC_BIND_UPN, e.g. administrator@idsync.test
	Password string // IDSYNC_DC_PASSWORD
	BaseDN   string // IDSYNC_DC_BASE_DN, e.g. DC=idsync,DC=test
	Domain   string // IDSYNC_DC_DOMAIN, the DNS domain, e.g. idsync.test
	NetBIOS  string // IDSYNC_DC_NETBIOS, e.g. IDSYNC
	Realm    string // IDSYNC_DC_REALM, e.g. IDSYNC.TEST
	Host     string // IDSYNC_DC_HOST, the DC's FQDN (in its certificate)
	CAFile   string // IDSYNC_DC_CA_FILE, PEM CA that signed the DC certificate
	Addr     string // IDSYNC_DC_ADDR, the loopback address the DC listens on
	Dir      string // IDSYNC_DC_DIR, the DC's state directory
}

// String never includes the password.
func (d DC) String() string {
	return fmt.Sprintf("dc %s (bind %s, base %s)", d.LDAPSURL, d.BindUPN, d.BaseDN)
}

// Target returns the LDAPS target adseed and readers can dial.
func (d DC) Target() adseed.Target {
	return adseed.Target{URL: d.LDAPSURL, BindDN: d.BindUPN, Password: d.Password, CAFile: d.CAFile}
}

// DefaultDir returns ${IDSYNC_DC_DIR:-/tmp/idsync-dc}.
func DefaultDir() string {
	if d := os.Getenv("IDSYNC_DC_DIR"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "idsync-dc")
}

// EnvFile returns the env file path of the DC in dir.
func EnvFile(dir string) string { return filepath.Join(dir, "dc.env") }

// ErrIncomplete is returned by Load when a required key is missing.
var ErrIncomplete = errors.New("incomplete dc env file")

// Load parses an env file of KEY=VALUE lines (blank lines and # comments are
// ignored; values are taken verbatim, without quotes).
func Load(path string) (DC, error) {
	f, err := os.Open(path)
	if err != nil {
		return DC{}, fmt.Errorf("load dc env: %w", err)
	}
	defer f.Close()
	kv := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return DC{}, fmt.Errorf("load dc env %s: malformed line %q", path, k)
		}
		kv[strings.TrimPrefix(k, "export ")] = v
	}
	if err := sc.Err(); err != nil {
		return DC{}, fmt.Errorf("load dc env %s: %w", path, err)
	}
	d := DC{
		LDAPSURL: kv["IDSYNC_DC_LDAPS_URL"],
		LDAPURL:  kv["IDSYNC_DC_LDAP_URL"],
		BindDN:   kv["IDSYNC_DC_BIND_DN"],
		BindUPN:  kv["IDSYNC_DC_BIND_UPN"],
		Password: kv["IDSYNC_DC_PASSWORD"],
		BaseDN:   kv["IDSYNC_DC_BASE_DN"],
		Domain:   kv["IDSYNC_DC_DOMAIN"],
		NetBIOS:  kv["IDSYNC_DC_NETBIOS"],
		Realm:    kv["IDSYNC_DC_REALM"],
		Host:     kv["IDSYNC_DC_HOST"],
		CAFile:   kv["IDSYNC_DC_CA_FILE"],
		Addr:     kv["IDSYNC_DC_ADDR"],
		Dir:      kv["IDSYNC_DC_DIR"],
	}
	if d.Dir == "" {
		d.Dir = filepath.Dir(path)
	}
	var missing []string
	for k, v := range map[string]string{
		"IDSYNC_DC_LDAPS_URL": d.LDAPSURL, "IDSYNC_DC_BIND_UPN": d.BindUPN,
		"IDSYNC_DC_PASSWORD": d.Password, "IDSYNC_DC_BASE_DN": d.BaseDN, "IDSYNC_DC_CA_FILE": d.CAFile,
	} {
		if v == "" {
			missing = append(missing, k)
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		return DC{}, fmt.Errorf("load dc env %s: %w: missing %s", path, ErrIncomplete, strings.Join(missing, ", "))
	}
	return d, nil
}
