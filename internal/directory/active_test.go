package directory

import (
	"testing"
	"time"
)

func TestAccountStateActive(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		a          AccountState
		suspendLO  bool
		want       bool
		wantReason string
	}{
		{"enabled, never expires", AccountState{Enabled: true}, true, true, ""},
		{"disabled", AccountState{}, true, false, "disabled"},
		{"expires later", AccountState{Enabled: true, ExpiresAt: now.Add(time.Second)}, true, true, ""},
		{"expires now", AccountState{Enabled: true, ExpiresAt: now}, true, false, "expired"},
		{"expired", AccountState{Enabled: true, ExpiresAt: now.Add(-time.Hour)}, true, false, "expired"},
		{"locked out, suspended", AccountState{Enabled: true, LockedOut: true}, true, false, "locked_out"},
		{"locked out, not suspended", AccountState{Enabled: true, LockedOut: true}, false, true, ""},
		{"disabled and locked out", AccountState{LockedOut: true}, false, false, "disabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.Active(now, tt.suspendLO); got != tt.want {
				t.Errorf("Active = %v, want %v", got, tt.want)
			}
			if got := tt.a.InactiveReason(now, tt.suspendLO); got != tt.wantReason {
				t.Errorf("InactiveReason = %q, want %q", got, tt.wantReason)
			}
		})
	}
}

func TestUserAccount(t *testing.T) {
	exp := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	u := User{ExternalID: "x", DN: "CN=x", Enabled: true, ExpiresAt: exp, LockedOut: true}
	want := AccountState{ExternalID: "x", DN: "CN=x", Enabled: true, ExpiresAt: exp, LockedOut: true}
	if got := u.Account(); got != want {
		t.Errorf("Account() = %+v, want %+v", got, want)
	}
}
