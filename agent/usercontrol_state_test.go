package agent

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/idsync/idsync/internal/directory"
)

func TestEvaluate(t *testing.T) {
	now := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	active := func(id string) directory.AccountState { return directory.AccountState{ExternalID: id, Enabled: true} }
	disabled := func(id string) directory.AccountState { return directory.AccountState{ExternalID: id} }
	snap := func(states ...directory.AccountState) map[string]*directory.User {
		m := map[string]*directory.User{}
		for _, a := range states {
			m[a.ExternalID] = &directory.User{ExternalID: a.ExternalID, Enabled: a.Enabled, LockedOut: a.LockedOut, ExpiresAt: a.ExpiresAt}
		}
		return m
	}
	pool := map[string]string{"a": "ua", "b": "ub", "c": "uc"}
	obs := func(states ...directory.AccountState) map[string]directory.AccountState {
		m := map[string]directory.AccountState{}
		for _, a := range states {
			m[a.ExternalID] = a
		}
		return m
	}
	tests := []struct {
		name string
		in   evalInput
		want ucEval
	}{
		{
			name: "a user-control suspension is undone when the account is enabled again",
			in: evalInput{Observed: obs(active("a")), InScope: snap(disabled("a")), Pool: pool,
				Prev: map[string]string{"a": "disabled"}},
			want: ucEval{Changes: []ucChange{{ExternalID: "a", UserID: "ua", Activate: true}}},
		},
		{
			name: "a user the directory cycle already suspended is not suspended again",
			in:   evalInput{Observed: obs(disabled("a")), InScope: snap(disabled("a")), Pool: pool},
			want: ucEval{Inactive: map[string]string{"a": "disabled"}},
		},
		{
			name: "another attribute change of an active account does nothing",
			in:   evalInput{Observed: obs(active("a")), InScope: snap(active("a")), Pool: pool},
		},
		{
			name: "out of scope: no change, but its expiry and lockout are kept",
			in: evalInput{SuspendLockedOut: true, Pool: pool, InScope: snap(active("a")), Observed: obs(directory.AccountState{
				ExternalID: "c", LockedOut: true, Enabled: true, ExpiresAt: now.Add(time.Hour)}), Watch: ucWatch{HorizonEnd: now.Add(expiryHorizon)}},
			want: ucEval{Locked: []string{"c"}, Expiries: map[string]int64{"c": now.Add(time.Hour).Unix()}},
		},
		{
			name: "a passed expiry suspends without a read",
			in: evalInput{Due: []string{"b"}, InScope: snap(active("b")), Pool: pool,
				Watch: ucWatch{Expiries: map[string]int64{"b": now.Add(-time.Second).Unix()}}},
			want: ucEval{Changes: []ucChange{{ExternalID: "b", UserID: "ub", Reason: "expired"}}, Inactive: map[string]string{"b": "expired"}},
		},
		{
			name: "lockout ignored without suspend_locked_out",
			in:   evalInput{Observed: obs(directory.AccountState{ExternalID: "a", Enabled: true, LockedOut: true}), InScope: snap(active("a")), Pool: pool},
		},
		{
			name: "not in the pool: state kept, no call",
			in:   evalInput{Observed: obs(disabled("z")), InScope: snap(active("z")), Pool: pool},
			want: ucEval{Inactive: map[string]string{"z": "disabled"}},
		},
		{
			name: "a full pass rebuilds the inactive set",
			in: evalInput{Full: true, Observed: obs(active("a"), disabled("b")), InScope: snap(active("a"), disabled("b")), Pool: pool,
				Prev: map[string]string{"gone": "disabled", "b": "disabled"}},
			want: ucEval{Inactive: map[string]string{"b": "disabled"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Now = now
			got := evaluate(tt.in)
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("evaluate (-want +got):\n%s", diff)
			}
		})
	}
}
