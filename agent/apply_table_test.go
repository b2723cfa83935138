package agent

import (
	"testing"

	"go.uber.org/zap"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/pool"
	"github.com/idsync/idsync/reporter"
)

// TestApplierTable runs the applier against the in-memory pool: each case
// is a pool, a plan and what the counts and failures must say.
func TestApplierTable(t *testing.T) {
	type count struct {
		kind directory.Kind
		ch   reporter.Change
		out  reporter.Outcome
		n    int64
	}
	cases := []struct {
		name       string
		setup      func(f *fakePool) Plan
		counts     []count
		failedUser string
		check      func(t *testing.T, f *fakePool, a *applier)
	}{{
		name: "a create that conflicts with the user already there binds its id",
		setup: func(f *fakePool) Plan {
			f.addUser("ext-1", true)
			return Plan{Users: []UserChange{{ExternalID: "ext-1", Action: ActionCreate, Active: true,
				Fields: UserFields{Username: "other@corp.test"}}}}
		},
		counts: []count{{directory.KindUser, reporter.Create, reporter.Success, 1}},
		check: func(t *testing.T, f *fakePool, a *applier) {
			if a.x.users["ext-1"] == "" {
				t.Error("the existing user's id is not recorded")
			}
		},
	}, {
		name: "a delete of a user already gone succeeds",
		setup: func(*fakePool) Plan {
			return Plan{Users: []UserChange{{ExternalID: "ext-1", TargetID: "u404", Action: ActionDelete, Removed: true}}}
		},
		counts: []count{{directory.KindUser, reporter.Delete, reporter.Success, 1}},
	}, {
		name: "a failed update is counted and remembered; the deactivation still runs",
		setup: func(f *fakePool) Plan {
			id := f.addUser("ext-1", true)
			f.fail["UpdateUser/"+id] = poolErr(pool.ClassInvalid, "bad name")
			return Plan{Users: []UserChange{{ExternalID: "ext-1", TargetID: id, Action: ActionUpdate,
				Status: StatusDeactivate, Mask: []string{"full_name"}, Fields: UserFields{FullName: "X"}}}}
		},
		counts: []count{{directory.KindUser, reporter.Update, reporter.Failed, 1},
			{directory.KindUser, reporter.Deactivate, reporter.Success, 1}},
		failedUser: "ext-1",
	}, {
		name: "members of a group whose create failed are skipped",
		setup: func(f *fakePool) Plan {
			f.addUser("ext-1", true)
			f.fail["CreateExternalGroup/grp-1"] = poolErr(pool.ClassInvalid, "bad name")
			return Plan{
				Groups:  []GroupChange{{ExternalID: "grp-1", Action: ActionCreate, Name: "g"}},
				Members: []MemberChange{{GroupExternalID: "grp-1", Add: []string{"ext-1"}}},
			}
		},
		counts: []count{{directory.KindGroup, reporter.Create, reporter.Failed, 1},
			{directory.KindMembership, reporter.Create, reporter.Skipped, 1}},
	}, {
		name: "a new group gets the members resolved from the pool",
		setup: func(f *fakePool) Plan {
			f.addUser("ext-1", true)
			return Plan{
				Groups:  []GroupChange{{ExternalID: "grp-1", Action: ActionCreate, Name: "g"}},
				Members: []MemberChange{{GroupExternalID: "grp-1", Add: []string{"ext-1"}}},
			}
		},
		counts: []count{{directory.KindGroup, reporter.Create, reporter.Success, 1},
			{directory.KindMembership, reporter.Create, reporter.Success, 1}},
		check: func(t *testing.T, f *fakePool, a *applier) {
			gid := a.x.groups["grp-1"]
			if uid := a.x.users["ext-1"]; gid == "" || !f.members[gid][uid] {
				t.Errorf("group %q members %v; want the user %q", gid, f.members[gid], uid)
			}
		},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePool()
			p := tc.setup(f)
			counts := &reporter.Counts{}
			a := newApplier(f, counts, newIDs(), 2, zap.NewNop())
			if err := a.apply(t.Context(), &p); err != nil {
				t.Fatal(err)
			}
			for _, c := range tc.counts {
				if got := counts.Get(c.kind, c.ch, c.out); got != c.n {
					t.Errorf("%s %s %s = %d, want %d (calls %v)", c.kind, c.ch, c.out, got, c.n, f.calls)
				}
			}
			if tc.failedUser != "" && !a.failedUsers[tc.failedUser] {
				t.Errorf("user %s not remembered as failed", tc.failedUser)
			}
			for ext := range a.failedUsers {
				if ext != tc.failedUser {
					t.Errorf("user %s failed unexpectedly", ext)
				}
			}
			if tc.check != nil {
				tc.check(t, f, a)
			}
		})
	}
}
