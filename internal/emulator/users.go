package emulator

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"sort"
	"strings"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// userServer implements UserService for the emulated pool. Usernames are
// unique within the pool (case-insensitively) and must be in the pool's
// domain; external ids are unique within the pool.
type userServer struct {
	idp.UnimplementedUserServiceServer
	e *Emulator
}

// userFields are the update_mask paths UserService.Update accepts.
var userFields = []string{
	"username", "full_name", "given_name", "family_name", "email", "phone_number",
	"company_name", "department", "job_title", "employee_id", "expires_at",
}

// user returns the stored user or NOT_FOUND. The caller holds e.mu.
func (e *Emulator) user(id string) (*userRec, error) {
	u, ok := e.st.users[id]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "user %s not found", id)
	}
	return u, nil
}

// checkUsername enforces the pool domain and uniqueness of a username
// (selfID is the user being renamed, or ""). The caller holds e.mu.
func (e *Emulator) checkUsername(username, selfID string) error {
	at := strings.LastIndexByte(username, '@')
	if at < 0 || !strings.EqualFold(username[at+1:], e.st.Domain) {
		return status.Errorf(codes.InvalidArgument, "username %q is not in the user pool domain %s", username, e.st.Domain)
	}
	if id, ok := e.st.userByName[userNameKey(username)]; ok && id != selfID {
		return status.Errorf(codes.AlreadyExists, "user with username %q already exists", username)
	}
	return nil
}

// checkUserExternalID enforces uniqueness of a user external id.
func (e *Emulator) checkUserExternalID(externalID, selfID string) error {
	if externalID == "" {
		return nil
	}
	if id, ok := e.st.userByExt[externalID]; ok && id != selfID {
		return status.Errorf(codes.AlreadyExists, "user with external_id %q already exists", externalID)
	}
	return nil
}

// proof is the generation_proof of a password made by GeneratePassword.
func (e *Emulator) proof(password string) string {
	m := hmac.New(sha256.New, e.proofKey)
	m.Write([]byte(password))
	return hex.EncodeToString(m.Sum(nil))
}

// Create creates a user with exactly one of password_spec or password_hash.
func (s userServer) Create(ctx context.Context, req *idp.CreateUserRequest) (*operation.Operation, error) {
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.checkPool(req.GetUserpoolId()); err != nil {
		return nil, err
	}
	now := e.now()
	rec := &userRec{NeedChange: req.GetPasswordChangeRequired()}
	switch {
	case req.GetPasswordSpec() != nil:
		spec := req.GetPasswordSpec()
		if spec.GetPassword() == "" {
			return nil, status.Error(codes.InvalidArgument, "password_spec.password is required")
		}
		if p := spec.GetGenerationProof(); p != "" && !hmac.Equal([]byte(p), []byte(e.proof(spec.GetPassword()))) {
			return nil, status.Error(codes.InvalidArgument, "password_spec.generation_proof does not match the password")
		}
		sum := sha256.Sum256([]byte(spec.GetPassword()))
		rec.PasswordDigest = hex.EncodeToString(sum[:])
	case req.GetPasswordHash() != nil:
		h := req.GetPasswordHash()
		if h.GetPasswordHash() == "" {
			return nil, status.Error(codes.InvalidArgument, "password_hash.password_hash is required")
		}
		rec.PasswordHash, rec.PasswordHashType = digest(h.GetPasswordHash()), h.GetPasswordHashType()
	default:
		return nil, status.Error(codes.InvalidArgument, "exactly one of password_spec or password_hash is required")
	}
	if err := e.checkUsername(req.GetUsername(), ""); err != nil {
		return nil, err
	}
	if err := e.checkUserExternalID(req.GetExternalId(), ""); err != nil {
		return nil, err
	}
	if q := e.opts.Quotas.SubjectsPerOrganization; q > 0 && len(e.st.users) >= q {
		return nil, quotaError(quotaSubjects, "subjects per organization", q)
	}
	u := &idp.User{
		Id: newID("idu"), UserpoolId: e.st.UserpoolID, Status: idp.User_ACTIVE,
		Username: req.GetUsername(), FullName: req.GetFullName(), GivenName: req.GetGivenName(),
		FamilyName: req.GetFamilyName(), Email: req.GetEmail(), PhoneNumber: req.GetPhoneNumber(),
		CreatedAt: timestamppb.New(now), UpdatedAt: timestamppb.New(now), ExternalId: req.GetExternalId(),
		CompanyName: req.GetCompanyName(), Department: req.GetDepartment(), JobTitle: req.GetJobTitle(),
		EmployeeId: req.GetEmployeeId(), PasswordCreatedAt: timestamppb.New(now),
	}
	if req.GetExpiresAt() != nil {
		u.ExpiresAt = proto.Clone(req.GetExpiresAt()).(*timestamppb.Timestamp)
	}
	if a := req.GetIsActive(); a != nil && !a.GetValue() {
		u.Status = idp.User_SUSPENDED
	}
	e.startCreating(u)
	rec.User = u
	e.st.users[u.Id] = rec
	e.st.indexUser(u)
	e.changed()
	return e.newOp(ctx, "Create user", &idp.CreateUserMetadata{UserId: u.Id}, proto.Clone(u))
}

// Get returns a user.
func (s userServer) Get(ctx context.Context, req *idp.GetUserRequest) (*idp.User, error) {
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	u, err := e.user(req.GetUserId())
	if err != nil {
		return nil, err
	}
	return proto.Clone(u.User).(*idp.User), nil
}

// List lists the pool's users by id. The API reference documents no filter
// grammar for UserService.List ("a filter expression"), so a client cannot
// rely on any: every non-empty filter is refused.
func (s userServer) List(ctx context.Context, req *idp.ListUsersRequest) (*idp.ListUsersResponse, error) {
	e := s.e
	if strings.TrimSpace(req.GetFilter()) != "" {
		return nil, status.Errorf(codes.InvalidArgument, "invalid filter %q: UserService.List documents no filter grammar; list without a filter", req.GetFilter())
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.checkPool(req.GetUserpoolId()); err != nil {
		return nil, err
	}
	all := make([]*idp.User, 0, len(e.st.users))
	for _, u := range e.st.users {
		all = append(all, u.User)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Id < all[j].Id })
	page, next, err := paginate(all, (*idp.User).GetId, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &idp.ListUsersResponse{Users: cloneAll(page), NextPageToken: next}, nil
}

// Update changes the fields named in update_mask; others stay as they are.
func (s userServer) Update(ctx context.Context, req *idp.UpdateUserRequest) (*operation.Operation, error) {
	e := s.e
	paths, err := maskPaths(req.GetUpdateMask(), userFields)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	rec, err := e.mutableUser(req.GetUserId())
	if err != nil {
		return nil, err
	}
	u := proto.Clone(rec.User).(*idp.User)
	if slices.Contains(paths, "username") {
		if err := e.checkUsername(req.GetUsername(), u.Id); err != nil {
			return nil, err
		}
	}
	if err := copyMasked(u, req, paths); err != nil {
		return nil, err
	}
	u.UpdatedAt = timestamppb.New(e.now())
	e.replaceUser(rec, u)
	return e.newOp(ctx, "Update user", &idp.UpdateUserMetadata{UserId: u.Id}, proto.Clone(u))
}

// replaceUser stores a changed copy of a user and reindexes it.
func (e *Emulator) replaceUser(rec *userRec, u *idp.User) {
	e.st.unindexUser(rec.User)
	rec.User = u
	e.st.indexUser(u)
	e.changed()
}

// Delete deletes a user and removes it from every group (after a
// DELETING transition under Options.UserTransition; deleting a user in
// transition succeeds without change).
func (s userServer) Delete(ctx context.Context, req *idp.DeleteUserRequest) (*operation.Operation, error) {
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	rec, err := e.user(req.GetUserId())
	if err != nil {
		return nil, err
	}
	id := rec.User.Id
	if rec.User.Status != idp.User_DELETING {
		e.startDeleting(rec)
	}
	return e.newOp(ctx, "Delete user", &idp.DeleteUserMetadata{UserId: id}, nil)
}

// setStatus moves a user to st and answers google.protobuf.Empty, as the
// method option declares; suspending a suspended user (or
// reactivating an active one) succeeds without change.
func (s userServer) setStatus(ctx context.Context, id string, to idp.User_Status, desc string, meta proto.Message) (*operation.Operation, error) {
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	rec, err := e.mutableUser(id)
	if err != nil {
		return nil, err
	}
	if rec.User.Status != to {
		u := proto.Clone(rec.User).(*idp.User)
		u.Status = to
		u.UpdatedAt = timestamppb.New(e.now())
		e.replaceUser(rec, u)
	}
	return e.newOp(ctx, desc, meta, nil)
}

// Suspend deactivates a user.
func (s userServer) Suspend(ctx context.Context, req *idp.SuspendUserRequest) (*operation.Operation, error) {
	return s.setStatus(ctx, req.GetUserId(), idp.User_SUSPENDED, "Suspend user", &idp.SuspendUserMetadata{UserId: req.GetUserId()})
}

// Reactivate activates a suspended user.
func (s userServer) Reactivate(ctx context.Context, req *idp.ReactivateUserRequest) (*operation.Operation, error) {
	return s.setStatus(ctx, req.GetUserId(), idp.User_ACTIVE, "Reactivate user", &idp.ReactivateUserMetadata{UserId: req.GetUserId()})
}

// GeneratePassword returns a random password with a generation proof that
// Create accepts.
func (s userServer) GeneratePassword(ctx context.Context, req *idp.GeneratePasswordRequest) (*idp.GeneratePasswordResponse, error) {
	pw := generatePassword()
	return &idp.GeneratePasswordResponse{PasswordSpec: &idp.PasswordSpec{Password: pw, GenerationProof: s.e.proof(pw)}}, nil
}

// ConvertToExternal gives a pool user an external id (capture).
func (s userServer) ConvertToExternal(ctx context.Context, req *idp.ConvertToExternalUserRequest) (*operation.Operation, error) {
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	rec, err := e.mutableUser(req.GetUserId())
	if err != nil {
		return nil, err
	}
	if cur := rec.User.ExternalId; cur != "" && cur != req.GetExternalId() {
		return nil, status.Errorf(codes.FailedPrecondition, "user %s is already external with external_id %q", rec.User.Id, cur)
	}
	if err := e.checkUserExternalID(req.GetExternalId(), rec.User.Id); err != nil {
		return nil, err
	}
	u := proto.Clone(rec.User).(*idp.User)
	u.ExternalId = req.GetExternalId()
	u.UpdatedAt = timestamppb.New(e.now())
	e.replaceUser(rec, u)
	return e.newOp(ctx, "Convert user to external",
		&idp.ConvertToExternalUserMetadata{UserId: u.Id, ExternalId: u.ExternalId}, proto.Clone(u))
}

// SetPasswordHash stores a password hash; reads never return it.
func (s userServer) SetPasswordHash(ctx context.Context, req *idp.SetPasswordHashRequest) (*operation.Operation, error) {
	e := s.e
	if req.GetHash().GetPasswordHash() == "" {
		return nil, status.Error(codes.InvalidArgument, "hash.password_hash is required")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	rec, err := e.mutableUser(req.GetUserId())
	if err != nil {
		return nil, err
	}
	rec.PasswordHash, rec.PasswordHashType = digest(req.GetHash().GetPasswordHash()), req.GetHash().GetPasswordHashType()
	rec.PasswordDigest = ""
	rec.NeedChange = req.GetNeedChange()
	u := proto.Clone(rec.User).(*idp.User)
	u.PasswordCreatedAt = timestamppb.New(e.now())
	e.replaceUser(rec, u)
	return e.newOp(ctx, "Set user password hash", &idp.SetPasswordHashMetadata{UserId: u.Id}, nil)
}

// ResolveExternalIds maps external ids to users; unknown ids are left out.
func (s userServer) ResolveExternalIds(ctx context.Context, req *idp.ResolveExternalIdsRequest) (*idp.ResolveExternalIdsResponse, error) {
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.checkPool(req.GetUserpoolId()); err != nil {
		return nil, err
	}
	resp := &idp.ResolveExternalIdsResponse{}
	for _, ext := range req.GetExternalIds() {
		id, ok := e.st.userByExt[ext]
		if !ok {
			continue
		}
		u := e.st.users[id].User
		resp.ResolvedUsers = append(resp.ResolvedUsers, &idp.ResolvedUser{
			UserId: u.Id, ExternalId: ext, UserpoolId: u.UserpoolId,
			PasswordCreatedAt: proto.Clone(u.PasswordCreatedAt).(*timestamppb.Timestamp),
		})
	}
	return resp, nil
}
