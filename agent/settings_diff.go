package agent

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/protobuf/proto"

	"github.com/idsync/idsync/internal/state"
)

// SettingChange is one changed field of the pool's settings.
type SettingChange = state.SettingChange

// DiffCloudSettings returns the fields of have that differ from want, in a
// fixed order, with readable values. have nil means the pool has no
// settings: every field of want is a change. Pure: no I/O.
func DiffCloudSettings(have, want *idp.SynchronizationSettings) []SettingChange {
	var out []SettingChange
	add := func(field string, same bool, old, new func(*idp.SynchronizationSettings) string) {
		if have == nil {
			out = append(out, SettingChange{Field: field, New: new(want)})
		} else if !same {
			out = append(out, SettingChange{Field: field, Old: old(have), New: new(want)})
		}
	}
	both := func(f func(*idp.SynchronizationSettings) string) (func(*idp.SynchronizationSettings) string, func(*idp.SynchronizationSettings) string) {
		return f, f
	}
	filter := func(s *idp.SynchronizationSettings) string {
		f := s.GetFilter()
		return fmt.Sprintf("domain %s, organization units [%s], groups [%s]", f.GetDomain(),
			strings.Join(f.GetOrganizationUnits(), "; "), strings.Join(f.GetGroups(), "; "))
	}
	o, n := both(filter)
	add("filter", proto.Equal(have.GetFilter(), want.GetFilter()), o, n)
	o, n = both(func(s *idp.SynchronizationSettings) string { return quoted(s.GetReplacementDomain()) })
	add("replacement_domain", have.GetReplacementDomain() == want.GetReplacementDomain(), o, n)
	o, n = both(func(s *idp.SynchronizationSettings) string { return s.GetRemoveUserBehavior().String() })
	add("remove_user_behavior", have.GetRemoveUserBehavior() == want.GetRemoveUserBehavior(), o, n)
	if want.GetSynchronizationInterval() != nil {
		o, n = both(func(s *idp.SynchronizationSettings) string {
			if s.GetSynchronizationInterval() == nil {
				return "(unset)"
			}
			return s.GetSynchronizationInterval().AsDuration().String()
		})
		add("synchronization_interval", proto.Equal(have.GetSynchronizationInterval(), want.GetSynchronizationInterval()), o, n)
	}
	o, n = both(func(s *idp.SynchronizationSettings) string { return strconv.FormatBool(s.GetAllowToCaptureUsers()) })
	add("allow_to_capture_users", have.GetAllowToCaptureUsers() == want.GetAllowToCaptureUsers(), o, n)
	o, n = both(func(s *idp.SynchronizationSettings) string { return strconv.FormatBool(s.GetAllowToCaptureGroups()) })
	add("allow_to_capture_groups", have.GetAllowToCaptureGroups() == want.GetAllowToCaptureGroups(), o, n)
	o, n = both(func(s *idp.SynchronizationSettings) string {
		var parts []string
		for _, m := range s.GetUserAttributeMappings() {
			parts = append(parts, mappingText(m.GetSource(), m.GetTarget().String(), m.GetType()))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	})
	add("user_attribute_mappings", slices.EqualFunc(have.GetUserAttributeMappings(), want.GetUserAttributeMappings(),
		func(a, b *idp.UserAttributeMapping) bool { return proto.Equal(a, b) }), o, n)
	o, n = both(func(s *idp.SynchronizationSettings) string {
		var parts []string
		for _, m := range s.GetGroupAttributeMappings() {
			parts = append(parts, mappingText(m.GetSource(), m.GetTarget().String(), m.GetType()))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	})
	add("group_attribute_mappings", slices.EqualFunc(have.GetGroupAttributeMappings(), want.GetGroupAttributeMappings(),
		func(a, b *idp.GroupAttributeMapping) bool { return proto.Equal(a, b) }), o, n)
	o, n = both(func(s *idp.SynchronizationSettings) string { return strconv.FormatBool(s.GetEnablePasswordWriteback()) })
	add("enable_password_writeback", have.GetEnablePasswordWriteback() == want.GetEnablePasswordWriteback(), o, n)
	return out
}

func mappingText(source, target string, t idp.MappingType) string {
	if t == idp.MappingType_EMPTY {
		return target + " empty"
	}
	return source + " -> " + target
}

func quoted(s string) string { return strconv.Quote(s) }
