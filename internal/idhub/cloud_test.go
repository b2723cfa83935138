package idhub

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/idsync/idsync/internal/pool"
)

// Cloud.CreateUser sends the fields, status, expiry and password hash of a
// new user, and hands back the created user in the pool model.
func TestCloudCreateUserRequest(t *testing.T) {
	f := &fakeAPI{ops: newFakeOps()}
	var sent *idp.CreateUserRequest
	f.createUser = func(r *idp.CreateUserRequest) (*operation.Operation, error) {
		sent = r
		return f.ops.add(t, &idp.User{Id: "u1", ExternalId: r.GetExternalId(), Username: r.GetUsername(),
			Status: idp.User_ACTIVE, ExpiresAt: r.GetExpiresAt()}, nil, 0), nil
	}
	c := NewCloud(newFakeClient(t, f, nil))
	exp := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	u, err := c.CreateUser(context.Background(), pool.NewUser{ExternalID: "ext-1", Active: true, MustChangePassword: true,
		Fields:       pool.UserFields{Username: "alice@example.com", FullName: "Alice", EmployeeID: "7", ExpiresAt: exp},
		PasswordHash: &pool.PasswordHash{Hex: "8846f7eaee8fb117ad06bdd830b7586c", Type: pool.HashADMD4}})
	if err != nil {
		t.Fatal(err)
	}
	want := &idp.CreateUserRequest{UserpoolId: "pool1", ExternalId: "ext-1", Username: "alice@example.com", FullName: "Alice",
		EmployeeId: "7", IsActive: wrapperspb.Bool(true), PasswordChangeRequired: true, ExpiresAt: timestamppb.New(exp),
		Credentials: &idp.CreateUserRequest_PasswordHash{PasswordHash: &idp.PasswordHash{
			PasswordHash: "8846f7eaee8fb117ad06bdd830b7586c", PasswordHashType: idp.PasswordHash_AD_MD4}}}
	if !proto.Equal(sent, want) {
		t.Errorf("sent %v\nwant %v", sent, want)
	}
	if u.ID != "u1" || u.ExternalID != "ext-1" || !u.Active || u.Fields.Username != "alice@example.com" || !u.Fields.ExpiresAt.Equal(exp) {
		t.Errorf("created user %+v", u)
	}
}

// Every failure Cloud returns carries the class idhub gives the gRPC
// status, keeps its message and still unwraps to the status.
func TestCloudClassifiesFailures(t *testing.T) {
	f := &fakeAPI{ops: newFakeOps()}
	f.createUser = func(*idp.CreateUserRequest) (*operation.Operation, error) {
		return nil, status.Error(codes.AlreadyExists, "user exists")
	}
	c := NewCloud(newFakeClient(t, f, nil))
	_, err := c.CreateUser(context.Background(), pool.NewUser{ExternalID: "ext-1", Fields: pool.UserFields{Username: "a@example.com"},
		PasswordHash: &pool.PasswordHash{Hex: "00", Type: pool.HashADMD4}})
	if !pool.IsConflict(err) || Code(err) != codes.AlreadyExists {
		t.Errorf("err = %v (class %v), want a conflict that unwraps to ALREADY_EXISTS", err, pool.Classify(err))
	}
	for code, class := range map[codes.Code]pool.Class{codes.NotFound: pool.ClassNotFound, codes.Unavailable: pool.ClassRetryable,
		codes.PermissionDenied: pool.ClassPermission, codes.InvalidArgument: pool.ClassInvalid} {
		err := Classified(status.Error(code, "x"))
		if pool.Classify(err) != class || err.Error() != status.Error(code, "x").Error() {
			t.Errorf("%v: class %v, message %q", code, pool.Classify(err), err)
		}
	}
	if Classified(nil) != nil {
		t.Error("nil error classified as a failure")
	}
	if !errors.Is(Classified(context.Canceled), context.Canceled) || pool.Classify(Classified(context.Canceled)) != pool.ClassCanceled {
		t.Error("a cancelled call is not ClassCanceled")
	}
}

// Settings survive the conversion both ways, field for field.
func TestSettingsConversionRoundTrip(t *testing.T) {
	api := &idp.SynchronizationSettings{
		Filter:            &idp.SynchronizationFilter{Domain: "corp.test", OrganizationUnits: []string{"OU=A", "OU=B"}, Groups: []string{"CN=G"}},
		ReplacementDomain: "pool.example", RemoveUserBehavior: idp.RemoveUserBehavior_BLOCK,
		SynchronizationInterval: durationpb.New(2 * time.Hour), AllowToCaptureUsers: true, AllowToCaptureGroups: true,
		UserAttributeMappings: []*idp.UserAttributeMapping{
			{Source: "cn", Target: idp.UserTargetAttribute_FULL_NAME, Type: idp.MappingType_DIRECT_ARBITRARY_ATTRIBUTE},
			{Target: idp.UserTargetAttribute_PHONE_NUMBER, Type: idp.MappingType_EMPTY},
		},
		GroupAttributeMappings:  []*idp.GroupAttributeMapping{{Source: "info", Target: idp.GroupTargetAttribute_DESCRIPTION, Type: idp.MappingType_DIRECT}},
		EnablePasswordWriteback: true,
	}
	p := PoolSettings(api)
	if p.RemoveUserBehavior != pool.BlockUser || p.SynchronizationInterval != 2*time.Hour ||
		p.UserAttributeMappings[0] != (pool.AttributeMapping{Source: "cn", Target: "FULL_NAME", Type: pool.MappingDirectArbitraryAttribute}) {
		t.Errorf("converted %+v", p)
	}
	if back := APISettings(p); !proto.Equal(back, api) {
		t.Errorf("round trip\n got %v\nwant %v", back, api)
	}
	if PoolSettings(nil) != nil || APISettings(nil) != nil {
		t.Error("no settings converted to some")
	}
}

// Progress entries and session types reach the API as the API names them.
func TestProgressAndSessionTypeConversion(t *testing.T) {
	got := APIProgress([]pool.ProgressEntry{{ObjectType: pool.ObjectMembership, Changes: []pool.ChangeInfo{
		{Type: pool.ChangeCreate, Successful: 3, Failed: 1}, {Type: pool.ChangePasswordHashUpdate, Successful: 2}}}})
	want := []*idp.ProgressEntry{{ObjectType: idp.RelatedObjectType_MEMBERSHIP, ChangeInfo: []*idp.ChangeInfo{
		{ChangeType: idp.ChangeType_CREATE, Successful: 3, Failed: 1}, {ChangeType: idp.ChangeType_PASSWORD_HASH_UPDATE, Successful: 2}}}}
	if len(got) != 1 || !proto.Equal(got[0], want[0]) {
		t.Errorf("progress %v, want %v", got, want)
	}
	for p, api := range map[pool.SessionType]idp.SessionType{pool.SessionADSync: idp.SessionType_AD_SYNC,
		pool.SessionADPasswordHash: idp.SessionType_AD_PASSWORD_HASH, pool.SessionADUserControl: idp.SessionType_AD_USER_CONTROL} {
		if APISessionType(p) != api {
			t.Errorf("session type %s -> %v", p, APISessionType(p))
		}
	}
}
