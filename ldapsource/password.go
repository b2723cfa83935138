package ldapsource

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"

	"github.com/go-ldap/ldap/v3"
)

// PasswordRefusal classifies why the directory refused a password write.
type PasswordRefusal int

// Refusals.
const (
	// RefusedUnknown is any other refusal (wrong current password, account
	// state, an unexpected result code).
	RefusedUnknown PasswordRefusal = iota + 1
	// RefusedPolicy is a password policy violation: length, complexity,
	// history or minimum age (ERROR_PASSWORD_RESTRICTION, 0000052D).
	RefusedPolicy
	// RefusedPermission is a missing right (insufficient access, or
	// ERROR_ACCESS_DENIED, 00000005).
	RefusedPermission
)

func (r PasswordRefusal) String() string {
	switch r {
	case RefusedPolicy:
		return "policy"
	case RefusedPermission:
		return "permission"
	case RefusedUnknown:
		return "unknown"
	}
	return fmt.Sprintf("PasswordRefusal(%d)", int(r))
}

// PasswordError is the directory's refusal of a password write. Message is
// the directory's own diagnostic text, with any password scrubbed.
type PasswordError struct {
	Refusal    PasswordRefusal
	ResultCode uint16
	Message    string
}

func (e *PasswordError) Error() string {
	return fmt.Sprintf("the directory refused the password (%s, LDAP result %d): %s", e.Refusal, e.ResultCode, e.Message)
}

// ErrUserNotInScope is returned by FindUser and WritePassword when no user
// with the objectGUID is in the synchronization scope.
var ErrUserNotInScope = errors.New("no user with this objectGUID in the synchronization scope")

// ErrPlainConnection is returned by WritePassword on a connection without
// TLS: passwords are written only over LDAPS or StartTLS.
var ErrPlainConnection = errors.New("passwords are written only over LDAPS or StartTLS, never over plain LDAP")

// PasswordWrite is one password to set. The caller owns the byte slices and
// wipes them; WritePassword wipes its own encoded copies.
type PasswordWrite struct {
	// GUID is the user's objectGUID in canonical text form.
	GUID string
	// Password is the new password.
	Password []byte
	// OldPassword, when set, makes the write a change (delete the old
	// value, add the new one) so that the directory enforces policy,
	// history and minimum age as for the user; empty means a reset.
	OldPassword []byte
	// NeedChange sets pwdLastSet to 0: the user must change the password
	// at the next logon.
	NeedChange bool
}

// FindUser returns the DN of the in-scope user with the objectGUID: under
// one of the scope's organizational units and, with filter groups, a
// member of one of them (nested membership counts; the primary group does
// not). ErrUserNotInScope otherwise.
func (s *Source) FindUser(ctx context.Context, guid string) (string, error) {
	c, err := s.connection(ctx)
	if err != nil {
		return "", fmt.Errorf("find user %s: %w", guid, err)
	}
	dn, err := s.findUser(ctx, c, guid)
	if err != nil {
		s.invalidate(c, err)
		return "", fmt.Errorf("find user %s: %w", guid, err)
	}
	return dn, nil
}

func (s *Source) findUser(ctx context.Context, c *ldap.Conn, guid string) (string, error) {
	v, err := guidFilterValue(guid)
	if err != nil {
		return "", err
	}
	info, err := s.readRootDSE(ctx, c)
	if err != nil {
		return "", err
	}
	base := s.baseDN(info)
	filter := "(&" + userFilter + "(objectGUID=" + v + ")"
	if len(s.opts.Scope.Groups) > 0 {
		dns, err := s.scopeGroupDNs(c, base)
		if err != nil {
			return "", err
		}
		filter += "(|"
		for _, dn := range dns {
			filter += "(memberOf:1.2.840.113556.1.4.1941:=" + ldap.EscapeFilter(dn) + ")"
		}
		filter += ")"
	}
	filter += ")"
	req := ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 2, int(s.opts.Timeout.Seconds()), false,
		filter, []string{"objectGUID"}, nil)
	res, err := c.Search(req)
	if err != nil {
		return "", err
	}
	roots, err := s.ouRoots()
	if err != nil {
		return "", err
	}
	for _, e := range res.Entries {
		if inOUScope(roots, e.DN) {
			return e.DN, nil
		}
	}
	return "", ErrUserNotInScope
}

// scopeGroupDNs resolves Scope.Groups to DNs.
func (s *Source) scopeGroupDNs(c *ldap.Conn, base string) ([]string, error) {
	var out []string
	for _, g := range s.opts.Scope.Groups {
		if strings.Contains(g, "=") {
			out = append(out, g)
			continue
		}
		v := ldap.EscapeFilter(g)
		req := ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			"(&"+groupFilter+"(|(cn="+v+")(sAMAccountName="+v+")))", []string{"cn"}, nil)
		res, err := c.Search(req)
		if err != nil {
			return nil, fmt.Errorf("resolve scope group %q: %w", g, err)
		}
		if len(res.Entries) == 0 {
			return nil, fmt.Errorf("resolve scope group %q: %w", g, ErrScopeGroupNotFound)
		}
		for _, e := range res.Entries {
			out = append(out, e.DN)
		}
	}
	return out, nil
}

// WritePassword sets the password of the in-scope user w.GUID over a TLS
// connection: with w.OldPassword as a change (the directory enforces its
// policy, history and minimum age), otherwise as a reset; with
// w.NeedChange, pwdLastSet becomes 0 in the same request. A refusal by the
// directory is a *PasswordError; a user out of scope is ErrUserNotInScope;
// other errors (network, timeouts) are worth retrying.
func (s *Source) WritePassword(ctx context.Context, w PasswordWrite) error {
	c, err := s.connection(ctx)
	if err != nil {
		return fmt.Errorf("write password: %w", err)
	}
	if _, ok := c.TLSConnectionState(); !ok {
		return fmt.Errorf("write password: %w", ErrPlainConnection)
	}
	dn, err := s.findUser(ctx, c, w.GUID)
	if err != nil {
		s.invalidate(c, err)
		return fmt.Errorf("write password of %s: %w", w.GUID, err)
	}
	newVal := encodePassword(w.Password)
	defer wipe(newVal)
	req := ldap.NewModifyRequest(dn, nil)
	if len(w.OldPassword) > 0 {
		oldVal := encodePassword(w.OldPassword)
		defer wipe(oldVal)
		req.Delete("unicodePwd", []string{string(oldVal)})
		req.Add("unicodePwd", []string{string(newVal)})
	} else {
		req.Replace("unicodePwd", []string{string(newVal)})
	}
	if w.NeedChange {
		req.Replace("pwdLastSet", []string{"0"})
	}
	if err := c.Modify(req); err != nil {
		s.invalidate(c, err)
		var le *ldap.Error
		if errors.As(err, &le) && le.ResultCode != ldap.ErrorNetwork && le.ResultCode < ldap.ErrorNetwork {
			return classifyPasswordError(le, w)
		}
		return fmt.Errorf("write password of %s: %w", dn, err)
	}
	return nil
}

// encodePassword is the unicodePwd value: the password in double quotes,
// UTF-16LE.
func encodePassword(pw []byte) []byte {
	runes := []rune("\"" + string(pw) + "\"")
	u := utf16.Encode(runes)
	clear(runes)
	out := make([]byte, 2*len(u))
	for i, v := range u {
		binary.LittleEndian.PutUint16(out[2*i:], v)
	}
	clear(u)
	return out
}

func wipe(b []byte) { clear(b) }

// classifyPasswordError maps a directory refusal. AD and Samba put a Win32
// error code first in the diagnostic message ("0000052D: ...").
func classifyPasswordError(le *ldap.Error, w PasswordWrite) *PasswordError {
	msg := ""
	if le.Err != nil {
		msg = le.Err.Error()
	}
	for _, p := range [][]byte{w.Password, w.OldPassword} {
		if len(p) > 0 {
			msg = strings.ReplaceAll(msg, string(p), "<password>")
		}
	}
	if msg == "" {
		msg = ldap.LDAPResultCodeMap[le.ResultCode]
	}
	pe := &PasswordError{ResultCode: le.ResultCode, Message: msg, Refusal: RefusedUnknown}
	upper := strings.ToUpper(msg)
	switch {
	case strings.Contains(upper, "0000052D"):
		pe.Refusal = RefusedPolicy
	case le.ResultCode == ldap.LDAPResultInsufficientAccessRights, strings.HasPrefix(upper, "00000005:"):
		pe.Refusal = RefusedPermission
	case strings.Contains(upper, "00000056"): // ERROR_INVALID_PASSWORD: the current password is wrong
		pe.Refusal = RefusedUnknown
	case le.ResultCode == ldap.LDAPResultConstraintViolation:
		pe.Refusal = RefusedPolicy
	}
	return pe
}
