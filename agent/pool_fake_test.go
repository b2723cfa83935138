package agent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/pool"
)

// fakePool is an in-memory Pool for fast applier tests: users and groups by
// id, members by group. fail makes a method fail with an error once per
// listed object id or external id ("CreateUser/ext-1"). Methods the
// applier does not call are left to the embedded nil Pool and panic.
type fakePool struct {
	Pool

	mu      sync.Mutex
	next    int
	users   map[string]*PoolUser
	groups  map[string]*PoolGroup
	members map[string]map[string]bool
	fail    map[string]error
	calls   []string
}

// poolErr is a pool API failure of class c, as idhub.Cloud returns them.
func poolErr(c pool.Class, msg string) error {
	return &pool.Error{Class: c, Err: errors.New(msg)}
}

func newFakePool() *fakePool {
	return &fakePool{users: map[string]*PoolUser{}, groups: map[string]*PoolGroup{},
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
	f.users[id] = &PoolUser{ID: id, ExternalID: ext, Fields: UserFields{Username: ext + "@corp.test"}, Active: active}
	return id
}

func (f *fakePool) ResolveExternalIDs(_ context.Context, exts []string) ([]pool.ResolvedUser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []pool.ResolvedUser
	for _, ext := range exts {
		if err := f.call("ResolveExternalIDs", ext); err != nil {
			return nil, err
		}
		r := pool.ResolvedUser{ExternalID: ext}
		for _, u := range f.users {
			if u.ExternalID == ext {
				r.UserID = u.ID
			}
		}
		out = append(out, r)
	}
	return out, nil
}

func (f *fakePool) CreateUser(_ context.Context, req pool.NewUser) (PoolUser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("CreateUser", req.ExternalID); err != nil {
		return PoolUser{}, err
	}
	for _, u := range f.users {
		if u.ExternalID == req.ExternalID || u.Fields.Username == req.Fields.Username {
			return PoolUser{}, poolErr(pool.ClassConflict, "user exists")
		}
	}
	id := f.id("u")
	f.users[id] = &PoolUser{ID: id, ExternalID: req.ExternalID,
		Fields: UserFields{Username: req.Fields.Username, FullName: req.Fields.FullName}, Active: req.Active}
	return *f.users[id], nil
}

func (f *fakePool) user(method, id string) (*PoolUser, error) {
	if err := f.call(method, id); err != nil {
		return nil, err
	}
	u := f.users[id]
	if u == nil {
		return nil, poolErr(pool.ClassNotFound, "no user "+id)
	}
	return u, nil
}

func (f *fakePool) UpdateUser(_ context.Context, req pool.UserUpdate) (PoolUser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, err := f.user("UpdateUser", req.ID)
	if err != nil {
		return PoolUser{}, err
	}
	for _, p := range req.Changed {
		switch p {
		case "full_name":
			u.Fields.FullName = req.Fields.FullName
		case "username":
			u.Fields.Username = req.Fields.Username
		}
	}
	return *u, nil
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
		u.Active = active
	}
	return err
}

func (f *fakePool) CreateExternalGroup(_ context.Context, name, description, ext string) (PoolGroup, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("CreateExternalGroup", ext); err != nil {
		return PoolGroup{}, err
	}
	id := f.id("g")
	f.groups[id] = &PoolGroup{ID: id, Name: name, Description: description, ExternalID: ext}
	return *f.groups[id], nil
}

func (f *fakePool) DeleteGroup(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("DeleteGroup", id); err != nil {
		return err
	}
	if f.groups[id] == nil {
		return poolErr(pool.ClassNotFound, "no group "+id)
	}
	delete(f.groups, id)
	return nil
}

func (f *fakePool) UpdateGroupMembers(_ context.Context, id string, deltas []pool.MemberDelta) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("UpdateGroupMembers", id); err != nil {
		return 0, err
	}
	if f.members[id] == nil {
		f.members[id] = map[string]bool{}
	}
	for _, d := range deltas {
		f.members[id][d.SubjectID] = !d.Remove
	}
	return len(deltas), nil
}

// The applier table tests are only as good as the fake: it must answer the
// calls they make as the pool does. The same script runs against the fake
// and against idhub.Cloud on the emulator, and their transcripts must match.
func TestFakePoolAgreesWithTheCloud(t *testing.T) {
	script := func(p Pool) []string {
		ctx := t.Context()
		var out []string
		note := func(step string, err error, v ...any) {
			out = append(out, fmt.Sprint(append([]any{step, pool.Classify(err)}, v...)...))
		}
		name := "fake1@" + testDomain
		u, err := p.CreateUser(ctx, pool.NewUser{ExternalID: "f-1", Fields: UserFields{Username: name, FullName: "Fake One"}, Active: true})
		note("create", err, u.ExternalID, u.Fields.Username, u.Fields.FullName, u.Active)
		_, err = p.CreateUser(ctx, pool.NewUser{ExternalID: "f-2", Fields: UserFields{Username: name, FullName: "Same Name"}, Active: true})
		note("create a taken username", err)
		// Whether an unknown id comes back with no user id or not at all
		// the API does not say; the emulator leaves it out, the fake
		// answers it empty, and idsync must read both the same way.
		res, err := p.ResolveExternalIDs(ctx, []string{"f-1", "f-none"})
		found := map[string]string{}
		for _, r := range res {
			if r.UserID != "" {
				found[r.ExternalID] = r.UserID
			}
		}
		note("resolve", err, found["f-1"] == u.ID, found["f-none"] == "")
		got, err := p.UpdateUser(ctx, pool.UserUpdate{ID: u.ID, Fields: UserFields{Username: "ignored@" + testDomain, FullName: "Fake Uno"}, Changed: []string{"full_name"}})
		note("update full_name only", err, got.Fields.Username, got.Fields.FullName, got.Active)
		note("suspend", p.SuspendUser(ctx, u.ID))
		got, err = p.UpdateUser(ctx, pool.UserUpdate{ID: u.ID, Fields: UserFields{FullName: "Fake One"}, Changed: []string{"full_name"}})
		note("update a suspended user", err, got.Active)
		note("reactivate", p.ReactivateUser(ctx, u.ID))
		g, err := p.CreateExternalGroup(ctx, "fakes", "the fakes", "g-1")
		note("create group", err, g.Name, g.ExternalID)
		n, err := p.UpdateGroupMembers(ctx, g.ID, []pool.MemberDelta{pool.AddMember(u.ID)})
		note("add a member", err, n)
		note("delete user", p.DeleteUser(ctx, u.ID))
		note("delete it again", p.DeleteUser(ctx, u.ID))
		note("delete group", p.DeleteGroup(ctx, g.ID))
		note("delete it again", p.DeleteGroup(ctx, g.ID))
		return out
	}
	want := script(newRig(t, emulator.Options{NoMinInterval: true}, nil).cloud)
	if diff := cmp.Diff(want, script(newFakePool())); diff != "" {
		t.Errorf("the fake answers otherwise than the emulator (-emulator +fake):\n%s", diff)
	}
}
