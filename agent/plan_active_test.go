package agent

import (
	"testing"
	"time"

	"github.com/idsync/idsync/internal/directory"
)

// The planner decides activation with directory.AccountState.Active, the
// definition the user-control loop uses, so a directory cycle never undoes
// a suspension for expiry or lockout.
func TestPlanUsesOneDefinitionOfActive(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	expired := func(u directory.User) directory.User { u.ExpiresAt = now.Add(-time.Minute); return u }
	later := func(u directory.User) directory.User { u.ExpiresAt = now.Add(time.Minute); return u }
	locked := func(u directory.User) directory.User { u.LockedOut = true; return u }
	tests := []struct {
		name       string
		u          directory.User
		poolActive bool
		suspendLO  bool
		want       StatusChange
	}{
		{"expired account is deactivated", expired(user("a", "a@corp.test", true)), true, true, StatusDeactivate},
		{"expired account stays suspended", expired(user("a", "a@corp.test", true)), false, true, StatusSame},
		{"account expiring later stays active", later(user("a", "a@corp.test", true)), true, true, StatusSame},
		{"locked-out account is deactivated", locked(user("a", "a@corp.test", true)), true, true, StatusDeactivate},
		{"locked-out account stays suspended", locked(user("a", "a@corp.test", true)), false, true, StatusSame},
		{"lockout ignored without suspend_locked_out", locked(user("a", "a@corp.test", true)), false, false, StatusActivate},
		{"unlocked enabled account is reactivated", user("a", "a@corp.test", true), false, true, StatusActivate},
		{"disabled account is deactivated", user("a", "a@corp.test", false), true, false, StatusDeactivate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{Mode: ModeFull, Now: now, SuspendLockedOut: tt.suspendLO, Users: []directory.User{tt.u},
				Target: Target{Users: []PoolUser{poolUser("u1", "a", "a@corp.test", tt.poolActive)}}}
			// The pool keeps the account's expiry, so only the status differs.
			in.Target.Users[0].Fields.ExpiresAt = tt.u.ExpiresAt
			p := BuildPlan(in)
			var got StatusChange
			if len(p.Users) == 1 {
				got = p.Users[0].Status
			} else if len(p.Users) > 1 {
				t.Fatalf("plan has %d user changes: %+v", len(p.Users), p.Users)
			}
			if got != tt.want {
				t.Errorf("status change %q, want %q (plan %+v)", got, tt.want, p.Users)
			}
		})
	}

	// A new account that is already expired is created suspended.
	p := BuildPlan(Input{Mode: ModeFull, Now: now, Users: []directory.User{expired(user("b", "b@corp.test", true))}})
	if len(p.Users) != 1 || p.Users[0].Action != ActionCreate || p.Users[0].Active {
		t.Errorf("expired new account: %+v, want a create with active false", p.Users)
	}
}
