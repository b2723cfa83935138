package emulator

import (
	"testing"

	orgv1 "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// wantQuota checks that err is RESOURCE_EXHAUSTED with a QuotaFailure
// naming subject.
func wantQuota(t *testing.T, what string, err error, subject string) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != codes.ResourceExhausted {
		t.Fatalf("%s: %v, want RESOURCE_EXHAUSTED", what, err)
	}
	for _, d := range st.Details() {
		if qf, ok := d.(*errdetails.QuotaFailure); ok {
			if v := qf.GetViolations(); len(v) != 1 || v[0].GetSubject() != subject || v[0].GetDescription() == "" {
				t.Errorf("%s: violations %v, want one for %s", what, v, subject)
			}
			return
		}
	}
	t.Errorf("%s: no QuotaFailure detail in %v", what, st.Details())
}

// TestQuotaErrorsCarryQuotaFailure checks every documented quota answers
// with a google.rpc.QuotaFailure detail naming it.
func TestQuotaErrorsCarryQuotaFailure(t *testing.T) {
	v := newEnv(t, Options{Quotas: Quotas{SubjectsPerOrganization: 3, GroupsPerOrganization: 2, MembersPerGroup: 2, GroupsPerUser: 1}})
	g1, err := v.createGroup(t, "g1", "x1")
	if err != nil {
		t.Fatal(err)
	}
	g2, err := v.createGroup(t, "g2", "x2")
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.createGroup(t, "g3", "x3")
	wantQuota(t, "third group", err, quotaGroups)

	a, b, c := v.createUser(t, "a", "").Id, v.createUser(t, "b", "").Id, v.createUser(t, "c", "").Id
	_, err = v.users.Create(v.ctx, &idp.CreateUserRequest{UserpoolId: testPool, Username: "d@" + testDomain, FullName: "D",
		Credentials: &idp.CreateUserRequest_PasswordSpec{PasswordSpec: &idp.PasswordSpec{Password: "Secret-123456"}}})
	wantQuota(t, "fourth user", err, quotaSubjects)

	update := func(g string, d []*orgv1.MemberDelta) error {
		_, err := v.groups.UpdateMembers(v.ctx, &orgv1.UpdateGroupMembersRequest{GroupId: g, MemberDeltas: d})
		return err
	}
	wantQuota(t, "three members", update(g1.Id, delta(orgv1.MemberDelta_ADD, a, b, c)), quotaGroupMembers)
	wantCode(t, update(g1.Id, delta(orgv1.MemberDelta_ADD, a)), codes.OK)
	wantQuota(t, "second group of a user", update(g2.Id, delta(orgv1.MemberDelta_ADD, a)), quotaGroupsPerUser)
}
