package agent

import (
	"context"
	"iter"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/pool"
)

// Source reads the directory. *ldapsource.Source implements it.
type Source interface {
	// Snapshot reads the whole scope. An error means no usable read: a
	// partial read is never returned.
	Snapshot(ctx context.Context) (*directory.Snapshot, error)
	// Delta reads the changes since prev, loading the previous state only
	// when something changed (Delta.Snapshot is nil when nothing did). It
	// fails with an error wrapping directory.ErrFullSyncRequired when only
	// a full read can be trusted, and wraps prev.Load's errors.
	Delta(ctx context.Context, prev directory.Previous) (*directory.Delta, error)
}

// The pool model agent speaks with Identity Hub (see internal/pool).
type (
	// UserFields are the Identity Hub user fields idsync manages.
	UserFields = pool.UserFields
	// PoolUser is a user of the target pool as the agent sees it.
	PoolUser = pool.User
	// PoolGroup is a group of the target organization as the agent sees it.
	PoolGroup = pool.Group
)

// Sessions is the synchronization-session API a cycle drives.
type Sessions interface {
	SessionAPI
	GetSyncSettings(ctx context.Context) (*pool.Settings, error)
}

// Pool is the user and group API the planner's target is read from and the
// applier writes to. *idhub.Cloud implements it. Implementations retry
// transient failures themselves, as far as that is safe; the agent calls
// each method once per change. Failures carry their class (pool.Classify).
type Pool interface {
	ListAllUsers(ctx context.Context, fn func(PoolUser) error) error
	GetUser(ctx context.Context, userID string) (PoolUser, error)
	Users(ctx context.Context, filter string) iter.Seq2[PoolUser, error]
	ResolveExternalIDs(ctx context.Context, externalIDs []string) ([]pool.ResolvedUser, error)
	CreateUser(ctx context.Context, u pool.NewUser) (PoolUser, error)
	UpdateUser(ctx context.Context, u pool.UserUpdate) (PoolUser, error)
	DeleteUser(ctx context.Context, userID string) error
	SuspendUser(ctx context.Context, userID string) error
	ReactivateUser(ctx context.Context, userID string) error
	ConvertUserToExternal(ctx context.Context, userID, externalID string) (PoolUser, error)

	ExternalGroups(ctx context.Context, filter string) iter.Seq2[PoolGroup, error]
	Groups(ctx context.Context, filter string) iter.Seq2[PoolGroup, error]
	ResolveExternalGroup(ctx context.Context, externalID string) (PoolGroup, error)
	CreateExternalGroup(ctx context.Context, name, description, externalID string) (PoolGroup, error)
	UpdateGroup(ctx context.Context, groupID, name, description string) (PoolGroup, error)
	DeleteGroup(ctx context.Context, groupID string) error
	ConvertGroupToExternal(ctx context.Context, groupID, externalID string) (PoolGroup, error)
	GroupMembers(ctx context.Context, groupID string) iter.Seq2[pool.Member, error]
	UpdateGroupMembers(ctx context.Context, groupID string, deltas []pool.MemberDelta) (int, error)
}

// Cloud is everything a cycle needs from Identity Hub.
type Cloud interface {
	Sessions
	Pool
}
