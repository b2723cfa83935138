package ldapsource

import (
	"context"
	"fmt"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/idsync/idsync/internal/directory"
)

// maxLookup bounds the objects one Lookup returns.
const maxLookup = 10

// Lookup finds the objects ref names, whatever the scope: a UPN,
// sAMAccountName, cn (group name), DN or objectGUID (canonical text).
// ref is escaped for the filter. Each object comes with the verdicts of
// the rules Snapshot applies to it (the read filters, system objects, the
// organizational units; see the package comment) and the groups the
// configured group filter names; the group filter itself is decided on
// the memberships a snapshot reads. No match is an empty result.
func (s *Source) Lookup(ctx context.Context, ref string) ([]directory.ObjectFacts, error) {
	c, err := s.connection(ctx)
	if err != nil {
		return nil, fmt.Errorf("look up %q: %w", ref, err)
	}
	info, err := s.readRootDSE(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("look up %q: %w", ref, err)
	}
	base := s.baseDN(info)
	spec, err := lookupSpec(base, ref)
	if err != nil {
		return nil, fmt.Errorf("look up %q: %w", ref, err)
	}
	spec.attrs = append(mergeAttrs(s.userAttrs(), s.groupAttrs()), "objectCategory", "userPrincipalName")
	for i, a := range spec.attrs {
		if strings.EqualFold(a, "member") {
			spec.attrs = append(spec.attrs[:i], spec.attrs[i+1:]...) // members are not needed
			break
		}
	}
	var entries []*ldap.Entry
	err = s.pagedSearch(ctx, c, spec, func(e *ldap.Entry) error {
		if len(entries) < maxLookup {
			entries = append(entries, e)
		}
		return nil
	})
	if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return nil, fmt.Errorf("look up %q: %w", ref, err)
	}
	ous, err := s.ouRoots()
	if err != nil {
		return nil, fmt.Errorf("look up %q: %w", ref, err)
	}
	var scopeGroups []directory.ScopeGroup
	for _, g := range s.opts.Scope.Groups {
		ids, err := s.resolveScopeGroup(ctx, c, base, g)
		if err != nil {
			return nil, fmt.Errorf("look up %q: %w", ref, err)
		}
		scopeGroups = append(scopeGroups, directory.ScopeGroup{Value: g, ExternalIDs: ids})
	}
	var out []directory.ObjectFacts
	for _, e := range entries {
		f, err := s.facts(ctx, c, e, base, ous)
		if err != nil {
			return nil, fmt.Errorf("look up %q: %w", ref, err)
		}
		f.ScopeGroups = scopeGroups
		out = append(out, f)
	}
	return out, nil
}

// lookupSpec is the search for ref: a base search for a DN, an objectGUID
// match for a GUID, else UPN, sAMAccountName or cn anywhere in the domain.
func lookupSpec(base, ref string) (searchSpec, error) {
	spec := searchSpec{base: base, scope: ldap.ScopeWholeSubtree}
	if v, err := guidFilterValue(ref); err == nil {
		spec.filter = "(objectGUID=" + v + ")"
		return spec, nil
	}
	if strings.Contains(ref, "=") {
		if _, err := ldap.ParseDN(ref); err != nil {
			return spec, fmt.Errorf("parse DN: %w", err)
		}
		spec.base, spec.scope, spec.filter = ref, ldap.ScopeBaseObject, "(objectClass=*)"
		return spec, nil
	}
	v := ldap.EscapeFilter(ref)
	spec.filter = "(|(userPrincipalName=" + v + ")(sAMAccountName=" + v + ")(cn=" + v + "))"
	return spec, nil
}

// facts decodes one entry and judges it by the read's rules: the server
// evaluates the read's own user and group filters on it, then the same
// decoding, system rule and organizational-unit test the read applies.
func (s *Source) facts(ctx context.Context, c *ldap.Conn, e *ldap.Entry, base string, ous []*ldap.DN) (directory.ObjectFacts, error) {
	_, dn := splitExtendedDN(e.DN)
	f := directory.ObjectFacts{DN: dn, SAMAccountName: firstValue(e, "sAMAccountName"),
		ObjectClasses: e.GetEqualFoldAttributeValues("objectClass"), ObjectCategory: firstValue(e, "objectCategory")}
	var err error
	if f.ExternalID, err = DecodeGUID(e.GetEqualFoldRawAttributeValue("objectGUID")); err != nil {
		return f, fmt.Errorf("decode %s: %w", dn, err)
	}
	for _, k := range []struct {
		kind   directory.Kind
		filter string
	}{{directory.KindUser, userFilter}, {directory.KindGroup, groupFilter}} {
		ok, err := s.matches(ctx, c, dn, k.filter)
		if err != nil {
			return f, err
		}
		if ok {
			f.Kind, f.Filter, f.Selected = k.kind, k.filter, true
			break
		}
	}
	if !f.Selected {
		f.Filter = userFilter + " or " + groupFilter
		f.Name = firstValue(e, "cn")
		return f, nil
	}
	roots := ous
	if len(roots) == 0 {
		// Without units the read covers the naming context.
		b, err := ldap.ParseDN(base)
		if err != nil {
			return f, fmt.Errorf("parse base DN %q: %w", base, err)
		}
		roots = []*ldap.DN{b}
	}
	i, in := ouOf(roots, dn)
	f.InOUScope = in
	if in && len(ous) > 0 {
		f.OU = s.opts.Scope.OrganizationalUnits[i]
	}
	if f.Kind == directory.KindGroup {
		d, err := s.decodeGroup(e, func(id string) string { return id })
		if err != nil {
			return f, err
		}
		f.Name = d.group.Name
		if f.Name == "" {
			f.Name = firstValue(e, "cn")
		}
		f.System = systemReason(e, 0)
		return f, nil
	}
	u, _, err := s.decodeUser(e)
	if err != nil {
		return f, err
	}
	uac, err := parseUAC(firstValue(e, "userAccountControl"))
	if err != nil {
		return f, fmt.Errorf("decode user %s: %w", dn, err)
	}
	f.System = systemReason(e, uac)
	f.Name = firstValue(e, "userPrincipalName")
	f.PrimaryGroupID, f.Enabled, f.ExpiresAt, f.LockedOut = u.PrimaryGroupID, u.Enabled, u.ExpiresAt, u.LockedOut
	if f.LockedOut {
		if f.LockedOut, err = s.lockedOut(ctx, c, dn); err != nil {
			return f, err
		}
	}
	return f, nil
}

// matches reports whether the server's filter selects the entry at dn.
func (s *Source) matches(ctx context.Context, c *ldap.Conn, dn, filter string) (bool, error) {
	req := ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, int(s.opts.Timeout.Seconds()), false,
		filter, []string{"1.1"}, nil)
	res, err := c.Search(req)
	if err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			return false, nil
		}
		s.invalidate(c, err)
		return false, fmt.Errorf("match %s against %s: %w", dn, filter, err)
	}
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("match %s: %w", dn, err)
	}
	return len(res.Entries) == 1, nil
}
