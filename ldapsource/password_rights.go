package ldapsource

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// PasswordRight is one right password writeback needs on users.
type PasswordRight struct {
	// Name is how Active Directory's security dialogs name it.
	Name string
	// guids are the control access right or the properties (property sets)
	// whose grant gives the right; mask is the access bit it needs.
	guids []string
	mask  uint32
}

// Access mask bits of directory objects.
const (
	rightDSWriteProp     = 0x00000020
	rightDSControlAccess = 0x00000100
	rightGenericWrite    = 0x40000000
	rightGenericAll      = 0x10000000
)

// PasswordRights are the rights password writeback needs: resetting
// (admin resets), changing (a user's own change) and writing pwdLastSet
// (need_change). Write pwdLastSet is also given by the User Account
// Restrictions property set.
var PasswordRights = []PasswordRight{
	{Name: "Reset Password", guids: []string{"00299570-246d-11d0-a768-00aa006e0529"}, mask: rightDSControlAccess},
	{Name: "Change Password", guids: []string{"ab721a53-1e2f-11d0-9819-00aa0040529b"}, mask: rightDSControlAccess},
	{Name: "Write pwdLastSet", guids: []string{"bf967a0a-0de6-11d0-a285-00aa003049e2", "4c164200-20c0-11d0-a768-00aa006e0529"}, mask: rightDSWriteProp},
}

// PasswordRightsReport says, per scope root, which password rights the bind
// account lacks on a sample user there.
type PasswordRightsReport struct {
	// Sampled is the DN of each user checked, by scope root.
	Sampled map[string]string
	// Missing lists "<right> on <scope root>" for every right not granted.
	Missing []string
}

// CheckPasswordRights reads the security descriptor of one in-scope user
// under each scope root and tells which password writeback rights the bind
// account (its SID, its groups, Everyone and Authenticated Users) is not
// granted there. Deny entries count; the owner's implicit rights do not.
// It changes nothing.
func (s *Source) CheckPasswordRights(ctx context.Context) (*PasswordRightsReport, error) {
	c, err := s.connection(ctx)
	if err != nil {
		return nil, fmt.Errorf("check password rights: %w", err)
	}
	r, err := s.checkPasswordRights(ctx, c)
	if err != nil {
		s.invalidate(c, err)
		return nil, fmt.Errorf("check password rights: %w", err)
	}
	return r, nil
}

func (s *Source) checkPasswordRights(ctx context.Context, c *ldap.Conn) (*PasswordRightsReport, error) {
	info, err := s.readRootDSE(ctx, c)
	if err != nil {
		return nil, err
	}
	base := s.baseDN(info)
	sids, err := s.boundSIDs(c, base)
	if err != nil {
		return nil, err
	}
	roots := s.opts.Scope.OrganizationalUnits
	if len(roots) == 0 {
		roots = []string{base}
	}
	rep := &PasswordRightsReport{Sampled: map[string]string{}}
	sdFlags := ldap.NewControlString("1.2.840.113556.1.4.801", true, string(berInt(4))) // DACL only
	for _, root := range roots {
		req := ldap.NewSearchRequest(root, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 1, int(s.opts.Timeout.Seconds()), false,
			"(&"+userFilter+"(!(isCriticalSystemObject=TRUE)))", []string{"nTSecurityDescriptor"}, []ldap.Control{sdFlags})
		res, err := c.Search(req)
		if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
			return nil, fmt.Errorf("read a user's security descriptor under %s: %w", root, err)
		}
		if res == nil || len(res.Entries) == 0 {
			continue
		}
		e := res.Entries[0]
		rep.Sampled[root] = e.DN
		sd := e.GetRawAttributeValue("nTSecurityDescriptor")
		if len(sd) == 0 {
			return nil, fmt.Errorf("the security descriptor of %s is not readable by the bind account", e.DN)
		}
		aces, err := parseDACL(sd)
		if err != nil {
			return nil, fmt.Errorf("security descriptor of %s: %w", e.DN, err)
		}
		for _, right := range PasswordRights {
			if !granted(aces, sids, right) {
				rep.Missing = append(rep.Missing, right.Name+" on "+root)
			}
		}
	}
	return rep, nil
}

// boundSIDs returns the SIDs of the bound account: its own, its groups
// (tokenGroups), Everyone and Authenticated Users.
func (s *Source) boundSIDs(c *ldap.Conn, base string) (map[string]bool, error) {
	// The bind name gives the account (Samba has no "who am I").
	name := s.opts.Username
	var dn string
	if strings.Contains(name, "=") {
		dn = name
	} else {
		filter := "(userPrincipalName=" + ldap.EscapeFilter(name) + ")"
		if !strings.Contains(name, "@") {
			if i := strings.LastIndex(name, `\`); i >= 0 {
				name = name[i+1:]
			}
			filter = "(sAMAccountName=" + ldap.EscapeFilter(name) + ")"
		}
		res, err := c.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 1, 0, false,
			filter, []string{"objectSid"}, nil))
		switch {
		case err != nil:
			return nil, fmt.Errorf("find the bind account %q: %w", s.opts.Username, err)
		case len(res.Entries) == 0 && strings.Contains(name, "@"):
			// AD accepts user@netbios-domain-style names without a UPN.
			local, _, _ := strings.Cut(name, "@")
			res, err = c.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 1, 0, false,
				"(sAMAccountName="+ldap.EscapeFilter(local)+")", []string{"objectSid"}, nil))
			if err != nil {
				return nil, fmt.Errorf("find the bind account %q: %w", s.opts.Username, err)
			}
		}
		if len(res.Entries) == 0 {
			return nil, fmt.Errorf("find the bind account %q: not found under %s", s.opts.Username, base)
		}
		dn = res.Entries[0].DN
	}
	res, err := c.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"objectSid", "tokenGroups"}, nil))
	if err != nil || len(res.Entries) == 0 {
		return nil, fmt.Errorf("read the groups of the bind account %s: %w", dn, errors.Join(err, errors.New("not found")))
	}
	sids := map[string]bool{"S-1-1-0": true, "S-1-5-11": true}
	e := res.Entries[0]
	for _, raw := range append(e.GetRawAttributeValues("objectSid"), e.GetRawAttributeValues("tokenGroups")...) {
		if sid, _, err := DecodeSID(raw); err == nil {
			sids[sid] = true
		}
	}
	return sids, nil
}

// ace is one access control entry, as far as the rights check needs.
type ace struct {
	allow       bool
	inheritOnly bool
	mask        uint32
	objectType  []byte // nil: every property / right
	sid         string
}

// parseDACL returns the DACL entries of a self-relative security descriptor.
func parseDACL(sd []byte) ([]ace, error) {
	if len(sd) < 20 {
		return nil, errors.New("too short")
	}
	off := int(binary.LittleEndian.Uint32(sd[16:20]))
	if off == 0 {
		return nil, nil // no DACL: everything is allowed, not expected on AD
	}
	if off+8 > len(sd) {
		return nil, errors.New("DACL offset out of range")
	}
	count := int(binary.LittleEndian.Uint16(sd[off+4 : off+6]))
	p := off + 8
	var out []ace
	for range count {
		if p+4 > len(sd) {
			return nil, errors.New("truncated ACE")
		}
		typ, flags, size := sd[p], sd[p+1], int(binary.LittleEndian.Uint16(sd[p+2:p+4]))
		if size < 8 || p+size > len(sd) {
			return nil, errors.New("bad ACE size")
		}
		body := sd[p+4 : p+size]
		p += size
		a := ace{inheritOnly: flags&0x08 != 0, mask: binary.LittleEndian.Uint32(body[0:4])}
		rest := body[4:]
		switch typ {
		case 0x00, 0x01: // ACCESS_ALLOWED, ACCESS_DENIED
			a.allow = typ == 0x00
		case 0x05, 0x06: // ACCESS_ALLOWED_OBJECT, ACCESS_DENIED_OBJECT
			a.allow = typ == 0x05
			if len(rest) < 4 {
				return nil, errors.New("truncated object ACE")
			}
			of := binary.LittleEndian.Uint32(rest[0:4])
			rest = rest[4:]
			if of&1 != 0 {
				if len(rest) < 16 {
					return nil, errors.New("truncated object type")
				}
				a.objectType, rest = rest[:16], rest[16:]
			}
			if of&2 != 0 {
				if len(rest) < 16 {
					return nil, errors.New("truncated inherited object type")
				}
				rest = rest[16:]
			}
		default:
			continue // audit and callback entries do not grant rights
		}
		if len(rest) >= 8 {
			n := 8 + 4*int(rest[1])
			if n <= len(rest) {
				if sid, _, err := DecodeSID(rest[:n]); err == nil {
					a.sid = sid
				}
			}
		}
		out = append(out, a)
	}
	return out, nil
}

// granted evaluates right in ACE order: the first entry for one of sids
// that covers the right decides (AD keeps DACLs in canonical order: explicit
// deny, explicit allow, inherited deny, inherited allow).
func granted(aces []ace, sids map[string]bool, right PasswordRight) bool {
	var guids [][]byte
	for _, g := range right.guids {
		if b, err := EncodeGUID(g); err == nil {
			guids = append(guids, b)
		}
	}
	for _, a := range aces {
		if a.inheritOnly || !sids[a.sid] {
			continue
		}
		covers := a.mask&rightGenericAll != 0 || (right.mask == rightDSWriteProp && a.mask&rightGenericWrite != 0)
		if !covers && a.mask&right.mask != 0 {
			covers = a.objectType == nil
			for _, g := range guids {
				covers = covers || bytes.Equal(a.objectType, g)
			}
		}
		if covers {
			return a.allow
		}
	}
	return false
}

// berInt is the BER encoding of SEQUENCE { INTEGER v }, the value of the
// SD flags control.
func berInt(v int64) []byte {
	seq := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	seq.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, v, ""))
	return seq.Bytes()
}
