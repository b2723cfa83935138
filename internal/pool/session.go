package pool

import "time"

// SessionType is the type of a synchronization session, spelled as the API
// spells it.
type SessionType string

// Session types.
const (
	SessionADSync         SessionType = "AD_SYNC"
	SessionADPasswordHash SessionType = "AD_PASSWORD_HASH"
	SessionADUserControl  SessionType = "AD_USER_CONTROL"
)

func (t SessionType) String() string { return string(t) }

// OpenStatus is the outcome of opening a session.
type OpenStatus int

// Outcomes of OpenSession.
const (
	// Opened: the session is open.
	Opened OpenStatus = iota
	// TooEarly: the pool's interval has not passed since the last session
	// of the type; try at NextSessionAt.
	TooEarly
	// SessionExists: another agent's session of the type is open.
	SessionExists
)

// Session is an open synchronization session.
type Session struct {
	ID string
	// CreatedAt and ExpiresAt bound its lifetime; zero when the service
	// does not say.
	CreatedAt, ExpiresAt time.Time
}

// OpenResult is the outcome of OpenSession.
type OpenResult struct {
	Status OpenStatus
	// Session is the opened session (Opened only).
	Session Session
	// NextSessionAt is when to try again (TooEarly only).
	NextSessionAt time.Time
	// ReplicationToken is the stored watermark; empty means full sync.
	ReplicationToken string
	// Settings are the pool's synchronization settings, nil when it has
	// none.
	Settings *Settings
}

// ObjectType is the type of object a progress entry counts, as the API
// spells it.
type ObjectType string

// Object types of progress entries.
const (
	ObjectUser       ObjectType = "USER"
	ObjectGroup      ObjectType = "GROUP"
	ObjectMembership ObjectType = "MEMBERSHIP"
)

// ChangeType is a kind of change a progress entry counts, as the API
// spells it.
type ChangeType string

// Change types of progress entries.
const (
	ChangeCreate             ChangeType = "CREATE"
	ChangeUpdate             ChangeType = "UPDATE"
	ChangeDelete             ChangeType = "DELETE"
	ChangeActivate           ChangeType = "ACTIVATE"
	ChangeDeactivate         ChangeType = "DEACTIVATE"
	ChangePasswordHashUpdate ChangeType = "PASSWORD_HASH_UPDATE"
)

// ProgressEntry is the cumulative progress of a session for one object
// type.
type ProgressEntry struct {
	ObjectType ObjectType
	Changes    []ChangeInfo
}

// ChangeInfo counts the changes of one type.
type ChangeInfo struct {
	Type       ChangeType
	Successful int64
	Failed     int64
}
