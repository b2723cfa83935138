package agent

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/idsync/idsync/internal/directory"
)

// Limits Identity Hub enforces on user fields (see the idp.UserService protos).
var usernamePattern = regexp.MustCompile(`^[a-z0-9A-Z._-]{1,64}@.{1,256}$`)

const (
	maxUsername    = 254
	maxFullName    = 256
	maxPhoneNumber = 50
	maxEmail       = 254
	minEmail       = 3
	// maxPlainField bounds the free-text fields (given and family name,
	// employee id, department, job title, company name).
	maxPlainField = 256
)

// desiredUser computes the pool fields for a directory user. It fails when
// the user cannot be represented in Identity Hub; the caller records that
// user as failed without making any call.
//
// The username is the user's mapped login (userPrincipalName by default);
// with replacementDomain set, its domain part is replaced. When the mapped
// full name is empty, the full name falls back to "given family", then to
// the login's local part, because Identity Hub requires one.
func desiredUser(u *directory.User, replacementDomain string) (UserFields, error) {
	f := UserFields{
		Username:    u.Username,
		FullName:    u.FullName,
		GivenName:   u.GivenName,
		FamilyName:  u.FamilyName,
		Email:       u.Email,
		PhoneNumber: u.PhoneNumber,
		EmployeeID:  u.EmployeeID,
		Department:  u.Department,
		JobTitle:    u.JobTitle,
		CompanyName: u.CompanyName,
		ExpiresAt:   u.ExpiresAt.UTC(),
	}
	if f.Username == "" {
		return f, fmt.Errorf("no username: the user has no value for the attribute mapped to Username (userPrincipalName by default)")
	}
	local, _, ok := strings.Cut(f.Username, "@")
	if !ok {
		return f, fmt.Errorf("username %q has no @domain part", f.Username)
	}
	if replacementDomain != "" {
		f.Username = local + "@" + replacementDomain
	}
	if f.FullName == "" {
		f.FullName = strings.TrimSpace(f.GivenName + " " + f.FamilyName)
	}
	if f.FullName == "" {
		f.FullName = local
	}
	return f, validateUserFields(f)
}

// validateUserFields checks the values the API would reject, so a bad
// directory object fails alone and before any call, with a clear message.
func validateUserFields(f UserFields) error {
	if n := utf8.RuneCountInString(f.Username); n > maxUsername {
		return fmt.Errorf("username %q is %d characters long; Identity Hub allows at most %d", f.Username, n, maxUsername)
	}
	if !usernamePattern.MatchString(f.Username) {
		return fmt.Errorf("username %q is not accepted by Identity Hub: the part before @ may hold only ASCII letters, digits, '.', '_' and '-' (1-64 characters)", f.Username)
	}
	checks := []struct {
		name  string
		value string
		max   int
	}{
		{"full name", f.FullName, maxFullName},
		{"given name", f.GivenName, maxPlainField},
		{"family name", f.FamilyName, maxPlainField},
		{"phone number", f.PhoneNumber, maxPhoneNumber},
		{"email", f.Email, maxEmail},
		{"employee id", f.EmployeeID, maxPlainField},
		{"department", f.Department, maxPlainField},
		{"job title", f.JobTitle, maxPlainField},
		{"company name", f.CompanyName, maxPlainField},
	}
	for _, c := range checks {
		if n := utf8.RuneCountInString(c.value); n > c.max {
			return fmt.Errorf("%s is %d characters long; Identity Hub allows at most %d", c.name, n, c.max)
		}
		if !utf8.ValidString(c.value) {
			return fmt.Errorf("%s is not valid UTF-8", c.name)
		}
		if i := strings.IndexFunc(c.value, unicode.IsControl); i >= 0 {
			return fmt.Errorf("%s contains a control character at byte %d", c.name, i)
		}
	}
	if f.Email != "" && utf8.RuneCountInString(f.Email) < minEmail {
		return fmt.Errorf("email %q is shorter than %d characters", f.Email, minEmail)
	}
	return nil
}

// userFieldMask lists the update-mask paths of the fields that differ.
func userFieldMask(have, want UserFields) []string {
	var m []string
	add := func(path string, a, b string) {
		if a != b {
			m = append(m, path)
		}
	}
	add("username", have.Username, want.Username)
	add("full_name", have.FullName, want.FullName)
	add("given_name", have.GivenName, want.GivenName)
	add("family_name", have.FamilyName, want.FamilyName)
	add("email", have.Email, want.Email)
	add("phone_number", have.PhoneNumber, want.PhoneNumber)
	add("company_name", have.CompanyName, want.CompanyName)
	add("department", have.Department, want.Department)
	add("job_title", have.JobTitle, want.JobTitle)
	add("employee_id", have.EmployeeID, want.EmployeeID)
	if !have.ExpiresAt.Equal(want.ExpiresAt) {
		m = append(m, "expires_at")
	}
	return m
}
