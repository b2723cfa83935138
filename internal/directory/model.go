// Package directory is the neutral model shared by the directory source and
// the cloud target: users, groups, effective memberships, snapshots, deltas
// and watermarks. It performs no I/O.
package directory

import "time"

// User is one directory user account. ExternalID is the objectGUID in
// canonical UUID text form and is the immutable anchor; every other field may
// change. The Identity Hub fields (FullName … CompanyName and Username) are
// filled according to the attribute Mapping; unmapped fields stay empty.
type User struct {
	ExternalID     string
	DN             string
	SID            string
	SAMAccountName string
	// Username is the mapped login (userPrincipalName by default), before any
	// domain replacement.
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
	// Enabled is false when userAccountControl has ACCOUNTDISABLE (0x2).
	Enabled bool
	// ExpiresAt is accountExpires; the zero time means the account never expires.
	ExpiresAt time.Time
	// LockedOut is true when the directory reported the account locked out
	// (UF_LOCKOUT in msDS-User-Account-Control-Computed) when it was read.
	// A lockout ends by itself after the lockout duration, without a write.
	LockedOut bool
	// PasswordLastSet is pwdLastSet; zero when never set.
	PasswordLastSet time.Time
	// MustChangePassword is true when pwdLastSet is 0.
	MustChangePassword bool
	// PrimaryGroupID is the RID of the user's primary group.
	PrimaryGroupID uint32
}

// Group is one directory group. Members holds the ExternalIDs of the in-scope
// users that are effective members (direct, nested or by primary group),
// sorted and without duplicates. The strings are shared with the users'
// ExternalID fields, so large memberships cost only a string header each.
type Group struct {
	ExternalID     string
	DN             string
	SID            string
	SAMAccountName string
	// Name and Description are filled according to the group Mapping.
	Name        string
	Description string
	// RID is the last sub-authority of SID, the value users carry in
	// primaryGroupID.
	RID     uint32
	Members []string
}

// Links is the direct membership of one group as read from the directory:
// Direct holds the ExternalIDs of every direct member (users and groups, in or
// out of scope), sorted.
type Links struct {
	GroupID string
	RID     uint32
	// InScope is true when the group itself is synchronized (it lies inside
	// the organizational-unit scope); false for groups only kept for nesting
	// and the group filter.
	InScope bool
	Direct  []string
}

// Graph is the direct data an incremental read builds on: the users left out
// by the group filter and the direct links of every group of the domain.
type Graph struct {
	// Excluded are the users inside the organizational-unit scope that the
	// group filter leaves out (empty when there is no group filter).
	Excluded []User
	// Links holds one entry per group of the domain, sorted by GroupID.
	Links []Links
}

// Snapshot is a complete, consistent read of the directory scope.
type Snapshot struct {
	// Users are the in-scope users, sorted by ExternalID.
	Users []User
	// Groups are the in-scope groups with effective Members, sorted by
	// ExternalID.
	Groups []Group
	// Watermark marks the point the next delta starts from.
	Watermark Watermark
	// Graph is what the next delta needs to recompute scope and memberships.
	Graph Graph
}
