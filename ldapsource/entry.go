package ldapsource

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/idsync/idsync/internal/directory"
)

// Filters for the objects the source reads.
const (
	userFilter  = "(&(objectCategory=person)(objectClass=user))"
	groupFilter = "(objectClass=group)"
)

// baseUserAttrs and baseGroupAttrs are always requested besides the mapped
// attributes.
var (
	baseUserAttrs = []string{"objectGUID", "objectSid", "objectClass", "sAMAccountName", "userAccountControl",
		"accountExpires", "pwdLastSet", "primaryGroupID", "isCriticalSystemObject", "lockoutTime"}
	baseGroupAttrs = []string{"objectGUID", "objectSid", "objectClass", "sAMAccountName", "cn",
		"isCriticalSystemObject", "member"}
)

func (s *Source) userAttrs() []string {
	return mergeAttrs(baseUserAttrs, s.opts.Mapping.UserAttributes())
}

func (s *Source) groupAttrs() []string {
	return mergeAttrs(baseGroupAttrs, s.opts.Mapping.GroupAttributes())
}

func mergeAttrs(a, b []string) []string {
	out := slices.Clone(a)
	for _, x := range b {
		if !slices.ContainsFunc(out, func(y string) bool { return strings.EqualFold(x, y) }) {
			out = append(out, x)
		}
	}
	return out
}

func firstValue(e *ldap.Entry, name string) string {
	return e.GetEqualFoldAttributeValue(name)
}

func hasClass(e *ldap.Entry, class string) bool {
	return slices.ContainsFunc(e.GetEqualFoldAttributeValues("objectClass"), func(v string) bool {
		return strings.EqualFold(v, class)
	})
}

func isCritical(e *ldap.Entry) bool {
	return strings.EqualFold(firstValue(e, "isCriticalSystemObject"), "TRUE")
}

// mappedValue reads a mapped attribute: objectSid and objectGUID are decoded
// to text, anything else is the first value as is.
func mappedValue(e *ldap.Entry, attr string) (string, error) {
	switch strings.ToLower(attr) {
	case "objectsid":
		raw := e.GetEqualFoldRawAttributeValue(attr)
		if len(raw) == 0 {
			return "", nil
		}
		sid, _, err := DecodeSID(raw)
		return sid, err
	case "objectguid":
		raw := e.GetEqualFoldRawAttributeValue(attr)
		if len(raw) == 0 {
			return "", nil
		}
		return DecodeGUID(raw)
	}
	return firstValue(e, attr), nil
}

// decodeUser converts a user entry. system is true for accounts that never
// leave the source (computers, trust accounts, critical system objects).
func (s *Source) decodeUser(e *ldap.Entry) (u directory.User, system bool, err error) {
	_, dn := splitExtendedDN(e.DN)
	dn = strings.Clone(dn) // without pinning the <GUID=..>;<SID=..>; prefix
	if u.ExternalID, err = DecodeGUID(e.GetEqualFoldRawAttributeValue("objectGUID")); err != nil {
		return u, false, fmt.Errorf("decode user %s: %w", dn, err)
	}
	u.DN = dn
	if raw := e.GetEqualFoldRawAttributeValue("objectSid"); len(raw) > 0 {
		if u.SID, _, err = DecodeSID(raw); err != nil {
			return u, false, fmt.Errorf("decode user %s: %w", dn, err)
		}
	}
	u.SAMAccountName = firstValue(e, "sAMAccountName")
	uac, err := parseUAC(firstValue(e, "userAccountControl"))
	if err != nil {
		return u, false, fmt.Errorf("decode user %s: %w", dn, err)
	}
	u.Enabled = uac&uacAccountDisable == 0
	if v := firstValue(e, "accountExpires"); v != "" {
		if u.ExpiresAt, err = ParseFileTime(v); err != nil {
			return u, false, fmt.Errorf("decode user %s: accountExpires: %w", dn, err)
		}
	}
	// A set lockoutTime means the account may be locked out; the reader
	// asks the domain controller (refineLockout) before the user leaves it.
	if u.LockedOut, err = lockoutSet(firstValue(e, "lockoutTime")); err != nil {
		return u, false, fmt.Errorf("decode user %s: %w", dn, err)
	}
	if v := firstValue(e, "pwdLastSet"); v != "" {
		if u.PasswordLastSet, err = ParseFileTime(v); err != nil {
			return u, false, fmt.Errorf("decode user %s: pwdLastSet: %w", dn, err)
		}
		u.MustChangePassword = strings.TrimSpace(v) == "0"
	}
	if v := firstValue(e, "primaryGroupID"); v != "" {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return u, false, fmt.Errorf("decode user %s: primaryGroupID %q: %w", dn, v, err)
		}
		u.PrimaryGroupID = uint32(n)
	}
	for f, m := range s.opts.Mapping.User {
		if m.Type != directory.Direct {
			continue
		}
		v, err := mappedValue(e, m.Source)
		if err != nil {
			return u, false, fmt.Errorf("decode user %s: %s: %w", dn, m.Source, err)
		}
		directory.SetUserField(&u, f, v)
	}
	return u, systemReason(e, uac) != "", nil
}

// criticalReason is systemReason's verdict on a critical system object.
const criticalReason = "a critical system object (isCriticalSystemObject=TRUE: built-in accounts such as Administrator, Guest and krbtgt, domain controllers, built-in and default groups such as Domain Users)"

// systemReason says why the read never synchronizes an entry, whatever the
// scope, or returns "" when it may: critical system objects (built-in
// accounts and groups), computers and trust accounts. It is the one place
// these rules live.
func systemReason(e *ldap.Entry, uac uint32) string {
	switch {
	case isCritical(e):
		return criticalReason
	case hasClass(e, "computer"):
		return "a computer account (objectClass=computer)"
	case uac&uacWorkstationTrust != 0:
		return "a workstation trust account (userAccountControl WORKSTATION_TRUST_ACCOUNT)"
	case uac&uacServerTrust != 0:
		return "a domain controller account (userAccountControl SERVER_TRUST_ACCOUNT)"
	case uac&uacInterdomainTrust != 0:
		return "an interdomain trust account (userAccountControl INTERDOMAIN_TRUST_ACCOUNT)"
	}
	return ""
}

// decodedGroup is a group entry with its direct members split into resolved
// GUIDs and DNs that came without one.
type decodedGroup struct {
	group      directory.Group
	critical   bool
	members    []string
	unresolved []string
}

// decodeGroup decodes a group entry. Member ids go through intern, which
// returns a shared copy: a member value is an extended DN of ~150 bytes, and
// a substring of it would keep all of it alive (1M memberships at W100k).
func (s *Source) decodeGroup(e *ldap.Entry, intern func(string) string) (decodedGroup, error) {
	var d decodedGroup
	g := &d.group
	_, dn := splitExtendedDN(e.DN)
	dn = strings.Clone(dn) // without pinning the <GUID=..>;<SID=..>; prefix
	var err error
	if g.ExternalID, err = DecodeGUID(e.GetEqualFoldRawAttributeValue("objectGUID")); err != nil {
		return d, fmt.Errorf("decode group %s: %w", dn, err)
	}
	g.DN = dn
	if raw := e.GetEqualFoldRawAttributeValue("objectSid"); len(raw) > 0 {
		if g.SID, g.RID, err = DecodeSID(raw); err != nil {
			return d, fmt.Errorf("decode group %s: %w", dn, err)
		}
	}
	g.SAMAccountName = firstValue(e, "sAMAccountName")
	for f, m := range s.opts.Mapping.Group {
		if m.Type != directory.Direct {
			continue
		}
		v, err := mappedValue(e, m.Source)
		if err != nil {
			return d, fmt.Errorf("decode group %s: %s: %w", dn, m.Source, err)
		}
		switch f {
		case directory.FieldGroupName:
			g.Name = v
		case directory.FieldGroupDescription:
			g.Description = v
		}
	}
	d.critical = systemReason(e, 0) != ""
	for _, v := range e.GetEqualFoldAttributeValues("member") {
		guid, mdn := splitExtendedDN(v)
		if guid != "" {
			d.members = append(d.members, intern(guid))
		} else {
			d.unresolved = append(d.unresolved, mdn)
		}
	}
	return d, nil
}
