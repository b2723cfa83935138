package config

import (
	"fmt"
	"regexp"
	"sort"
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

	validateGroupNameOverrides(ps, s.GroupNameOverrides)

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
			ps.add(key, "invalid DN %q: %s; %s", ou, err.Error(), dnExample)
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

// dnExample ends the message about a malformed DN.
const dnExample = `a DN names each level from the object up, such as "OU=Staff,DC=example,DC=com" for the OU Staff in example.com`

// groupNameRE is the Identity Hub group name rule, as the agent applies it.
var groupNameRE = regexp.MustCompile(`^[a-zA-Z]([-a-zA-Z0-9._-]{0,61}[a-zA-Z0-9])?$`)

// validateGroupNameOverrides checks sync_settings.group_name_overrides:
// keys are group names or DNs, each group at most once; values are valid
// Identity Hub group names, no two alike (names compare case-insensitively).
func validateGroupNameOverrides(ps *problems, overrides map[string]string) {
	const key = "sync_settings.group_name_overrides"
	keys := make([]string, 0, len(overrides))
	for k := range overrides {
		keys = append(keys, k)
	}
	// Line order, so that "first" below means first in the file.
	sort.Slice(keys, func(i, j int) bool {
		li, lj := ps.lines[mapKey(key, keys[i])], ps.lines[mapKey(key, keys[j])]
		if li != lj {
			return li < lj
		}
		return keys[i] < keys[j]
	})
	seenKey := make(map[string]string)
	seenName := make(map[string]string)
	for _, k := range keys {
		v := overrides[k]
		sub := mapKey(key, k)
		norm := strings.ToLower(strings.TrimSpace(k))
		switch {
		case norm == "":
			ps.add(sub, "the key must be a group name or DN, not empty")
			continue
		case strings.Contains(k, "="):
			dn, err := ldap.ParseDN(k)
			if err != nil {
				ps.add(sub, "invalid DN %q: %s; write a group's DN such as \"CN=Legal,OU=Groups,DC=example,DC=com\", or its name", k, err.Error())
				continue
			}
			norm = strings.ToLower(dn.String())
		}
		if prev, dup := seenKey[norm]; dup {
			ps.add(sub, "names the same group as %q (line %d)", prev, ps.lines[mapKey(key, prev)])
		}
		seenKey[norm] = k
		if !groupNameRE.MatchString(v) {
			ps.add(sub, "%q is not a valid Identity Hub group name: it must start with a Latin letter, end with a letter or digit, hold only Latin letters, digits, '.', '_' and '-', and be at most 63 characters", v)
			continue
		}
		if prev, dup := seenName[strings.ToLower(v)]; dup {
			ps.add(sub, "the name %q is already given to %q (line %d); two groups cannot have one name", v, prev, ps.lines[mapKey(key, prev)])
			continue
		}
		seenName[strings.ToLower(v)] = k
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
