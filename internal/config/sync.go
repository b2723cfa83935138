package config

import (
	"strings"
	"time"
)

// SyncSettings is the sync_settings section. When the file has it (Present),
// it is the source of truth and the agent makes the cloud's synchronization
// settings match it; otherwise the settings returned by the cloud are used.
type SyncSettings struct {
	// Present is true when the file has a sync_settings section. It is not
	// a YAML key.
	Present bool `yaml:"-"`
	// Interval is the time between incremental synchronizations, a Go
	// duration such as "600s" or "10m". Default 240s.
	Interval time.Duration `yaml:"interval"`
	// AllowToCaptureUsers lets the sync take over a pool user with the
	// same login instead of failing.
	AllowToCaptureUsers bool `yaml:"allow_to_capture_users"`
	// AllowToCaptureGroups lets the sync take over a pool group with the
	// same name instead of failing.
	AllowToCaptureGroups bool `yaml:"allow_to_capture_groups"`
	// ReplacementDomain, when set, replaces the UPN suffix in usernames.
	ReplacementDomain string `yaml:"replacement_domain"`
	// UserAttributeMapping lists overrides of DefaultUserMapping; see
	// EffectiveUserMapping.
	UserAttributeMapping []AttributeMapping `yaml:"user_attribute_mapping"`
	// GroupAttributeMapping lists overrides of DefaultGroupMapping; see
	// EffectiveGroupMapping.
	GroupAttributeMapping []AttributeMapping `yaml:"group_attribute_mapping"`
	// Filter limits what is synchronized.
	Filter Filter `yaml:"filter"`
	// GroupNameOverrides maps a directory group's name or DN (a key with
	// "=") to the name the group gets in Identity Hub, instead of the name
	// idsync derives. It is idsync's own key: the pool's settings do not
	// hold it.
	GroupNameOverrides map[string]string `yaml:"group_name_overrides"`
	// RemoveUserBehavior is what happens to users deleted in AD or out of
	// scope: "remove" (default) or "block".
	RemoveUserBehavior string `yaml:"remove_user_behavior"`
}

// Filter is the sync_settings.filter section. With no organization units
// and no groups everything under the base DN is synchronized.
type Filter struct {
	// Domain is the AD domain, e.g. "example.com". Required when the file
	// has a sync_settings section.
	Domain string `yaml:"domain"`
	// OrganizationUnits are the DNs of at most 10 OUs to read users and
	// groups from.
	OrganizationUnits []string `yaml:"organization_units"`
	// Groups are at most 10 group names; users must be a member of one of
	// them. It limits users only, not which groups are synchronized.
	Groups []string `yaml:"groups"`
}

// Remove-user behaviors.
const (
	RemoveUserRemove = "remove"
	RemoveUserBlock  = "block"
)

// AttributeMapping maps a directory attribute to an Identity Hub field.
type AttributeMapping struct {
	// Source is the LDAP attribute; empty when Type is "empty".
	Source string `yaml:"source"`
	// Target is the field, by the Yandex config name (see the Target*
	// constants). Matched case-insensitively; Load writes the canonical
	// spelling.
	Target string `yaml:"target"`
	// Type is "direct" (copy Source) or "empty" (leave the field empty).
	// Matched case-insensitively; Load writes it lowercase.
	Type string `yaml:"type"`
}

// Mapping types.
const (
	MappingDirect = "direct"
	MappingEmpty  = "empty"
)

// User mapping targets, by their names in the Yandex agent's config.
const (
	TargetFullName    = "FullName"
	TargetGivenName   = "GivenName"
	TargetFamilyName  = "FamilyName"
	TargetEmail       = "Email"
	TargetPhoneNumber = "PhoneNumber"
	TargetUsername    = "Username"
	TargetEmployeeID  = "EmployeeId"
	TargetDepartment  = "Department"
	TargetJobTitle    = "JobTitle"
	TargetCompanyName = "CompanyName"
)

// Group mapping targets.
const (
	TargetName        = "Name"
	TargetDescription = "Description"
)

// maxMappings is the API's limit on attribute mappings per kind.
const maxMappings = 50

// DefaultUserMapping returns the Identity Hub default user mapping, in the
// order of the Target constants.
func DefaultUserMapping() []AttributeMapping {
	return []AttributeMapping{
		{Source: "displayName", Target: TargetFullName, Type: MappingDirect},
		{Source: "givenName", Target: TargetGivenName, Type: MappingDirect},
		{Source: "sn", Target: TargetFamilyName, Type: MappingDirect},
		{Source: "mail", Target: TargetEmail, Type: MappingDirect},
		{Source: "telephoneNumber", Target: TargetPhoneNumber, Type: MappingDirect},
		{Source: "userPrincipalName", Target: TargetUsername, Type: MappingDirect},
		{Source: "employeeID", Target: TargetEmployeeID, Type: MappingDirect},
		{Source: "department", Target: TargetDepartment, Type: MappingDirect},
		{Source: "title", Target: TargetJobTitle, Type: MappingDirect},
		{Source: "company", Target: TargetCompanyName, Type: MappingDirect},
	}
}

// DefaultGroupMapping returns the Identity Hub default group mapping.
func DefaultGroupMapping() []AttributeMapping {
	return []AttributeMapping{
		{Source: "name", Target: TargetName, Type: MappingDirect},
		{Source: "description", Target: TargetDescription, Type: MappingDirect},
	}
}

// EffectiveUserMapping returns DefaultUserMapping with the overrides of
// UserAttributeMapping applied: one entry per target, in default order.
func (s *SyncSettings) EffectiveUserMapping() []AttributeMapping {
	return mergeMapping(DefaultUserMapping(), s.UserAttributeMapping)
}

// EffectiveGroupMapping returns DefaultGroupMapping with the overrides of
// GroupAttributeMapping applied.
func (s *SyncSettings) EffectiveGroupMapping() []AttributeMapping {
	return mergeMapping(DefaultGroupMapping(), s.GroupAttributeMapping)
}

func mergeMapping(defaults, overrides []AttributeMapping) []AttributeMapping {
	for _, o := range overrides {
		for i := range defaults {
			if strings.EqualFold(defaults[i].Target, o.Target) {
				m := AttributeMapping{Target: defaults[i].Target, Type: strings.ToLower(o.Type), Source: o.Source}
				if m.Type == MappingEmpty {
					m.Source = ""
				}
				defaults[i] = m
			}
		}
	}
	return defaults
}

// canonicalTarget returns the canonical spelling of target among the
// defaults' targets, or "" when it is not one of them.
func canonicalTarget(defaults []AttributeMapping, target string) string {
	for _, d := range defaults {
		if strings.EqualFold(d.Target, target) {
			return d.Target
		}
	}
	return ""
}

// targetNames lists the defaults' targets for messages.
func targetNames(defaults []AttributeMapping) string {
	names := make([]string, len(defaults))
	for i, d := range defaults {
		names[i] = d.Target
	}
	return strings.Join(names, ", ")
}
