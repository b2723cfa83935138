package directory

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDefaultMappingAttributes(t *testing.T) {
	m := DefaultMapping()
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	wantUser := []string{"company", "department", "displayName", "employeeID", "givenName", "mail", "sn",
		"telephoneNumber", "title", "userPrincipalName"}
	if diff := cmp.Diff(wantUser, m.UserAttributes()); diff != "" {
		t.Errorf("user attributes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"description", "name"}, m.GroupAttributes()); diff != "" {
		t.Errorf("group attributes (-want +got):\n%s", diff)
	}
}

func TestMappingOverride(t *testing.T) {
	base := DefaultMapping()
	m := base.Override(map[UserField]AttributeMapping{
		FieldFullName:  {Source: "cn", Type: Direct},
		FieldGivenName: {Type: Empty},
	}, map[GroupField]AttributeMapping{FieldGroupDescription: {Type: Empty}})
	if base.User[FieldFullName].Source != "displayName" {
		t.Fatal("Override modified the receiver")
	}
	attrs := m.UserAttributes()
	for _, a := range attrs {
		if a == "givenName" || a == "displayName" {
			t.Errorf("attribute %s still requested after override: %v", a, attrs)
		}
	}
	if diff := cmp.Diff([]string{"name"}, m.GroupAttributes()); diff != "" {
		t.Errorf("group attributes (-want +got):\n%s", diff)
	}
}

func TestMappingValidate(t *testing.T) {
	m := Mapping{
		User:  map[UserField]AttributeMapping{"Nickname": {Source: "x", Type: Direct}, FieldEmail: {Type: Direct}},
		Group: map[GroupField]AttributeMapping{FieldGroupName: {Source: "cn", Type: "copy"}},
	}
	err := m.Validate()
	if err == nil {
		t.Fatal("Validate accepted a bad mapping")
	}
	for _, want := range []string{`unknown user field "Nickname"`, "field Email: direct mapping needs a source", `unknown mapping type "copy"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestSetUserField(t *testing.T) {
	var u User
	for i, f := range UserFields() {
		SetUserField(&u, f, string(rune('a'+i)))
	}
	want := User{FullName: "a", GivenName: "b", FamilyName: "c", Email: "d", PhoneNumber: "e", Username: "f",
		EmployeeID: "g", Department: "h", JobTitle: "i", CompanyName: "j"}
	if diff := cmp.Diff(want, u); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}
