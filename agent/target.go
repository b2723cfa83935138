package agent

import "time"

// UserFields are the Identity Hub user fields idsync manages.
type UserFields struct {
	Username    string
	FullName    string
	GivenName   string
	FamilyName  string
	Email       string
	PhoneNumber string
	EmployeeID  string
	Department  string
	JobTitle    string
	CompanyName string
	// ExpiresAt is the account expiry; the zero time means never.
	ExpiresAt time.Time
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
