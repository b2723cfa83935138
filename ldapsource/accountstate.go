package ldapsource

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"
	"go.uber.org/zap"

	"github.com/idsync/idsync/internal/directory"
)

// The account-state reader serves the user-control loop: it reads only the
// attributes that decide whether an account may sign in, and only for the
// accounts whose state changed since its own watermark.

// accountStateAttrs are read for each account whose state is wanted.
var accountStateAttrs = []string{"objectGUID", "objectClass", "userAccountControl", "lockoutTime", "accountExpires",
	"isCriticalSystemObject"}

// accountDirSyncAttrs restrict DirSync to the stored attributes of account
// state: an object is returned only when one of them changed (objectGUID,
// which never changes, names it).
// msDS-User-Account-Control-Computed is constructed (never written, never
// replicated); a lockout shows as a write of lockoutTime.
var accountDirSyncAttrs = []string{"objectGUID", "userAccountControl", "lockoutTime", "accountExpires"}

// attrUACComputed is the constructed attribute that says whether an account
// is locked out now. Domain controllers compute it only on a base-scope
// read, so it is read per object, and only for accounts with a lockoutTime.
const attrUACComputed = "msDS-User-Account-Control-Computed"

// ufLockout is UF_LOCKOUT in msDS-User-Account-Control-Computed.
const ufLockout = 0x10

// AccountChanges reads the account state (enabled, expiry, lockout) of the
// in-scope users that changed since from, and the watermark to read from
// next time. With a zero or unusable watermark (another domain controller,
// a restored one, another mode or scope, a refused DirSync cookie) it reads
// every in-scope user and says so (Full). Deleted users are not reported:
// removals are the directory cycle's.
func (s *Source) AccountChanges(ctx context.Context, from directory.Watermark) (*directory.AccountChanges, error) {
	c, err := s.connection(ctx)
	if err != nil {
		return nil, fmt.Errorf("account changes: %w", err)
	}
	info, err := s.readRootDSE(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("account changes: %w", err)
	}
	base := s.baseDN(info)
	next := directory.Watermark{Mode: from.Mode, DCHost: info.DNSHostName, InvocationID: info.InvocationID,
		USN: info.HighestUSN, TakenAt: s.opts.Now().UTC(), Config: s.fingerprint(base)}
	why := s.accountWatermarkProblem(from, info, next.Config)
	if why == "" && info.HighestUSN == from.USN {
		// Nothing was written on this domain controller since: no search
		// (a DirSync or uSNChanged search costs Samba a scan of the users).
		next.Cookie = from.Cookie
		return &directory.AccountChanges{Watermark: next}, nil
	}
	if why == "" && from.Mode == directory.ModeDirSync {
		round, err := s.dirSync(ctx, c, base, userFilter, from.Cookie, accountDirSyncAttrs, true, nil)
		switch {
		case refusedCookie(err):
			why = "the domain controller refused the DirSync cookie: " + err.Error()
		case err != nil:
			return nil, fmt.Errorf("account changes: %w", err)
		default:
			next.Cookie = round.cookie
			states, err := s.accountStatesByGUID(ctx, c, base, round.changed)
			if err != nil {
				return nil, fmt.Errorf("account changes: %w", err)
			}
			return &directory.AccountChanges{States: states, Watermark: next}, nil
		}
	}
	if why == "" { // uSNChanged
		states, err := s.readAccountStates(ctx, c, base, fmt.Sprintf("(&(uSNChanged>=%d)%s)", from.USN+1, userFilter))
		if err != nil {
			return nil, fmt.Errorf("account changes: %w", err)
		}
		return &directory.AccountChanges{States: states, Watermark: next}, nil
	}

	// A full pass: the watermark is taken before the read, so a change made
	// during it is read again next time rather than missed.
	s.log.Info("reading the state of every account", zap.String("reason", why))
	if next.Mode, err = s.resolveMode(ctx, c, base); err != nil {
		return nil, fmt.Errorf("account changes: %w", err)
	}
	if next.Mode == directory.ModeDirSync {
		round, err := s.dirSync(ctx, c, base, noObjectFilter, nil, []string{"objectGUID"}, false, nil)
		if err != nil {
			return nil, fmt.Errorf("account changes: initial dirsync cookie: %w", err)
		}
		next.Cookie = round.cookie
	}
	states, err := s.readAccountStates(ctx, c, base, userFilter)
	if err != nil {
		return nil, fmt.Errorf("account changes: %w", err)
	}
	return &directory.AccountChanges{States: states, Watermark: next, Full: true}, nil
}

// accountWatermarkProblem says why from cannot be continued, or "".
func (s *Source) accountWatermarkProblem(from directory.Watermark, info *rootDSE, config string) string {
	switch {
	case from.IsZero():
		return "no account-state watermark"
	case from.Mode != directory.ModeDirSync && from.Mode != directory.ModeUSN:
		return fmt.Sprintf("unknown watermark mode %q", from.Mode)
	case s.opts.DeltaMode != DeltaAuto && string(s.opts.DeltaMode) != string(from.Mode):
		return fmt.Sprintf("watermark mode %s, configured %s", from.Mode, s.opts.DeltaMode)
	case !strings.EqualFold(from.DCHost, info.DNSHostName):
		return fmt.Sprintf("watermark is from domain controller %q, connected to %q", from.DCHost, info.DNSHostName)
	case !strings.EqualFold(from.InvocationID, info.InvocationID):
		return fmt.Sprintf("domain controller %s has a new invocationId (restored?)", info.DNSHostName)
	case from.Mode == directory.ModeUSN && info.HighestUSN < from.USN:
		return fmt.Sprintf("highestCommittedUSN %d is below the watermark %d", info.HighestUSN, from.USN)
	case from.Config != config:
		return "scope or base DN changed"
	}
	return ""
}

// AccountStates reads the current state of the given in-scope users (by
// external id); users that are gone or out of scope are left out. The
// user-control loop re-checks locked-out users with it: a lockout ends
// after the lockout duration without any write a delta would see.
func (s *Source) AccountStates(ctx context.Context, ids []string) ([]directory.AccountState, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	c, err := s.connection(ctx)
	if err != nil {
		return nil, fmt.Errorf("account states: %w", err)
	}
	info, err := s.readRootDSE(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("account states: %w", err)
	}
	states, err := s.accountStatesByGUID(ctx, c, s.baseDN(info), ids)
	if err != nil {
		return nil, fmt.Errorf("account states: %w", err)
	}
	return states, nil
}

// accountStatesByGUID reads the account state of the users with the given
// GUIDs, in batches.
func (s *Source) accountStatesByGUID(ctx context.Context, c *ldap.Conn, base string, ids []string) ([]directory.AccountState, error) {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	var out []directory.AccountState
	for start := 0; start < len(ids); start += guidBatch {
		var sb strings.Builder
		sb.WriteString("(&" + userFilter + "(|")
		for _, id := range ids[start:min(start+guidBatch, len(ids))] {
			v, err := guidFilterValue(id)
			if err != nil {
				return nil, err
			}
			sb.WriteString("(objectGUID=" + v + ")")
		}
		sb.WriteString("))")
		states, err := s.readAccountStates(ctx, c, base, sb.String())
		if err != nil {
			return nil, err
		}
		out = append(out, states...)
	}
	return out, nil
}

// readAccountStates reads the account state of the users filter selects
// under the scope's organizational units (the base without any), then
// asks the domain controller which of those with a lockoutTime are locked
// out now.
func (s *Source) readAccountStates(ctx context.Context, c *ldap.Conn, base, filter string) ([]directory.AccountState, error) {
	bases := s.opts.Scope.OrganizationalUnits
	if len(bases) == 0 {
		bases = []string{base}
	}
	var out []directory.AccountState
	var maybeLocked []int
	for _, b := range bases {
		spec := searchSpec{base: b, scope: ldap.ScopeWholeSubtree, filter: filter, attrs: accountStateAttrs}
		err := s.pagedSearch(ctx, c, spec, func(e *ldap.Entry) error {
			a, lockout, system, err := decodeAccountState(e)
			if err != nil || system {
				return err
			}
			if lockout {
				maybeLocked = append(maybeLocked, len(out))
			}
			out = append(out, a)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read account states: %w", err)
		}
	}
	for _, i := range maybeLocked {
		locked, err := s.lockedOut(ctx, c, out[i].DN)
		if err != nil {
			return nil, err
		}
		out[i].LockedOut = locked
	}
	return out, nil
}

// refineLockout sets LockedOut of the users whose lockoutTime was set
// (decodeUser marks them LockedOut) to what the domain controller computes
// now: a lockoutTime stays set after the lockout duration has passed.
func (s *Source) refineLockout(ctx context.Context, c *ldap.Conn, users []directory.User) error {
	for i := range users {
		if !users[i].LockedOut {
			continue
		}
		locked, err := s.lockedOut(ctx, c, users[i].DN)
		if err != nil {
			return err
		}
		users[i].LockedOut = locked
	}
	return nil
}

// lockedOut reads msDS-User-Account-Control-Computed of dn with a
// base-scope search and reports UF_LOCKOUT. An object that is gone is not
// locked out.
func (s *Source) lockedOut(ctx context.Context, c *ldap.Conn, dn string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("read lockout of %s: %w", dn, err)
	}
	req := ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, int(s.opts.Timeout.Seconds()), false,
		"(objectClass=*)", []string{attrUACComputed}, nil)
	res, err := c.Search(req)
	switch {
	case err != nil && ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject):
		return false, nil
	case err != nil:
		s.invalidate(c, err)
		return false, fmt.Errorf("read lockout of %s: %w", dn, err)
	case len(res.Entries) != 1:
		return false, nil
	}
	v := res.Entries[0].GetEqualFoldAttributeValue(attrUACComputed)
	if v == "" {
		return false, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return false, fmt.Errorf("read lockout of %s: %s %q: %w", dn, attrUACComputed, v, err)
	}
	return n&ufLockout != 0, nil
}

// decodeAccountState decodes an account-state entry. lockout is true when
// lockoutTime is set (the account may be locked out); system is true for
// accounts that are never synchronized.
func decodeAccountState(e *ldap.Entry) (a directory.AccountState, lockout, system bool, err error) {
	a.DN = strings.Clone(e.DN)
	if a.ExternalID, err = DecodeGUID(e.GetEqualFoldRawAttributeValue("objectGUID")); err != nil {
		return a, false, false, fmt.Errorf("decode account %s: %w", a.DN, err)
	}
	uac, err := parseUAC(firstValue(e, "userAccountControl"))
	if err != nil {
		return a, false, false, fmt.Errorf("decode account %s: %w", a.DN, err)
	}
	a.Enabled = uac&uacAccountDisable == 0
	if v := firstValue(e, "accountExpires"); v != "" {
		if a.ExpiresAt, err = ParseFileTime(v); err != nil {
			return a, false, false, fmt.Errorf("decode account %s: accountExpires: %w", a.DN, err)
		}
	}
	lockout, err = lockoutSet(firstValue(e, "lockoutTime"))
	if err != nil {
		return a, false, false, fmt.Errorf("decode account %s: %w", a.DN, err)
	}
	system = isCritical(e) || hasClass(e, "computer") ||
		uac&(uacWorkstationTrust|uacServerTrust|uacInterdomainTrust) != 0
	return a, lockout, system, nil
}

// lockoutSet reports whether a lockoutTime value is set (not absent, not 0).
func lockoutSet(v string) (bool, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return false, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return false, fmt.Errorf("parse lockoutTime %q: %w", v, err)
	}
	return n != 0, nil
}

// AccountStateMode reports how AccountChanges reads changes from this
// domain controller with these credentials: DirSync when the account may
// use it (or it is configured), uSNChanged polling otherwise.
func (s *Source) AccountStateMode(ctx context.Context) (directory.DeltaMode, error) {
	c, err := s.connection(ctx)
	if err != nil {
		return "", fmt.Errorf("account state mode: %w", err)
	}
	info, err := s.readRootDSE(ctx, c)
	if err != nil {
		return "", fmt.Errorf("account state mode: %w", err)
	}
	m, err := s.resolveMode(ctx, c, s.baseDN(info))
	if err != nil {
		return "", fmt.Errorf("account state mode: %w", err)
	}
	return m, nil
}
