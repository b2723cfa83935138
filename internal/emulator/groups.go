package emulator

import (
	"context"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	orgv1 "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// memberSubjectType is the GroupMember.subject_type of user pool users.
const memberSubjectType = "federatedUser"

// groupServer implements GroupService for the emulated organization. Group
// names are unique within the organization, compared case-insensitively
// (an assumption: the docs are silent); external ids are unique within
// their subject container (the user pool). Members are users of the pool.
type groupServer struct {
	orgv1.UnimplementedGroupServiceServer
	e *Emulator
}

// groupFields are the update_mask paths GroupService.Update accepts.
var groupFields = []string{"name", "description", "labels"}

func (e *Emulator) checkOrg(id string) error {
	if id != e.st.OrganizationID {
		return status.Errorf(codes.NotFound, "organization %s not found", id)
	}
	return nil
}

func (e *Emulator) group(id string) (*groupRec, error) {
	g, ok := e.st.groups[id]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "group %s not found", id)
	}
	return g, nil
}

func (e *Emulator) checkGroupName(name, selfID string) error {
	if id, ok := e.st.groupByName[groupNameKey(name)]; ok && id != selfID {
		return status.Errorf(codes.AlreadyExists, "group with name %q already exists in the organization", name)
	}
	return nil
}

func (e *Emulator) checkGroupExternalID(container, externalID string) error {
	if _, ok := e.st.groupByExt[groupExtKey(container, externalID)]; ok {
		return status.Errorf(codes.AlreadyExists, "group with external_id %q already exists in %s", externalID, container)
	}
	return nil
}

// addGroup stores a new group after the name and quota checks. The caller
// holds e.mu.
func (e *Emulator) addGroup(g *orgv1.Group) error {
	if err := e.checkGroupName(g.Name, ""); err != nil {
		return err
	}
	if q := e.opts.Quotas.GroupsPerOrganization; q > 0 && len(e.st.groups) >= q {
		return quotaError(quotaGroups, "groups per organization", q)
	}
	g.Id = newID("ajg")
	g.OrganizationId = e.st.OrganizationID
	g.CreatedAt = timestamppb.New(e.now())
	e.st.groups[g.Id] = &groupRec{Group: g, Members: map[string]struct{}{}}
	e.st.indexGroup(g)
	e.changed()
	return nil
}

// Create creates a basic (not external) group.
func (s groupServer) Create(ctx context.Context, req *orgv1.CreateGroupRequest) (*operation.Operation, error) {
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.checkOrg(req.GetOrganizationId()); err != nil {
		return nil, err
	}
	g := &orgv1.Group{Name: req.GetName(), Description: req.GetDescription(), Labels: maps.Clone(req.GetLabels())}
	if err := e.addGroup(g); err != nil {
		return nil, err
	}
	return e.newOp(ctx, "Create group", &orgv1.CreateGroupMetadata{GroupId: g.Id}, proto.Clone(g))
}

// CreateExternal creates a group bound to an external id in the user pool.
func (s groupServer) CreateExternal(ctx context.Context, req *orgv1.CreateExternalGroupRequest) (*operation.Operation, error) {
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.checkOrg(req.GetOrganizationId()); err != nil {
		return nil, err
	}
	if err := e.checkPool(req.GetSubjectContainerId()); err != nil {
		return nil, err
	}
	if err := e.checkGroupExternalID(req.GetSubjectContainerId(), req.GetExternalId()); err != nil {
		return nil, err
	}
	g := &orgv1.Group{
		Name: req.GetName(), Description: req.GetDescription(), SubjectContainerId: req.GetSubjectContainerId(),
		ExternalId: req.GetExternalId(), Labels: maps.Clone(req.GetLabels()),
	}
	if err := e.addGroup(g); err != nil {
		return nil, err
	}
	return e.newOp(ctx, "Create external group", &orgv1.CreateExternalGroupMetadata{
		GroupId: g.Id, OrganizationId: g.OrganizationId, GroupName: g.Name,
		SubjectContainerId: g.SubjectContainerId, ExternalId: g.ExternalId, MakeEditor: req.GetMakeEditor(),
	}, proto.Clone(g))
}

// Get returns a group.
func (s groupServer) Get(ctx context.Context, req *orgv1.GetGroupRequest) (*orgv1.Group, error) {
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	g, err := e.group(req.GetGroupId())
	if err != nil {
		return nil, err
	}
	return proto.Clone(g.Group).(*orgv1.Group), nil
}

// ResolveExternal finds a group by subject container and external id.
func (s groupServer) ResolveExternal(ctx context.Context, req *orgv1.ResolveExternalGroupRequest) (*orgv1.Group, error) {
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	id, ok := e.st.groupByExt[groupExtKey(req.GetSubjectContainerId(), req.GetExternalId())]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "external group %q not found in %s", req.GetExternalId(), req.GetSubjectContainerId())
	}
	return proto.Clone(e.st.groups[id].Group).(*orgv1.Group), nil
}

// groupFilterPattern is the documented shape of a group list filter: one
// field, `=`, and a value in double quotes.
var groupFilterPattern = regexp.MustCompile(`^\s*([a-z_]+)\s*=\s*"([^"\\]*)"\s*$`)

// groupFilterValue is the documented rule for the value of a group list
// filter: 3-63 characters matching [a-z][-a-z0-9]{1,61}[a-z0-9].
var groupFilterValue = regexp.MustCompile(`^[a-z][-a-z0-9]{1,61}[a-z0-9]$`)

// parseGroupFilter parses a GroupService list filter as the API reference
// documents it: empty, or one condition field="value" on one of fields,
// with a value that matches groupFilterValue. Everything else (other
// fields, AND, other operators, values the rule does not allow) is refused.
func parseGroupFilter(filter string, fields ...string) (field, value string, err error) {
	if strings.TrimSpace(filter) == "" {
		return "", "", nil
	}
	m := groupFilterPattern.FindStringSubmatch(filter)
	if m == nil {
		return "", "", status.Errorf(codes.InvalidArgument, "invalid filter %q: expected one condition field=\"value\" on %s", filter, strings.Join(fields, " or "))
	}
	field, value = m[1], m[2]
	if !slices.Contains(fields, field) {
		return "", "", status.Errorf(codes.InvalidArgument, "invalid filter %q: filtering is supported only on %s", filter, strings.Join(fields, " or "))
	}
	if !groupFilterValue.MatchString(value) {
		return "", "", status.Errorf(codes.InvalidArgument, "invalid filter %q: the value must be 3-63 characters matching [a-z][-a-z0-9]{1,61}[a-z0-9]", filter)
	}
	return field, value, nil
}

// listGroups returns one page of the groups keep accepts, by id. filter is
// parsed by parseGroupFilter on fields; a name condition compares names
// case-insensitively, as their uniqueness does.
func (e *Emulator) listGroups(filter string, fields []string, pageSize int64, pageToken string, keep func(*orgv1.Group) bool) ([]*orgv1.Group, string, error) {
	field, value, err := parseGroupFilter(filter, fields...)
	if err != nil {
		return nil, "", err
	}
	var all []*orgv1.Group
	for _, g := range e.st.groups {
		ok := keep(g.Group)
		switch field {
		case "id":
			ok = ok && g.Group.Id == value
		case "name":
			ok = ok && groupNameKey(g.Group.Name) == value
		}
		if ok {
			all = append(all, g.Group)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Id < all[j].Id })
	page, next, err := paginate(all, (*orgv1.Group).GetId, pageSize, pageToken)
	if err != nil {
		return nil, "", err
	}
	return cloneAll(page), next, nil
}

// List lists the organization's groups. The filter is the documented one:
// name="value" only.
func (s groupServer) List(ctx context.Context, req *orgv1.ListGroupsRequest) (*orgv1.ListGroupsResponse, error) {
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.checkOrg(req.GetOrganizationId()); err != nil {
		return nil, err
	}
	groups, next, err := e.listGroups(req.GetFilter(), []string{"name"}, req.GetPageSize(), req.GetPageToken(), func(*orgv1.Group) bool { return true })
	if err != nil {
		return nil, err
	}
	return &orgv1.ListGroupsResponse{Groups: groups, NextPageToken: next}, nil
}

// ListExternal lists the external groups of a subject container. The filter
// is the documented one: name="value" or id="value".
func (s groupServer) ListExternal(ctx context.Context, req *orgv1.ListExternalGroupsRequest) (*orgv1.ListExternalGroupsResponse, error) {
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.checkPool(req.GetSubjectContainerId()); err != nil {
		return nil, err
	}
	container := req.GetSubjectContainerId()
	groups, next, err := e.listGroups(req.GetFilter(), []string{"name", "id"}, req.GetPageSize(), req.GetPageToken(), func(g *orgv1.Group) bool {
		return g.SubjectContainerId == container && g.ExternalId != ""
	})
	if err != nil {
		return nil, err
	}
	return &orgv1.ListExternalGroupsResponse{Groups: groups, NextPageToken: next}, nil
}

// Update changes the fields named in update_mask.
func (s groupServer) Update(ctx context.Context, req *orgv1.UpdateGroupRequest) (*operation.Operation, error) {
	e := s.e
	paths, err := maskPaths(req.GetUpdateMask(), groupFields)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	rec, err := e.group(req.GetGroupId())
	if err != nil {
		return nil, err
	}
	g := proto.Clone(rec.Group).(*orgv1.Group)
	for _, p := range paths {
		switch p {
		case "name":
			if err := e.checkGroupName(req.GetName(), g.Id); err != nil {
				return nil, err
			}
			g.Name = req.GetName()
		case "description":
			g.Description = req.GetDescription()
		case "labels":
			g.Labels = maps.Clone(req.GetLabels())
		}
	}
	e.replaceGroup(rec, g)
	return e.newOp(ctx, "Update group", &orgv1.UpdateGroupMetadata{GroupId: g.Id}, proto.Clone(g))
}

func (e *Emulator) replaceGroup(rec *groupRec, g *orgv1.Group) {
	e.st.unindexGroup(rec.Group)
	rec.Group = g
	e.st.indexGroup(g)
	e.changed()
}

// Delete deletes a group and its memberships.
func (s groupServer) Delete(ctx context.Context, req *orgv1.DeleteGroupRequest) (*operation.Operation, error) {
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	rec, err := e.group(req.GetGroupId())
	if err != nil {
		return nil, err
	}
	id := rec.Group.Id
	for m := range rec.Members {
		e.st.removeGroupOfUser(m, id)
	}
	e.st.unindexGroup(rec.Group)
	delete(e.st.groups, id)
	e.changed()
	return e.newOp(ctx, "Delete group", &orgv1.DeleteGroupMetadata{GroupId: id}, nil)
}

// ConvertToExternal binds a basic group to an external id (capture).
func (s groupServer) ConvertToExternal(ctx context.Context, req *orgv1.ConvertToExternalGroupRequest) (*operation.Operation, error) {
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	rec, err := e.group(req.GetGroupId())
	if err != nil {
		return nil, err
	}
	if rec.Group.ExternalId != "" {
		return nil, status.Errorf(codes.FailedPrecondition, "group %s is already external", rec.Group.Id)
	}
	if err := e.checkPool(req.GetSubjectContainerId()); err != nil {
		return nil, err
	}
	if err := e.checkGroupExternalID(req.GetSubjectContainerId(), req.GetExternalId()); err != nil {
		return nil, err
	}
	g := proto.Clone(rec.Group).(*orgv1.Group)
	g.SubjectContainerId, g.ExternalId = req.GetSubjectContainerId(), req.GetExternalId()
	e.replaceGroup(rec, g)
	return e.newOp(ctx, "Convert group to external", &orgv1.ConvertToExternalGroupMetadata{
		GroupId: g.Id, SubjectContainerId: g.SubjectContainerId, ExternalId: g.ExternalId, MakeEditor: req.GetMakeEditor(),
	}, proto.Clone(g))
}
