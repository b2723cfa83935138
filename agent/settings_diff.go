package agent

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/idsync/idsync/internal/pool"
	"github.com/idsync/idsync/internal/state"
)

// SettingChange is one changed field of the pool's settings.
type SettingChange = state.SettingChange

// DiffCloudSettings returns the fields of have that differ from want, in a
// fixed order, with readable values. have nil means the pool has no
// settings: every field of want is a change. Pure: no I/O.
func DiffCloudSettings(have, want *pool.Settings) []SettingChange {
	var out []SettingChange
	h := have
	if h == nil {
		h = &pool.Settings{}
	}
	add := func(field string, same bool, text func(*pool.Settings) string) {
		if have == nil {
			out = append(out, SettingChange{Field: field, New: text(want)})
		} else if !same {
			out = append(out, SettingChange{Field: field, Old: text(have), New: text(want)})
		}
	}
	add("filter", h.Filter.Domain == want.Filter.Domain &&
		slices.Equal(h.Filter.OrganizationUnits, want.Filter.OrganizationUnits) && slices.Equal(h.Filter.Groups, want.Filter.Groups),
		func(s *pool.Settings) string {
			return fmt.Sprintf("domain %s, organization units [%s], groups [%s]", s.Filter.Domain,
				strings.Join(s.Filter.OrganizationUnits, "; "), strings.Join(s.Filter.Groups, "; "))
		})
	add("replacement_domain", h.ReplacementDomain == want.ReplacementDomain,
		func(s *pool.Settings) string { return quoted(s.ReplacementDomain) })
	add("remove_user_behavior", removeBehavior(h) == removeBehavior(want),
		func(s *pool.Settings) string { return string(removeBehavior(s)) })
	if want.SynchronizationInterval != 0 {
		add("synchronization_interval", h.SynchronizationInterval == want.SynchronizationInterval,
			func(s *pool.Settings) string {
				if s.SynchronizationInterval == 0 {
					return "(unset)"
				}
				return s.SynchronizationInterval.String()
			})
	}
	add("allow_to_capture_users", h.AllowToCaptureUsers == want.AllowToCaptureUsers,
		func(s *pool.Settings) string { return strconv.FormatBool(s.AllowToCaptureUsers) })
	add("allow_to_capture_groups", h.AllowToCaptureGroups == want.AllowToCaptureGroups,
		func(s *pool.Settings) string { return strconv.FormatBool(s.AllowToCaptureGroups) })
	add("user_attribute_mappings", slices.Equal(h.UserAttributeMappings, want.UserAttributeMappings),
		func(s *pool.Settings) string { return mappingsText(s.UserAttributeMappings) })
	add("group_attribute_mappings", slices.Equal(h.GroupAttributeMappings, want.GroupAttributeMappings),
		func(s *pool.Settings) string { return mappingsText(s.GroupAttributeMappings) })
	add("enable_password_writeback", h.EnablePasswordWriteback == want.EnablePasswordWriteback,
		func(s *pool.Settings) string { return strconv.FormatBool(s.EnablePasswordWriteback) })
	return out
}

// removeBehavior is s's remove behaviour as the API names it, unset
// included.
func removeBehavior(s *pool.Settings) pool.RemoveUserBehavior {
	if s.RemoveUserBehavior == "" {
		return "REMOVE_USER_BEHAVIOR_UNSPECIFIED"
	}
	return s.RemoveUserBehavior
}

func mappingsText(ms []pool.AttributeMapping) string {
	var parts []string
	for _, m := range ms {
		parts = append(parts, mappingText(m.Source, m.Target, m.Type))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func mappingText(source, target string, t pool.MappingType) string {
	if t == pool.MappingEmpty {
		return target + " empty"
	}
	return source + " -> " + target
}

func quoted(s string) string { return strconv.Quote(s) }
