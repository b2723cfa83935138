package agent

import (
	"fmt"
	"strings"

	"github.com/idsync/idsync/internal/directory"
)

// scopeLines states the configured scope filter and, for a DN, which
// organizational unit holds it; used when the source cannot look the
// object up.
func (c *cycle) scopeLines(dn string) []string {
	s := c.settings
	var out []string
	if s.Domain != "" {
		out = append(out, "domain filter: "+s.Domain)
	}
	if len(s.OrganizationalUnits) == 0 {
		out = append(out, "no OU filter: the whole domain is in scope")
	}
	looksDN := strings.Contains(dn, "=")
	for _, ou := range s.OrganizationalUnits {
		switch {
		case !looksDN:
		case underDN(dn, ou):
			out = append(out, "under "+ou+": matched")
		default:
			out = append(out, "not under "+ou)
		}
	}
	return out
}

// factScope explains the read's verdicts on one object, rule by rule, in
// the order the read applies them: the LDAP filters, the system-object
// rule, the organizational units, the group filter (users), then the
// account state. The verdicts are the source's (ldapsource applies the
// same code in its reads); the group filter is decided on the memberships
// of snap, as the read's Build decides it.
func (c *cycle) factScope(f *directory.ObjectFacts, snap *directory.Snapshot) []string {
	s := c.settings
	var out []string
	if s.Domain != "" {
		out = append(out, "domain filter: "+s.Domain)
	}
	in := true
	if !f.Selected {
		out = append(out, fmt.Sprintf("not read: the read's filters %s do not select it (objectClass %s; objectCategory %s): only person users and groups are synchronized",
			f.Filter, strings.Join(f.ObjectClasses, ", "), orNone(f.ObjectCategory)))
		return append(out, "out of scope")
	}
	if f.System != "" {
		out = append(out, "never synchronized: it is "+f.System)
		in = false
	}
	switch {
	case len(s.OrganizationalUnits) == 0 && f.InOUScope:
		out = append(out, "no OU filter: the whole domain is in scope")
	case len(s.OrganizationalUnits) == 0:
		out = append(out, "not under the domain's naming context, which the read covers")
		in = false
	case f.InOUScope:
		out = append(out, "under "+f.OU+": matched")
	default:
		out = append(out, fmt.Sprintf("not under any configured OU: it is in %s; the OUs are %s", parentDN(f.DN), strings.Join(s.OrganizationalUnits, "; ")))
		in = false
	}
	if f.Kind == directory.KindUser && len(f.ScopeGroups) > 0 {
		var links []directory.Links
		if snap != nil {
			links = snap.Graph.Links
		}
		paths := directory.MemberPaths(links, f.ExternalID, f.PrimaryGroupID, false)
		member := false
		for _, g := range f.ScopeGroups {
			var p *directory.MemberPath
			for _, id := range g.ExternalIDs {
				if mp, ok := paths[id]; ok {
					p = &mp
					break
				}
			}
			if p == nil {
				out = append(out, "not a member of the scope group "+g.Value+" (directly, through nested groups or by primary group)")
				continue
			}
			member = true
			m := Membership{Group: g.Value, Via: p.Via, Primary: p.Primary}
			for i, v := range m.Via {
				m.Via[i] = groupName(snap, v)
			}
			out = append(out, "member of the scope group "+m.String()+": matched")
		}
		if !member {
			in = false
		}
	} else if f.Kind == directory.KindGroup && len(f.ScopeGroups) > 0 {
		out = append(out, "the group filter selects users only; groups are synchronized by OU")
	}
	if f.Kind == directory.KindUser {
		out = append(out, c.accountState(f)...)
	}
	if in {
		return append(out, "in scope: the directory read selects it")
	}
	return append(out, "out of scope")
}

// accountState explains a user's enabled, expired and locked-out state.
func (c *cycle) accountState(f *directory.ObjectFacts) []string {
	var out []string
	if f.Enabled {
		out = append(out, "the account is enabled: active in the pool when in scope")
	} else {
		out = append(out, "the account is disabled (userAccountControl ACCOUNTDISABLE): synchronized when in scope, but inactive in the pool")
	}
	if !f.ExpiresAt.IsZero() {
		state := "expires"
		if !f.ExpiresAt.After(c.a.now()) {
			state = "expired"
		}
		out = append(out, "the account "+state+" at "+f.ExpiresAt.UTC().Format("2006-01-02T15:04:05Z")+" (sent as expires_at; an expired account is inactive in the pool)")
	}
	if f.LockedOut {
		out = append(out, "the account is locked out")
	}
	return out
}

func groupName(snap *directory.Snapshot, id string) string {
	if snap != nil {
		for _, g := range snap.Groups {
			if g.ExternalID == id && g.Name != "" {
				return g.Name
			}
		}
	}
	return id
}

// parentDN is the DN of the container holding dn.
func parentDN(dn string) string {
	for i := 0; i < len(dn); i++ {
		switch dn[i] {
		case '\\':
			i++
		case ',':
			return dn[i+1:]
		}
	}
	return dn
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// underDN reports whether dn is ou or below it.
func underDN(dn, ou string) bool {
	d, o := strings.ToLower(strings.ReplaceAll(dn, " ", "")), strings.ToLower(strings.ReplaceAll(ou, " ", ""))
	return d == o || strings.HasSuffix(d, ","+o)
}
