package config

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// Limits of the Identity Hub synchronization settings.
const (
	maxFilterOUs    = 10
	maxFilterGroups = 10
	maxDomainLength = 253
	maxSourceLength = 253
)

var (
	domainRE = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)
	// attributeRE matches an LDAP attribute description or OID.
	attributeRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9-]*|[0-9]+(\.[0-9]+)+)$`)
)

func (c *Config) validateSync(ps *problems) {
	s := &c.SyncSettings
	positive(ps, "sync_settings.interval", s.Interval)
	if s.ReplacementDomain != "" {
		validateDomain(ps, "sync_settings.replacement_domain", s.ReplacementDomain)
	}
	validateMappings(ps, "sync_settings.user_attribute_mapping", s.UserAttributeMapping, DefaultUserMapping(),
		[]string{TargetFullName, TargetUsername})
	validateMappings(ps, "sync_settings.group_attribute_mapping", s.GroupAttributeMapping, DefaultGroupMapping(),
		[]string{TargetName})

	f := &s.Filter
	switch {
	case f.Domain != "":
		validateDomain(ps, "sync_settings.filter.domain", f.Domain)
	case s.Present:
		ps.add("sync_settings.filter.domain", "required: the Active Directory domain, such as \"example.com\"")
	}
	if len(f.OrganizationUnits) > maxFilterOUs {
		ps.add("sync_settings.filter.organization_units", "has %d entries; at most %d are allowed", len(f.OrganizationUnits), maxFilterOUs)
	}
	seen := make(map[string]int)
	for i, ou := range f.OrganizationUnits {
		key := fmt.Sprintf("sync_settings.filter.organization_units[%d]", i)
		dn, err := ldap.ParseDN(ou)
		switch {
		case strings.TrimSpace(ou) == "":
			ps.add(key, "must not be empty")
			continue
		case err != nil:
			ps.add(key, "invalid DN %q: %s", ou, err.Error())
			continue
		}
		norm := strings.ToLower(dn.String())
		if j, dup := seen[norm]; dup {
			ps.add(key, "duplicates organization_units[%d]", j)
		}
		seen[norm] = i
	}
	if len(f.Groups) > maxFilterGroups {
		ps.add("sync_settings.filter.groups", "has %d entries; at most %d are allowed", len(f.Groups), maxFilterGroups)
	}
	seen = make(map[string]int)
	for i, g := range f.Groups {
		key := fmt.Sprintf("sync_settings.filter.groups[%d]", i)
		if strings.TrimSpace(g) == "" {
			ps.add(key, "must not be empty")
			continue
		}
		if j, dup := seen[strings.ToLower(g)]; dup {
			ps.add(key, "duplicates groups[%d]", j)
		}
		seen[strings.ToLower(g)] = i
	}
	switch s.RemoveUserBehavior {
	case RemoveUserRemove, RemoveUserBlock:
	default:
		ps.add("sync_settings.remove_user_behavior", "must be remove or block, got %q", s.RemoveUserBehavior)
	}
}

func validateDomain(ps *problems, key, d string) {
	if len(d) > maxDomainLength || !domainRE.MatchString(d) {
		ps.add(key, "must be a domain name such as \"example.com\", got %q", d)
	}
}

// validateMappings checks attribute mapping overrides against the targets
// of defaults; required lists targets that cannot be mapped to empty.
func validateMappings(ps *problems, key string, ms, defaults []AttributeMapping, required []string) {
	if len(ms) > maxMappings {
		ps.add(key, "has %d entries; at most %d are allowed", len(ms), maxMappings)
	}
	seen := make(map[string]int)
	for i, m := range ms {
		k := fmt.Sprintf("%s[%d]", key, i)
		target := canonicalTarget(defaults, m.Target)
		if target == "" {
			ps.add(k+".target", "unknown target %q; use one of %s", m.Target, targetNames(defaults))
		} else {
			if j, dup := seen[target]; dup {
				ps.add(k+".target", "%s is already mapped by entry %d", target, j)
			}
			seen[target] = i
		}
		switch strings.ToLower(m.Type) {
		case MappingDirect:
			switch {
			case m.Source == "":
				ps.add(k+".source", "required when type is direct: the LDAP attribute to copy")
			case len(m.Source) > maxSourceLength || !attributeRE.MatchString(m.Source):
				ps.add(k+".source", "must be an LDAP attribute name, got %q", m.Source)
			}
		case MappingEmpty:
			if m.Source != "" {
				ps.add(k+".source", "must be empty when type is empty, got %q", m.Source)
			}
			for _, r := range required {
				if target == r {
					ps.add(k+".type", "%s is required by Identity Hub and cannot be empty", r)
				}
			}
		default:
			ps.add(k+".type", "must be direct or empty, got %q", m.Type)
		}
	}
}
