package directory

import (
	"fmt"
	"sort"
	"strings"
)

// UserField names an Identity Hub user field, spelled as in the agent
// configuration (FullName, GivenName, …).
type UserField string

// User fields that can be mapped.
const (
	FieldFullName    UserField = "FullName"
	FieldGivenName   UserField = "GivenName"
	FieldFamilyName  UserField = "FamilyName"
	FieldEmail       UserField = "Email"
	FieldPhoneNumber UserField = "PhoneNumber"
	FieldUsername    UserField = "Username"
	FieldEmployeeID  UserField = "EmployeeId"
	FieldDepartment  UserField = "Department"
	FieldJobTitle    UserField = "JobTitle"
	FieldCompanyName UserField = "CompanyName"
)

// GroupField names an Identity Hub group field.
type GroupField string

// Group fields that can be mapped.
const (
	FieldGroupName        GroupField = "Name"
	FieldGroupDescription GroupField = "Description"
)

// MappingType says how a field is filled.
type MappingType string

// Mapping types.
const (
	// Direct copies the first value of the source attribute.
	Direct MappingType = "direct"
	// Empty leaves the field empty.
	Empty MappingType = "empty"
)

// AttributeMapping fills one field: from Source when Type is Direct, or not
// at all when Type is Empty.
type AttributeMapping struct {
	Source string
	Type   MappingType
}

// Mapping maps Identity Hub fields to directory attributes. A field absent
// from the maps is left empty. The zero Mapping maps nothing; use
// DefaultMapping for the documented defaults.
type Mapping struct {
	User  map[UserField]AttributeMapping
	Group map[GroupField]AttributeMapping
}

// UserFields lists every mappable user field in a stable order.
func UserFields() []UserField {
	return []UserField{FieldFullName, FieldGivenName, FieldFamilyName, FieldEmail, FieldPhoneNumber,
		FieldUsername, FieldEmployeeID, FieldDepartment, FieldJobTitle, FieldCompanyName}
}

// DefaultMapping returns the default mapping of the Identity Hub agent:
// displayName, givenName, sn, mail, telephoneNumber, userPrincipalName,
// employeeID, department, title, company; group name and description.
func DefaultMapping() Mapping {
	d := func(s string) AttributeMapping { return AttributeMapping{Source: s, Type: Direct} }
	return Mapping{
		User: map[UserField]AttributeMapping{
			FieldFullName:    d("displayName"),
			FieldGivenName:   d("givenName"),
			FieldFamilyName:  d("sn"),
			FieldEmail:       d("mail"),
			FieldPhoneNumber: d("telephoneNumber"),
			FieldUsername:    d("userPrincipalName"),
			FieldEmployeeID:  d("employeeID"),
			FieldDepartment:  d("department"),
			FieldJobTitle:    d("title"),
			FieldCompanyName: d("company"),
		},
		Group: map[GroupField]AttributeMapping{
			FieldGroupName:        d("name"),
			FieldGroupDescription: d("description"),
		},
	}
}

// Override returns a copy of m with the given user and group overrides
// applied (the agent configuration lists only overrides).
func (m Mapping) Override(user map[UserField]AttributeMapping, group map[GroupField]AttributeMapping) Mapping {
	out := Mapping{User: map[UserField]AttributeMapping{}, Group: map[GroupField]AttributeMapping{}}
	for k, v := range m.User {
		out.User[k] = v
	}
	for k, v := range m.Group {
		out.Group[k] = v
	}
	for k, v := range user {
		out.User[k] = v
	}
	for k, v := range group {
		out.Group[k] = v
	}
	return out
}

// Validate reports every unknown field, unknown type or Direct mapping
// without a source attribute.
func (m Mapping) Validate() error {
	known := map[UserField]bool{}
	for _, f := range UserFields() {
		known[f] = true
	}
	var probs []string
	for f, a := range m.User {
		if !known[f] {
			probs = append(probs, fmt.Sprintf("unknown user field %q", f))
		}
		probs = append(probs, checkAttr(string(f), a)...)
	}
	for f, a := range m.Group {
		if f != FieldGroupName && f != FieldGroupDescription {
			probs = append(probs, fmt.Sprintf("unknown group field %q", f))
		}
		probs = append(probs, checkAttr(string(f), a)...)
	}
	if len(probs) == 0 {
		return nil
	}
	sort.Strings(probs)
	return fmt.Errorf("invalid attribute mapping: %s", strings.Join(probs, "; "))
}

func checkAttr(field string, a AttributeMapping) []string {
	switch a.Type {
	case Direct:
		if a.Source == "" {
			return []string{fmt.Sprintf("field %s: direct mapping needs a source attribute", field)}
		}
	case Empty:
	default:
		return []string{fmt.Sprintf("field %s: unknown mapping type %q", field, a.Type)}
	}
	return nil
}

// UserAttributes returns the source attributes of the Direct user mappings,
// sorted and without duplicates.
func (m Mapping) UserAttributes() []string {
	var out []string
	for _, a := range m.User {
		if a.Type == Direct && a.Source != "" {
			out = append(out, a.Source)
		}
	}
	return dedupFold(out)
}

// GroupAttributes returns the source attributes of the Direct group mappings,
// sorted and without duplicates.
func (m Mapping) GroupAttributes() []string {
	var out []string
	for _, a := range m.Group {
		if a.Type == Direct && a.Source != "" {
			out = append(out, a.Source)
		}
	}
	return dedupFold(out)
}

func dedupFold(in []string) []string {
	sort.Strings(in)
	out := in[:0]
	seen := map[string]bool{}
	for _, s := range in {
		k := strings.ToLower(s)
		if !seen[k] {
			seen[k] = true
			out = append(out, s)
		}
	}
	return out
}

// SetUserField stores v into the field of u named by f; unknown fields are
// ignored.
func SetUserField(u *User, f UserField, v string) {
	switch f {
	case FieldFullName:
		u.FullName = v
	case FieldGivenName:
		u.GivenName = v
	case FieldFamilyName:
		u.FamilyName = v
	case FieldEmail:
		u.Email = v
	case FieldPhoneNumber:
		u.PhoneNumber = v
	case FieldUsername:
		u.Username = v
	case FieldEmployeeID:
		u.EmployeeID = v
	case FieldDepartment:
		u.Department = v
	case FieldJobTitle:
		u.JobTitle = v
	case FieldCompanyName:
		u.CompanyName = v
	}
}
