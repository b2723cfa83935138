package emulator

import (
	"context"
	"strings"
	"testing"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/api"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	orgv1 "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// declaredOp is a method's (yandex.cloud.api.operation) option with both
// names resolved to full message names.
type declaredOp struct{ metadata, response protoreflect.FullName }

// resolve finds the message a name in a method option refers to, by the
// protobuf scoping rules: from the method's package outwards.
func resolve(t *testing.T, pkg protoreflect.FullName, name string) protoreflect.FullName {
	t.Helper()
	for scope := pkg; ; scope = scope.Parent() {
		full := protoreflect.FullName(name)
		if scope != "" {
			full = scope.Append(protoreflect.Name(name))
			if strings.Contains(name, ".") {
				full = protoreflect.FullName(string(scope) + "." + name)
			}
		}
		if _, err := protoregistry.GlobalTypes.FindMessageByName(full); err == nil {
			return full
		}
		if scope == "" {
			t.Fatalf("cannot resolve %q from package %s", name, pkg)
		}
	}
}

// declaredOps reads the operation option of every emulated method that
// starts an operation, keyed by full method name.
func declaredOps(t *testing.T, e *Emulator) map[string]declaredOp {
	t.Helper()
	out := map[string]declaredOp{}
	for _, svc := range e.services() {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(svc.desc.ServiceName))
		if err != nil {
			t.Fatalf("descriptor of %s: %v", svc.desc.ServiceName, err)
		}
		sd := d.(protoreflect.ServiceDescriptor)
		for i := 0; i < sd.Methods().Len(); i++ {
			m := sd.Methods().Get(i)
			opt, _ := proto.GetExtension(m.Options(), api.E_Operation).(*api.Operation)
			if opt.GetResponse() == "" {
				continue
			}
			pkg := sd.ParentFile().Package()
			dec := declaredOp{response: resolve(t, pkg, opt.GetResponse())}
			if opt.GetMetadata() != "" {
				dec.metadata = resolve(t, pkg, opt.GetMetadata())
			}
			out["/"+svc.desc.ServiceName+"/"+string(m.Name())] = dec
		}
	}
	return out
}

// implemented reports whether the emulator implements a method: the
// handler is called directly, without interceptors, with an empty request;
// only the generated Unimplemented* stubs answer UNIMPLEMENTED.
func implemented(t *testing.T, e *Emulator, fullMethod string) bool {
	t.Helper()
	for _, svc := range e.services() {
		for _, m := range svc.desc.Methods {
			if "/"+svc.desc.ServiceName+"/"+m.MethodName != fullMethod {
				continue
			}
			_, err := m.Handler(svc.impl, context.Background(), func(any) error { return nil }, nil)
			return status.Code(err) != codes.Unimplemented
		}
	}
	return false
}

// TestOperationTypesMatchDescriptors checks, for every implemented method
// that starts an operation, that the operation's metadata and response are
// the messages the method's (yandex.cloud.api.operation) option declares.
func TestOperationTypesMatchDescriptors(t *testing.T) {
	v := newEnv(t, Options{NoMinInterval: true})
	ctx := v.ctx
	var (
		sess          *idp.SynchronizationSession
		user, convert *idp.User
		group, basic  *orgv1.Group
	)
	type call struct {
		method string
		run    func() (*operation.Operation, error)
	}
	calls := []call{
		{idp.SynchronizationService_CreateSynchronizationSettings_FullMethodName, func() (*operation.Operation, error) {
			return v.sync.CreateSynchronizationSettings(ctx, &idp.CreateSynchronizationSettingsRequest{
				SubjectContainerId: testPool, Filter: &idp.SynchronizationFilter{Domain: "corp.example"}})
		}},
		{idp.SynchronizationService_UpdateSynchronizationSettings_FullMethodName, func() (*operation.Operation, error) {
			return v.sync.UpdateSynchronizationSettings(ctx, &idp.UpdateSynchronizationSettingsRequest{
				SubjectContainerId: testPool, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"synchronization_interval"}},
				SynchronizationInterval: durationpb.New(DefaultMinInterval)})
		}},
		{idp.SynchronizationSessionService_OpenSession_FullMethodName, func() (*operation.Operation, error) {
			op, err := v.sessions.OpenSession(ctx, &idp.OpenSessionRequest{SubjectContainerId: testPool, AgentId: "a", SessionType: idp.SessionType_AD_SYNC})
			sess = result(t, op, err, &idp.OpenSessionResponse{}).GetOpenedSession()
			return op, err
		}},
		{idp.SynchronizationSessionService_Heartbeat_FullMethodName, func() (*operation.Operation, error) {
			return v.sessions.Heartbeat(ctx, &idp.HeartbeatRequest{SessionId: sess.SessionId})
		}},
		{idp.SynchronizationSessionService_ReportSessionProgress_FullMethodName, func() (*operation.Operation, error) {
			return v.sessions.ReportSessionProgress(ctx, &idp.ReportSessionProgressRequest{SessionId: sess.SessionId,
				ProgressEntries: []*idp.ProgressEntry{{ObjectType: idp.RelatedObjectType_USER,
					ChangeInfo: []*idp.ChangeInfo{{ChangeType: idp.ChangeType_CREATE, Successful: 1}}}}})
		}},
		{idp.SynchronizationService_SetReplicationToken_FullMethodName, func() (*operation.Operation, error) {
			return v.sync.SetReplicationToken(ctx, &idp.SetReplicationTokenRequest{SubjectContainerId: testPool, ReplicationToken: "t", SessionType: idp.SessionType_AD_SYNC})
		}},
		{idp.SynchronizationService_ResetReplicationToken_FullMethodName, func() (*operation.Operation, error) {
			return v.sync.ResetReplicationToken(ctx, &idp.ResetReplicationTokenRequest{SubjectContainerId: testPool})
		}},
		{idp.SynchronizationSessionService_CloseSession_FullMethodName, func() (*operation.Operation, error) {
			return v.sessions.CloseSession(ctx, &idp.CloseSessionRequest{SessionId: sess.SessionId})
		}},
		{idp.UserService_Create_FullMethodName, func() (*operation.Operation, error) {
			op, err := v.users.Create(ctx, &idp.CreateUserRequest{UserpoolId: testPool, Username: "ivy@" + testDomain, FullName: "ivy", ExternalId: "guid-ivy",
				Credentials: &idp.CreateUserRequest_PasswordSpec{PasswordSpec: &idp.PasswordSpec{Password: "Secret-123456"}}})
			user = result(t, op, err, &idp.User{})
			convert = v.createUser(t, "jon", "")
			return op, err
		}},
		{idp.UserService_Update_FullMethodName, func() (*operation.Operation, error) {
			return v.users.Update(ctx, &idp.UpdateUserRequest{UserId: user.Id, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"full_name"}}, FullName: "Ivy"})
		}},
		{idp.UserService_Suspend_FullMethodName, func() (*operation.Operation, error) {
			return v.users.Suspend(ctx, &idp.SuspendUserRequest{UserId: user.Id})
		}},
		{idp.UserService_Reactivate_FullMethodName, func() (*operation.Operation, error) {
			return v.users.Reactivate(ctx, &idp.ReactivateUserRequest{UserId: user.Id})
		}},
		{idp.UserService_ConvertToExternal_FullMethodName, func() (*operation.Operation, error) {
			return v.users.ConvertToExternal(ctx, &idp.ConvertToExternalUserRequest{UserId: convert.Id, ExternalId: "guid-jon"})
		}},
		{idp.UserService_SetPasswordHash_FullMethodName, func() (*operation.Operation, error) {
			return v.users.SetPasswordHash(ctx, &idp.SetPasswordHashRequest{UserId: user.Id,
				Hash: &idp.PasswordHash{PasswordHash: "0123456789abcdef0123456789abcdef", PasswordHashType: idp.PasswordHash_AD_MD4}})
		}},
		{idp.UserService_SetOthersPassword_FullMethodName, func() (*operation.Operation, error) {
			return v.users.SetOthersPassword(ctx, &idp.SetOthersPasswordRequest{UserId: user.Id, PasswordSpec: &idp.PasswordSpec{Password: "Reset-123456"}})
		}},
		{idp.UserService_SetOwnPassword_FullMethodName, func() (*operation.Operation, error) {
			return v.users.SetOwnPassword(v.asUser(t, user.Id), &idp.SetOwnPasswordRequest{OldPassword: "Reset-123456", PasswordSpec: &idp.PasswordSpec{Password: "Own-123456"}})
		}},
		{idp.UserService_CommitPassword_FullMethodName, func() (*operation.Operation, error) {
			return v.commitOne(t, user)
		}},
		{orgv1.GroupService_CreateExternal_FullMethodName, func() (*operation.Operation, error) {
			op, err := v.groups.CreateExternal(ctx, &orgv1.CreateExternalGroupRequest{OrganizationId: testOrg, Name: "eng", SubjectContainerId: testPool, ExternalId: "gguid-1"})
			group = result(t, op, err, &orgv1.Group{})
			return op, err
		}},
		{orgv1.GroupService_Create_FullMethodName, func() (*operation.Operation, error) {
			op, err := v.groups.Create(ctx, &orgv1.CreateGroupRequest{OrganizationId: testOrg, Name: "sales"})
			basic = result(t, op, err, &orgv1.Group{})
			return op, err
		}},
		{orgv1.GroupService_ConvertToExternal_FullMethodName, func() (*operation.Operation, error) {
			return v.groups.ConvertToExternal(ctx, &orgv1.ConvertToExternalGroupRequest{GroupId: basic.Id, SubjectContainerId: testPool, ExternalId: "gguid-2"})
		}},
		{orgv1.GroupService_Update_FullMethodName, func() (*operation.Operation, error) {
			return v.groups.Update(ctx, &orgv1.UpdateGroupRequest{GroupId: group.Id, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description"}}, Description: "d"})
		}},
		{orgv1.GroupService_UpdateMembers_FullMethodName, func() (*operation.Operation, error) {
			return v.groups.UpdateMembers(ctx, &orgv1.UpdateGroupMembersRequest{GroupId: group.Id, MemberDeltas: delta(orgv1.MemberDelta_ADD, user.Id)})
		}},
		{orgv1.GroupService_Delete_FullMethodName, func() (*operation.Operation, error) {
			return v.groups.Delete(ctx, &orgv1.DeleteGroupRequest{GroupId: group.Id})
		}},
		{idp.UserService_Delete_FullMethodName, func() (*operation.Operation, error) {
			return v.users.Delete(ctx, &idp.DeleteUserRequest{UserId: user.Id})
		}},
		{idp.SynchronizationService_DeleteSynchronizationSettings_FullMethodName, func() (*operation.Operation, error) {
			return v.sync.DeleteSynchronizationSettings(ctx, &idp.DeleteSynchronizationSettingsRequest{SubjectContainerId: testPool})
		}},
	}

	declared := declaredOps(t, v.emu)
	covered := map[string]bool{}
	for _, c := range calls {
		covered[c.method] = true
		dec, ok := declared[c.method]
		if !ok {
			t.Errorf("%s: no operation option in the descriptors", c.method)
			continue
		}
		op, err := c.run()
		if err != nil || op.GetError() != nil || !op.GetDone() {
			t.Errorf("%s: err %v, operation error %v, done %v", c.method, err, op.GetError(), op.GetDone())
			continue
		}
		if got := op.GetMetadata().MessageName(); got != dec.metadata {
			t.Errorf("%s: metadata %q, declared %q", c.method, got, dec.metadata)
		}
		if got := op.GetResponse().MessageName(); got != dec.response {
			t.Errorf("%s: response %q, declared %q", c.method, got, dec.response)
		}
	}
	// Every implemented method that starts an operation is checked above.
	for m := range declared {
		if !covered[m] && implemented(t, v.emu, m) {
			t.Errorf("%s is implemented but its operation types are not checked", m)
		}
	}
	if !covered[idp.SynchronizationSessionService_ReportSessionProgress_FullMethodName] {
		t.Error("the check lost ReportSessionProgress")
	}
}
