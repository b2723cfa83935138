package agent

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/pool"
)

// MappingError is a mapping of the config's sync_settings that Identity Hub
// does not accept: Key and Target say where it is in the config.
type MappingError struct {
	Key    string // sync_settings.user_attribute_mapping or sync_settings.group_attribute_mapping
	Target string // the config's target name, such as FullName
	Source string
	// Supported lists the sources the service accepts for the target.
	Supported []string
}

func (e *MappingError) Error() string {
	supported := "none"
	if len(e.Supported) > 0 {
		supported = strings.Join(e.Supported, ", ")
	}
	return fmt.Sprintf("%s: the entry with target %s maps source attribute %q, which Identity Hub does not support for %s (ListSupportedAttributes for Active Directory lists: %s)",
		e.Key, e.Target, e.Source, e.Target, supported)
}

// AttributesAPI lists the attributes the service accepts in mappings for
// Active Directory. *idhub.Cloud implements it.
type AttributesAPI interface {
	ListSupportedAttributes(ctx context.Context) (*pool.SupportedAttributes, error)
}

// CheckMappings checks want's mappings as EnsureCloudSettings does before
// it writes anything (see resolveMappingTypes), and changes nothing. A
// source the service does not accept is a *MappingError.
func CheckMappings(ctx context.Context, api AttributesAPI, want *pool.Settings) error {
	_, err := resolveMappingTypes(ctx, api, want)
	return err
}

// resolveMappingTypes checks want's DIRECT mappings against the service's
// ListSupportedAttributes(ACTIVE_DIRECTORY) and returns want with each
// mapping typed as the service takes it: DIRECT when the service lists the
// source for the target (compared case-insensitively, as LDAP attribute
// names are), else DIRECT_ARBITRARY_ATTRIBUTE when the target accepts any
// attribute that way. A source the target accepts neither way is a
// *MappingError. Settings with only EMPTY mappings, or none, are returned
// as they are without a call. want is not modified.
func resolveMappingTypes(ctx context.Context, api AttributesAPI, want *pool.Settings) (*pool.Settings, error) {
	direct := func(m pool.AttributeMapping) bool { return m.Type == pool.MappingDirect }
	if !slices.ContainsFunc(want.UserAttributeMappings, direct) && !slices.ContainsFunc(want.GroupAttributeMappings, direct) {
		return want, nil
	}
	sup, err := api.ListSupportedAttributes(ctx)
	if err != nil {
		return nil, fmt.Errorf("list the attributes Identity Hub supports in mappings: %w", err)
	}
	out := *want
	out.UserAttributeMappings = slices.Clone(want.UserAttributeMappings)
	out.GroupAttributeMappings = slices.Clone(want.GroupAttributeMappings)
	for i, m := range out.UserAttributeMappings {
		if !direct(m) {
			continue
		}
		accepted := sup.User[m.Target]
		t, ok := mappingTypeFor(m.Source, accepted)
		if !ok {
			return nil, &MappingError{Key: "sync_settings.user_attribute_mapping", Target: string(userFieldOf(m.Target)),
				Source: m.Source, Supported: directSources(accepted)}
		}
		out.UserAttributeMappings[i].Type = t
	}
	for i, m := range out.GroupAttributeMappings {
		if !direct(m) {
			continue
		}
		accepted := sup.Group[m.Target]
		t, ok := mappingTypeFor(m.Source, accepted)
		if !ok {
			return nil, &MappingError{Key: "sync_settings.group_attribute_mapping", Target: string(groupFieldOf(m.Target)),
				Source: m.Source, Supported: directSources(accepted)}
		}
		out.GroupAttributeMappings[i].Type = t
	}
	return &out, nil
}

// mappingTypeFor returns the type a mapping that copies source is sent
// with, given what the service accepts for its target.
func mappingTypeFor(source string, accepted []pool.SourceAttributes) (pool.MappingType, bool) {
	for _, sa := range accepted {
		if sa.Type == pool.MappingDirect && slices.ContainsFunc(sa.Attributes, func(a string) bool { return strings.EqualFold(a, source) }) {
			return pool.MappingDirect, true
		}
	}
	for _, sa := range accepted {
		if sa.Type == pool.MappingDirectArbitraryAttribute {
			return pool.MappingDirectArbitraryAttribute, true
		}
	}
	return "", false
}

func directSources(accepted []pool.SourceAttributes) []string {
	var out []string
	for _, sa := range accepted {
		if sa.Type == pool.MappingDirect {
			out = append(out, sa.Attributes...)
		}
	}
	return out
}

func userFieldOf(t string) directory.UserField {
	for f, v := range userTargets {
		if v == t {
			return f
		}
	}
	return directory.UserField(t)
}

func groupFieldOf(t string) directory.GroupField {
	for f, v := range groupTargets {
		if v == t {
			return f
		}
	}
	return directory.GroupField(t)
}
