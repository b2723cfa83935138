package agent

import (
	"slices"
	"time"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/idsync/idsync/internal/directory"
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

func cloudMapping(source string, t idp.MappingType) directory.AttributeMapping {
	if t == idp.MappingType_EMPTY {
		return directory.AttributeMapping{Type: directory.Empty}
	}
	return directory.AttributeMapping{Source: source, Type: directory.Direct}
}

// ToCloud returns the pool settings that correspond to s: the mapping as
// overrides of the default, and interval clamped to the API's 15m..6h.
func ToCloud(s SyncSettings, interval time.Duration) *idp.SynchronizationSettings {
	out := &idp.SynchronizationSettings{
		Filter: &idp.SynchronizationFilter{
			Domain: s.Domain, OrganizationUnits: slices.Clone(s.OrganizationalUnits), Groups: slices.Clone(s.Groups),
		},
		RemoveUserBehavior:      idp.RemoveUserBehavior_REMOVE,
		SynchronizationInterval: durationpb.New(min(max(interval, 15*time.Minute), 6*time.Hour)),
		AllowToCaptureUsers:     s.Plan.CaptureUsers,
		AllowToCaptureGroups:    s.Plan.CaptureGroups,
		ReplacementDomain:       s.Plan.ReplacementDomain,
	}
	if s.Plan.RemoveBehavior == RemoveBlock {
		out.RemoveUserBehavior = idp.RemoveUserBehavior_BLOCK
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
