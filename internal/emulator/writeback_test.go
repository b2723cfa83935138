package emulator

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// enableWriteback gives the test pool settings with password writeback on.
func (v *env) enableWriteback(t *testing.T) {
	t.Helper()
	op, err := v.sync.CreateSynchronizationSettings(v.ctx, &idp.CreateSynchronizationSettingsRequest{
		SubjectContainerId: testPool, Filter: &idp.SynchronizationFilter{Domain: "corp.example"}, EnablePasswordWriteback: true})
	result(t, op, err, &idp.SynchronizationSettings{})
}

// changes opens a password change stream from offset.
func (v *env) changes(t *testing.T, offset int64) idp.UserService_GetPasswordChangesClient {
	t.Helper()
	st, err := v.users.GetPasswordChanges(v.ctx)
	if err != nil {
		t.Fatalf("GetPasswordChanges: %v", err)
	}
	if err := st.Send(&idp.GetPasswordChangesRequest{UserpoolId: testPool, AgentId: "agent-1", Offset: offset}); err != nil {
		t.Fatalf("send: %v", err)
	}
	return st
}

func (v *env) op(t *testing.T, id string) *operation.Operation {
	t.Helper()
	op, err := v.ops.Get(v.ctx, &operation.GetOperationRequest{OperationId: id})
	if err != nil {
		t.Fatalf("get operation: %v", err)
	}
	return op
}

func TestWritebackAdminResetWaitsForCommit(t *testing.T) {
	v := newEnv(t, Options{})
	v.enableWriteback(t)
	u := v.createUser(t, "ann", "guid-ann")
	op, err := v.users.SetOthersPassword(v.ctx, &idp.SetOthersPasswordRequest{UserId: u.Id, PasswordSpec: &idp.PasswordSpec{Password: "New-Pass-1"}})
	if err != nil || op.GetDone() {
		t.Fatalf("SetOthersPassword: done %v, err %v; want a pending operation", op.GetDone(), err)
	}
	if v.emu.PasswordDigestMatches(u.Id, "New-Pass-1") {
		t.Fatal("the password changed before the agent committed")
	}
	st := v.changes(t, 0)
	c, err := st.Recv()
	if err != nil {
		t.Fatalf("recv: %v", err)
	}
	if c.GetExternalUserId() != "guid-ann" || c.GetPassword() != "New-Pass-1" || !c.GetNeedChange() || c.GetOldPassword() != "" ||
		c.GetModifyingOperationId() != op.GetId() || c.GetOffset() != 1 || c.GetOperationExpiresAt() == nil {
		t.Fatalf("change = %v", c)
	}
	// A wrong password in the commit is refused.
	_, err = v.users.CommitPassword(v.ctx, &idp.CommitPasswordRequest{UserpoolId: testPool, ExternalUserId: "guid-ann",
		ModifyingOperationId: op.GetId(), Password: "other"})
	wantCode(t, err, codes.InvalidArgument)
	commit := &idp.CommitPasswordRequest{UserpoolId: testPool, ExternalUserId: "guid-ann", ModifyingOperationId: op.GetId(), Password: "New-Pass-1", NeedChange: true}
	cop, err := v.users.CommitPassword(v.ctx, commit)
	result(t, cop, err, &emptypb.Empty{})
	if got := v.op(t, op.GetId()); !got.GetDone() || got.GetError() != nil {
		t.Fatalf("operation after commit: %v", got)
	}
	if !v.emu.PasswordDigestMatches(u.Id, "New-Pass-1") {
		t.Fatal("the password was not set by the commit")
	}
	// A repeated commit with the same result succeeds and changes nothing.
	if _, err := v.users.CommitPassword(v.ctx, commit); err != nil {
		t.Fatalf("repeated commit: %v", err)
	}
	if n := v.emu.PendingPasswordChanges(); n != 0 {
		t.Fatalf("pending = %d", n)
	}
}

func TestWritebackOwnChangeRefused(t *testing.T) {
	v := newEnv(t, Options{})
	v.enableWriteback(t)
	u := v.createUser(t, "bob", "guid-bob")
	tok, err := v.emu.UserToken(u.Id)
	if err != nil {
		t.Fatal(err)
	}
	userCtx := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+tok)
	_, err = v.users.SetOwnPassword(userCtx, &idp.SetOwnPasswordRequest{OldPassword: "wrong", PasswordSpec: &idp.PasswordSpec{Password: "x"}})
	wantCode(t, err, codes.InvalidArgument)
	op, err := v.users.SetOwnPassword(userCtx, &idp.SetOwnPasswordRequest{OldPassword: "Secret-123456", PasswordSpec: &idp.PasswordSpec{Password: "short"}})
	if err != nil {
		t.Fatal(err)
	}
	// A pool user cannot read the stream.
	st, _ := v.users.GetPasswordChanges(userCtx)
	_ = st.Send(&idp.GetPasswordChangesRequest{UserpoolId: testPool, AgentId: "a", Offset: 0})
	if _, err := st.Recv(); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("stream as a user: %v", err)
	}
	c, err := v.changes(t, 0).Recv()
	if err != nil {
		t.Fatal(err)
	}
	if c.GetOldPassword() != "Secret-123456" || c.GetNeedChange() {
		t.Fatalf("own change = %v", c)
	}
	_, err = v.users.CommitPassword(v.ctx, &idp.CommitPasswordRequest{UserpoolId: testPool, ExternalUserId: "guid-bob", ModifyingOperationId: op.GetId(), Password: "short",
		ErrorDetails: &idp.PasswordWritebackErrorDetails{ErrorCode: idp.PasswordWritebackErrorDetails_PASSWORD_POLICY_VIOLATION, ErrorMessage: "too short"}})
	if err != nil {
		t.Fatal(err)
	}
	got := v.op(t, op.GetId())
	if !got.GetDone() || got.GetError().GetCode() != int32(codes.FailedPrecondition) {
		t.Fatalf("operation = %v", got)
	}
	var det idp.PasswordWritebackErrorDetails
	if len(got.GetError().GetDetails()) != 1 || got.GetError().GetDetails()[0].UnmarshalTo(&det) != nil ||
		det.GetErrorCode() != idp.PasswordWritebackErrorDetails_PASSWORD_POLICY_VIOLATION || det.GetErrorMessage() != "too short" {
		t.Fatalf("details = %v", got.GetError().GetDetails())
	}
	if !v.emu.PasswordDigestMatches(u.Id, "Secret-123456") {
		t.Fatal("the cloud password changed although the directory refused")
	}
}

func TestWritebackExpiresAndOffsets(t *testing.T) {
	v := newEnv(t, Options{WritebackTTL: time.Minute})
	v.enableWriteback(t)
	u := v.createUser(t, "cy", "guid-cy")
	var ops []string
	for _, pw := range []string{"P-1", "P-2", "P-3"} {
		op, err := v.users.SetOthersPassword(v.ctx, &idp.SetOthersPasswordRequest{UserId: u.Id, PasswordSpec: &idp.PasswordSpec{Password: pw}})
		if err != nil {
			t.Fatal(err)
		}
		ops = append(ops, op.GetId())
	}
	// From offset 1: changes 2 and 3, in order.
	st := v.changes(t, 1)
	for _, want := range []int64{2, 3} {
		c, err := st.Recv()
		if err != nil || c.GetOffset() != want {
			t.Fatalf("recv: %v %v, want offset %d", c, err, want)
		}
	}
	v.clock.Advance(2 * time.Minute)
	if n := v.emu.PendingPasswordChanges(); n != 0 {
		t.Fatalf("pending after expiry = %d", n)
	}
	if got := v.op(t, ops[0]); got.GetError().GetCode() != int32(codes.DeadlineExceeded) {
		t.Fatalf("expired operation = %v", got)
	}
	_, err := v.users.CommitPassword(v.ctx, &idp.CommitPasswordRequest{UserpoolId: testPool, ExternalUserId: "guid-cy", ModifyingOperationId: ops[0], Password: "P-1"})
	wantCode(t, err, codes.FailedPrecondition)
}

func TestWritebackOffWithoutSettingsAndPersisted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	v := newEnv(t, Options{StatePath: path})
	u := v.createUser(t, "dee", "guid-dee")
	op, err := v.users.SetOthersPassword(v.ctx, &idp.SetOthersPasswordRequest{UserId: u.Id, PasswordSpec: &idp.PasswordSpec{Password: "Direct-1"}})
	if err != nil || !op.GetDone() || !v.emu.PasswordDigestMatches(u.Id, "Direct-1") {
		t.Fatalf("without writeback the password is set at once: %v %v", op, err)
	}
	v.enableWriteback(t)
	op, err = v.users.SetOthersPassword(v.ctx, &idp.SetOthersPasswordRequest{UserId: u.Id, PasswordSpec: &idp.PasswordSpec{Password: "Queued-1"}})
	if err != nil || op.GetDone() {
		t.Fatalf("queued: %v %v", op, err)
	}
	if err := v.emu.Close(); err != nil {
		t.Fatal(err)
	}
	w := newEnv(t, Options{StatePath: path})
	if n := w.emu.PendingPasswordChanges(); n != 1 {
		t.Fatalf("pending after restart = %d", n)
	}
	c, err := w.changes(t, 0).Recv()
	if err != nil || c.GetModifyingOperationId() != op.GetId() || c.GetPassword() != "Queued-1" {
		t.Fatalf("after restart: %v %v", c, err)
	}
	if got := w.op(t, op.GetId()); got.GetDone() {
		t.Fatalf("pending operation after restart = %v", got)
	}
}

// asUser returns a context that authenticates as pool user id.
func (v *env) asUser(t *testing.T, id string) context.Context {
	t.Helper()
	tok, err := v.emu.UserToken(id)
	if err != nil {
		t.Fatal(err)
	}
	return metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+tok)
}

// commitOne turns password writeback on, queues a reset of u, commits it
// and turns writeback off again; it returns the commit's operation.
func (v *env) commitOne(t *testing.T, u *idp.User) (*operation.Operation, error) {
	t.Helper()
	set := func(on bool) {
		op, err := v.sync.UpdateSynchronizationSettings(v.ctx, &idp.UpdateSynchronizationSettingsRequest{SubjectContainerId: testPool,
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"enable_password_writeback"}}, EnablePasswordWriteback: on})
		result(t, op, err, &idp.SynchronizationSettings{})
	}
	set(true)
	defer set(false)
	op, err := v.users.SetOthersPassword(v.ctx, &idp.SetOthersPasswordRequest{UserId: u.Id, PasswordSpec: &idp.PasswordSpec{Password: "Commit-123456"}})
	if err != nil {
		return nil, err
	}
	return v.users.CommitPassword(v.ctx, &idp.CommitPasswordRequest{UserpoolId: testPool, ExternalUserId: u.ExternalId,
		ModifyingOperationId: op.GetId(), Password: "Commit-123456"})
}
