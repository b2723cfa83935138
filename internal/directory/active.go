package directory

import "time"

// AccountState is the part of a user account that decides whether the user
// may sign in: what the directory cycle and the user-control loop both
// look at, through Active.
type AccountState struct {
	ExternalID string
	DN         string
	// Enabled is false when userAccountControl has ACCOUNTDISABLE.
	Enabled bool
	// ExpiresAt is accountExpires; the zero time means never.
	ExpiresAt time.Time
	// LockedOut is UF_LOCKOUT of msDS-User-Account-Control-Computed.
	LockedOut bool
}

// Account returns the user's account state.
func (u *User) Account() AccountState {
	return AccountState{ExternalID: u.ExternalID, DN: u.DN, Enabled: u.Enabled, ExpiresAt: u.ExpiresAt, LockedOut: u.LockedOut}
}

// Active is the one definition of an active account, shared by every loop
// so that none undoes what another did: enabled, not expired at now and,
// when suspendLockedOut is set, not locked out.
func (a AccountState) Active(now time.Time, suspendLockedOut bool) bool {
	return a.Enabled && !a.Expired(now) && !(suspendLockedOut && a.LockedOut)
}

// Expired reports whether accountExpires lies at or before now. An account
// expires at the start of the day accountExpires names: from that instant
// on the directory refuses its sign-ins.
func (a AccountState) Expired(now time.Time) bool {
	return !a.ExpiresAt.IsZero() && !a.ExpiresAt.After(now)
}

// InactiveReason names why Active is false ("disabled", "expired",
// "locked_out"), or "" when the account is active.
func (a AccountState) InactiveReason(now time.Time, suspendLockedOut bool) string {
	switch {
	case !a.Enabled:
		return "disabled"
	case a.Expired(now):
		return "expired"
	case suspendLockedOut && a.LockedOut:
		return "locked_out"
	}
	return ""
}

// AccountChanges is what an account-state read returns: the state of the
// in-scope accounts that changed since a watermark (of every in-scope
// account when Full), and the watermark to read from next time.
type AccountChanges struct {
	States    []AccountState
	Watermark Watermark
	// Full is true when the watermark could not be continued and States
	// hold every in-scope account.
	Full bool
}
