package agent

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/protobuf/proto"

	"github.com/idsync/idsync/internal/directory"
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

// AttributesAPI lists the attributes the service accepts in mappings.
// *idhub.Client implements it.
type AttributesAPI interface {
	ListSupportedAttributes(ctx context.Context, flavor idp.AttributesFlavor) (*idp.ListSupportedAttributesResponse, error)
}

// CheckMappings checks want's mappings as EnsureCloudSettings does before
// it writes anything (see resolveMappingTypes), and changes nothing. A
// source the service does not accept is a *MappingError.
func CheckMappings(ctx context.Context, api AttributesAPI, want *idp.SynchronizationSettings) error {
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
func resolveMappingTypes(ctx context.Context, api AttributesAPI, want *idp.SynchronizationSettings) (*idp.SynchronizationSettings, error) {
	direct := func(t idp.MappingType) bool { return t == idp.MappingType_DIRECT }
	if !slices.ContainsFunc(want.GetUserAttributeMappings(), func(m *idp.UserAttributeMapping) bool { return direct(m.GetType()) }) &&
		!slices.ContainsFunc(want.GetGroupAttributeMappings(), func(m *idp.GroupAttributeMapping) bool { return direct(m.GetType()) }) {
		return want, nil
	}
	sup, err := api.ListSupportedAttributes(ctx, idp.AttributesFlavor_ACTIVE_DIRECTORY)
	if err != nil {
		return nil, fmt.Errorf("list the attributes Identity Hub supports in mappings: %w", err)
	}
	out := proto.Clone(want).(*idp.SynchronizationSettings)
	for _, m := range out.GetUserAttributeMappings() {
		if !direct(m.GetType()) {
			continue
		}
		var accepted []*idp.SourceAttributes
		for _, a := range sup.GetUserSupportedAttributes() {
			if a.GetTargetAttribute() == m.GetTarget() {
				accepted = a.GetSourceAttributes()
			}
		}
		t, ok := mappingTypeFor(m.GetSource(), accepted)
		if !ok {
			return nil, &MappingError{Key: "sync_settings.user_attribute_mapping", Target: string(userFieldOf(m.GetTarget())),
				Source: m.GetSource(), Supported: directSources(accepted)}
		}
		m.Type = t
	}
	for _, m := range out.GetGroupAttributeMappings() {
		if !direct(m.GetType()) {
			continue
		}
		var accepted []*idp.SourceAttributes
		for _, a := range sup.GetGroupSupportedAttributes() {
			if a.GetTargetAttribute() == m.GetTarget() {
				accepted = a.GetSourceAttributes()
			}
		}
		t, ok := mappingTypeFor(m.GetSource(), accepted)
		if !ok {
			return nil, &MappingError{Key: "sync_settings.group_attribute_mapping", Target: string(groupFieldOf(m.GetTarget())),
				Source: m.GetSource(), Supported: directSources(accepted)}
		}
		m.Type = t
	}
	return out, nil
}

// mappingTypeFor returns the type a mapping that copies source is sent
// with, given what the service accepts for its target.
func mappingTypeFor(source string, accepted []*idp.SourceAttributes) (idp.MappingType, bool) {
	for _, sa := range accepted {
		if sa.GetType() == idp.MappingType_DIRECT && slices.ContainsFunc(sa.GetAttributes(), func(a string) bool { return strings.EqualFold(a, source) }) {
			return idp.MappingType_DIRECT, true
		}
	}
	for _, sa := range accepted {
		if sa.GetType() == idp.MappingType_DIRECT_ARBITRARY_ATTRIBUTE {
			return idp.MappingType_DIRECT_ARBITRARY_ATTRIBUTE, true
		}
	}
	return 0, false
}

func directSources(accepted []*idp.SourceAttributes) []string {
	var out []string
	for _, sa := range accepted {
		if sa.GetType() == idp.MappingType_DIRECT {
			out = append(out, sa.GetAttributes()...)
		}
	}
	return out
}

func userFieldOf(t idp.UserTargetAttribute) directory.UserField {
	for f, v := range userTargets {
		if v == t {
			return f
		}
	}
	return directory.UserField(t.String())
}

func groupFieldOf(t idp.GroupTargetAttribute) directory.GroupField {
	for f, v := range groupTargets {
		if v == t {
			return f
		}
	}
	return directory.GroupField(t.String())
}
