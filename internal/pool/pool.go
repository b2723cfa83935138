// Package pool is the engine's view of an Identity Hub user pool: the users,
// groups, memberships, sessions, progress and synchronization settings agent
// reads and writes, in plain Go types. agent declares its cloud interfaces
// in these types; internal/idhub converts them to and from the API's
// go-genproto messages (idhub.Cloud). No I/O.
package pool

import "time"

// UserFields are the Identity Hub user fields idsync manages.
type UserFields struct {
	Username    string `json:"username"`
	FullName    string `json:"full_name"`
	GivenName   string `json:"given_name,omitempty"`
	FamilyName  string `json:"family_name,omitempty"`
	Email       string `json:"email,omitempty"`
	PhoneNumber string `json:"phone_number,omitempty"`
	EmployeeID  string `json:"employee_id,omitempty"`
	Department  string `json:"department,omitempty"`
	JobTitle    string `json:"job_title,omitempty"`
	CompanyName string `json:"company_name,omitempty"`
	// ExpiresAt is the account expiry; the zero time means never.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// User is a user of the pool.
type User struct {
	ID string
	// ExternalID is empty for users idsync does not manage.
	ExternalID string
	Fields     UserFields
	Active     bool
}

// Group is a group of the pool's organization.
type Group struct {
	ID string
	// ExternalID is empty for groups idsync does not manage.
	ExternalID  string
	Name        string
	Description string
	// Members are the ExternalIDs of the managed users in the group, sorted.
	// Members not managed by idsync are left out: idsync never removes them.
	// The pool API leaves it empty; agent fills it from GroupMembers.
	Members []string
}

// NewUser is a user to create.
type NewUser struct {
	ExternalID string
	Fields     UserFields
	Active     bool
	// MustChangePassword asks the user to change the password at the next
	// sign-in.
	MustChangePassword bool
	// PasswordHash, when set, is the user's password; without it the
	// service generates one.
	PasswordHash *PasswordHash
}

// PasswordHash is a password given as its hash.
type PasswordHash struct {
	// Hex is the hash in hexadecimal.
	Hex string
	// Type is the hash algorithm; HashADMD4 is the only one idsync sends.
	Type HashType
}

// HashType names a password hash algorithm as the API spells it.
type HashType string

// HashADMD4 is Active Directory's NT hash (MD4 of the UTF-16 password).
const HashADMD4 HashType = "AD_MD4"

// UserUpdate changes some fields of a user.
type UserUpdate struct {
	ID     string
	Fields UserFields
	// Changed lists the fields to write, spelled as UserFields' JSON names
	// (the API's field paths); the others are left as they are.
	Changed []string
}

// ResolvedUser is the answer for one external id of ResolveExternalIDs.
// UserID is empty when the pool has no such user.
type ResolvedUser struct {
	ExternalID string
	UserID     string
}

// Member is one subject in a group.
type Member struct {
	SubjectID   string
	SubjectType string
}

// MemberDelta adds a subject to a group or removes it.
type MemberDelta struct {
	Remove    bool
	SubjectID string
}

// AddMember is the delta that adds subjectID to a group.
func AddMember(subjectID string) MemberDelta { return MemberDelta{SubjectID: subjectID} }

// RemoveMember is the delta that removes subjectID from a group.
func RemoveMember(subjectID string) MemberDelta {
	return MemberDelta{Remove: true, SubjectID: subjectID}
}

// MaxBatch is the most ids or member deltas the API takes in one call;
// longer lists are split into calls of at most MaxBatch.
const MaxBatch = 1000
