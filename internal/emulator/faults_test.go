package emulator

import (
	"testing"
	"time"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

func TestOpErrorRateFailsOperationsWithoutChange(t *testing.T) {
	v := newEnv(t, Options{OpErrorRate: 1, OpDelay: time.Second})
	op, err := v.users.Create(v.ctx, &idp.CreateUserRequest{
		UserpoolId: testPool, Username: "kim@" + testDomain, FullName: "Kim",
		Credentials: &idp.CreateUserRequest_PasswordSpec{PasswordSpec: &idp.PasswordSpec{Password: "Secret-123456"}},
	})
	if err != nil {
		t.Fatalf("create: the call itself must succeed: %v", err)
	}
	if op.GetDone() {
		t.Fatal("operation done before OpDelay")
	}
	v.clock.Advance(time.Second)
	got, err := v.ops.Get(v.ctx, &operation.GetOperationRequest{OperationId: op.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if !got.GetDone() || got.GetError() == nil || got.GetResponse() != nil {
		t.Fatalf("want a done operation with an error and no response, got %v", got)
	}
	if c := codes.Code(got.GetError().GetCode()); c != codes.Unavailable && c != codes.Internal {
		t.Errorf("operation error code %v, want UNAVAILABLE or INTERNAL", c)
	}
	list, err := v.users.List(v.ctx, &idp.ListUsersRequest{UserpoolId: testPool})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(list.GetUsers()); n != 0 {
		t.Errorf("a failed operation created %d users", n)
	}
	// Invalid requests still fail as calls, before any operation.
	_, err = v.users.Create(v.ctx, &idp.CreateUserRequest{UserpoolId: testPool})
	wantCode(t, err, codes.InvalidArgument)
	// Reads are untouched.
	if _, err := v.sync.GetReplicationToken(v.ctx, &idp.GetReplicationTokenRequest{SubjectContainerId: testPool, SessionType: idp.SessionType_AD_SYNC}); err != nil {
		t.Errorf("read failed under op error rate: %v", err)
	}
}

func TestOpErrorRateOutOfRange(t *testing.T) {
	if _, err := New(Options{UserpoolID: testPool, OrganizationID: testOrg, Domain: testDomain, OpErrorRate: 1.5}); err == nil {
		t.Error("New accepted an operation error rate of 1.5")
	}
}

func TestMaxSessionsForgetsOldestClosedFirst(t *testing.T) {
	v := newEnv(t, Options{MaxSessions: 3})
	held := v.open(t, idp.SessionType_AD_SYNC).GetOpenedSession()
	var closed []string
	for range 4 {
		s := v.open(t, idp.SessionType_AD_PASSWORD_HASH).GetOpenedSession()
		v.close(t, s.SessionId, false)
		closed = append(closed, s.SessionId)
		v.clock.Advance(time.Second)
	}
	// One more open makes six sessions ever; three are kept.
	last := v.open(t, idp.SessionType_AD_USER_CONTROL).GetOpenedSession()
	list, err := v.sessions.ListSessions(v.ctx, &idp.ListSessionsRequest{SubjectContainerId: testPool})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range list.GetSessions() {
		got = append(got, s.SessionId)
	}
	want := []string{held.SessionId, closed[3], last.SessionId}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("kept sessions %v, want %v (the opened one and the newest)", got, want)
	}
	_, err = v.sessions.GetSession(v.ctx, &idp.GetSessionRequest{SessionId: closed[0]})
	wantCode(t, err, codes.NotFound)
}

func TestUserTransitions(t *testing.T) {
	v := newEnv(t, Options{UserTransition: time.Minute})
	u := v.createUser(t, "lee", "guid-lee")
	if u.Status != idp.User_CREATING {
		t.Errorf("created user status %v, want CREATING", u.Status)
	}
	if got := v.getUser(t, u.Id).Status; got != idp.User_CREATING {
		t.Errorf("status right after create %v, want CREATING", got)
	}
	v.clock.Advance(time.Minute)
	if got := v.getUser(t, u.Id).Status; got != idp.User_ACTIVE {
		t.Errorf("status after the transition %v, want ACTIVE", got)
	}

	op, err := v.users.Delete(v.ctx, &idp.DeleteUserRequest{UserId: u.Id})
	if err != nil || op.GetError() != nil {
		t.Fatalf("delete: %v %v", err, op.GetError())
	}
	if got := v.getUser(t, u.Id).Status; got != idp.User_DELETING {
		t.Errorf("status right after delete %v, want DELETING", got)
	}
	_, err = v.users.Update(v.ctx, &idp.UpdateUserRequest{UserId: u.Id,
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"full_name"}}, FullName: "Lee"})
	wantCode(t, err, codes.FailedPrecondition)
	if _, err := v.users.Delete(v.ctx, &idp.DeleteUserRequest{UserId: u.Id}); err != nil {
		t.Errorf("a second delete while DELETING: %v", err)
	}
	v.clock.Advance(time.Minute)
	_, err = v.users.Get(v.ctx, &idp.GetUserRequest{UserId: u.Id})
	wantCode(t, err, codes.NotFound)
	res, err := v.users.ResolveExternalIds(v.ctx, &idp.ResolveExternalIdsRequest{UserpoolId: testPool, ExternalIds: []string{"guid-lee"}})
	if err != nil || len(res.GetResolvedUsers()) != 0 {
		t.Errorf("removed user still resolves: %v %v", res, err)
	}
	if d := v.emu.Dump(); len(d.Users) != 0 {
		t.Errorf("dump still has %d users", len(d.Users))
	}
}

func TestUserTransitionsOffByDefault(t *testing.T) {
	v := newEnv(t, Options{})
	u := v.createUser(t, "max", "")
	if u.Status != idp.User_ACTIVE {
		t.Errorf("created user status %v, want ACTIVE", u.Status)
	}
	if _, err := v.users.Delete(v.ctx, &idp.DeleteUserRequest{UserId: u.Id}); err != nil {
		t.Fatal(err)
	}
	_, err := v.users.Get(v.ctx, &idp.GetUserRequest{UserId: u.Id})
	wantCode(t, err, codes.NotFound)
}
