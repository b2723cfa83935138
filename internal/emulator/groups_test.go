package emulator

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	orgv1 "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

func (v *env) createGroup(t testing.TB, name, externalID string) (*orgv1.Group, error) {
	t.Helper()
	op, err := v.groups.CreateExternal(v.ctx, &orgv1.CreateExternalGroupRequest{
		OrganizationId: testOrg, Name: name, SubjectContainerId: testPool, ExternalId: externalID,
	})
	if err != nil {
		return nil, err
	}
	return result(t, op, err, &orgv1.Group{}), nil
}

func (v *env) members(t testing.TB, groupID string) []string {
	t.Helper()
	var ids []string
	token := ""
	for {
		resp, err := v.groups.ListMembers(v.ctx, &orgv1.ListGroupMembersRequest{GroupId: groupID, PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range resp.Members {
			ids = append(ids, m.SubjectId)
		}
		if token = resp.NextPageToken; token == "" {
			return ids
		}
	}
}

func delta(action orgv1.MemberDelta_MemberAction, ids ...string) []*orgv1.MemberDelta {
	var out []*orgv1.MemberDelta
	for _, id := range ids {
		out = append(out, &orgv1.MemberDelta{Action: action, SubjectId: id})
	}
	return out
}

func TestExternalGroups(t *testing.T) {
	v := newEnv(t, Options{})
	g, err := v.createGroup(t, "engineering", "gguid-1")
	if err != nil {
		t.Fatal(err)
	}
	if g.SubjectContainerId != testPool || g.OrganizationId != testOrg || g.ExternalId != "gguid-1" {
		t.Errorf("created group: %v", g)
	}
	_, err = v.createGroup(t, "engineering", "gguid-2")
	wantCode(t, err, codes.AlreadyExists)
	_, err = v.createGroup(t, "eng-two", "gguid-1")
	wantCode(t, err, codes.AlreadyExists)

	got, err := v.groups.ResolveExternal(v.ctx, &orgv1.ResolveExternalGroupRequest{SubjectContainerId: testPool, ExternalId: "gguid-1"})
	if err != nil || got.Id != g.Id {
		t.Fatalf("resolve: %v, %v", got, err)
	}
	_, err = v.groups.ResolveExternal(v.ctx, &orgv1.ResolveExternalGroupRequest{SubjectContainerId: testPool, ExternalId: "gguid-9"})
	wantCode(t, err, codes.NotFound)

	// A basic group is listed by List but not by ListExternal until converted.
	op, err := v.groups.Create(v.ctx, &orgv1.CreateGroupRequest{OrganizationId: testOrg, Name: "sales"})
	basic := result(t, op, err, &orgv1.Group{})
	ext, err := v.groups.ListExternal(v.ctx, &orgv1.ListExternalGroupsRequest{SubjectContainerId: testPool})
	if err != nil || len(ext.Groups) != 1 {
		t.Fatalf("external groups: %v, %v", ext.GetGroups(), err)
	}
	op, err = v.groups.ConvertToExternal(v.ctx, &orgv1.ConvertToExternalGroupRequest{GroupId: basic.Id, SubjectContainerId: testPool, ExternalId: "gguid-3"})
	if c := result(t, op, err, &orgv1.Group{}); c.ExternalId != "gguid-3" {
		t.Errorf("converted: %v", c)
	}
	_, err = v.groups.ConvertToExternal(v.ctx, &orgv1.ConvertToExternalGroupRequest{GroupId: basic.Id, SubjectContainerId: testPool, ExternalId: "gguid-4"})
	wantCode(t, err, codes.FailedPrecondition)
	list, err := v.groups.List(v.ctx, &orgv1.ListGroupsRequest{OrganizationId: testOrg, Filter: `name="sales"`})
	if err != nil || len(list.Groups) != 1 || list.Groups[0].Id != basic.Id {
		t.Fatalf("list by name: %v, %v", list.GetGroups(), err)
	}

	op, err = v.groups.Update(v.ctx, &orgv1.UpdateGroupRequest{GroupId: g.Id, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description"}}, Name: "ignored", Description: "Engineers"})
	if u := result(t, op, err, &orgv1.Group{}); u.Name != "engineering" || u.Description != "Engineers" {
		t.Errorf("updated: %v", u)
	}
	_, err = v.groups.Update(v.ctx, &orgv1.UpdateGroupRequest{GroupId: g.Id, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}}, Name: "sales"})
	wantCode(t, err, codes.AlreadyExists)
}

func TestUpdateMembers(t *testing.T) {
	v := newEnv(t, Options{})
	g, err := v.createGroup(t, "devs", "gguid-1")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 5 {
		ids = append(ids, v.createUser(t, fmt.Sprintf("m%d", i), "").Id)
	}
	update := func(d []*orgv1.MemberDelta) error {
		_, err := v.groups.UpdateMembers(v.ctx, &orgv1.UpdateGroupMembersRequest{GroupId: g.Id, MemberDeltas: d})
		return err
	}
	if err := update(delta(orgv1.MemberDelta_ADD, ids...)); err != nil {
		t.Fatal(err)
	}
	// Adding again and removing a non-member are no-ops.
	if err := update(append(delta(orgv1.MemberDelta_ADD, ids[0]), delta(orgv1.MemberDelta_REMOVE, ids[1])...)); err != nil {
		t.Fatal(err)
	}
	if err := update(delta(orgv1.MemberDelta_REMOVE, ids[1])); err != nil {
		t.Fatal(err)
	}
	want := append([]string{ids[0]}, ids[2:]...)
	if diff := cmp.Diff(sortedCopy(want), v.members(t, g.Id)); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
	// An unknown subject fails the whole call.
	wantCode(t, update(append(delta(orgv1.MemberDelta_ADD, ids[1]), delta(orgv1.MemberDelta_ADD, "nosuchuser")...)), codes.NotFound)
	if n := len(v.members(t, g.Id)); n != 4 {
		t.Errorf("%d members after a failed call, want 4", n)
	}
	// Deleting a user removes its memberships.
	if _, err := v.users.Delete(v.ctx, &idp.DeleteUserRequest{UserId: ids[0]}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sortedCopy(ids[2:]), v.members(t, g.Id)); diff != "" {
		t.Errorf("members after user delete (-want +got):\n%s", diff)
	}
	if _, err := v.groups.Delete(v.ctx, &orgv1.DeleteGroupRequest{GroupId: g.Id}); err != nil {
		t.Fatal(err)
	}
	if d := v.emu.Dump(); len(d.Users[0].Groups) != 0 {
		t.Errorf("user still in a deleted group: %v", d.Users[0])
	}
}

func TestUpdateMembersStrict(t *testing.T) {
	v := newEnv(t, Options{StrictMembers: true})
	g, err := v.createGroup(t, "devs", "gguid-1")
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := v.createUser(t, "a", "").Id, v.createUser(t, "b", "").Id, v.createUser(t, "c", "").Id
	update := func(d []*orgv1.MemberDelta) error {
		_, err := v.groups.UpdateMembers(v.ctx, &orgv1.UpdateGroupMembersRequest{GroupId: g.Id, MemberDeltas: d})
		return err
	}
	wantCode(t, update(delta(orgv1.MemberDelta_ADD, a, b)), codes.OK)
	// A present member added again, or an absent one removed, fails the
	// whole call: c is not added, a not removed.
	wantCode(t, update(append(delta(orgv1.MemberDelta_ADD, c), delta(orgv1.MemberDelta_ADD, a)...)), codes.AlreadyExists)
	wantCode(t, update(append(delta(orgv1.MemberDelta_REMOVE, a), delta(orgv1.MemberDelta_REMOVE, c)...)), codes.NotFound)
	if diff := cmp.Diff(sortedCopy([]string{a, b}), v.members(t, g.Id)); diff != "" {
		t.Errorf("members after refused calls (-want +got):\n%s", diff)
	}
	wantCode(t, update(append(delta(orgv1.MemberDelta_REMOVE, a), delta(orgv1.MemberDelta_ADD, c)...)), codes.OK)
	if diff := cmp.Diff(sortedCopy([]string{b, c}), v.members(t, g.Id)); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
}

func TestGroupQuotas(t *testing.T) {
	v := newEnv(t, Options{Quotas: Quotas{GroupsPerOrganization: 2, MembersPerGroup: 2, GroupsPerUser: 1}})
	g1, err := v.createGroup(t, "g1", "x1")
	if err != nil {
		t.Fatal(err)
	}
	g2, err := v.createGroup(t, "g2", "x2")
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.createGroup(t, "g3", "x3")
	wantCode(t, err, codes.ResourceExhausted)

	a, b, c := v.createUser(t, "a", "").Id, v.createUser(t, "b", "").Id, v.createUser(t, "c", "").Id
	update := func(g string, d []*orgv1.MemberDelta) error {
		_, err := v.groups.UpdateMembers(v.ctx, &orgv1.UpdateGroupMembersRequest{GroupId: g, MemberDeltas: d})
		return err
	}
	wantCode(t, update(g1.Id, delta(orgv1.MemberDelta_ADD, a, b, c)), codes.ResourceExhausted)
	wantCode(t, update(g1.Id, delta(orgv1.MemberDelta_ADD, a, b)), codes.OK)
	wantCode(t, update(g2.Id, delta(orgv1.MemberDelta_ADD, a)), codes.ResourceExhausted) // a is in one group already
	wantCode(t, update(g2.Id, delta(orgv1.MemberDelta_ADD, c)), codes.OK)
	// Swapping members within the limit is fine.
	wantCode(t, update(g1.Id, append(delta(orgv1.MemberDelta_REMOVE, a), delta(orgv1.MemberDelta_ADD, a)...)), codes.OK)
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	slices.Sort(out)
	return out
}

// TestGroupListFilters: GroupService.List filters on name only and
// ListExternal on name or id, one condition each, with a value of 3-63
// characters matching [a-z][-a-z0-9]{1,61}[a-z0-9]; everything else is
// refused.
func TestGroupListFilters(t *testing.T) {
	v := newEnv(t, Options{})
	sales, err := v.createGroup(t, "Sales", "gguid-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.createGroup(t, "ops", "gguid-2"); err != nil {
		t.Fatal(err)
	}
	list := func(filter string) ([]string, error) {
		resp, err := v.groups.List(v.ctx, &orgv1.ListGroupsRequest{OrganizationId: testOrg, Filter: filter})
		var names []string
		for _, g := range resp.GetGroups() {
			names = append(names, g.Name)
		}
		return names, err
	}
	listExt := func(filter string) ([]string, error) {
		resp, err := v.groups.ListExternal(v.ctx, &orgv1.ListExternalGroupsRequest{SubjectContainerId: testPool, Filter: filter})
		var names []string
		for _, g := range resp.GetGroups() {
			names = append(names, g.Name)
		}
		return names, err
	}
	ok := []struct {
		list   func(string) ([]string, error)
		filter string
		want   []string
	}{
		{list, ``, []string{"Sales", "ops"}},
		{list, `name="sales"`, []string{"Sales"}}, // names compare case-insensitively
		{list, ` name = "ops" `, []string{"ops"}},
		{list, `name="nope"`, nil},
		{listExt, `name="ops"`, []string{"ops"}},
		{listExt, fmt.Sprintf("id=%q", sales.Id), []string{"Sales"}},
	}
	for _, tc := range ok {
		got, err := tc.list(tc.filter)
		if err != nil {
			t.Errorf("filter %s: %v", tc.filter, err)
			continue
		}
		slices.Sort(got)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("filter %s (-want +got):\n%s", tc.filter, diff)
		}
	}
	refused := []struct {
		list   func(string) ([]string, error)
		filter string
	}{
		{list, `name="Sales"`},          // upper case
		{list, `name="ab"`},             // too short
		{list, `name="a.b"`},            // '.'
		{list, `name="a_b"`},            // '_'
		{list, `name="ops-"`},           // must end in a letter or digit
		{list, `name='ops'`},            // single quotes
		{list, `name!="ops"`},           // another operator
		{list, `id="` + sales.Id + `"`}, // List filters on name only
		{list, `external_id="gguid-1"`},
		{list, `name="ops" AND name="ops"`},
		{list, `name IN ("ops")`},
		{listExt, `external_id="gguid-1"`},
		{listExt, `name="ops" AND id="` + sales.Id + `"`},
		{listExt, `name="OPS"`},
	}
	for _, tc := range refused {
		_, err := tc.list(tc.filter)
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("filter %s: %v, want InvalidArgument", tc.filter, err)
		}
	}
}

// TestGroupNamesCaseInsensitive: group names are unique case-insensitively
// in the organization; a group may change the case of its own name.
func TestGroupNamesCaseInsensitive(t *testing.T) {
	v := newEnv(t, Options{})
	g, err := v.createGroup(t, "Sales", "gguid-1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.createGroup(t, "SALES", "gguid-2")
	wantCode(t, err, codes.AlreadyExists)
	_, err = v.groups.Create(v.ctx, &orgv1.CreateGroupRequest{OrganizationId: testOrg, Name: "sales"})
	wantCode(t, err, codes.AlreadyExists)
	other, err := v.createGroup(t, "ops", "gguid-3")
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.groups.Update(v.ctx, &orgv1.UpdateGroupRequest{GroupId: other.Id, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}}, Name: "sAlEs"})
	wantCode(t, err, codes.AlreadyExists)
	op, err := v.groups.Update(v.ctx, &orgv1.UpdateGroupRequest{GroupId: g.Id, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}}, Name: "sales"})
	if u := result(t, op, err, &orgv1.Group{}); u.Name != "sales" {
		t.Errorf("renamed: %v", u)
	}
	// The old spelling is free only once no group holds any spelling of it.
	_, err = v.createGroup(t, "Sales", "gguid-4")
	wantCode(t, err, codes.AlreadyExists)
	if _, err := v.groups.Delete(v.ctx, &orgv1.DeleteGroupRequest{GroupId: g.Id}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.createGroup(t, "SALES", "gguid-4"); err != nil {
		t.Errorf("name free after delete: %v", err)
	}
}
