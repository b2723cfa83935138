package agent

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/idhub"
)

var userTargets = map[directory.UserField]idp.UserTargetAttribute{
	directory.FieldFullName:    idp.UserTargetAttribute_FULL_NAME,
	directory.FieldGivenName:   idp.UserTargetAttribute_GIVEN_NAME,
	directory.FieldFamilyName:  idp.UserTargetAttribute_FAMILY_NAME,
	directory.FieldEmail:       idp.UserTargetAttribute_EMAIL,
	directory.FieldPhoneNumber: idp.UserTargetAttribute_PHONE_NUMBER,
	directory.FieldUsername:    idp.UserTargetAttribute_USERNAME,
	directory.FieldCompanyName: idp.UserTargetAttribute_COMPANY_NAME,
	directory.FieldJobTitle:    idp.UserTargetAttribute_JOB_TITLE,
	directory.FieldDepartment:  idp.UserTargetAttribute_DEPARTMENT,
	directory.FieldEmployeeID:  idp.UserTargetAttribute_EMPLOYEE_ID,
}

var groupTargets = map[directory.GroupField]idp.GroupTargetAttribute{
	directory.FieldGroupName:        idp.GroupTargetAttribute_NAME,
	directory.FieldGroupDescription: idp.GroupTargetAttribute_DESCRIPTION,
}

func mappingType(t directory.MappingType) idp.MappingType {
	if t == directory.Empty {
		return idp.MappingType_EMPTY
	}
	return idp.MappingType_DIRECT
}

// FromCloud converts the pool's synchronization settings. The pool lists
// only overrides of the default mapping.
func FromCloud(s *idp.SynchronizationSettings) SyncSettings {
	out := SyncSettings{
		Plan: Settings{
			ReplacementDomain: s.GetReplacementDomain(),
			RemoveBehavior:    RemoveDelete,
			CaptureUsers:      s.GetAllowToCaptureUsers(),
			CaptureGroups:     s.GetAllowToCaptureGroups(),
		},
		Domain:              s.GetFilter().GetDomain(),
		OrganizationalUnits: slices.Clone(s.GetFilter().GetOrganizationUnits()),
		Groups:              slices.Clone(s.GetFilter().GetGroups()),
	}
	if s.GetRemoveUserBehavior() == idp.RemoveUserBehavior_BLOCK {
		out.Plan.RemoveBehavior = RemoveBlock
	}
	users := map[directory.UserField]directory.AttributeMapping{}
	for _, m := range s.GetUserAttributeMappings() {
		for f, t := range userTargets {
			if t == m.GetTarget() {
				users[f] = cloudMapping(m.GetSource(), m.GetType())
			}
		}
	}
	groups := map[directory.GroupField]directory.AttributeMapping{}
	for _, m := range s.GetGroupAttributeMappings() {
		for f, t := range groupTargets {
			if t == m.GetTarget() {
				groups[f] = cloudMapping(m.GetSource(), m.GetType())
			}
		}
	}
	out.Mapping = directory.DefaultMapping().Override(users, groups)
	return out
}

// cloudMapping converts one mapping of the pool's settings: EMPTY leaves the
// field empty; DIRECT and DIRECT_ARBITRARY_ATTRIBUTE both copy source.
func cloudMapping(source string, t idp.MappingType) directory.AttributeMapping {
	if t == idp.MappingType_EMPTY {
		return directory.AttributeMapping{Type: directory.Empty}
	}
	return directory.AttributeMapping{Source: source, Type: directory.Direct}
}

// ToCloud returns the pool settings that correspond to s, the mapping as
// overrides of the default, every copied attribute as a DIRECT mapping
// (EnsureCloudSettings sends those the service does not list as
// DIRECT_ARBITRARY_ATTRIBUTE). The interval is included only when the API
// accepts it (15m..6h); a shorter local schedule leaves the pool's as is.
func ToCloud(s SyncSettings, interval time.Duration) *idp.SynchronizationSettings {
	out := &idp.SynchronizationSettings{
		Filter: &idp.SynchronizationFilter{
			Domain: s.Domain, OrganizationUnits: slices.Clone(s.OrganizationalUnits), Groups: slices.Clone(s.Groups),
		},
		RemoveUserBehavior:   idp.RemoveUserBehavior_REMOVE,
		AllowToCaptureUsers:  s.Plan.CaptureUsers,
		AllowToCaptureGroups: s.Plan.CaptureGroups,
		ReplacementDomain:    s.Plan.ReplacementDomain,
	}
	if s.Plan.RemoveBehavior == RemoveBlock {
		out.RemoveUserBehavior = idp.RemoveUserBehavior_BLOCK
	}
	if interval >= 15*time.Minute && interval <= 6*time.Hour {
		out.SynchronizationInterval = durationpb.New(interval)
	}
	def := directory.DefaultMapping()
	for _, f := range directory.UserFields() {
		m, ok := s.Mapping.User[f]
		if ok && m != def.User[f] {
			out.UserAttributeMappings = append(out.UserAttributeMappings, &idp.UserAttributeMapping{Source: m.Source, Target: userTargets[f], Type: mappingType(m.Type)})
		}
	}
	for _, f := range []directory.GroupField{directory.FieldGroupName, directory.FieldGroupDescription} {
		m, ok := s.Mapping.Group[f]
		if ok && m != def.Group[f] {
			out.GroupAttributeMappings = append(out.GroupAttributeMappings, &idp.GroupAttributeMapping{Source: m.Source, Target: groupTargets[f], Type: mappingType(m.Type)})
		}
	}
	return out
}

// SettingsAPI reads and writes the pool's synchronization settings.
// *idhub.Client implements it.
type SettingsAPI interface {
	GetSyncSettings(ctx context.Context) (*idp.SynchronizationSettings, error)
	CreateSyncSettings(ctx context.Context, req *idp.CreateSynchronizationSettingsRequest) (*idp.SynchronizationSettings, error)
	UpdateSyncSettings(ctx context.Context, req *idp.UpdateSynchronizationSettingsRequest) (*idp.SynchronizationSettings, error)
	ListSupportedAttributes(ctx context.Context, flavor idp.AttributesFlavor) (*idp.ListSupportedAttributesResponse, error)
}

// EnsureCloudSettings makes the pool's synchronization settings equal want:
// it creates them when the pool has none and updates only the fields that
// differ otherwise. When the pool's settings have another scope or mapping
// than want (see ScopeFingerprint), it changes nothing and returns a
// *SafetyError, unless acceptScopeChange is set.
//
// Before anything is written, the mappings of want are checked against
// ListSupportedAttributes(ACTIVE_DIRECTORY) (see resolveMappingTypes).
func EnsureCloudSettings(ctx context.Context, api SettingsAPI, want *idp.SynchronizationSettings, acceptScopeChange bool, log *zap.Logger) error {
	_, err := PushCloudSettings(ctx, api, want, acceptScopeChange, log)
	return err
}

// PushCloudSettings is EnsureCloudSettings returning what it changed:
// every field it wrote with the pool's old and the new value (Old empty
// when it created the settings), in the order of DiffCloudSettings. Each
// change is logged at info as old -> new.
func PushCloudSettings(ctx context.Context, api SettingsAPI, want *idp.SynchronizationSettings, acceptScopeChange bool, log *zap.Logger) ([]SettingChange, error) {
	want, err := resolveMappingTypes(ctx, api, want)
	if err != nil {
		return nil, err
	}
	have, err := api.GetSyncSettings(ctx)
	if idhub.IsNotFound(err) {
		_, err = api.CreateSyncSettings(ctx, &idp.CreateSynchronizationSettingsRequest{
			Filter: want.GetFilter(), ReplacementDomain: want.GetReplacementDomain(),
			RemoveUserBehavior: want.GetRemoveUserBehavior(), SynchronizationInterval: want.GetSynchronizationInterval(),
			AllowToCaptureUsers: want.GetAllowToCaptureUsers(), AllowToCaptureGroups: want.GetAllowToCaptureGroups(),
			UserAttributeMappings: want.GetUserAttributeMappings(), GroupAttributeMappings: want.GetGroupAttributeMappings(),
			EnablePasswordWriteback: want.GetEnablePasswordWriteback(),
		})
		if err != nil {
			return nil, fmt.Errorf("create the pool's synchronization settings: %w", err)
		}
		changes := DiffCloudSettings(nil, want)
		log.Info("created the pool's synchronization settings from the config file", zap.Stringers("changes", changes))
		return changes, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the pool's synchronization settings: %w", err)
	}
	if err := checkCloudScope(have, want); err != nil {
		if !acceptScopeChange {
			return nil, err
		}
		log.Warn("the pool's synchronization settings change scope or mapping, as confirmed", zap.String("change", err.Error()))
	}
	changes := DiffCloudSettings(have, want)
	if len(changes) == 0 {
		return nil, nil
	}
	mask := make([]string, len(changes))
	for i, c := range changes {
		mask[i] = c.Field
	}
	_, err = api.UpdateSyncSettings(ctx, &idp.UpdateSynchronizationSettingsRequest{
		Filter: want.GetFilter(), ReplacementDomain: want.GetReplacementDomain(),
		RemoveUserBehavior: want.GetRemoveUserBehavior(), SynchronizationInterval: want.GetSynchronizationInterval(),
		AllowToCaptureUsers: want.GetAllowToCaptureUsers(), AllowToCaptureGroups: want.GetAllowToCaptureGroups(),
		UserAttributeMappings: want.GetUserAttributeMappings(), GroupAttributeMappings: want.GetGroupAttributeMappings(),
		EnablePasswordWriteback: want.GetEnablePasswordWriteback(),
		UpdateMask:              &fieldmaskpb.FieldMask{Paths: mask},
	})
	if err != nil {
		return nil, fmt.Errorf("update the pool's synchronization settings: %w", err)
	}
	for _, c := range changes {
		log.Info("updated the pool's synchronization setting from the config file",
			zap.String("field", c.Field), zap.String("old", c.Old), zap.String("new", c.New))
	}
	return changes, nil
}

// CloudSettingsDiff returns what PushCloudSettings would change in the
// pool's settings, writing nothing: the fields that differ with old and
// new values, or every field (Old empty) when the pool has none.
func CloudSettingsDiff(ctx context.Context, api SettingsAPI, want *idp.SynchronizationSettings) ([]SettingChange, error) {
	want, err := resolveMappingTypes(ctx, api, want)
	if err != nil {
		return nil, err
	}
	have, err := api.GetSyncSettings(ctx)
	if idhub.IsNotFound(err) {
		return DiffCloudSettings(nil, want), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the pool's synchronization settings: %w", err)
	}
	return DiffCloudSettings(have, want), nil
}
