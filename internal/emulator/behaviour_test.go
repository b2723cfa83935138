package emulator

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	orgv1 "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestOperationDelay(t *testing.T) {
	v := newEnv(t, Options{OpDelay: 3 * time.Second})
	op, err := v.users.Create(v.ctx, &idp.CreateUserRequest{
		UserpoolId: testPool, Username: "slow@" + testDomain, FullName: "Slow",
		Credentials: &idp.CreateUserRequest_PasswordSpec{PasswordSpec: &idp.PasswordSpec{Password: "Secret-123456"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if op.Done || op.GetResponse() != nil {
		t.Fatalf("operation done at once despite OpDelay: %v", op)
	}
	var meta idp.CreateUserMetadata
	if err := op.Metadata.UnmarshalTo(&meta); err != nil || meta.UserId == "" {
		t.Fatalf("metadata: %v, %v", &meta, err)
	}
	polls := 0
	for !op.Done {
		if polls++; polls > 10 {
			t.Fatal("operation never completed")
		}
		v.clock.Advance(time.Second)
		if op, err = v.ops.Get(v.ctx, &operation.GetOperationRequest{OperationId: op.Id}); err != nil {
			t.Fatal(err)
		}
	}
	if polls != 3 {
		t.Errorf("done after %d polls of one second, want 3", polls)
	}
	if u := result(t, op, nil, &idp.User{}); u.Id != meta.UserId {
		t.Errorf("response user %s, metadata user %s", u.Id, meta.UserId)
	}
	_, err = v.ops.Get(v.ctx, &operation.GetOperationRequest{OperationId: "nosuchoperation"})
	wantCode(t, err, codes.NotFound)
}

func TestFaults(t *testing.T) {
	t.Run("error rate 1", func(t *testing.T) {
		v := newEnv(t, Options{ErrorRate: 1})
		seen := map[codes.Code]bool{}
		for range 60 {
			_, err := v.users.Create(v.ctx, &idp.CreateUserRequest{
				UserpoolId: testPool, Username: "x@" + testDomain, FullName: "X",
				Credentials: &idp.CreateUserRequest_PasswordSpec{PasswordSpec: &idp.PasswordSpec{Password: "Secret-123456"}},
			})
			seen[status.Code(err)] = true
		}
		want := map[codes.Code]bool{codes.Unavailable: true, codes.Internal: true, codes.DeadlineExceeded: true}
		if diff := cmp.Diff(want, seen); diff != "" {
			t.Errorf("codes (-want +got):\n%s", diff)
		}
		if d := v.emu.Dump(); len(d.Users) != 0 || d.Operations != 0 {
			t.Errorf("failed calls changed state: %d users, %d operations", len(d.Users), d.Operations)
		}
		if got := v.emu.Stats().Calls[idp.UserService_Create_FullMethodName]; got != 60 {
			t.Errorf("stats count %d calls, want 60", got)
		}
	})
	t.Run("latency", func(t *testing.T) {
		// The latency outlasts the client's deadline: the call fails and
		// the handler never runs.
		v := newEnv(t, Options{Latency: time.Hour, Jitter: time.Minute})
		ctx, cancel := context.WithTimeout(v.ctx, 50*time.Millisecond)
		defer cancel()
		_, err := v.sync.SetReplicationToken(ctx, &idp.SetReplicationTokenRequest{SubjectContainerId: testPool, ReplicationToken: "t", SessionType: idp.SessionType_AD_SYNC})
		wantCode(t, err, codes.DeadlineExceeded)
		if d := v.emu.Dump(); len(d.ReplicationTokens) != 0 {
			t.Errorf("a call that timed out in the latency changed state: %v", d.ReplicationTokens)
		}
	})
	t.Run("rps", func(t *testing.T) {
		// One request per hour: the burst of one passes, the rest are refused.
		v := newEnv(t, Options{RPS: 1.0 / 3600})
		var codesSeen []codes.Code
		for range 3 {
			_, err := v.pools.Get(v.ctx, &idp.GetUserpoolRequest{UserpoolId: testPool})
			codesSeen = append(codesSeen, status.Code(err))
		}
		want := []codes.Code{codes.OK, codes.ResourceExhausted, codes.ResourceExhausted}
		if diff := cmp.Diff(want, codesSeen); diff != "" {
			t.Errorf("codes (-want +got):\n%s", diff)
		}
		if got := v.emu.Stats().Errors[codes.ResourceExhausted]; got != 2 {
			t.Errorf("stats count %d RESOURCE_EXHAUSTED, want 2", got)
		}
	})
}

func TestPersistenceRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	v := newEnv(t, Options{StatePath: path})
	u := v.createUser(t, "pat", "guid-p")
	if _, err := v.users.SetPasswordHash(v.ctx, &idp.SetPasswordHashRequest{UserId: u.Id, Hash: &idp.PasswordHash{PasswordHash: "abcdef0123456789abcdef0123456789", PasswordHashType: idp.PasswordHash_AD_MD4}}); err != nil {
		t.Fatal(err)
	}
	g, err := v.createGroup(t, "ops", "gguid-ops")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.groups.UpdateMembers(v.ctx, &orgv1.UpdateGroupMembersRequest{GroupId: g.Id, MemberDeltas: delta(orgv1.MemberDelta_ADD, u.Id)}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.sync.SetReplicationToken(v.ctx, &idp.SetReplicationTokenRequest{SubjectContainerId: testPool, ReplicationToken: "tok", SessionType: idp.SessionType_AD_SYNC}); err != nil {
		t.Fatal(err)
	}
	open := v.open(t, idp.SessionType_AD_SYNC)
	v.close(t, open.GetOpenedSession().SessionId, false)
	if err := v.emu.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if raw, _ := os.ReadFile(path); strings.Contains(string(raw), "abcdef0123456789abcdef0123456789") {
		t.Error("the state file holds the password hash itself")
	}
	if fi.Mode().Perm()&0o077 != 0 && os.PathSeparator == '/' {
		t.Errorf("state file mode %v, want 0600", fi.Mode().Perm())
	}
	before := v.emu.Dump()

	again, err := New(Options{UserpoolID: testPool, OrganizationID: testOrg, Domain: testDomain, StatePath: path, Now: v.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, again.Dump()); diff != "" {
		t.Errorf("dump after reload (-before +after):\n%s", diff)
	}
	fromFile, err := LoadDump(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, fromFile); diff != "" {
		t.Errorf("LoadDump (-before +after):\n%s", diff)
	}
	// The reloaded emulator still enforces uniqueness and intervals.
	v2 := newEnv(t, Options{StatePath: path})
	_, err = v2.users.Create(v2.ctx, &idp.CreateUserRequest{
		UserpoolId: testPool, Username: "PAT@" + testDomain, FullName: "dup",
		Credentials: &idp.CreateUserRequest_PasswordSpec{PasswordSpec: &idp.PasswordSpec{Password: "Secret-123456"}},
	})
	wantCode(t, err, codes.AlreadyExists)

	_, err = New(Options{UserpoolID: "poolother00000000001", OrganizationID: testOrg, Domain: testDomain, StatePath: path})
	if err == nil {
		t.Error("loading another pool's state succeeded")
	}
}

func TestParseFilter(t *testing.T) {
	tests := []struct {
		in   string
		want map[string]string
		ok   bool
	}{
		{``, map[string]string{}, true},
		{`name="a"`, map[string]string{"name": "a"}, true},
		{` name = "a b" AND id="x\"y" `, map[string]string{"name": "a b", "id": `x"y`}, true},
		{`name="a" and id="b"`, map[string]string{"name": "a", "id": "b"}, true},
		{`name="a" OR id="b"`, nil, false},
		{`name="a" AND`, nil, false},
		{`name='a'`, nil, false},
		{`colour="red"`, nil, false},
		{`name`, nil, false},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%q", tc.in), func(t *testing.T) {
			got, err := parseFilter(tc.in, "name", "id")
			if (err == nil) != tc.ok {
				t.Fatalf("err %v, want ok=%v", err, tc.ok)
			}
			if diff := cmp.Diff(tc.want, got); tc.ok && diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
