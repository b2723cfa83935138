package agent

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/internal/directory"
)

// A plan names the members it adds and removes by pool username: the
// directory user's new name, else the pool user's.
func TestPlanMemberNames(t *testing.T) {
	p := BuildPlan(Input{
		Mode:     ModeFull,
		Settings: Settings{ReplacementDomain: "pool.test"},
		Users:    []directory.User{user("a", "ann@corp.test", true), user("b", "bob@corp.test", true)},
		Groups:   []directory.Group{{ExternalID: "g1", Name: "Ops", Members: []string{"a", "b"}}},
		Target: Target{
			Users:  []PoolUser{poolUser("u1", "b", "bob@pool.test", true), poolUser("u2", "x", "xavier@pool.test", true)},
			Groups: []PoolGroup{{ID: "t1", ExternalID: "g1", Name: "Ops", Members: []string{"b", "x"}}},
		},
		Limits: Limits{MaxDeletions: -1},
	})
	want := map[string]string{"a": "ann@pool.test", "x": "xavier@pool.test"}
	if diff := cmp.Diff(want, p.UserNames); diff != "" {
		t.Errorf("user names (-want +got):\n%s", diff)
	}
}
