package agent

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

// PoolUser is a user of the target pool as the agent sees it.
type PoolUser struct {
	ID string
	// ExternalID is empty for users idsync does not manage.
	ExternalID string
	Fields     UserFields
	Active     bool
}

// PoolGroup is a group of the target organization as the agent sees it.
type PoolGroup struct {
	ID string
	// ExternalID is empty for groups idsync does not manage.
	ExternalID  string
	Name        string
	Description string
	// Members are the ExternalIDs of the managed users in the group, sorted.
	// Members not managed by idsync are left out: idsync never removes them.
	Members []string
}

// Target is what the planner knows of the pool. In a full cycle it holds
// every managed user and group and every pool user and organization group
// that could be captured; in a delta cycle only the objects the delta
// touches.
type Target struct {
	Users  []PoolUser
	Groups []PoolGroup
}
