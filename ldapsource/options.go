// Package ldapsource reads users, groups and memberships from Microsoft
// Active Directory over LDAP: connection with TLS and failover, streaming
// paged search with ranged attribute retrieval, objectGUID/SID/FILETIME
// decoding, scope filters, local nested-group closure, and DirSync or
// uSNChanged deltas. It knows nothing about the cloud side.
//
// Scope rules:
//   - users are read under each organizational unit of Scope (any depth), or
//     under the whole naming context when none is given; groups are read
//     from the whole naming context (for nesting and the group filter) and
//     synchronized when they lie under an organizational unit of Scope (or
//     always when none is given);
//   - Scope.Groups values containing '=' are group DNs, others are matched
//     case-insensitively against the group's cn or sAMAccountName; a value
//     that matches no group is an error, never an empty scope;
//   - system objects never leave the source: users that are computers
//     (objectClass=computer or a trust-account bit in userAccountControl) and
//     every user or group with isCriticalSystemObject=TRUE (Administrator,
//     Guest, krbtgt, domain controllers, built-in and default groups such as
//     Domain Users). Their primary-group and nesting links still count.
//
// Referrals (search result references to other partitions) are not followed;
// they are logged at debug level and ignored.
package ldapsource

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
	"go.uber.org/zap"

	"github.com/idsync/idsync/internal/directory"
)

// DeltaMode selects how Delta reads changes.
type DeltaMode string

// Delta modes.
const (
	// DeltaAuto uses DirSync when the bind account has the Replicating
	// Directory Changes right, uSNChanged polling otherwise.
	DeltaAuto DeltaMode = ""
	// DeltaDirSync always uses DirSync.
	DeltaDirSync DeltaMode = DeltaMode(directory.ModeDirSync)
	// DeltaUSN always uses uSNChanged polling.
	DeltaUSN DeltaMode = DeltaMode(directory.ModeUSN)
)

// Scope is the synchronization filter.
type Scope struct {
	// Domain is the DNS domain (example.com); it gives the base DN
	// (DC=example,DC=com) when Options.BaseDN is empty.
	Domain string
	// OrganizationalUnits are up to 10 OU DNs; empty means the whole domain.
	OrganizationalUnits []string
	// Groups are up to 10 groups (name or DN); users must be members of any
	// of them, directly or nested. Empty means no group filter.
	Groups []string
}

// Options configures a Source. Zero values are documented per field.
type Options struct {
	// URLs are domain controllers tried in order (ldaps://dc:636 or
	// ldap://dc:389). Required.
	URLs []string
	// Auth selects the bind: simple (zero), Kerberos keytab or the Windows
	// service identity. Kerberos and Windows binds run only over LDAPS or
	// StartTLS.
	Auth Auth
	// Kerberos configures AuthKerberos; ignored otherwise.
	Kerberos Kerberos
	// Username is the bind name: a UPN (svc@example.com) or a DN. Required
	// for a simple bind.
	Username string
	// Password is the bind password. It is never logged.
	Password string
	// CAFile is a PEM bundle of the CAs trusted for the DC's certificate,
	// in place of the system roots (not in addition to them); empty uses
	// the system roots.
	CAFile string
	// InsecureSkipVerify disables certificate verification (logged as a
	// warning). Only for tests.
	InsecureSkipVerify bool
	// StartTLS upgrades ldap:// connections with StartTLS.
	StartTLS bool
	// AllowInsecureBind permits a simple bind over plain ldap:// without
	// StartTLS. Refused by default: the password would travel in clear.
	AllowInsecureBind bool
	// BaseDN is the naming context; empty derives it from Scope.Domain, or
	// from the rootDSE defaultNamingContext when that is empty too.
	BaseDN string
	// Timeout bounds dialing and each request; zero means 30 s.
	Timeout time.Duration
	// PageSize is the paged-search page size; zero means 1000.
	PageSize uint32
	// Scope is the synchronization filter; zero means the whole domain.
	Scope Scope
	// Mapping selects the attributes that fill user and group fields; the
	// zero Mapping means directory.DefaultMapping().
	Mapping directory.Mapping
	// DeltaMode selects DirSync or uSNChanged polling; zero means auto.
	DeltaMode DeltaMode
	// OnPage, when set, is called after each page of a paged search or
	// round of DirSync with the objects and pages this Source has read so
	// far, for a progress display. It may be called from several
	// goroutines at once and must return quickly.
	OnPage func(objects, pages int64)
	// Logger receives diagnostics; nil means no logging.
	Logger *zap.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

const (
	defaultTimeout  = 30 * time.Second
	defaultPageSize = 1000
	maxScopeItems   = 10
)

func (o *Options) normalize() error {
	var probs []string
	if len(o.URLs) == 0 {
		probs = append(probs, "at least one URL is required")
	}
	for _, u := range o.URLs {
		if !strings.HasPrefix(strings.ToLower(u), "ldap://") && !strings.HasPrefix(strings.ToLower(u), "ldaps://") {
			probs = append(probs, fmt.Sprintf("URL %q: scheme must be ldap:// or ldaps://", u))
		}
	}
	switch o.Auth {
	case AuthSimple:
		if o.Username == "" {
			probs = append(probs, "username is required")
		}
	case AuthKerberos, AuthWindows:
		if o.Auth == AuthKerberos && (o.Kerberos.KeytabPath == "" || o.Kerberos.Principal == "" || o.Kerberos.ConfigPath == "") {
			probs = append(probs, "kerberos needs a keytab path, a principal and a krb5.conf path")
		}
		for _, u := range o.URLs {
			if strings.HasPrefix(strings.ToLower(u), "ldap://") && !o.StartTLS {
				probs = append(probs, fmt.Sprintf("URL %q: a %s bind needs ldaps:// or StartTLS", u, o.Auth))
			}
		}
	default:
		probs = append(probs, fmt.Sprintf("unknown auth %q", o.Auth))
	}
	if len(o.Scope.OrganizationalUnits) > maxScopeItems {
		probs = append(probs, fmt.Sprintf("at most %d organizational units, got %d", maxScopeItems, len(o.Scope.OrganizationalUnits)))
	}
	if len(o.Scope.Groups) > maxScopeItems {
		probs = append(probs, fmt.Sprintf("at most %d groups, got %d", maxScopeItems, len(o.Scope.Groups)))
	}
	switch o.DeltaMode {
	case DeltaAuto, DeltaDirSync, DeltaUSN:
	default:
		probs = append(probs, fmt.Sprintf("unknown delta mode %q", o.DeltaMode))
	}
	if o.Mapping.User == nil && o.Mapping.Group == nil {
		o.Mapping = directory.DefaultMapping()
	}
	if err := o.Mapping.Validate(); err != nil {
		probs = append(probs, err.Error())
	}
	if len(probs) > 0 {
		return fmt.Errorf("ldapsource options: %w", errors.New(strings.Join(probs, "; ")))
	}
	if o.Timeout <= 0 {
		o.Timeout = defaultTimeout
	}
	if o.PageSize == 0 {
		o.PageSize = defaultPageSize
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.BaseDN == "" && o.Scope.Domain != "" {
		o.BaseDN = domainToDN(o.Scope.Domain)
	}
	return nil
}

// domainToDN turns example.com into DC=example,DC=com.
func domainToDN(domain string) string {
	parts := strings.Split(strings.Trim(domain, "."), ".")
	for i, p := range parts {
		parts[i] = "DC=" + ldap.EscapeDN(p)
	}
	return strings.Join(parts, ",")
}

// String describes the options without the password.
func (o Options) String() string {
	pw := ""
	if o.Password != "" {
		pw = "<secret>"
	}
	return fmt.Sprintf("ldapsource.Options{URLs:%v Auth:%q Kerberos:%+v Username:%s Password:%s CAFile:%s StartTLS:%t InsecureSkipVerify:%t BaseDN:%s Scope:%+v DeltaMode:%q}",
		o.URLs, o.Auth, o.Kerberos, o.Username, pw, o.CAFile, o.StartTLS, o.InsecureSkipVerify, o.BaseDN, o.Scope, o.DeltaMode)
}

// GoString is String, so %#v hides the password too.
func (o Options) GoString() string { return o.String() }

// Format prints String for every verb: a verb fmt would otherwise apply
// field by field (%d, %x) never reaches the password.
func (o Options) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, o.String()) }

// MarshalText is String, so JSON, YAML and structured logs hide the
// password as well.
func (o Options) MarshalText() ([]byte, error) { return []byte(o.String()), nil }
