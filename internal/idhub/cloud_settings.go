package idhub

import (
	"context"
	"slices"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/idsync/idsync/internal/pool"
)

// PoolSettings converts the API's synchronization settings; nil stays nil.
func PoolSettings(s *idp.SynchronizationSettings) *pool.Settings {
	if s == nil {
		return nil
	}
	out := &pool.Settings{
		Filter: pool.Filter{
			Domain:            s.GetFilter().GetDomain(),
			OrganizationUnits: slices.Clone(s.GetFilter().GetOrganizationUnits()),
			Groups:            slices.Clone(s.GetFilter().GetGroups()),
		},
		ReplacementDomain:       s.GetReplacementDomain(),
		RemoveUserBehavior:      pool.RemoveUserBehavior(s.GetRemoveUserBehavior().String()),
		AllowToCaptureUsers:     s.GetAllowToCaptureUsers(),
		AllowToCaptureGroups:    s.GetAllowToCaptureGroups(),
		EnablePasswordWriteback: s.GetEnablePasswordWriteback(),
	}
	if d := s.GetSynchronizationInterval(); d != nil {
		out.SynchronizationInterval = d.AsDuration()
	}
	for _, m := range s.GetUserAttributeMappings() {
		out.UserAttributeMappings = append(out.UserAttributeMappings,
			pool.AttributeMapping{Source: m.GetSource(), Target: m.GetTarget().String(), Type: pool.MappingType(m.GetType().String())})
	}
	for _, m := range s.GetGroupAttributeMappings() {
		out.GroupAttributeMappings = append(out.GroupAttributeMappings,
			pool.AttributeMapping{Source: m.GetSource(), Target: m.GetTarget().String(), Type: pool.MappingType(m.GetType().String())})
	}
	return out
}

// APISettings converts synchronization settings to the API's; nil stays
// nil.
func APISettings(s *pool.Settings) *idp.SynchronizationSettings {
	if s == nil {
		return nil
	}
	out := &idp.SynchronizationSettings{
		Filter: &idp.SynchronizationFilter{
			Domain: s.Filter.Domain, OrganizationUnits: slices.Clone(s.Filter.OrganizationUnits), Groups: slices.Clone(s.Filter.Groups),
		},
		ReplacementDomain:       s.ReplacementDomain,
		RemoveUserBehavior:      idp.RemoveUserBehavior(idp.RemoveUserBehavior_value[string(s.RemoveUserBehavior)]),
		AllowToCaptureUsers:     s.AllowToCaptureUsers,
		AllowToCaptureGroups:    s.AllowToCaptureGroups,
		EnablePasswordWriteback: s.EnablePasswordWriteback,
	}
	if s.SynchronizationInterval != 0 {
		out.SynchronizationInterval = durationpb.New(s.SynchronizationInterval)
	}
	for _, m := range s.UserAttributeMappings {
		out.UserAttributeMappings = append(out.UserAttributeMappings, &idp.UserAttributeMapping{Source: m.Source,
			Target: idp.UserTargetAttribute(idp.UserTargetAttribute_value[m.Target]), Type: mappingType(m.Type)})
	}
	for _, m := range s.GroupAttributeMappings {
		out.GroupAttributeMappings = append(out.GroupAttributeMappings, &idp.GroupAttributeMapping{Source: m.Source,
			Target: idp.GroupTargetAttribute(idp.GroupTargetAttribute_value[m.Target]), Type: mappingType(m.Type)})
	}
	return out
}

func mappingType(t pool.MappingType) idp.MappingType {
	return idp.MappingType(idp.MappingType_value[string(t)])
}

// GetSyncSettings returns the pool's synchronization settings.
func (a *Cloud) GetSyncSettings(ctx context.Context) (*pool.Settings, error) {
	s, err := a.c.GetSyncSettings(ctx)
	if err != nil {
		return nil, Classified(err)
	}
	return PoolSettings(s), nil
}

// CreateSyncSettings creates the pool's synchronization settings.
func (a *Cloud) CreateSyncSettings(ctx context.Context, want *pool.Settings) error {
	w := APISettings(want)
	_, err := a.c.CreateSyncSettings(ctx, &idp.CreateSynchronizationSettingsRequest{
		Filter: w.GetFilter(), ReplacementDomain: w.GetReplacementDomain(),
		RemoveUserBehavior: w.GetRemoveUserBehavior(), SynchronizationInterval: w.GetSynchronizationInterval(),
		AllowToCaptureUsers: w.GetAllowToCaptureUsers(), AllowToCaptureGroups: w.GetAllowToCaptureGroups(),
		UserAttributeMappings: w.GetUserAttributeMappings(), GroupAttributeMappings: w.GetGroupAttributeMappings(),
		EnablePasswordWriteback: w.GetEnablePasswordWriteback(),
	})
	return Classified(err)
}

// UpdateSyncSettings writes the fields of want that changed lists, by
// their API names (filter, replacement_domain, ...).
func (a *Cloud) UpdateSyncSettings(ctx context.Context, want *pool.Settings, changed []string) error {
	w := APISettings(want)
	_, err := a.c.UpdateSyncSettings(ctx, &idp.UpdateSynchronizationSettingsRequest{
		Filter: w.GetFilter(), ReplacementDomain: w.GetReplacementDomain(),
		RemoveUserBehavior: w.GetRemoveUserBehavior(), SynchronizationInterval: w.GetSynchronizationInterval(),
		AllowToCaptureUsers: w.GetAllowToCaptureUsers(), AllowToCaptureGroups: w.GetAllowToCaptureGroups(),
		UserAttributeMappings: w.GetUserAttributeMappings(), GroupAttributeMappings: w.GetGroupAttributeMappings(),
		EnablePasswordWriteback: w.GetEnablePasswordWriteback(),
		UpdateMask:              &fieldmaskpb.FieldMask{Paths: slices.Clone(changed)},
	})
	return Classified(err)
}

// ListSupportedAttributes lists the source attributes the service accepts
// in mappings for Active Directory.
func (a *Cloud) ListSupportedAttributes(ctx context.Context) (*pool.SupportedAttributes, error) {
	resp, err := a.c.ListSupportedAttributes(ctx, idp.AttributesFlavor_ACTIVE_DIRECTORY)
	if err != nil {
		return nil, Classified(err)
	}
	out := &pool.SupportedAttributes{User: map[string][]pool.SourceAttributes{}, Group: map[string][]pool.SourceAttributes{}}
	for _, a := range resp.GetUserSupportedAttributes() {
		out.User[a.GetTargetAttribute().String()] = sourceAttributes(a.GetSourceAttributes())
	}
	for _, a := range resp.GetGroupSupportedAttributes() {
		out.Group[a.GetTargetAttribute().String()] = sourceAttributes(a.GetSourceAttributes())
	}
	return out, nil
}

func sourceAttributes(in []*idp.SourceAttributes) []pool.SourceAttributes {
	var out []pool.SourceAttributes
	for _, sa := range in {
		out = append(out, pool.SourceAttributes{Type: pool.MappingType(sa.GetType().String()), Attributes: slices.Clone(sa.GetAttributes())})
	}
	return out
}
