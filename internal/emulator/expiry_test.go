package emulator

import (
	"testing"
	"time"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// TestUserDeactivatedAtExpiresAt: a user is deactivated (SUSPENDED) once
// its expires_at passes, lazily at the next call or dump; reactivating it
// while its expires_at is past does not last; clearing expires_at does.
func TestUserDeactivatedAtExpiresAt(t *testing.T) {
	v := newEnv(t, Options{})
	u := v.createUser(t, "erin", "guid-e")
	other := v.createUser(t, "frank", "guid-f")
	setExpiry := func(id string, at *timestamppb.Timestamp) {
		t.Helper()
		_, err := v.users.Update(v.ctx, &idp.UpdateUserRequest{UserId: id, ExpiresAt: at,
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"expires_at"}}})
		if err != nil {
			t.Fatalf("update expires_at: %v", err)
		}
	}
	setExpiry(u.Id, timestamppb.New(v.clock.Now().Add(time.Hour)))

	v.clock.Advance(59 * time.Minute)
	if got := v.getUser(t, u.Id).Status; got != idp.User_ACTIVE {
		t.Fatalf("before expires_at: %v, want ACTIVE", got)
	}
	v.clock.Advance(time.Minute)
	if got := v.getUser(t, u.Id).Status; got != idp.User_SUSPENDED {
		t.Fatalf("at expires_at: %v, want SUSPENDED", got)
	}
	if got := v.getUser(t, other.Id).Status; got != idp.User_ACTIVE {
		t.Errorf("a user without expires_at: %v, want ACTIVE", got)
	}
	for _, du := range v.emu.Dump().Users {
		if du.ID == u.Id && du.Status != "SUSPENDED" {
			t.Errorf("dump shows the expired user %s", du.Status)
		}
	}

	// Reactivated while expired: deactivated again at the next call.
	if _, err := v.users.Reactivate(v.ctx, &idp.ReactivateUserRequest{UserId: u.Id}); err != nil {
		t.Fatal(err)
	}
	if got := v.getUser(t, u.Id).Status; got != idp.User_SUSPENDED {
		t.Errorf("reactivated while expired: %v, want SUSPENDED again", got)
	}

	// expires_at cleared: a reactivation lasts.
	setExpiry(u.Id, nil)
	if _, err := v.users.Reactivate(v.ctx, &idp.ReactivateUserRequest{UserId: u.Id}); err != nil {
		t.Fatal(err)
	}
	v.clock.Advance(time.Hour)
	if got := v.getUser(t, u.Id); got.Status != idp.User_ACTIVE || got.ExpiresAt != nil {
		t.Errorf("after clearing expires_at and reactivating: %v (expires_at %v), want ACTIVE", got.Status, got.ExpiresAt)
	}

	// Created with an expires_at already past: deactivated at once.
	op, err := v.users.Create(v.ctx, &idp.CreateUserRequest{
		UserpoolId: testPool, Username: "gina@" + testDomain, FullName: "Gina", ExternalId: "guid-g",
		ExpiresAt:   timestamppb.New(v.clock.Now().Add(-time.Minute)),
		Credentials: &idp.CreateUserRequest_PasswordSpec{PasswordSpec: &idp.PasswordSpec{Password: "Secret-123456"}},
	})
	g := result(t, op, err, &idp.User{})
	if got := v.getUser(t, g.Id).Status; got != idp.User_SUSPENDED {
		t.Errorf("created already expired: %v, want SUSPENDED", got)
	}
}
