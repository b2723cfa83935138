package emulator

import (
	"context"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	orgv1 "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ListMembers lists a group's members by subject id.
func (s groupServer) ListMembers(ctx context.Context, req *orgv1.ListGroupMembersRequest) (*orgv1.ListGroupMembersResponse, error) {
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	rec, err := e.group(req.GetGroupId())
	if err != nil {
		return nil, err
	}
	ids, next, err := paginate(sortedKeys(rec.Members), func(id string) string { return id }, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &orgv1.ListGroupMembersResponse{NextPageToken: next}
	for _, id := range ids {
		resp.Members = append(resp.Members, &orgv1.GroupMember{SubjectId: id, SubjectType: memberSubjectType})
	}
	return resp, nil
}

// UpdateMembers adds and removes members. Every subject must be a user of
// the pool. Adding a member twice or removing a non-member changes nothing,
// or with Options.StrictMembers fails. The call is all or nothing: on any
// error no delta is applied.
func (s groupServer) UpdateMembers(ctx context.Context, req *orgv1.UpdateGroupMembersRequest) (*operation.Operation, error) {
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	rec, err := e.group(req.GetGroupId())
	if err != nil {
		return nil, err
	}
	gid := rec.Group.Id
	// want is the final membership of every subject the deltas touch.
	want := map[string]bool{}
	var order []string
	for i, d := range req.GetMemberDeltas() {
		id := d.GetSubjectId()
		if _, ok := e.st.users[id]; !ok {
			return nil, status.Errorf(codes.NotFound, "member_deltas[%d]: subject %s is not a user of user pool %s", i, id, e.st.UserpoolID)
		}
		if _, seen := want[id]; !seen {
			order = append(order, id)
		}
		switch d.GetAction() {
		case orgv1.MemberDelta_ADD:
			want[id] = true
		case orgv1.MemberDelta_REMOVE:
			want[id] = false
		default:
			return nil, status.Errorf(codes.InvalidArgument, "member_deltas[%d]: action must be ADD or REMOVE", i)
		}
	}
	size := len(rec.Members)
	var added, removed []string
	for _, id := range order {
		_, is := rec.Members[id]
		switch {
		case e.opts.StrictMembers && want[id] && is:
			return nil, status.Errorf(codes.AlreadyExists, "subject %s is already a member of group %s", id, gid)
		case e.opts.StrictMembers && !want[id] && !is:
			return nil, status.Errorf(codes.NotFound, "subject %s is not a member of group %s", id, gid)
		case want[id] && !is:
			added = append(added, id)
			size++
		case !want[id] && is:
			removed = append(removed, id)
			size--
		}
	}
	if q := e.opts.Quotas.MembersPerGroup; q > 0 && size > q {
		return nil, quotaError(quotaGroupMembers, "members per group", q)
	}
	if q := e.opts.Quotas.GroupsPerUser; q > 0 {
		for _, id := range added {
			if len(e.st.groupsOfUser[id]) >= q {
				return nil, quotaError(quotaGroupsPerUser, "groups per user "+id, q)
			}
		}
	}
	for _, id := range added {
		rec.Members[id] = struct{}{}
		e.st.addGroupOfUser(id, gid)
	}
	for _, id := range removed {
		delete(rec.Members, id)
		e.st.removeGroupOfUser(id, gid)
	}
	if len(added)+len(removed) > 0 {
		e.changed()
	}
	return e.newOp(ctx, "Update group members", &orgv1.UpdateGroupMembersMetadata{GroupId: gid}, nil)
}
