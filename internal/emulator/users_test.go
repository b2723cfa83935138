package emulator

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestCreateUserChecks(t *testing.T) {
	v := newEnv(t, Options{Quotas: Quotas{SubjectsPerOrganization: 2}})
	v.createUser(t, "alice", "guid-a")
	pw := &idp.CreateUserRequest_PasswordSpec{PasswordSpec: &idp.PasswordSpec{Password: "Secret-123456"}}
	tests := []struct {
		name string
		req  *idp.CreateUserRequest
		code codes.Code
	}{
		{"no credentials", &idp.CreateUserRequest{Username: "bob@" + testDomain, FullName: "Bob"}, codes.InvalidArgument},
		{"username taken, other case", &idp.CreateUserRequest{Username: "ALICE@" + testDomain, FullName: "A", Credentials: pw}, codes.AlreadyExists},
		{"external id taken", &idp.CreateUserRequest{Username: "bob@" + testDomain, FullName: "B", ExternalId: "guid-a", Credentials: pw}, codes.AlreadyExists},
		{"foreign domain", &idp.CreateUserRequest{Username: "bob@other.example", FullName: "B", Credentials: pw}, codes.InvalidArgument},
		{"forged generation proof", &idp.CreateUserRequest{Username: "bob@" + testDomain, FullName: "B",
			Credentials: &idp.CreateUserRequest_PasswordSpec{PasswordSpec: &idp.PasswordSpec{Password: "Secret-123456", GenerationProof: "00"}}}, codes.InvalidArgument},
		{"unknown pool", &idp.CreateUserRequest{UserpoolId: "poolother00000000001", Username: "bob@" + testDomain, FullName: "B", Credentials: pw}, codes.NotFound},
		{"hash", &idp.CreateUserRequest{Username: "bob@" + testDomain, FullName: "B",
			Credentials: &idp.CreateUserRequest_PasswordHash{PasswordHash: &idp.PasswordHash{PasswordHash: "8846f7eaee8fb117ad06bdd830b7586c", PasswordHashType: idp.PasswordHash_AD_MD4}}}, codes.OK},
		{"quota", &idp.CreateUserRequest{Username: "carol@" + testDomain, FullName: "C", Credentials: pw}, codes.ResourceExhausted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.req.UserpoolId == "" {
				tc.req.UserpoolId = testPool
			}
			_, err := v.users.Create(v.ctx, tc.req)
			wantCode(t, err, tc.code)
		})
	}
	if n := len(v.emu.Dump().Users); n != 2 {
		t.Errorf("%d users after the checks, want 2", n)
	}
}

func TestGeneratedPasswordAndHashNeverReturned(t *testing.T) {
	v := newEnv(t, Options{})
	gen, err := v.users.GeneratePassword(v.ctx, &idp.GeneratePasswordRequest{})
	if err != nil {
		t.Fatal(err)
	}
	op, err := v.users.Create(v.ctx, &idp.CreateUserRequest{
		UserpoolId: testPool, Username: "dave@" + testDomain, FullName: "Dave",
		Credentials: &idp.CreateUserRequest_PasswordSpec{PasswordSpec: gen.PasswordSpec},
	})
	u := result(t, op, err, &idp.User{})
	const hash = "8846f7eaee8fb117ad06bdd830b7586c"
	if _, err := v.users.SetPasswordHash(v.ctx, &idp.SetPasswordHashRequest{
		UserId: u.Id, Hash: &idp.PasswordHash{PasswordHash: hash, PasswordHashType: idp.PasswordHash_AD_MD4}, NeedChange: true,
	}); err != nil {
		t.Fatal(err)
	}
	d := v.emu.Dump()
	if !d.Users[0].NeedChange {
		t.Error("the dump does not show need_change")
	}
	if got, want := d.Users[0].PasswordFingerprint, fingerprint(hash); got != want || len(got) != 8 {
		t.Errorf("fingerprint %q, want %q", got, want)
	}
	for _, s := range []string{fmt.Sprint(d), fmt.Sprint(u)} {
		if strings.Contains(s, hash) || strings.Contains(s, gen.PasswordSpec.Password) {
			t.Errorf("a secret leaked: %s", s)
		}
	}
}

func TestUpdateUserFieldMask(t *testing.T) {
	v := newEnv(t, Options{})
	u := v.createUser(t, "erin", "guid-e")
	v.createUser(t, "frank", "guid-f")
	op, err := v.users.Update(v.ctx, &idp.UpdateUserRequest{
		UserId: u.Id, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"full_name", "email"}},
		FullName: "Erin Example", Email: "erin@corp.example", Department: "ignored: not in the mask",
	})
	got := result(t, op, err, &idp.User{})
	if got.FullName != "Erin Example" || got.Email != "erin@corp.example" || got.Department != "" || got.Username != u.Username {
		t.Errorf("after update: %v", got)
	}
	tests := []struct {
		name  string
		paths []string
		login string
		code  codes.Code
	}{
		{"unknown path", []string{"status"}, "", codes.InvalidArgument},
		{"empty mask", nil, "", codes.InvalidArgument},
		{"rename onto another user", []string{"username"}, "frank@" + testDomain, codes.AlreadyExists},
		{"rename", []string{"username"}, "erin.new@" + testDomain, codes.OK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.users.Update(v.ctx, &idp.UpdateUserRequest{UserId: u.Id, UpdateMask: &fieldmaskpb.FieldMask{Paths: tc.paths}, Username: tc.login})
			wantCode(t, err, tc.code)
		})
	}
	// The old name is free again after the rename.
	v.createUser(t, "erin", "guid-e2")
}

func TestListUsersPagingAndFilters(t *testing.T) {
	v := newEnv(t, Options{})
	want := map[string]bool{}
	for i := range 25 {
		u := v.createUser(t, fmt.Sprintf("user%02d", i), fmt.Sprintf("guid-%02d", i))
		want[u.Id] = true
	}
	got := map[string]bool{}
	token, pages := "", 0
	for {
		resp, err := v.users.List(v.ctx, &idp.ListUsersRequest{UserpoolId: testPool, PageSize: 10, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, u := range resp.Users {
			if got[u.Id] {
				t.Errorf("user %s listed twice", u.Id)
			}
			got[u.Id] = true
		}
		if token = resp.NextPageToken; token == "" {
			break
		}
	}
	if diff := cmp.Diff(want, got); diff != "" || pages != 3 {
		t.Errorf("pages %d, users (-want +got):\n%s", pages, diff)
	}

	// UserService.List documents no filter grammar: every filter is refused.
	for _, filter := range []string{
		`external_id="guid-07"`, `username="user03@corp.example"`, `id="x"`,
		`external_id="guid-07" AND username="user07@corp.example"`, `department="x"`,
	} {
		t.Run(filter, func(t *testing.T) {
			_, err := v.users.List(v.ctx, &idp.ListUsersRequest{UserpoolId: testPool, Filter: filter})
			wantCode(t, err, codes.InvalidArgument)
		})
	}
	_, err := v.users.List(v.ctx, &idp.ListUsersRequest{UserpoolId: testPool, PageToken: "!!"})
	wantCode(t, err, codes.InvalidArgument)
}

func TestUserLifecycle(t *testing.T) {
	v := newEnv(t, Options{})
	u := v.createUser(t, "gina", "")
	op, err := v.users.Suspend(v.ctx, &idp.SuspendUserRequest{UserId: u.Id})
	result(t, op, err, &emptypb.Empty{})
	if got := v.getUser(t, u.Id); got.Status != idp.User_SUSPENDED {
		t.Errorf("after suspend: %v", got.Status)
	}
	op, err = v.users.Reactivate(v.ctx, &idp.ReactivateUserRequest{UserId: u.Id})
	result(t, op, err, &emptypb.Empty{})
	if got := v.getUser(t, u.Id); got.Status != idp.User_ACTIVE {
		t.Errorf("after reactivate: %v", got.Status)
	}
	op, err = v.users.ConvertToExternal(v.ctx, &idp.ConvertToExternalUserRequest{UserId: u.Id, ExternalId: "guid-g"})
	if got := result(t, op, err, &idp.User{}); got.ExternalId != "guid-g" {
		t.Errorf("after convert: %q", got.ExternalId)
	}
	_, err = v.users.ConvertToExternal(v.ctx, &idp.ConvertToExternalUserRequest{UserId: u.Id, ExternalId: "guid-other"})
	wantCode(t, err, codes.FailedPrecondition)

	inactive, err := v.users.Create(v.ctx, &idp.CreateUserRequest{
		UserpoolId: testPool, Username: "hank@" + testDomain, FullName: "Hank", IsActive: wrapperspb.Bool(false),
		Credentials: &idp.CreateUserRequest_PasswordSpec{PasswordSpec: &idp.PasswordSpec{Password: "Secret-123456"}},
	})
	if got := result(t, inactive, err, &idp.User{}); got.Status != idp.User_SUSPENDED {
		t.Errorf("created inactive: %v", got.Status)
	}

	res, err := v.users.ResolveExternalIds(v.ctx, &idp.ResolveExternalIdsRequest{UserpoolId: testPool, ExternalIds: []string{"guid-g", "guid-unknown"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.ResolvedUsers) != 1 || res.ResolvedUsers[0].UserId != u.Id || res.ResolvedUsers[0].PasswordCreatedAt == nil {
		t.Errorf("resolved: %v", res.ResolvedUsers)
	}

	if _, err := v.users.Delete(v.ctx, &idp.DeleteUserRequest{UserId: u.Id}); err != nil {
		t.Fatal(err)
	}
	_, err = v.users.Get(v.ctx, &idp.GetUserRequest{UserId: u.Id})
	wantCode(t, err, codes.NotFound)
	_, err = v.users.Delete(v.ctx, &idp.DeleteUserRequest{UserId: u.Id})
	wantCode(t, err, codes.NotFound)

	pool, err := v.pools.Get(v.ctx, &idp.GetUserpoolRequest{UserpoolId: testPool})
	if err != nil {
		t.Fatal(err)
	}
	if pool.OrganizationId != testOrg || !sort.StringsAreSorted(pool.Domains) || pool.Domains[0] != testDomain {
		t.Errorf("user pool: %v", pool)
	}
}
