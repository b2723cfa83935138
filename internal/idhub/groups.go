package idhub

import (
	"context"
	"fmt"
	"iter"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	om "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// ExternalGroups iterates over the pool's external groups, 1000 per page.
// filter is the API's list filter; empty lists all. The documented filter
// is one condition on name or id, name="value" or id="value", with a value
// of 3-63 characters matching [a-z][-a-z0-9]{1,61}[a-z0-9].
func (c *Client) ExternalGroups(ctx context.Context, filter string) iter.Seq2[*om.Group, error] {
	return pages(ctx, c, "ListExternalGroups", func(ctx context.Context, token string) ([]*om.Group, string, error) {
		resp, err := c.groups.ListExternal(ctx, &om.ListExternalGroupsRequest{
			SubjectContainerId: c.opts.UserpoolID, PageSize: MaxBatch, PageToken: token, Filter: filter,
		})
		return resp.GetGroups(), resp.GetNextPageToken(), err
	})
}

// Groups iterates over all groups of the pool's organization, 1000 per
// page, external or not. filter is the API's list filter; empty lists all.
// The documented filter is name="value" only, with a value of 3-63
// characters matching [a-z][-a-z0-9]{1,61}[a-z0-9], which many directory
// group names are not: the agent lists without a filter and compares names
// itself, case-insensitively, to find groups it may capture or must avoid.
func (c *Client) Groups(ctx context.Context, filter string) iter.Seq2[*om.Group, error] {
	return func(yield func(*om.Group, error) bool) {
		org, err := c.organizationID(ctx)
		if err != nil {
			yield(nil, fmt.Errorf("idhub: ListGroups: %w", err))
			return
		}
		for g, err := range pages(ctx, c, "ListGroups", func(ctx context.Context, token string) ([]*om.Group, string, error) {
			resp, err := c.groups.List(ctx, &om.ListGroupsRequest{OrganizationId: org, PageSize: MaxBatch, PageToken: token, Filter: filter})
			return resp.GetGroups(), resp.GetNextPageToken(), err
		}) {
			if !yield(g, err) || err != nil {
				return
			}
		}
	}
}

// ResolveExternalGroup returns the pool's group with externalID; a missing
// group is an error with ClassNotFound.
func (c *Client) ResolveExternalGroup(ctx context.Context, externalID string) (*om.Group, error) {
	var g *om.Group
	err := c.do(ctx, "ResolveExternalGroup", true, func(ctx context.Context) error {
		var err error
		g, err = c.groups.ResolveExternal(ctx, &om.ResolveExternalGroupRequest{SubjectContainerId: c.opts.UserpoolID, ExternalId: externalID})
		return err
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// CreateExternalGroup creates an external group in the pool. name must
// match [a-zA-Z]([-a-zA-Z0-9._-]{0,61}[a-zA-Z0-9])?. Not retried.
func (c *Client) CreateExternalGroup(ctx context.Context, name, description, externalID string) (*om.Group, error) {
	org, err := c.organizationID(ctx)
	if err != nil {
		return nil, fmt.Errorf("idhub: CreateExternalGroup: %w", err)
	}
	g := &om.Group{}
	err = c.opCall(ctx, "CreateExternalGroup", "GroupService/CreateExternal", false,
		func(ctx context.Context) (*operation.Operation, error) {
			return c.groups.CreateExternal(ctx, &om.CreateExternalGroupRequest{
				OrganizationId: org, Name: name, Description: description,
				SubjectContainerId: c.opts.UserpoolID, ExternalId: externalID,
			})
		}, g)
	if err != nil {
		return nil, err
	}
	return g, nil
}

// UpdateGroup sets the group's name and description (both, by field mask)
// and returns it.
func (c *Client) UpdateGroup(ctx context.Context, groupID, name, description string) (*om.Group, error) {
	g := &om.Group{}
	err := c.opCall(ctx, "UpdateGroup", "GroupService/Update", true,
		func(ctx context.Context) (*operation.Operation, error) {
			return c.groups.Update(ctx, &om.UpdateGroupRequest{
				GroupId: groupID, Name: name, Description: description,
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name", "description"}},
			})
		}, g)
	if err != nil {
		return nil, err
	}
	return g, nil
}

// DeleteGroup deletes a group.
func (c *Client) DeleteGroup(ctx context.Context, groupID string) error {
	return c.opCall(ctx, "DeleteGroup", "GroupService/Delete", true,
		func(ctx context.Context) (*operation.Operation, error) {
			return c.groups.Delete(ctx, &om.DeleteGroupRequest{GroupId: groupID})
		}, nil)
}

// ConvertGroupToExternal makes an existing (captured) group external to
// the pool with externalID and returns it. Not retried.
func (c *Client) ConvertGroupToExternal(ctx context.Context, groupID, externalID string) (*om.Group, error) {
	g := &om.Group{}
	err := c.opCall(ctx, "ConvertGroupToExternal", "GroupService/ConvertToExternal", false,
		func(ctx context.Context) (*operation.Operation, error) {
			return c.groups.ConvertToExternal(ctx, &om.ConvertToExternalGroupRequest{
				GroupId: groupID, SubjectContainerId: c.opts.UserpoolID, ExternalId: externalID,
			})
		}, g)
	if err != nil {
		return nil, err
	}
	return g, nil
}

// GroupMembers iterates over a group's members, 1000 per page.
func (c *Client) GroupMembers(ctx context.Context, groupID string) iter.Seq2[*om.GroupMember, error] {
	return pages(ctx, c, "ListGroupMembers", func(ctx context.Context, token string) ([]*om.GroupMember, string, error) {
		resp, err := c.groups.ListMembers(ctx, &om.ListGroupMembersRequest{GroupId: groupID, PageSize: MaxBatch, PageToken: token})
		return resp.GetMembers(), resp.GetNextPageToken(), err
	})
}

// AddMember builds an ADD membership delta.
func AddMember(subjectID string) *om.MemberDelta {
	return &om.MemberDelta{Action: om.MemberDelta_ADD, SubjectId: subjectID}
}

// RemoveMember builds a REMOVE membership delta.
func RemoveMember(subjectID string) *om.MemberDelta {
	return &om.MemberDelta{Action: om.MemberDelta_REMOVE, SubjectId: subjectID}
}

// UpdateGroupMembers applies deltas to a group in calls of at most 1000
// deltas, in order. It returns how many deltas were applied; on error the
// deltas of earlier calls stay applied.
func (c *Client) UpdateGroupMembers(ctx context.Context, groupID string, deltas []*om.MemberDelta) (int, error) {
	applied := 0
	for _, part := range chunks(deltas, MaxBatch) {
		err := c.opCall(ctx, "UpdateGroupMembers", "GroupService/UpdateMembers", true,
			func(ctx context.Context) (*operation.Operation, error) {
				return c.groups.UpdateMembers(ctx, &om.UpdateGroupMembersRequest{GroupId: groupID, MemberDeltas: part})
			}, nil)
		if err != nil {
			return applied, err
		}
		applied += len(part)
	}
	return applied, nil
}
