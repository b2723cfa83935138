package idhub

import (
	"context"
	"iter"
	"slices"
	"time"

	om "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/idsync/idsync/internal/pool"
)

// Cloud is the client as the engine sees it: the pool API in the plain
// types of internal/pool. It converts each call to and from go-genproto and
// returns every failure as a *pool.Error carrying its Class, so that agent
// neither builds API messages nor reads gRPC statuses. It implements
// agent.Cloud and the engine's other cloud interfaces.
type Cloud struct{ c *Client }

// NewCloud returns the engine's view of c.
func NewCloud(c *Client) *Cloud { return &Cloud{c: c} }

// Client is the client Cloud converts for.
func (a *Cloud) Client() *Client { return a.c }

// Classified returns err as a *pool.Error with its class; nil stays nil.
// Cloud returns every failure so; callers hand agent other errors of the
// Client (such as those of a setup step) through it.
func Classified(err error) error {
	if err == nil {
		return nil
	}
	return &pool.Error{Class: Classify(err), Err: err}
}

// seq converts the items and errors of an API iterator.
func seq[T, U any](in iter.Seq2[T, error], conv func(T) U) iter.Seq2[U, error] {
	return func(yield func(U, error) bool) {
		for v, err := range in {
			var u U
			if err != nil {
				if !yield(u, Classified(err)) {
					return
				}
				continue
			}
			if !yield(conv(v), nil) {
				return
			}
		}
	}
}

// PoolUser converts an API user.
func PoolUser(u *idp.User) pool.User {
	f := pool.UserFields{
		Username: u.GetUsername(), FullName: u.GetFullName(), GivenName: u.GetGivenName(),
		FamilyName: u.GetFamilyName(), Email: u.GetEmail(), PhoneNumber: u.GetPhoneNumber(),
		EmployeeID: u.GetEmployeeId(), Department: u.GetDepartment(), JobTitle: u.GetJobTitle(),
		CompanyName: u.GetCompanyName(),
	}
	if ts := u.GetExpiresAt(); ts != nil {
		f.ExpiresAt = ts.AsTime().UTC()
	}
	return pool.User{ID: u.GetId(), ExternalID: u.GetExternalId(), Fields: f, Active: u.GetStatus() == idp.User_ACTIVE}
}

// PoolGroup converts an API group.
func PoolGroup(g *om.Group) pool.Group {
	return pool.Group{ID: g.GetId(), ExternalID: g.GetExternalId(), Name: g.GetName(), Description: g.GetDescription()}
}

// ListAllUsers calls fn for every user of the pool.
func (a *Cloud) ListAllUsers(ctx context.Context, fn func(pool.User) error) error {
	var fnErr error
	err := a.c.ListAllUsers(ctx, func(u *idp.User) error {
		fnErr = fn(PoolUser(u))
		return fnErr
	})
	if err != nil && fnErr != nil && err == fnErr {
		return err // fn's own error, not the API's
	}
	return Classified(err)
}

// GetUser returns one user.
func (a *Cloud) GetUser(ctx context.Context, userID string) (pool.User, error) {
	u, err := a.c.GetUser(ctx, userID)
	if err != nil {
		return pool.User{}, Classified(err)
	}
	return PoolUser(u), nil
}

// Users iterates over the users matching filter.
func (a *Cloud) Users(ctx context.Context, filter string) iter.Seq2[pool.User, error] {
	return seq(a.c.Users(ctx, filter), PoolUser)
}

// ResolveExternalIDs looks up the users with the given external ids.
func (a *Cloud) ResolveExternalIDs(ctx context.Context, externalIDs []string) ([]pool.ResolvedUser, error) {
	res, err := a.c.ResolveExternalIDs(ctx, externalIDs)
	if err != nil {
		return nil, Classified(err)
	}
	out := make([]pool.ResolvedUser, 0, len(res))
	for _, r := range res {
		out = append(out, pool.ResolvedUser{ExternalID: r.GetExternalId(), UserID: r.GetUserId()})
	}
	return out, nil
}

// CreateUser creates u.
func (a *Cloud) CreateUser(ctx context.Context, u pool.NewUser) (pool.User, error) {
	f := u.Fields
	req := &idp.CreateUserRequest{
		Username: f.Username, FullName: f.FullName, GivenName: f.GivenName, FamilyName: f.FamilyName,
		Email: f.Email, PhoneNumber: f.PhoneNumber, ExternalId: u.ExternalID, CompanyName: f.CompanyName,
		Department: f.Department, JobTitle: f.JobTitle, EmployeeId: f.EmployeeID,
		IsActive: wrapperspb.Bool(u.Active), PasswordChangeRequired: u.MustChangePassword,
	}
	if !f.ExpiresAt.IsZero() {
		req.ExpiresAt = timestamppb.New(f.ExpiresAt)
	}
	if h := u.PasswordHash; h != nil {
		req.Credentials = &idp.CreateUserRequest_PasswordHash{PasswordHash: &idp.PasswordHash{
			PasswordHash: h.Hex, PasswordHashType: idp.PasswordHash_PasswordHashType(idp.PasswordHash_PasswordHashType_value[string(h.Type)])}}
	}
	got, err := a.c.CreateUser(ctx, req)
	if err != nil {
		return pool.User{}, Classified(err)
	}
	return PoolUser(got), nil
}

// UpdateUser writes the changed fields of u.
func (a *Cloud) UpdateUser(ctx context.Context, u pool.UserUpdate) (pool.User, error) {
	f := u.Fields
	req := &idp.UpdateUserRequest{
		UserId: u.ID, UpdateMask: &fieldmaskpb.FieldMask{Paths: slices.Clone(u.Changed)},
		Username: f.Username, FullName: f.FullName, GivenName: f.GivenName, FamilyName: f.FamilyName,
		Email: f.Email, PhoneNumber: f.PhoneNumber, CompanyName: f.CompanyName, Department: f.Department,
		JobTitle: f.JobTitle, EmployeeId: f.EmployeeID,
	}
	if !f.ExpiresAt.IsZero() {
		req.ExpiresAt = timestamppb.New(f.ExpiresAt)
	}
	got, err := a.c.UpdateUser(ctx, req)
	if err != nil {
		return pool.User{}, Classified(err)
	}
	return PoolUser(got), nil
}

// DeleteUser deletes a user.
func (a *Cloud) DeleteUser(ctx context.Context, userID string) error {
	return Classified(a.c.DeleteUser(ctx, userID))
}

// SuspendUser suspends a user.
func (a *Cloud) SuspendUser(ctx context.Context, userID string) error {
	return Classified(a.c.SuspendUser(ctx, userID))
}

// ReactivateUser reactivates a user.
func (a *Cloud) ReactivateUser(ctx context.Context, userID string) error {
	return Classified(a.c.ReactivateUser(ctx, userID))
}

// ConvertUserToExternal makes a pool user a managed one.
func (a *Cloud) ConvertUserToExternal(ctx context.Context, userID, externalID string) (pool.User, error) {
	u, err := a.c.ConvertUserToExternal(ctx, userID, externalID)
	if err != nil {
		return pool.User{}, Classified(err)
	}
	return PoolUser(u), nil
}

// SetPasswordHash sets a user's password by its NT hash.
func (a *Cloud) SetPasswordHash(ctx context.Context, userID, ntHash string, needChange bool) error {
	return Classified(a.c.SetPasswordHash(ctx, userID, ntHash, needChange))
}

// ExternalGroups iterates over the pool's external groups.
func (a *Cloud) ExternalGroups(ctx context.Context, filter string) iter.Seq2[pool.Group, error] {
	return seq(a.c.ExternalGroups(ctx, filter), PoolGroup)
}

// Groups iterates over the organization's groups.
func (a *Cloud) Groups(ctx context.Context, filter string) iter.Seq2[pool.Group, error] {
	return seq(a.c.Groups(ctx, filter), PoolGroup)
}

// ResolveExternalGroup returns the group with an external id.
func (a *Cloud) ResolveExternalGroup(ctx context.Context, externalID string) (pool.Group, error) {
	return group(a.c.ResolveExternalGroup(ctx, externalID))
}

// CreateExternalGroup creates a managed group.
func (a *Cloud) CreateExternalGroup(ctx context.Context, name, description, externalID string) (pool.Group, error) {
	return group(a.c.CreateExternalGroup(ctx, name, description, externalID))
}

// UpdateGroup writes a group's name and description.
func (a *Cloud) UpdateGroup(ctx context.Context, groupID, name, description string) (pool.Group, error) {
	return group(a.c.UpdateGroup(ctx, groupID, name, description))
}

// DeleteGroup deletes a group.
func (a *Cloud) DeleteGroup(ctx context.Context, groupID string) error {
	return Classified(a.c.DeleteGroup(ctx, groupID))
}

// ConvertGroupToExternal makes an organization group a managed one.
func (a *Cloud) ConvertGroupToExternal(ctx context.Context, groupID, externalID string) (pool.Group, error) {
	return group(a.c.ConvertGroupToExternal(ctx, groupID, externalID))
}

func group(g *om.Group, err error) (pool.Group, error) {
	if err != nil {
		return pool.Group{}, Classified(err)
	}
	return PoolGroup(g), nil
}

// GroupMembers iterates over a group's members.
func (a *Cloud) GroupMembers(ctx context.Context, groupID string) iter.Seq2[pool.Member, error] {
	return seq(a.c.GroupMembers(ctx, groupID), func(m *om.GroupMember) pool.Member {
		return pool.Member{SubjectID: m.GetSubjectId(), SubjectType: m.GetSubjectType()}
	})
}

// UpdateGroupMembers applies deltas to a group (see Client.UpdateGroupMembers).
func (a *Cloud) UpdateGroupMembers(ctx context.Context, groupID string, deltas []pool.MemberDelta) (int, error) {
	out := make([]*om.MemberDelta, len(deltas))
	for i, d := range deltas {
		if d.Remove {
			out[i] = RemoveMember(d.SubjectID)
		} else {
			out[i] = AddMember(d.SubjectID)
		}
	}
	n, err := a.c.UpdateGroupMembers(ctx, groupID, out)
	return n, Classified(err)
}

// OpenSession opens a session of type t (see Client.OpenSession).
func (a *Cloud) OpenSession(ctx context.Context, agentID string, t pool.SessionType) (*pool.OpenResult, error) {
	r, err := a.c.OpenSession(ctx, agentID, APISessionType(t))
	if err != nil {
		return nil, Classified(err)
	}
	out := &pool.OpenResult{NextSessionAt: r.NextSessionAt, ReplicationToken: r.ReplicationToken, Settings: PoolSettings(r.Settings)}
	switch r.Result {
	case idp.OpenSessionResult_TOO_EARLY:
		out.Status = pool.TooEarly
	case idp.OpenSessionResult_OPENED_SESSION_EXISTS:
		out.Status = pool.SessionExists
	}
	if s := r.Session; s != nil {
		out.Session.ID = s.GetSessionId()
		out.Session.CreatedAt, out.Session.ExpiresAt = asTime(s.GetCreatedAt()), asTime(s.GetExpiresAt())
	}
	return out, nil
}

func asTime(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime()
}

// APISessionType converts a session type.
func APISessionType(t pool.SessionType) idp.SessionType {
	return idp.SessionType(idp.SessionType_value[string(t)])
}

// Heartbeat extends the session's lease.
func (a *Cloud) Heartbeat(ctx context.Context, sessionID string) error {
	return Classified(a.c.Heartbeat(ctx, sessionID))
}

// ReportProgress sends the session's cumulative progress.
func (a *Cloud) ReportProgress(ctx context.Context, sessionID string, entries []pool.ProgressEntry) error {
	return Classified(a.c.ReportProgress(ctx, sessionID, APIProgress(entries)))
}

// APIProgress converts progress entries.
func APIProgress(entries []pool.ProgressEntry) []*idp.ProgressEntry {
	var out []*idp.ProgressEntry
	for _, e := range entries {
		pe := &idp.ProgressEntry{ObjectType: idp.RelatedObjectType(idp.RelatedObjectType_value[string(e.ObjectType)])}
		for _, c := range e.Changes {
			pe.ChangeInfo = append(pe.ChangeInfo, &idp.ChangeInfo{
				ChangeType: idp.ChangeType(idp.ChangeType_value[string(c.Type)]), Successful: c.Successful, Failed: c.Failed})
		}
		out = append(out, pe)
	}
	return out
}

// CloseSession closes the session (see Client.CloseSession).
func (a *Cloud) CloseSession(ctx context.Context, sessionID string, failed bool, reason string) error {
	_, err := a.c.CloseSession(ctx, sessionID, failed, reason)
	return Classified(err)
}

// SetReplicationToken stores the pool's token of type t.
func (a *Cloud) SetReplicationToken(ctx context.Context, t pool.SessionType, token string) error {
	return Classified(a.c.SetReplicationToken(ctx, APISessionType(t), token))
}

// GetReplicationToken reads the pool's token of type t.
func (a *Cloud) GetReplicationToken(ctx context.Context, t pool.SessionType) (string, error) {
	s, err := a.c.GetReplicationToken(ctx, APISessionType(t))
	return s, Classified(err)
}
