package agent

import (
	"context"
	"fmt"
	"sync"

	om "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// fakePool is an in-memory Pool for fast applier tests: users and groups by
// id, members by group. fail makes a method fail with an error once per
// listed object id or external id ("CreateUser/ext-1"). Methods the
// applier does not call are left to the embedded nil Pool and panic.
type fakePool struct {
	Pool

	mu      sync.Mutex
	next    int
	users   map[string]*idp.User
	groups  map[string]*om.Group
	members map[string]map[string]bool
	fail    map[string]error
	calls   []string
}

func newFakePool() *fakePool {
	return &fakePool{users: map[string]*idp.User{}, groups: map[string]*om.Group{},
		members: map[string]map[string]bool{}, fail: map[string]error{}}
}

// call records a call and returns the error set for it, if any.
func (f *fakePool) call(method, key string) error {
	f.calls = append(f.calls, method+"/"+key)
	return f.fail[method+"/"+key]
}

func (f *fakePool) id(prefix string) string {
	f.next++
	return fmt.Sprintf("%s%d", prefix, f.next)
}

func (f *fakePool) addUser(ext string, active bool) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := f.id("u")
	f.users[id] = &idp.User{Id: id, ExternalId: ext, Username: ext + "@corp.test", Status: statusOf(active)}
	return id
}

func statusOf(active bool) idp.User_Status {
	if active {
		return idp.User_ACTIVE
	}
	return idp.User_SUSPENDED
}

func (f *fakePool) ResolveExternalIDs(_ context.Context, exts []string) ([]*idp.ResolvedUser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*idp.ResolvedUser
	for _, ext := range exts {
		if err := f.call("ResolveExternalIDs", ext); err != nil {
			return nil, err
		}
		r := &idp.ResolvedUser{ExternalId: ext}
		for _, u := range f.users {
			if u.GetExternalId() == ext {
				r.UserId = u.GetId()
			}
		}
		out = append(out, r)
	}
	return out, nil
}

func (f *fakePool) CreateUser(_ context.Context, req *idp.CreateUserRequest) (*idp.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("CreateUser", req.GetExternalId()); err != nil {
		return nil, err
	}
	for _, u := range f.users {
		if u.GetExternalId() == req.GetExternalId() || u.GetUsername() == req.GetUsername() {
			return nil, status.Error(codes.AlreadyExists, "user exists")
		}
	}
	id := f.id("u")
	f.users[id] = &idp.User{Id: id, ExternalId: req.GetExternalId(), Username: req.GetUsername(),
		FullName: req.GetFullName(), Status: statusOf(req.GetIsActive().GetValue())}
	return f.users[id], nil
}

func (f *fakePool) user(method, id string) (*idp.User, error) {
	if err := f.call(method, id); err != nil {
		return nil, err
	}
	u := f.users[id]
	if u == nil {
		return nil, status.Error(codes.NotFound, "no user "+id)
	}
	return u, nil
}

func (f *fakePool) UpdateUser(_ context.Context, req *idp.UpdateUserRequest) (*idp.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, err := f.user("UpdateUser", req.GetUserId())
	if err != nil {
		return nil, err
	}
	for _, p := range req.GetUpdateMask().GetPaths() {
		switch p {
		case "full_name":
			u.FullName = req.GetFullName()
		case "username":
			u.Username = req.GetUsername()
		}
	}
	return u, nil
}

func (f *fakePool) DeleteUser(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.user("DeleteUser", id); err != nil {
		return err
	}
	delete(f.users, id)
	return nil
}

func (f *fakePool) SuspendUser(_ context.Context, id string) error {
	return f.setStatus("SuspendUser", id, false)
}

func (f *fakePool) ReactivateUser(_ context.Context, id string) error {
	return f.setStatus("ReactivateUser", id, true)
}

func (f *fakePool) setStatus(method, id string, active bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, err := f.user(method, id)
	if err == nil {
		u.Status = statusOf(active)
	}
	return err
}

func (f *fakePool) CreateExternalGroup(_ context.Context, name, description, ext string) (*om.Group, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("CreateExternalGroup", ext); err != nil {
		return nil, err
	}
	id := f.id("g")
	f.groups[id] = &om.Group{Id: id, Name: name, Description: description, ExternalId: ext}
	return f.groups[id], nil
}

func (f *fakePool) DeleteGroup(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("DeleteGroup", id); err != nil {
		return err
	}
	if f.groups[id] == nil {
		return status.Error(codes.NotFound, "no group "+id)
	}
	delete(f.groups, id)
	return nil
}

func (f *fakePool) UpdateGroupMembers(_ context.Context, id string, deltas []*om.MemberDelta) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("UpdateGroupMembers", id); err != nil {
		return 0, err
	}
	if f.members[id] == nil {
		f.members[id] = map[string]bool{}
	}
	for _, d := range deltas {
		f.members[id][d.GetSubjectId()] = d.GetAction() == om.MemberDelta_ADD
	}
	return len(deltas), nil
}
