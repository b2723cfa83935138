package idhub

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	om "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestUpdateGroupMembersChunks(t *testing.T) {
	f := &fakeAPI{ops: newFakeOps()}
	var mu sync.Mutex
	var sizes []int
	var seen []string
	f.updateMembers = func(r *om.UpdateGroupMembersRequest) (*operation.Operation, error) {
		mu.Lock()
		defer mu.Unlock()
		sizes = append(sizes, len(r.GetMemberDeltas()))
		for _, d := range r.GetMemberDeltas() {
			seen = append(seen, d.GetSubjectId())
		}
		return f.ops.add(t, nil, nil, 0), nil
	}
	c := newFakeClient(t, f, nil)
	var deltas []*om.MemberDelta
	var want []string
	for i := range 2500 {
		id := "u" + strconv.Itoa(i)
		want = append(want, id)
		if i%2 == 0 {
			deltas = append(deltas, AddMember(id))
		} else {
			deltas = append(deltas, RemoveMember(id))
		}
	}
	n, err := c.UpdateGroupMembers(context.Background(), "g1", deltas)
	if err != nil || n != 2500 {
		t.Fatalf("applied %d, err %v", n, err)
	}
	if diff := cmp.Diff([]int{1000, 1000, 500}, sizes); diff != "" {
		t.Errorf("chunk sizes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

func TestUpdateGroupMembersPartialFailure(t *testing.T) {
	f := &fakeAPI{ops: newFakeOps()}
	calls := 0
	f.updateMembers = func(r *om.UpdateGroupMembersRequest) (*operation.Operation, error) {
		calls++
		if calls == 2 {
			return f.ops.add(t, nil, status.Error(codes.ResourceExhausted, "quota members per group exceeded"), 0), nil
		}
		return f.ops.add(t, nil, nil, 0), nil
	}
	c := newFakeClient(t, f, nil)
	deltas := make([]*om.MemberDelta, 1500)
	for i := range deltas {
		deltas[i] = AddMember(fmt.Sprint(i))
	}
	n, err := c.UpdateGroupMembers(context.Background(), "g1", deltas)
	if n != 1000 || !IsQuota(err) {
		t.Fatalf("applied %d, err %v (class %v); want 1000 and quota", n, err, Classify(err))
	}
	if !strings.HasPrefix(err.Error(), "idhub: UpdateGroupMembers: ") {
		t.Errorf("error %q lacks the method prefix", err)
	}
	if calls != 2 {
		t.Errorf("calls = %d, want 2 (quota is not retried)", calls)
	}
}

func TestResolveExternalIDsChunks(t *testing.T) {
	f := &fakeAPI{ops: newFakeOps()}
	var sizes []int
	f.resolveIDs = func(r *idp.ResolveExternalIdsRequest) (*idp.ResolveExternalIdsResponse, error) {
		sizes = append(sizes, len(r.GetExternalIds()))
		resp := &idp.ResolveExternalIdsResponse{}
		for _, id := range r.GetExternalIds() {
			if strings.HasSuffix(id, "0") { // every tenth id is known
				resp.ResolvedUsers = append(resp.ResolvedUsers, &idp.ResolvedUser{ExternalId: id, UserId: "user-" + id})
			}
		}
		return resp, nil
	}
	c := newFakeClient(t, f, nil)
	ids := make([]string, 2500)
	for i := range ids {
		ids[i] = strconv.Itoa(i)
	}
	got, err := c.ResolveExternalIDs(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{1000, 1000, 500}, sizes); diff != "" {
		t.Errorf("chunk sizes (-want +got):\n%s", diff)
	}
	if len(got) != 250 {
		t.Errorf("resolved %d, want 250", len(got))
	}
	sizes = nil
	if got, err := c.ResolveExternalIDs(context.Background(), nil); err != nil || len(got) != 0 || len(sizes) != 0 {
		t.Errorf("empty input: %d users, err %v, %d calls", len(got), err, len(sizes))
	}
}

func TestUsersPaging(t *testing.T) {
	f := &fakeAPI{ops: newFakeOps()}
	const total = 2345
	var pageSizes []int64
	f.listUsers = func(r *idp.ListUsersRequest) (*idp.ListUsersResponse, error) {
		pageSizes = append(pageSizes, r.GetPageSize())
		start := 0
		if r.GetPageToken() != "" {
			start, _ = strconv.Atoi(r.GetPageToken())
		}
		end := min(start+int(r.GetPageSize()), total)
		resp := &idp.ListUsersResponse{}
		for i := start; i < end; i++ {
			resp.Users = append(resp.Users, &idp.User{Id: strconv.Itoa(i)})
		}
		if end < total {
			resp.NextPageToken = strconv.Itoa(end)
		}
		return resp, nil
	}
	c := newFakeClient(t, f, nil)
	n := 0
	err := c.ListAllUsers(context.Background(), func(u *idp.User) error {
		if u.GetId() != strconv.Itoa(n) {
			return fmt.Errorf("user %d has id %s", n, u.GetId())
		}
		n++
		return nil
	})
	if err != nil || n != total {
		t.Fatalf("listed %d, err %v", n, err)
	}
	if diff := cmp.Diff([]int64{1000, 1000, 1000}, pageSizes); diff != "" {
		t.Errorf("page sizes (-want +got):\n%s", diff)
	}
	// Stopping early fetches no further page.
	pageSizes = nil
	for range c.Users(context.Background(), "") {
		break
	}
	if len(pageSizes) != 1 {
		t.Errorf("pages fetched after break = %d, want 1", len(pageSizes))
	}
}

func TestPagingRepeatedToken(t *testing.T) {
	f := &fakeAPI{ops: newFakeOps()}
	f.listUsers = func(r *idp.ListUsersRequest) (*idp.ListUsersResponse, error) {
		return &idp.ListUsersResponse{Users: []*idp.User{{Id: "x"}}, NextPageToken: "same"}, nil
	}
	c := newFakeClient(t, f, nil)
	_, err := collect(c.Users(context.Background(), ""))
	if err == nil || !strings.Contains(err.Error(), "repeated page token") {
		t.Fatalf("err = %v", err)
	}
}

func TestTruncateReason(t *testing.T) {
	tests := []struct {
		name, in string
		wantLen  int
		wantEnd  string
	}{
		{"short", "ldap bind failed", 16, "failed"},
		{"exactly 256", strings.Repeat("a", 256), 256, "a"},
		{"ascii long", strings.Repeat("a", 300), 256, "…"},
		{"cyrillic long", strings.Repeat("ошибка ", 50), 0, "…"},
		{"invalid utf8", "bad \xff byte", 0, "byte"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := TruncateReason(tt.in)
			if len(got) > MaxFailReason || !utf8.ValidString(got) {
				t.Fatalf("len %d, valid %v", len(got), utf8.ValidString(got))
			}
			if tt.wantLen != 0 && len(got) != tt.wantLen {
				t.Errorf("len = %d, want %d", len(got), tt.wantLen)
			}
			if !strings.HasSuffix(got, tt.wantEnd) {
				t.Errorf("%q does not end with %q", got, tt.wantEnd)
			}
		})
	}
}

func TestCloseSessionTruncates(t *testing.T) {
	f := &fakeAPI{ops: newFakeOps()}
	var got string
	f.closeSession = func(r *idp.CloseSessionRequest) (*operation.Operation, error) {
		got = r.GetFailReason()
		if utf8.RuneCountInString(got) > 256 {
			return nil, status.Error(codes.InvalidArgument, "fail_reason too long")
		}
		return f.ops.add(t, &idp.SynchronizationSession{SessionId: r.GetSessionId(), Status: idp.SessionStatus_FAILED, FailReason: got}, nil, 0), nil
	}
	c := newFakeClient(t, f, nil)
	s, err := c.CloseSession(context.Background(), "s1", true, strings.Repeat("я", 1000))
	if err != nil {
		t.Fatal(err)
	}
	if s.GetStatus() != idp.SessionStatus_FAILED || len(got) > 256 || !strings.HasPrefix(got, "яя") {
		t.Errorf("session %v, sent reason of %d bytes", s, len(got))
	}
}

func TestCreateUserGeneratesPassword(t *testing.T) {
	f := &fakeAPI{ops: newFakeOps()}
	var sent *idp.CreateUserRequest
	f.genPassword = func() (*idp.GeneratePasswordResponse, error) {
		return &idp.GeneratePasswordResponse{PasswordSpec: &idp.PasswordSpec{Password: "Gen3rated!", GenerationProof: "proof"}}, nil
	}
	f.createUser = func(r *idp.CreateUserRequest) (*operation.Operation, error) {
		sent = r
		return f.ops.add(t, &idp.User{Id: "u1", Username: r.GetUsername()}, nil, 0), nil
	}
	c := newFakeClient(t, f, nil)
	req := &idp.CreateUserRequest{Username: "alice@example.com", FullName: "Alice"}
	u, err := c.CreateUser(context.Background(), req)
	if err != nil || u.GetId() != "u1" {
		t.Fatalf("user %v, err %v", u, err)
	}
	if sent.GetPasswordSpec().GetGenerationProof() != "proof" || sent.GetUserpoolId() != "pool1" {
		t.Errorf("sent %v", sent)
	}
	if req.GetCredentials() != nil || req.GetUserpoolId() != "" {
		t.Error("caller's request was modified")
	}
	// With a hash, no password is generated.
	f.genPassword = func() (*idp.GeneratePasswordResponse, error) {
		return nil, status.Error(codes.Internal, "must not be called")
	}
	req.Credentials = &idp.CreateUserRequest_PasswordHash{PasswordHash: &idp.PasswordHash{PasswordHash: "8846f7eaee8fb117ad06bdd830b7586c", PasswordHashType: idp.PasswordHash_AD_MD4}}
	if _, err := c.CreateUser(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if sent.GetPasswordHash().GetPasswordHash() == "" {
		t.Error("hash not sent")
	}
}
