package agent

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/pool"
)

// groupFirstCloud creates a user only once a group has been created: an
// applier that created every user before any group would never get there.
type groupFirstCloud struct {
	Cloud
	once    sync.Once
	grouped chan struct{}
}

func (c *groupFirstCloud) CreateExternalGroup(ctx context.Context, name, description, externalID string) (PoolGroup, error) {
	c.once.Do(func() { close(c.grouped) })
	return c.Cloud.CreateExternalGroup(ctx, name, description, externalID)
}

func (c *groupFirstCloud) CreateUser(ctx context.Context, u pool.NewUser) (PoolUser, error) {
	select {
	case <-c.grouped:
	case <-time.After(20 * time.Second):
		return PoolUser{}, errors.New("no group was created while users were")
	}
	return c.Cloud.CreateUser(ctx, u)
}

func TestApplyCreatesUsersAndGroupsSideBySide(t *testing.T) {
	r := newRig(t, emulator.Options{}, nil)
	r.opts.Cloud = &groupFirstCloud{Cloud: r.cloud, grouped: make(chan struct{})}
	var err error
	if r.agent, err = New(r.opts); err != nil {
		t.Fatal(err)
	}
	u1, u2 := dirUser(1), dirUser(2)
	r.dir.set(func(d *fakeDir) {
		d.users = []directory.User{u1, u2}
		d.groups = []directory.Group{{ExternalID: "10000000-0000-0000-0000-000000000001", DN: "CN=g1,OU=Staff,DC=corp,DC=test",
			Name: "g1", Members: []string{u1.ExternalID, u2.ExternalID}}}
	})
	job, err := r.agent.RunCycle(t.Context(), CycleOptions{Full: true})
	if err != nil {
		t.Fatalf("full cycle: %v", err)
	}
	res := job.Result
	if res.UserStatistics.Created.Success != 2 || res.GroupStatistics.Created.Success != 1 || res.GroupMemberStatistics.Created.Success != 2 {
		t.Fatalf("created users %d, groups %d, members %d; want 2, 1, 2", res.UserStatistics.Created.Success,
			res.GroupStatistics.Created.Success, res.GroupMemberStatistics.Created.Success)
	}
}
