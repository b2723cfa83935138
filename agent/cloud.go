package agent

import (
	"context"
	"iter"

	om "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/idhub"
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

// Sessions is the synchronization-session API a cycle drives.
type Sessions interface {
	SessionAPI
	GetSyncSettings(ctx context.Context) (*idp.SynchronizationSettings, error)
}

// Pool is the user and group API the planner's target is read from and the
// applier writes to. *idhub.Client implements it. Implementations retry
// transient failures themselves, as far as that is safe; the agent calls
// each method once per change.
type Pool interface {
	ListAllUsers(ctx context.Context, fn func(*idp.User) error) error
	GetUser(ctx context.Context, userID string) (*idp.User, error)
	Users(ctx context.Context, filter string) iter.Seq2[*idp.User, error]
	ResolveExternalIDs(ctx context.Context, externalIDs []string) ([]*idp.ResolvedUser, error)
	CreateUser(ctx context.Context, req *idp.CreateUserRequest) (*idp.User, error)
	UpdateUser(ctx context.Context, req *idp.UpdateUserRequest) (*idp.User, error)
	DeleteUser(ctx context.Context, userID string) error
	SuspendUser(ctx context.Context, userID string) error
	ReactivateUser(ctx context.Context, userID string) error
	ConvertUserToExternal(ctx context.Context, userID, externalID string) (*idp.User, error)

	ExternalGroups(ctx context.Context, filter string) iter.Seq2[*om.Group, error]
	Groups(ctx context.Context, filter string) iter.Seq2[*om.Group, error]
	ResolveExternalGroup(ctx context.Context, externalID string) (*om.Group, error)
	CreateExternalGroup(ctx context.Context, name, description, externalID string) (*om.Group, error)
	UpdateGroup(ctx context.Context, groupID, name, description string) (*om.Group, error)
	DeleteGroup(ctx context.Context, groupID string) error
	ConvertGroupToExternal(ctx context.Context, groupID, externalID string) (*om.Group, error)
	GroupMembers(ctx context.Context, groupID string) iter.Seq2[*om.GroupMember, error]
	UpdateGroupMembers(ctx context.Context, groupID string, deltas []*om.MemberDelta) (int, error)
}

// Cloud is everything a cycle needs from Identity Hub.
type Cloud interface {
	Sessions
	Pool
}

var _ Cloud = (*idhub.Client)(nil)
