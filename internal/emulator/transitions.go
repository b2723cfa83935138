package emulator

import (
	"context"
	"time"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Transitional user statuses (Options.UserTransition). A created user shows
// CREATING and a deleted one DELETING for UserTransition; then the first
// shows the status it was created with and the second is removed. The
// transitions are settled lazily, with the injected clock, before every
// call and every dump, and then users past their expires_at are
// deactivated (see expireUsers).

// transition is a user in CREATING or DELETING status.
type transition struct {
	// settleAt is when the transition ends.
	settleAt time.Time
	// to is the status a CREATING user takes when the transition ends.
	to idp.User_Status
}

// startCreating shows a new user as CREATING until now + UserTransition,
// then as to. The caller holds e.mu.
func (e *Emulator) startCreating(u *idp.User) {
	if e.opts.UserTransition <= 0 {
		return
	}
	e.st.transitions[u.Id] = transition{settleAt: e.now().Add(e.opts.UserTransition), to: u.Status}
	u.Status = idp.User_CREATING
}

// startDeleting shows rec as DELETING until now + UserTransition, then
// removes it; without transitions it removes rec at once. The caller holds
// e.mu.
func (e *Emulator) startDeleting(rec *userRec) {
	if e.opts.UserTransition <= 0 {
		e.removeUser(rec.User.Id)
		return
	}
	u := proto.Clone(rec.User).(*idp.User)
	u.Status = idp.User_DELETING
	u.UpdatedAt = timestamppb.New(e.now())
	e.replaceUser(rec, u)
	e.st.transitions[u.Id] = transition{settleAt: e.now().Add(e.opts.UserTransition)}
}

// settleUsers ends the transitions that are due, then deactivates the
// users whose expires_at has passed. The caller holds e.mu.
func (e *Emulator) settleUsers() {
	defer e.expireUsers()
	now := e.now()
	for id, tr := range e.st.transitions {
		if now.Before(tr.settleAt) {
			continue
		}
		delete(e.st.transitions, id)
		rec, ok := e.st.users[id]
		if !ok {
			continue
		}
		if rec.User.Status == idp.User_DELETING {
			e.removeUser(id)
			continue
		}
		u := proto.Clone(rec.User).(*idp.User)
		u.Status = tr.to
		e.replaceUser(rec, u)
	}
}

// removeUser deletes a user and removes it from every group. The caller
// holds e.mu.
func (e *Emulator) removeUser(id string) {
	rec, ok := e.st.users[id]
	if !ok {
		return
	}
	for gid := range e.st.groupsOfUser[id] {
		delete(e.st.groups[gid].Members, id)
	}
	delete(e.st.groupsOfUser, id)
	e.st.unindexUser(rec.User)
	delete(e.st.users, id)
	delete(e.st.transitions, id)
	e.changed()
}

// mutableUser returns the stored user, NOT_FOUND, or FAILED_PRECONDITION
// while it is being deleted. The caller holds e.mu.
func (e *Emulator) mutableUser(id string) (*userRec, error) {
	rec, err := e.user(id)
	if err != nil {
		return nil, err
	}
	if rec.User.Status == idp.User_DELETING {
		return nil, status.Errorf(codes.FailedPrecondition, "user %s is being deleted", id)
	}
	return rec, nil
}

// transitionInterceptor settles due user transitions and expiries before
// each call.
func (e *Emulator) transitionInterceptor(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	e.mu.Lock()
	e.settleUsers()
	e.mu.Unlock()
	return h(ctx, req)
}

// expireUsers deactivates (SUSPENDED) every ACTIVE user whose expires_at
// has passed, as the cloud does: lazily, with the injected clock. A user
// reactivated while its expires_at is past is deactivated again at the
// next call; clearing expires_at or moving it to the future keeps it
// active. The caller holds e.mu.
func (e *Emulator) expireUsers() {
	now := e.now()
	var due []string
	for id := range e.st.expiring {
		rec, ok := e.st.users[id]
		if ok && rec.User.Status == idp.User_ACTIVE && !now.Before(rec.User.ExpiresAt.AsTime()) {
			due = append(due, id)
		}
	}
	for _, id := range due {
		rec := e.st.users[id]
		u := proto.Clone(rec.User).(*idp.User)
		u.Status = idp.User_SUSPENDED
		u.UpdatedAt = timestamppb.New(now)
		e.replaceUser(rec, u)
	}
}
