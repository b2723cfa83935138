package agent

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	om "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/idhub"
)

// basicGroups creates groups idsync does not manage (no external id) in
// the rig's organization, through the API, and returns their ids by name.
func basicGroups(t *testing.T, addr string, names ...string) map[string]string {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+testToken)
	ids := map[string]string{}
	for _, n := range names {
		op, err := om.NewGroupServiceClient(cc).Create(ctx, &om.CreateGroupRequest{OrganizationId: testOrg, Name: n})
		if err != nil {
			t.Fatalf("create group %s: %v", n, err)
		}
		var g om.Group
		if err := op.GetResponse().UnmarshalTo(&g); err != nil {
			t.Fatal(err)
		}
		ids[n] = g.Id
	}
	return ids
}

// TestDeltaFindsNamesWithoutListFilters: a delta finds the pool groups and
// users its new objects collide with (case-insensitively) without list
// filters, which the emulator refuses as the API documents none for these
// names: short, upper-case, or with '.' or '_'. Colliding unmanaged objects
// are captured when capture is on and rejected when it is off; one listing
// per kind serves every look-up.
func TestDeltaFindsNamesWithoutListFilters(t *testing.T) {
	for _, capture := range []bool{true, false} {
		t.Run(fmt.Sprintf("capture=%v", capture), func(t *testing.T) {
			var addr string
			r := newRigClient(t, emulator.Options{NoMinInterval: true},
				func(o *idhub.Options) { addr = o.OrganizationManagerEndpoint },
				func(o *Options) { o.Settings.Plan.CaptureGroups, o.Settings.Plan.CaptureUsers = capture, capture })
			ctx := t.Context()
			u1 := dirUser(1)
			keep := directory.Group{ExternalID: "g-keep", Name: "Keep", Members: []string{u1.ExternalID}}
			r.dir.set(func(d *fakeDir) { d.users, d.groups = []directory.User{u1}, []directory.Group{keep} })
			if _, err := r.agent.RunCycle(ctx, CycleOptions{}); err != nil {
				t.Fatal(err)
			}
			// Unmanaged objects whose names the next directory objects map
			// to, in another letter case.
			held := basicGroups(t, addr, "IT", "SALES", "dev.ops", "qa_team")
			pu, err := r.client.CreateUser(ctx, &idp.CreateUserRequest{Username: "USER7@" + strings.ToUpper(testDomain), FullName: "Pool user"})
			if err != nil {
				t.Fatal(err)
			}
			u7 := dirUser(7)
			added := []directory.Group{
				{ExternalID: "g-it", Name: "it", Members: []string{u1.ExternalID}},
				{ExternalID: "g-sales", Name: "Sales"},
				{ExternalID: "g-dev", Name: "Dev.Ops"},
				{ExternalID: "g-qa", Name: "qa_team"},
				{ExternalID: "g-new", Name: "New_Team.x"},
			}
			statsBefore := r.emu.Stats().Calls
			r.dir.set(func(d *fakeDir) {
				d.users = []directory.User{u1, u7}
				d.groups = append([]directory.Group{keep}, added...)
			})
			job, err := r.agent.RunCycle(ctx, CycleOptions{})
			if job == nil || job.Mode != string(ModeDelta) {
				t.Fatalf("second cycle: %+v, %v; want a delta", job, err)
			}
			if capture && err != nil {
				t.Fatalf("delta with capture: %v", err)
			}
			if !capture && err == nil {
				t.Fatal("delta without capture: no error for the colliding objects")
			}
			after := r.emu.Stats().Calls
			for _, m := range []string{"GroupService/List", "UserService/List"} {
				full := "/yandex.cloud.organizationmanager.v1." + m
				if m == "UserService/List" {
					full = "/yandex.cloud.organizationmanager.v1.idp." + m
				}
				if n := after[full] - statsBefore[full]; n != 1 {
					t.Errorf("%s called %d times in the delta, want one listing", m, n)
				}
			}

			d := r.emu.Dump()
			byExt := map[string]emulator.DumpGroup{}
			for _, g := range d.Groups {
				byExt[g.ExternalID] = g
			}
			if len(d.Groups) != 6 { // Keep, the four held names and New_Team.x
				t.Errorf("%d groups in the organization, want 6: %+v", len(d.Groups), d.Groups)
			}
			if g, ok := byExt["g-new"]; !ok || g.Name != "New_Team.x" {
				t.Errorf("group without a collision: %+v (found %v)", g, ok)
			}
			pairs := map[string]string{"g-it": "IT", "g-sales": "SALES", "g-dev": "dev.ops", "g-qa": "qa_team"}
			for ext, pool := range pairs {
				g, ok := byExt[ext]
				switch {
				case capture && (!ok || g.ID != held[pool]):
					t.Errorf("%s: not captured from %s (%s): %+v", ext, pool, held[pool], g)
				case !capture && ok:
					t.Errorf("%s: synchronized without capture: %+v", ext, g)
				}
			}
			var bound bool
			for _, u := range d.Users {
				if u.ID == pu.Id {
					bound = u.ExternalID == u7.ExternalID
				}
			}
			if bound != capture {
				t.Errorf("pool user %s bound to %s: %v, want %v", pu.Id, u7.ExternalID, bound, capture)
			}
		})
	}
}

// TestDeltaWithoutNewNamesListsNothing: a delta that neither adds nor
// renames a group or adds a user lists neither groups nor users.
func TestDeltaWithoutNewNamesListsNothing(t *testing.T) {
	r := newRig(t, emulator.Options{NoMinInterval: true}, func(o *Options) { o.Settings.Plan.CaptureGroups = true })
	ctx := t.Context()
	u1 := dirUser(1)
	g := directory.Group{ExternalID: "g-1", Name: "Ops", Members: []string{u1.ExternalID}}
	r.dir.set(func(d *fakeDir) { d.users, d.groups = []directory.User{u1, dirUser(2)}, []directory.Group{g} })
	if _, err := r.agent.RunCycle(ctx, CycleOptions{}); err != nil {
		t.Fatal(err)
	}
	before := r.emu.Stats().Calls
	r.dir.set(func(d *fakeDir) {
		d.users[0].JobTitle = "Engineer"
		d.groups[0].Description = "Operations"
		d.groups[0].Members = append(d.groups[0].Members, dirUser(2).ExternalID)
	})
	job, err := r.agent.RunCycle(ctx, CycleOptions{})
	if err != nil || job.Mode != string(ModeDelta) {
		t.Fatalf("delta: %v (mode %s)", err, job.Mode)
	}
	after := r.emu.Stats().Calls
	for _, m := range []string{"/yandex.cloud.organizationmanager.v1.GroupService/List", "/yandex.cloud.organizationmanager.v1.idp.UserService/List"} {
		if n := after[m] - before[m]; n != 0 {
			t.Errorf("%s called %d times, want none", m, n)
		}
	}
}

// TestFullCycleRejectsTakenGroupNamesWithoutCapture: in a full cycle with
// group capture off, a new directory group whose name an unmanaged group
// holds (in another letter case) is rejected at plan time with the
// allow_to_capture_groups hint, and no call tries to create it.
func TestFullCycleRejectsTakenGroupNamesWithoutCapture(t *testing.T) {
	var addr string
	r := newRigClient(t, emulator.Options{NoMinInterval: true},
		func(o *idhub.Options) { addr = o.OrganizationManagerEndpoint }, nil)
	held := basicGroups(t, addr, "SALES")
	u1 := dirUser(1)
	r.dir.set(func(d *fakeDir) {
		d.users = []directory.User{u1}
		d.groups = []directory.Group{{ExternalID: "g-sales", Name: "Sales", Members: []string{u1.ExternalID}}, {ExternalID: "g-ops", Name: "Ops"}}
	})
	plan, err := r.agent.Plan(t.Context(), true)
	if err != nil {
		t.Fatal(err)
	}
	var hinted bool
	for _, rj := range plan.Rejected {
		hinted = hinted || (rj.ExternalID == "g-sales" && strings.Contains(rj.Reason, "allow_to_capture_groups") && strings.Contains(rj.Reason, held["SALES"]))
	}
	if !hinted {
		t.Fatalf("rejections %+v; want g-sales rejected with the allow_to_capture_groups hint", plan.Rejected)
	}
	before := r.emu.Stats().Calls
	job, err := r.agent.RunCycle(t.Context(), CycleOptions{})
	if job == nil || job.Mode != string(ModeFull) {
		t.Fatalf("cycle: %+v, %v; want a full cycle", job, err)
	}
	var pe *PartialError
	if !errors.As(err, &pe) || pe.Failed != 1 {
		t.Fatalf("cycle error %v; want a partial success with the rejected group failed", err)
	}
	calls := r.emu.Stats().Calls
	if n := calls["/yandex.cloud.organizationmanager.v1.GroupService/CreateExternal"] - before["/yandex.cloud.organizationmanager.v1.GroupService/CreateExternal"]; n != 1 {
		t.Errorf("CreateExternal called %d times, want once (for Ops only)", n)
	}
	for _, g := range r.emu.Dump().Groups {
		if g.ExternalID == "g-sales" {
			t.Errorf("g-sales synchronized without capture: %+v", g)
		}
	}
}
