package agent

import (
	"context"
	"fmt"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/pool"
)

// userTargets and groupTargets are the API's names of the fields.
var userTargets = map[directory.UserField]string{
	directory.FieldFullName:    "FULL_NAME",
	directory.FieldGivenName:   "GIVEN_NAME",
	directory.FieldFamilyName:  "FAMILY_NAME",
	directory.FieldEmail:       "EMAIL",
	directory.FieldPhoneNumber: "PHONE_NUMBER",
	directory.FieldUsername:    "USERNAME",
	directory.FieldCompanyName: "COMPANY_NAME",
	directory.FieldJobTitle:    "JOB_TITLE",
	directory.FieldDepartment:  "DEPARTMENT",
	directory.FieldEmployeeID:  "EMPLOYEE_ID",
}

var groupTargets = map[directory.GroupField]string{
	directory.FieldGroupName:        "NAME",
	directory.FieldGroupDescription: "DESCRIPTION",
}

func mappingType(t directory.MappingType) pool.MappingType {
	if t == directory.Empty {
		return pool.MappingEmpty
	}
	return pool.MappingDirect
}

// FromCloud converts the pool's synchronization settings. The pool lists
// only overrides of the default mapping.
func FromCloud(s *pool.Settings) SyncSettings {
	if s == nil {
		s = &pool.Settings{}
	}
	out := SyncSettings{
		Plan: Settings{
			ReplacementDomain: s.ReplacementDomain,
			RemoveBehavior:    RemoveDelete,
			CaptureUsers:      s.AllowToCaptureUsers,
			CaptureGroups:     s.AllowToCaptureGroups,
		},
		Domain:              s.Filter.Domain,
		OrganizationalUnits: slices.Clone(s.Filter.OrganizationUnits),
		Groups:              slices.Clone(s.Filter.Groups),
	}
	if s.RemoveUserBehavior == pool.BlockUser {
		out.Plan.RemoveBehavior = RemoveBlock
	}
	users := map[directory.UserField]directory.AttributeMapping{}
	for _, m := range s.UserAttributeMappings {
		for f, t := range userTargets {
			if t == m.Target {
				users[f] = cloudMapping(m.Source, m.Type)
			}
		}
	}
	groups := map[directory.GroupField]directory.AttributeMapping{}
	for _, m := range s.GroupAttributeMappings {
		for f, t := range groupTargets {
			if t == m.Target {
				groups[f] = cloudMapping(m.Source, m.Type)
			}
		}
	}
	out.Mapping = directory.DefaultMapping().Override(users, groups)
	return out
}

// cloudMapping converts one mapping of the pool's settings: EMPTY leaves the
// field empty; DIRECT and DIRECT_ARBITRARY_ATTRIBUTE both copy source.
func cloudMapping(source string, t pool.MappingType) directory.AttributeMapping {
	if t == pool.MappingEmpty {
		return directory.AttributeMapping{Type: directory.Empty}
	}
	return directory.AttributeMapping{Source: source, Type: directory.Direct}
}

// ToCloud returns the pool settings that correspond to s, the mapping as
// overrides of the default, every copied attribute as a DIRECT mapping
// (EnsureCloudSettings sends those the service does not list as
// DIRECT_ARBITRARY_ATTRIBUTE). The interval is included only when the API
// accepts it (15m..6h); a shorter local schedule leaves the pool's as is.
func ToCloud(s SyncSettings, interval time.Duration) *pool.Settings {
	out := &pool.Settings{
		Filter: pool.Filter{
			Domain: s.Domain, OrganizationUnits: slices.Clone(s.OrganizationalUnits), Groups: slices.Clone(s.Groups),
		},
		RemoveUserBehavior:   pool.RemoveUser,
		AllowToCaptureUsers:  s.Plan.CaptureUsers,
		AllowToCaptureGroups: s.Plan.CaptureGroups,
		ReplacementDomain:    s.Plan.ReplacementDomain,
	}
	if s.Plan.RemoveBehavior == RemoveBlock {
		out.RemoveUserBehavior = pool.BlockUser
	}
	if interval >= 15*time.Minute && interval <= 6*time.Hour {
		out.SynchronizationInterval = interval
	}
	def := directory.DefaultMapping()
	for _, f := range directory.UserFields() {
		m, ok := s.Mapping.User[f]
		if ok && m != def.User[f] {
			out.UserAttributeMappings = append(out.UserAttributeMappings, pool.AttributeMapping{Source: m.Source, Target: userTargets[f], Type: mappingType(m.Type)})
		}
	}
	for _, f := range []directory.GroupField{directory.FieldGroupName, directory.FieldGroupDescription} {
		m, ok := s.Mapping.Group[f]
		if ok && m != def.Group[f] {
			out.GroupAttributeMappings = append(out.GroupAttributeMappings, pool.AttributeMapping{Source: m.Source, Target: groupTargets[f], Type: mappingType(m.Type)})
		}
	}
	return out
}

// SettingsAPI reads and writes the pool's synchronization settings.
// *idhub.Cloud implements it.
type SettingsAPI interface {
	GetSyncSettings(ctx context.Context) (*pool.Settings, error)
	CreateSyncSettings(ctx context.Context, want *pool.Settings) error
	// UpdateSyncSettings writes the fields of want that changed names (the
	// API's field names, as SettingChange.Field).
	UpdateSyncSettings(ctx context.Context, want *pool.Settings, changed []string) error
	AttributesAPI
}

// EnsureCloudSettings makes the pool's synchronization settings equal want:
// it creates them when the pool has none and updates only the fields that
// differ otherwise. When the pool's settings have another scope or mapping
// than want (see ScopeFingerprint), it changes nothing and returns a
// *SafetyError, unless acceptScopeChange is set.
//
// Before anything is written, the mappings of want are checked against
// ListSupportedAttributes(ACTIVE_DIRECTORY) (see resolveMappingTypes).
func EnsureCloudSettings(ctx context.Context, api SettingsAPI, want *pool.Settings, acceptScopeChange bool, log *zap.Logger) error {
	_, err := PushCloudSettings(ctx, api, want, acceptScopeChange, log)
	return err
}

// PushCloudSettings is EnsureCloudSettings returning what it changed:
// every field it wrote with the pool's old and the new value (Old empty
// when it created the settings), in the order of DiffCloudSettings. Each
// change is logged at info as old -> new.
func PushCloudSettings(ctx context.Context, api SettingsAPI, want *pool.Settings, acceptScopeChange bool, log *zap.Logger) ([]SettingChange, error) {
	want, err := resolveMappingTypes(ctx, api, want)
	if err != nil {
		return nil, err
	}
	have, err := api.GetSyncSettings(ctx)
	if pool.IsNotFound(err) {
		if err := api.CreateSyncSettings(ctx, want); err != nil {
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
	if err := api.UpdateSyncSettings(ctx, want, mask); err != nil {
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
func CloudSettingsDiff(ctx context.Context, api SettingsAPI, want *pool.Settings) ([]SettingChange, error) {
	want, err := resolveMappingTypes(ctx, api, want)
	if err != nil {
		return nil, err
	}
	have, err := api.GetSyncSettings(ctx)
	if pool.IsNotFound(err) {
		return DiffCloudSettings(nil, want), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the pool's synchronization settings: %w", err)
	}
	return DiffCloudSettings(have, want), nil
}
