package idhub_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	om "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/idhub"
)

func userReq(login, externalID string) *idp.CreateUserRequest {
	return &idp.CreateUserRequest{Username: login + "@" + confDomain, FullName: "User " + login, ExternalId: externalID}
}

func ntHash() *idp.CreateUserRequest_PasswordHash {
	return &idp.CreateUserRequest_PasswordHash{PasswordHash: &idp.PasswordHash{
		PasswordHash: "8846f7eaee8fb117ad06bdd830b7586c", PasswordHashType: idp.PasswordHash_AD_MD4,
	}}
}

func TestConformanceUsers(t *testing.T) {
	v := startConf(t, nil, nil)
	c, ctx := v.c, v.ctx

	alice, err := c.CreateUser(ctx, userReq("alice", "guid-alice")) // generated password
	if err != nil {
		t.Fatal(err)
	}
	if alice.GetExternalId() != "guid-alice" || alice.GetUserpoolId() != confPool || alice.GetStatus() != idp.User_ACTIVE {
		t.Errorf("alice = %v", alice)
	}
	withHash := userReq("bob", "guid-bob")
	withHash.Credentials = ntHash()
	bob, err := c.CreateUser(ctx, withHash)
	if err != nil {
		t.Fatal(err)
	}

	invalid := []struct {
		name string
		req  *idp.CreateUserRequest
	}{
		{"bad username pattern", &idp.CreateUserRequest{Username: "bad name!@" + confDomain, FullName: "X"}},
		{"username without domain", &idp.CreateUserRequest{Username: "nodomain", FullName: "X"}},
		{"missing full_name", &idp.CreateUserRequest{Username: "carol@" + confDomain}},
		{"full_name over 256", &idp.CreateUserRequest{Username: "carol@" + confDomain, FullName: strings.Repeat("f", 257)}},
		{"bad email", &idp.CreateUserRequest{Username: "carol@" + confDomain, FullName: "C", Email: "a"}},
		{"phone over 50", &idp.CreateUserRequest{Username: "carol@" + confDomain, FullName: "C", PhoneNumber: strings.Repeat("1", 51)}},
		{"other pool domain", &idp.CreateUserRequest{Username: "carol@elsewhere.example", FullName: "C"}},
	}
	for _, tt := range invalid {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.CreateUser(ctx, tt.req)
			wantClass(t, "CreateUser", err, idhub.ClassInvalid)
			if err != nil && !strings.HasPrefix(err.Error(), "idhub: CreateUser: ") {
				t.Errorf("error %q lacks the method", err)
			}
		})
	}
	_, err = c.CreateUser(ctx, userReq("alice", "guid-other"))
	wantClass(t, "duplicate username", err, idhub.ClassConflict)

	got, err := c.GetUser(ctx, alice.GetId())
	if err != nil || got.GetUsername() != alice.GetUsername() {
		t.Errorf("get: %v, %v", got, err)
	}
	upd, err := c.UpdateUser(ctx, &idp.UpdateUserRequest{
		UserId: alice.GetId(), FullName: "Alice Renamed", Department: "R&D",
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"full_name", "department"}},
	})
	if err != nil || upd.GetFullName() != "Alice Renamed" || upd.GetDepartment() != "R&D" || upd.GetExternalId() != "guid-alice" {
		t.Errorf("update: %v, %v", upd, err)
	}
	_, err = c.UpdateUser(ctx, &idp.UpdateUserRequest{UserId: alice.GetId(), FullName: "x"})
	if err == nil {
		t.Error("update without a mask accepted")
	}

	if err := c.SuspendUser(ctx, bob.GetId()); err != nil {
		t.Fatal(err)
	}
	if u, _ := c.GetUser(ctx, bob.GetId()); u.GetStatus() != idp.User_SUSPENDED {
		t.Errorf("after suspend: %v", u.GetStatus())
	}
	if err := c.ReactivateUser(ctx, bob.GetId()); err != nil {
		t.Fatal(err)
	}
	if u, _ := c.GetUser(ctx, bob.GetId()); u.GetStatus() != idp.User_ACTIVE {
		t.Errorf("after reactivate: %v", u.GetStatus())
	}
	if err := c.SetPasswordHash(ctx, bob.GetId(), "10fbf8684665febb345ca7794f6dfbfb", true); err != nil {
		t.Fatal(err)
	}
	wantClass(t, "empty hash", c.SetPasswordHash(ctx, bob.GetId(), "", false), idhub.ClassInvalid)

	// A pool user without external id is captured by ConvertToExternal.
	dave, err := c.CreateUser(ctx, userReq("dave", ""))
	if err != nil {
		t.Fatal(err)
	}
	conv, err := c.ConvertUserToExternal(ctx, dave.GetId(), "guid-dave")
	if err != nil || conv.GetExternalId() != "guid-dave" {
		t.Fatalf("convert: %v, %v", conv, err)
	}
	_, err = c.ConvertUserToExternal(ctx, dave.GetId(), "guid-dave-2")
	wantClass(t, "second convert", err, idhub.ClassConflict)

	res, err := c.ResolveExternalIDs(ctx, []string{"guid-alice", "guid-dave", "guid-unknown"})
	if err != nil {
		t.Fatal(err)
	}
	resolved := map[string]string{}
	for _, r := range res {
		resolved[r.GetExternalId()] = r.GetUserId()
	}
	if diff := cmp.Diff(map[string]string{"guid-alice": alice.GetId(), "guid-dave": dave.GetId()}, resolved); diff != "" {
		t.Errorf("resolved (-want +got):\n%s", diff)
	}

	if err := c.DeleteUser(ctx, dave.GetId()); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetUser(ctx, dave.GetId())
	wantClass(t, "deleted user", err, idhub.ClassNotFound)
}

func TestConformancePaging(t *testing.T) {
	v := startConf(t, nil, nil)
	c, ctx := v.c, v.ctx
	const n = 2500
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	ids := make([]string, n)
	for i := range n {
		ids[i] = fmt.Sprintf("guid-%04d", i)
		g.Go(func() error {
			req := userReq(fmt.Sprintf("u%04d", i), ids[i])
			req.Credentials = ntHash()
			_, err := c.CreateUser(gctx, req)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	err := c.ListAllUsers(ctx, func(u *idp.User) error {
		if seen[u.GetId()] {
			return fmt.Errorf("user %s listed twice", u.GetId())
		}
		seen[u.GetId()] = true
		return nil
	})
	if err != nil || len(seen) != n {
		t.Fatalf("listed %d users, err %v", len(seen), err)
	}
	if calls := c.Stats().Calls["UserService/List"]; calls != 3 {
		t.Errorf("list pages = %d, want 3", calls)
	}
	res, err := c.ResolveExternalIDs(ctx, ids)
	if err != nil || len(res) != n {
		t.Fatalf("resolved %d, err %v", len(res), err)
	}
	if calls := c.Stats().Calls["UserService/ResolveExternalIds"]; calls != 3 {
		t.Errorf("resolve calls = %d, want 3", calls)
	}
	// The raw API refuses more than 1000 ids in one call.
	cc, rctx := v.raw(t)
	_, err = idp.NewUserServiceClient(cc).ResolveExternalIds(rctx, &idp.ResolveExternalIdsRequest{UserpoolId: confPool, ExternalIds: ids})
	wantClass(t, "raw resolve of 2500", err, idhub.ClassInvalid)
}

func TestConformanceGroups(t *testing.T) {
	v := startConf(t, nil, nil)
	c, ctx := v.c, v.ctx
	var members []string
	for i := range 30 {
		req := userReq(fmt.Sprintf("m%02d", i), fmt.Sprintf("guid-m%02d", i))
		req.Credentials = ntHash()
		u, err := c.CreateUser(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, u.GetId())
	}

	grp, err := c.CreateExternalGroup(ctx, "Domain-Admins", "admins", "gguid-1")
	if err != nil {
		t.Fatal(err)
	}
	if grp.GetOrganizationId() != confOrg || grp.GetExternalId() != "gguid-1" || grp.GetSubjectContainerId() != confPool {
		t.Errorf("group = %v", grp)
	}
	for _, name := range []string{"Domain Users", "1starts-with-digit", "ends-with-dash-", strings.Repeat("a", 64)} {
		_, err := c.CreateExternalGroup(ctx, name, "", "gguid-"+name)
		wantClass(t, "group name "+name, err, idhub.ClassInvalid)
	}
	_, err = c.CreateExternalGroup(ctx, "other", "", strings.Repeat("x", 1025))
	wantClass(t, "external id over 1024", err, idhub.ClassInvalid)
	_, err = c.CreateExternalGroup(ctx, "Domain-Admins", "", "gguid-2")
	wantClass(t, "duplicate name", err, idhub.ClassConflict)

	if r, err := c.ResolveExternalGroup(ctx, "gguid-1"); err != nil || r.GetId() != grp.GetId() {
		t.Errorf("resolve: %v, %v", r, err)
	}
	_, err = c.ResolveExternalGroup(ctx, "gguid-none")
	wantClass(t, "resolve unknown", err, idhub.ClassNotFound)

	upd, err := c.UpdateGroup(ctx, grp.GetId(), "Admins", "renamed")
	if err != nil || upd.GetName() != "Admins" || upd.GetDescription() != "renamed" {
		t.Errorf("update: %v, %v", upd, err)
	}

	var deltas []*om.MemberDelta
	for _, id := range members {
		deltas = append(deltas, idhub.AddMember(id))
	}
	if n, err := c.UpdateGroupMembers(ctx, grp.GetId(), deltas); err != nil || n != 30 {
		t.Fatalf("add members: %d, %v", n, err)
	}
	if n, err := c.UpdateGroupMembers(ctx, grp.GetId(), []*om.MemberDelta{idhub.RemoveMember(members[0])}); err != nil || n != 1 {
		t.Fatalf("remove member: %d, %v", n, err)
	}
	got := map[string]bool{}
	for m, err := range c.GroupMembers(ctx, grp.GetId()) {
		if err != nil {
			t.Fatal(err)
		}
		got[m.GetSubjectId()] = true
	}
	if len(got) != 29 || got[members[0]] {
		t.Errorf("members: %d, removed one present %v", len(got), got[members[0]])
	}
	_, err = c.UpdateGroupMembers(ctx, grp.GetId(), []*om.MemberDelta{idhub.AddMember("no-such-user")})
	wantClass(t, "unknown member", err, idhub.ClassNotFound)

	var names []string
	for g, err := range c.ExternalGroups(ctx, "") {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, g.GetName())
	}
	if diff := cmp.Diff([]string{"Admins"}, names); diff != "" {
		t.Errorf("external groups (-want +got):\n%s", diff)
	}

	// A basic group (created outside the agent) is captured.
	cc, rctx := v.raw(t)
	op, err := om.NewGroupServiceClient(cc).Create(rctx, &om.CreateGroupRequest{OrganizationId: confOrg, Name: "basic"})
	if err != nil {
		t.Fatal(err)
	}
	basic := &om.Group{}
	if err := c.WaitOperation(ctx, op, basic); err != nil {
		t.Fatal(err)
	}
	var all []string
	for g, err := range c.Groups(ctx, "") {
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, g.GetName())
	}
	slices.Sort(all)
	if diff := cmp.Diff([]string{"Admins", "basic"}, all); diff != "" {
		t.Errorf("organization groups (-want +got):\n%s", diff)
	}
	var byName []string
	for g, err := range c.Groups(ctx, `name="basic"`) {
		if err != nil {
			t.Fatal(err)
		}
		byName = append(byName, g.GetId())
	}
	if diff := cmp.Diff([]string{basic.GetId()}, byName); diff != "" {
		t.Errorf("groups by name (-want +got):\n%s", diff)
	}
	conv, err := c.ConvertGroupToExternal(ctx, basic.GetId(), "gguid-basic")
	if err != nil || conv.GetExternalId() != "gguid-basic" {
		t.Fatalf("convert: %v, %v", conv, err)
	}
	_, err = c.ConvertGroupToExternal(ctx, basic.GetId(), "gguid-again")
	wantClass(t, "second convert", err, idhub.ClassConflict)

	if err := c.DeleteGroup(ctx, grp.GetId()); err != nil {
		t.Fatal(err)
	}
	_, err = c.ResolveExternalGroup(ctx, "gguid-1")
	wantClass(t, "deleted group", err, idhub.ClassNotFound)
}

func TestConformanceQuotas(t *testing.T) {
	v := startConf(t, func(o *emulator.Options) {
		o.Quotas = emulator.Quotas{GroupsPerOrganization: 2, SubjectsPerOrganization: 1}
	}, nil)
	c, ctx := v.c, v.ctx
	for i := range 2 {
		if _, err := c.CreateExternalGroup(ctx, fmt.Sprintf("g%d", i), "", fmt.Sprintf("gg%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.CreateExternalGroup(ctx, "g3", "", "gg3")
	wantClass(t, "third group", err, idhub.ClassQuota)
	if _, err := c.CreateUser(ctx, userReq("one", "x1")); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateUser(ctx, userReq("two", "x2"))
	wantClass(t, "second user", err, idhub.ClassQuota)

	// UpdateMembers is retried on transient errors, never on a quota.
	v2 := startConf(t, func(o *emulator.Options) { o.Quotas = emulator.Quotas{MembersPerGroup: 1} }, nil)
	g, err := v2.c.CreateExternalGroup(ctx, "g", "", "gg")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, login := range []string{"a", "b"} {
		u, err := v2.c.CreateUser(ctx, userReq(login, "x"+login))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.GetId())
	}
	deltas := []*om.MemberDelta{
		{Action: om.MemberDelta_ADD, SubjectId: ids[0]}, {Action: om.MemberDelta_ADD, SubjectId: ids[1]},
	}
	_, err = v2.c.UpdateGroupMembers(ctx, g.GetId(), deltas)
	wantClass(t, "two members over a quota of one", err, idhub.ClassQuota)
	calls := v.emu.Stats().Calls
	for k, n := range v2.emu.Stats().Calls {
		calls[k] += n
	}
	want := map[string]int64{
		om.GroupService_CreateExternal_FullMethodName: 4, idp.UserService_Create_FullMethodName: 4,
		om.GroupService_UpdateMembers_FullMethodName: 1,
	}
	for m, n := range want {
		if calls[m] != n {
			t.Errorf("%s calls = %d, want %d (a quota error is not retried)", m, calls[m], n)
		}
	}
}

func TestConformanceRateLimitIsRetryable(t *testing.T) {
	v := startConf(t, func(o *emulator.Options) { o.RPS = 1 }, func(o *idhub.Options) { o.Retry.MaxAttempts = 1 })
	var last error
	for range 5 {
		if _, err := v.c.GetUserpool(v.ctx); err != nil {
			last = err
		}
	}
	wantClass(t, "rate limited", last, idhub.ClassRetryable)
}

func TestConformanceDelayedOperations(t *testing.T) {
	v := startConf(t, func(o *emulator.Options) { o.OpDelay = 30 * time.Millisecond; o.Now = nil }, nil)
	c, ctx := v.c, v.ctx
	u, err := c.CreateUser(ctx, userReq("slow", "guid-slow"))
	if err != nil || u.GetId() == "" {
		t.Fatalf("create: %v, %v", u, err)
	}
	if err := c.SuspendUser(ctx, u.GetId()); err != nil {
		t.Fatal(err)
	}
	if polls := c.Stats().Calls["OperationService/Get"]; polls < 2 {
		t.Errorf("operation polls = %d, want at least one per delayed operation", polls)
	}
}

func TestConformanceFaults(t *testing.T) {
	t.Run("always failing", func(t *testing.T) {
		v := startConf(t, func(o *emulator.Options) { o.ErrorRate = 1 }, nil)
		_, err := v.c.GetUserpool(v.ctx)
		wantClass(t, "GetUserpool", err, idhub.ClassRetryable)
		if n := v.c.Stats().Calls["UserpoolService/Get"]; n != idhub.DefaultMaxAttempts {
			t.Errorf("attempts = %d, want %d", n, idhub.DefaultMaxAttempts)
		}
	})
	t.Run("30% faults with retries", func(t *testing.T) {
		v := startConf(t, func(o *emulator.Options) { o.ErrorRate = 0.3 }, func(o *idhub.Options) { o.Retry.MaxAttempts = 12 })
		c, ctx := v.c, v.ctx
		for i := range 40 {
			if _, err := c.GetUserpool(ctx); err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
			if err := c.SetReplicationToken(ctx, idp.SessionType_AD_SYNC, fmt.Sprint(i)); err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
		}
		st := c.Stats()
		var failures int64
		for k, n := range st.Errors {
			if !idhub.IsRetryable(statusErr(k.Code)) {
				t.Errorf("non-retryable failure %v: %d", k, n)
			}
			failures += n
		}
		if failures == 0 {
			t.Error("no faults were injected")
		}
		t.Logf("80 calls succeeded after %d injected failures", failures)
	})
}
