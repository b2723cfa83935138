package ldapsource

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/go-ldap/ldap/v3/gssapi"
	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/keytab"
)

// Kerberos errors. Each message names the fix; the README's troubleshooting
// table lists them.
var (
	ErrKerberosKeytab           = errors.New("kerberos: cannot read the keytab (check kerberos.keytab_path and that the service account may read it)")
	ErrKerberosConfig           = errors.New("kerberos: cannot read krb5.conf (check kerberos.krb5_config_path or $KRB5_CONFIG)")
	ErrKerberosClockSkew        = errors.New("kerberos: clock skew too great (keep this host's clock within 5 minutes of the domain controllers: sync it with the domain's time source)")
	ErrKerberosUnknownPrincipal = errors.New("kerberos: the KDC does not know this principal (check kerberos.principal: the account's name with the realm in capitals, such as svc-idsync@EXAMPLE.COM)")
	ErrKerberosNoSPN            = errors.New("kerberos: the KDC has no service principal for this domain controller (use the DC's fully qualified name in ldap.host, not an IP address or alias; or register the SPN with setspn)")
	ErrKerberosKDCUnreachable   = errors.New("kerberos: no KDC reachable (check the realm's kdc entries in krb5.conf, DNS, and that port 88 is open to the domain controllers)")
	ErrKerberosWrongKey         = errors.New("kerberos: the keytab's key is not the account's current key (wrong key version: the password changed after the keytab was exported; export the keytab again)")
)

// Auth selects how a Source authenticates.
type Auth string

// Authentication mechanisms.
const (
	// AuthSimple is a simple bind with Username and Password.
	AuthSimple Auth = ""
	// AuthKerberos is a SASL GSSAPI bind with a keytab (Options.Kerberos).
	AuthKerberos Auth = "kerberos"
	// AuthWindows is a SASL GSSAPI bind through SSPI with the logon
	// credentials of the running service (Windows only).
	AuthWindows Auth = "windows"
)

// Kerberos configures keytab authentication.
type Kerberos struct {
	// KeytabPath is the keytab holding the principal's keys. Required.
	KeytabPath string
	// Principal is the client principal, user@REALM; without a realm the
	// default realm of the krb5.conf is used. Required.
	Principal string
	// ConfigPath is the krb5.conf. Required.
	ConfigPath string
	// DisablePAFXFast leaves out the PA-FX-FAST padata, which some KDCs
	// (Active Directory without FAST armoring) do not expect.
	DisablePAFXFast bool
}

// TicketInfo describes the ticket-granting ticket in use.
type TicketInfo struct {
	Principal string
	AuthTime  time.Time
	EndTime   time.Time
	RenewTill time.Time
}

// renewBefore is how long before its end a TGT is replaced by a fresh login
// from the keytab. KDCs refuse tickets near their end (Samba refuses a TGT
// with less than its 5-minute clock skew allowance left), so a long-running
// daemon must not ride a ticket to the last minute.
const renewBefore = 10 * time.Minute

// kerberosBinder binds with a keytab. The gokrb5 client logs in on first
// use and renews its TGT in the background; before each bind the binder
// also checks the ticket against its own clock and logs in again from the
// keytab (read afresh, so a re-exported keytab is picked up) when less than
// renewBefore is left or the renewal failed while the KDC was away.
type kerberosBinder struct {
	opts Kerberos
	now  func() time.Time

	mu sync.Mutex
	cl *client.Client
}

func (k *kerberosBinder) mechanism() string { return "kerberos" }

// login returns the logged-in client, creating it on first use.
func (k *kerberosBinder) login() (*client.Client, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cl != nil {
		ti, err := sessionInfo(k.cl)
		if err == nil && ti.EndTime.Sub(k.now()) >= renewBefore {
			return k.cl, nil
		}
		k.cl.Destroy()
		k.cl = nil
	}
	cfg, err := config.Load(k.opts.ConfigPath)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrKerberosConfig, k.opts.ConfigPath, err)
	}
	kt, err := keytab.Load(k.opts.KeytabPath)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrKerberosKeytab, k.opts.KeytabPath, err)
	}
	user, realm, _ := strings.Cut(k.opts.Principal, "@")
	if realm == "" {
		realm = cfg.LibDefaults.DefaultRealm
	}
	cl := client.NewWithKeytab(user, realm, kt, cfg, client.DisablePAFXFAST(k.opts.DisablePAFXFast))
	if err := cl.Login(); err != nil {
		cl.Destroy()
		return nil, fmt.Errorf("log in as %s: %w", k.opts.Principal, classifyKerberos(err))
	}
	k.cl = cl
	return cl, nil
}

func (k *kerberosBinder) bind(c *ldap.Conn, host string) error {
	cl, err := k.login()
	if err != nil {
		return err
	}
	spn := "ldap/" + host
	if err := c.GSSAPIBind(&gssapi.Client{Client: cl}, spn, ""); err != nil {
		err = classifyKerberos(err)
		if errors.Is(err, ErrKerberosNoSPN) && net.ParseIP(host) != nil {
			err = fmt.Errorf("%w (%s is an IP address)", err, host)
		}
		return fmt.Errorf("gssapi bind as %s to %s: %w", k.opts.Principal, spn, err)
	}
	return nil
}

// ticket reports the TGT of the logged-in client.
func (k *kerberosBinder) ticket() (TicketInfo, error) {
	cl, err := k.login()
	if err != nil {
		return TicketInfo{}, err
	}
	return sessionInfo(cl)
}

// sessionInfo reads the TGT times of cl.
func sessionInfo(cl *client.Client) (TicketInfo, error) {
	// gokrb5 exposes session times only through Print, which also prints
	// keys: keep just the sessions section and clear the buffer.
	var buf bytes.Buffer
	cl.Print(&buf)
	raw := buf.Bytes()
	defer clear(raw)
	_, rest, _ := bytes.Cut(raw, []byte("TGT Sessions:\n"))
	sess, _, _ := bytes.Cut(rest, []byte("\nService ticket cache:"))
	var ss []struct {
		Realm     string
		AuthTime  time.Time
		EndTime   time.Time
		RenewTill time.Time
	}
	if err := json.Unmarshal(sess, &ss); err != nil || len(ss) == 0 {
		return TicketInfo{}, fmt.Errorf("read ticket of %s: no session", cl.Credentials.UserName())
	}
	s := ss[0]
	for _, x := range ss {
		if x.Realm == cl.Credentials.Domain() {
			s = x
		}
	}
	return TicketInfo{Principal: cl.Credentials.UserName() + "@" + cl.Credentials.Domain(),
		AuthTime: s.AuthTime, EndTime: s.EndTime, RenewTill: s.RenewTill}, nil
}

func (k *kerberosBinder) close() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cl != nil {
		k.cl.Destroy()
		k.cl = nil
	}
}

// classifyKerberos maps gokrb5's errors to the sentinels above. gokrb5
// formats KDC errors into text (their types do not survive its wrapping),
// so the standard error names are matched in the text.
func classifyKerberos(err error) error {
	msg := err.Error()
	var kind error
	switch {
	case strings.Contains(msg, "KRB_AP_ERR_SKEW"):
		kind = ErrKerberosClockSkew
	case strings.Contains(msg, "KDC_ERR_C_PRINCIPAL_UNKNOWN"):
		kind = ErrKerberosUnknownPrincipal
	case strings.Contains(msg, "KDC_ERR_S_PRINCIPAL_UNKNOWN"):
		kind = ErrKerberosNoSPN
	case strings.Contains(msg, "KDC_ERR_PREAUTH_FAILED"), strings.Contains(msg, "KRB_AP_ERR_BAD_INTEGRITY"),
		strings.Contains(msg, "KRB_AP_ERR_BADKEYVER"), strings.Contains(msg, "matching key not found in keytab"),
		strings.Contains(msg, "Decrypting_Error"):
		kind = ErrKerberosWrongKey
	case strings.Contains(msg, "Networking_Error"), strings.Contains(msg, "no KDCs defined"):
		kind = ErrKerberosKDCUnreachable
	default:
		return err
	}
	return fmt.Errorf("%w: %w", kind, err)
}
