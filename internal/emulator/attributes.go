package emulator

import "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"

// userSources are the source attributes a DIRECT user mapping may use, per
// target and flavor.
//
// The Active Directory lists hold only what Yandex documents: the default
// mapping of the Identity Hub sync agent (displayName, givenName, sn, mail,
// telephoneNumber, userPrincipalName, employeeID, department, title,
// company; for groups name and description), objectSid for EmployeeId
// (agent 0.42.0) and name for FullName (agent 0.45.0 "added support for
// the name attribute"; read as a user source, since groups map name by
// default). The API reference documents the shape of
// ListSupportedAttributes but not its answer, so any other attribute is
// accepted only as DIRECT_ARBITRARY_ATTRIBUTE (the CLI's
// direct-arbitrary-attribute). The generic LDAP lists are the emulator's
// own choice: that flavor is announced, not documented.
var userSources = map[idp.AttributesFlavor]map[idp.UserTargetAttribute][]string{
	idp.AttributesFlavor_ACTIVE_DIRECTORY: {
		idp.UserTargetAttribute_FULL_NAME:    {"displayName", "name"},
		idp.UserTargetAttribute_GIVEN_NAME:   {"givenName"},
		idp.UserTargetAttribute_FAMILY_NAME:  {"sn"},
		idp.UserTargetAttribute_EMAIL:        {"mail"},
		idp.UserTargetAttribute_PHONE_NUMBER: {"telephoneNumber"},
		idp.UserTargetAttribute_USERNAME:     {"userPrincipalName"},
		idp.UserTargetAttribute_COMPANY_NAME: {"company"},
		idp.UserTargetAttribute_JOB_TITLE:    {"title"},
		idp.UserTargetAttribute_DEPARTMENT:   {"department"},
		idp.UserTargetAttribute_EMPLOYEE_ID:  {"employeeID", "objectSid"},
	},
	idp.AttributesFlavor_GENERIC_LDAP: {
		idp.UserTargetAttribute_FULL_NAME:    {"cn", "displayName"},
		idp.UserTargetAttribute_GIVEN_NAME:   {"givenName"},
		idp.UserTargetAttribute_FAMILY_NAME:  {"sn"},
		idp.UserTargetAttribute_EMAIL:        {"mail"},
		idp.UserTargetAttribute_PHONE_NUMBER: {"telephoneNumber", "mobile"},
		idp.UserTargetAttribute_USERNAME:     {"uid", "mail"},
		idp.UserTargetAttribute_COMPANY_NAME: {"o"},
		idp.UserTargetAttribute_JOB_TITLE:    {"title"},
		idp.UserTargetAttribute_DEPARTMENT:   {"ou", "departmentNumber"},
		idp.UserTargetAttribute_EMPLOYEE_ID:  {"employeeNumber"},
	},
}

var groupSources = map[idp.AttributesFlavor]map[idp.GroupTargetAttribute][]string{
	idp.AttributesFlavor_ACTIVE_DIRECTORY: {
		idp.GroupTargetAttribute_NAME:        {"name"},
		idp.GroupTargetAttribute_DESCRIPTION: {"description"},
	},
	idp.AttributesFlavor_GENERIC_LDAP: {
		idp.GroupTargetAttribute_NAME:        {"cn"},
		idp.GroupTargetAttribute_DESCRIPTION: {"description"},
	},
}

// supportedAttributes is the ListSupportedAttributes answer for flavor
// (ACTIVE_DIRECTORY when unspecified). Every target except USERNAME and
// NAME may also be EMPTY or DIRECT_ARBITRARY_ATTRIBUTE.
func supportedAttributes(flavor idp.AttributesFlavor) *idp.ListSupportedAttributesResponse {
	if flavor == idp.AttributesFlavor_ATTRIBUTES_FLAVOR_UNSPECIFIED {
		flavor = idp.AttributesFlavor_ACTIVE_DIRECTORY
	}
	resp := &idp.ListSupportedAttributesResponse{}
	for t := idp.UserTargetAttribute_FULL_NAME; t <= idp.UserTargetAttribute_EMPLOYEE_ID; t++ {
		resp.UserSupportedAttributes = append(resp.UserSupportedAttributes, &idp.UserSupportedAttribute{
			TargetAttribute:  t,
			SourceAttributes: sourceAttributes(userSources[flavor][t], t != idp.UserTargetAttribute_USERNAME),
		})
	}
	for t := idp.GroupTargetAttribute_NAME; t <= idp.GroupTargetAttribute_DESCRIPTION; t++ {
		resp.GroupSupportedAttributes = append(resp.GroupSupportedAttributes, &idp.GroupSupportedAttribute{
			TargetAttribute:  t,
			SourceAttributes: sourceAttributes(groupSources[flavor][t], t != idp.GroupTargetAttribute_NAME),
		})
	}
	return resp
}

func sourceAttributes(direct []string, optional bool) []*idp.SourceAttributes {
	out := []*idp.SourceAttributes{{Type: idp.MappingType_DIRECT, Attributes: append([]string(nil), direct...)}}
	if optional {
		out = append(out,
			&idp.SourceAttributes{Type: idp.MappingType_EMPTY},
			&idp.SourceAttributes{Type: idp.MappingType_DIRECT_ARBITRARY_ATTRIBUTE})
	}
	return out
}
