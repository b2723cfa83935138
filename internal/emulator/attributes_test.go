package emulator

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/grpc/codes"
)

// The Active Directory answer is the documented default mapping plus the
// documented additions (objectSid, name); anything else is
// DIRECT_ARBITRARY_ATTRIBUTE.
func TestListSupportedAttributesActiveDirectory(t *testing.T) {
	v := newEnv(t, Options{})
	for _, flavor := range []idp.AttributesFlavor{idp.AttributesFlavor_ACTIVE_DIRECTORY} {
		resp, err := v.sync.ListSupportedAttributes(v.ctx, &idp.ListSupportedAttributesRequest{Flavor: flavor})
		if err != nil {
			t.Fatal(err)
		}
		users := map[string][]string{}
		for _, a := range resp.GetUserSupportedAttributes() {
			for _, s := range a.GetSourceAttributes() {
				if s.GetType() == idp.MappingType_DIRECT {
					users[a.GetTargetAttribute().String()] = s.GetAttributes()
				}
			}
		}
		want := map[string][]string{
			"FULL_NAME": {"displayName", "name"}, "GIVEN_NAME": {"givenName"}, "FAMILY_NAME": {"sn"},
			"EMAIL": {"mail"}, "PHONE_NUMBER": {"telephoneNumber"}, "USERNAME": {"userPrincipalName"},
			"COMPANY_NAME": {"company"}, "JOB_TITLE": {"title"}, "DEPARTMENT": {"department"},
			"EMPLOYEE_ID": {"employeeID", "objectSid"},
		}
		if diff := cmp.Diff(want, users); diff != "" {
			t.Errorf("%v: user DIRECT sources (-want +got):\n%s", flavor, diff)
		}
		groups := map[string][]string{}
		for _, a := range resp.GetGroupSupportedAttributes() {
			groups[a.GetTargetAttribute().String()] = a.GetSourceAttributes()[0].GetAttributes()
		}
		if diff := cmp.Diff(map[string][]string{"NAME": {"name"}, "DESCRIPTION": {"description"}}, groups); diff != "" {
			t.Errorf("%v: group DIRECT sources (-want +got):\n%s", flavor, diff)
		}
	}
}

// Settings are checked against that answer: an undocumented source is
// refused as DIRECT and accepted as DIRECT_ARBITRARY_ATTRIBUTE.
func TestSettingsMappingsFollowSupportedAttributes(t *testing.T) {
	v := newEnv(t, Options{})
	req := func(typ idp.MappingType) *idp.CreateSynchronizationSettingsRequest {
		return &idp.CreateSynchronizationSettingsRequest{
			SubjectContainerId: testPool, Filter: &idp.SynchronizationFilter{Domain: "corp.example"},
			UserAttributeMappings: []*idp.UserAttributeMapping{{Source: "cn", Target: idp.UserTargetAttribute_FULL_NAME, Type: typ}},
		}
	}
	_, err := v.sync.CreateSynchronizationSettings(v.ctx, req(idp.MappingType_DIRECT))
	wantCode(t, err, codes.InvalidArgument)
	if _, err := v.sync.CreateSynchronizationSettings(v.ctx, req(idp.MappingType_DIRECT_ARBITRARY_ATTRIBUTE)); err != nil {
		t.Errorf("arbitrary attribute refused: %v", err)
	}
}
