package ldapsource

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/testing/fakead"
)

const (
	ouStaff = "OU=Staff," + testBase
	ouSub   = "OU=Sub,OU=Staff," + testBase
	ouOther = "OU=Other," + testBase
	cnUsers = "CN=Users," + testBase
)

// scenario is a small directory exercising scope, system objects, nesting
// with a cycle and primary groups.
type scenario struct {
	alice, bob, carol, dave                            directory.User
	engineers, backend, cycle, primary, other, domUser directory.Group
}

func seedScenario(f *fakead.Server) scenario {
	var s scenario
	s.alice = addUser(f, fakeUser{cn: "alice", ou: ouStaff, n: 1})
	s.bob = addUser(f, fakeUser{cn: "bob", ou: ouSub, n: 2, disabled: true, expires: "133485408000000000", pwdSet: "0"})
	s.carol = addUser(f, fakeUser{cn: "carol", ou: ouOther, n: 3})
	addUser(f, fakeUser{cn: "Administrator", ou: cnUsers, n: 4, critical: true})
	addUser(f, fakeUser{cn: "krbtgt", ou: cnUsers, n: 5, critical: true, disabled: true})
	addUser(f, fakeUser{cn: "WS01$", ou: ouStaff, n: 6, computer: true})
	s.dave = addUser(f, fakeUser{cn: "dave", ou: ouStaff, n: 7, primary: 6000})
	s.engineers = addGroup(f, fakeGroup{cn: "Engineers", ou: ouStaff, n: 1,
		members: []string{"CN=alice," + ouStaff, "CN=Backend," + ouStaff}})
	s.backend = addGroup(f, fakeGroup{cn: "Backend", ou: ouStaff, n: 2,
		members: []string{"CN=bob," + ouSub, "CN=Cycle," + ouStaff}})
	s.cycle = addGroup(f, fakeGroup{cn: "Cycle", ou: ouStaff, n: 3,
		members: []string{"CN=Engineers," + ouStaff, "CN=carol," + ouOther, "CN=WS01$," + ouStaff}})
	s.primary = addGroup(f, fakeGroup{cn: "PrimaryG", ou: ouStaff, n: 4, rid: 6000})
	s.other = addGroup(f, fakeGroup{cn: "OtherGroup", ou: ouOther, n: 5, members: []string{"CN=dave," + ouStaff}})
	s.domUser = addGroup(f, fakeGroup{cn: "Domain Users", ou: cnUsers, n: 6, rid: 513, critical: true})
	return s
}

func withMembers(g directory.Group, users ...directory.User) directory.Group {
	g.Members = []string{}
	for _, u := range users {
		g.Members = append(g.Members, u.ExternalID)
	}
	return g
}

var snapCmp = []cmp.Option{cmpopts.EquateEmpty(), cmpopts.IgnoreFields(directory.Snapshot{}, "Watermark", "Graph")}

func TestSnapshotScope(t *testing.T) {
	ctx := context.Background()
	f := startFake(t, fakead.Options{})
	sc := seedScenario(f)
	tests := []struct {
		name         string
		scope        Scope
		want         directory.Snapshot
		wantExcluded int
	}{
		{
			name:  "organizational unit with nesting cycle and primary group",
			scope: Scope{Domain: "test.example.com", OrganizationalUnits: []string{ouStaff}},
			want: directory.Snapshot{
				Users: []directory.User{sc.alice, sc.bob, sc.dave},
				Groups: []directory.Group{
					withMembers(sc.engineers, sc.alice, sc.bob),
					withMembers(sc.backend, sc.alice, sc.bob),
					withMembers(sc.cycle, sc.alice, sc.bob),
					withMembers(sc.primary, sc.dave),
				},
			},
		},
		{
			name:  "group filter by name",
			scope: Scope{Domain: "test.example.com", Groups: []string{"othergroup"}},
			want: directory.Snapshot{
				Users: []directory.User{sc.dave},
				Groups: []directory.Group{
					withMembers(sc.engineers), withMembers(sc.backend), withMembers(sc.cycle),
					withMembers(sc.primary, sc.dave), withMembers(sc.other, sc.dave),
				},
			},
			wantExcluded: 3,
		},
		{
			name:  "group filter by DN reaches nested users outside the OU",
			scope: Scope{Domain: "test.example.com", Groups: []string{"CN=Engineers," + ouStaff}},
			want: directory.Snapshot{
				Users: []directory.User{sc.alice, sc.bob, sc.carol},
				Groups: []directory.Group{
					withMembers(sc.engineers, sc.alice, sc.bob, sc.carol),
					withMembers(sc.backend, sc.alice, sc.bob, sc.carol),
					withMembers(sc.cycle, sc.alice, sc.bob, sc.carol),
					withMembers(sc.primary), withMembers(sc.other),
				},
			},
			wantExcluded: 1,
		},
	}
	plain := startFake(t, fakead.Options{IgnoreExtendedDN: true})
	seedScenario(plain)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := newTestSource(t, f, func(o *Options) { o.Scope = tt.scope; o.DeltaMode = DeltaUSN })
			// A server that ignores the extended DN control gives the same
			// result through member DN lookups.
			srcPlain := newTestSource(t, plain, func(o *Options) { o.Scope = tt.scope; o.DeltaMode = DeltaUSN })
			gotPlain, err := srcPlain.Snapshot(ctx)
			if err != nil {
				t.Fatalf("Snapshot without extended DN: %v", err)
			}
			if diff := cmp.Diff(tt.want, *gotPlain, snapCmp...); diff != "" {
				t.Errorf("snapshot without extended DN mismatch (-want +got):\n%s", diff)
			}
			got, err := src.Snapshot(ctx)
			if err != nil {
				t.Fatalf("Snapshot: %v", err)
			}
			if diff := cmp.Diff(tt.want, *got, snapCmp...); diff != "" {
				t.Errorf("snapshot mismatch (-want +got):\n%s", diff)
			}
			if len(got.Graph.Excluded) != tt.wantExcluded {
				t.Errorf("excluded users = %d, want %d", len(got.Graph.Excluded), tt.wantExcluded)
			}
			wantWM := directory.Watermark{Mode: directory.ModeUSN, DCHost: "dc1.test.example.com",
				InvocationID: "0b7bd2a4-8d43-4d1e-9a53-3f0c1b1e2a01", USN: f.USN(), TakenAt: testNow}
			if diff := cmp.Diff(wantWM, got.Watermark, cmpopts.IgnoreFields(directory.Watermark{}, "Config")); diff != "" {
				t.Errorf("watermark mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSnapshotScopeGroupNotFound(t *testing.T) {
	f := startFake(t, fakead.Options{})
	seedScenario(f)
	src := newTestSource(t, f, func(o *Options) { o.Scope.Groups = []string{"No(Such)*Group"} })
	_, err := src.Snapshot(context.Background())
	if !errors.Is(err, ErrScopeGroupNotFound) {
		t.Fatalf("err = %v, want ErrScopeGroupNotFound", err)
	}
}

func seedMany(f *fakead.Server, users int) (all []directory.User, members []string) {
	for i := 0; i < users; i++ {
		u := addUser(f, fakeUser{cn: fmt.Sprintf("user%05d", i), ou: ouStaff, n: 100 + i})
		all = append(all, u)
		members = append(members, u.DN)
	}
	return all, members
}

func TestSnapshotPagingAndRanges(t *testing.T) {
	f := startFake(t, fakead.Options{MaxValRange: 1000})
	users, dns := seedMany(f, 2500)
	big := addGroup(f, fakeGroup{cn: "Everyone", ou: ouStaff, n: 1, members: dns})
	src := newTestSource(t, f, func(o *Options) { o.PageSize = 1000; o.DeltaMode = DeltaUSN })
	before := f.Searches.Load()
	got, err := src.Snapshot(context.Background())
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	want := directory.Snapshot{Users: users, Groups: []directory.Group{withMembers(big, users...)}}
	if diff := cmp.Diff(want, *got, snapCmp...); diff != "" {
		t.Fatalf("snapshot mismatch (-want +got):\n%s", diff)
	}
	// rootDSE + invocationId + 3 user pages + 1 group page + 2 further ranges.
	if n := f.Searches.Load() - before; n != 8 {
		t.Errorf("searches = %d, want 8 (3 pages of users, 3 ranges of member)", n)
	}
}

func TestSnapshotRangesWithoutForcing(t *testing.T) {
	f := startFake(t, fakead.Options{})
	users, dns := seedMany(f, 1700)
	big := addGroup(f, fakeGroup{cn: "Everyone", ou: ouStaff, n: 1, members: dns})
	src := newTestSource(t, f, func(o *Options) { o.DeltaMode = DeltaUSN })
	got, err := src.Snapshot(context.Background())
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	if diff := cmp.Diff([]directory.Group{withMembers(big, users...)}, got.Groups, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("groups mismatch (-want +got):\n%s", diff)
	}
}

func TestSnapshotFailures(t *testing.T) {
	tests := []struct {
		name    string
		arrange func(f *fakead.Server)
		wantErr string
	}{
		{name: "error result on second page", arrange: func(f *fakead.Server) { f.FailPage(2, 51) }, wantErr: "Busy"},
		{name: "admin limit on first page", arrange: func(f *fakead.Server) { f.FailPage(1, 11) }, wantErr: "Admin Limit Exceeded"},
		{name: "connection cut mid-read", arrange: func(f *fakead.Server) { f.CutAfterEntries(1500) }, wantErr: "(page 2): unable to read LDAP response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startFake(t, fakead.Options{})
			seedMany(f, 2500)
			src := newTestSource(t, f, func(o *Options) { o.PageSize = 1000; o.DeltaMode = DeltaUSN })
			tt.arrange(f)
			got, err := src.Snapshot(context.Background())
			if err == nil {
				t.Fatalf("Snapshot succeeded with %d users, want an error", len(got.Users))
			}
			if got != nil {
				t.Fatalf("partial snapshot returned with the error")
			}
			t.Logf("snapshot error: %v", err)
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
			}
			// Once the fault is gone the next read succeeds, re-dialing if
			// the connection was lost.
			f.FailPage(0, 0)
			f.CutAfterEntries(0)
			got, err = src.Snapshot(context.Background())
			if err != nil {
				t.Fatalf("Snapshot after the fault: %v", err)
			}
			if len(got.Users) != 2500 {
				t.Fatalf("users after the fault = %d, want 2500", len(got.Users))
			}
		})
	}
}

func TestSnapshotIgnoresReferences(t *testing.T) {
	f := startFake(t, fakead.Options{})
	sc := seedScenario(f)
	f.SetReferrals("ldap://test.example.com/DC=DomainDnsZones,DC=test,DC=example,DC=com",
		"ldap://test.example.com/CN=Configuration,DC=test,DC=example,DC=com")
	src := newTestSource(t, f, func(o *Options) {
		o.DeltaMode = DeltaUSN
		o.Scope.OrganizationalUnits = []string{ouStaff}
	})
	got, err := src.Snapshot(context.Background())
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	if diff := cmp.Diff([]directory.User{sc.alice, sc.bob, sc.dave}, got.Users, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("users mismatch (-want +got):\n%s", diff)
	}
}

func TestSnapshotMapping(t *testing.T) {
	f := startFake(t, fakead.Options{})
	u := addUser(f, fakeUser{cn: "erin", ou: ouStaff, n: 1, extraAttr: map[string][]string{"extensionAttribute1": {"custom"}}})
	m := directory.DefaultMapping().Override(map[directory.UserField]directory.AttributeMapping{
		directory.FieldFullName:   {Source: "extensionAttribute1", Type: directory.Direct},
		directory.FieldEmployeeID: {Source: "objectSid", Type: directory.Direct},
		directory.FieldGivenName:  {Type: directory.Empty},
	}, nil)
	src := newTestSource(t, f, func(o *Options) { o.Mapping = m; o.DeltaMode = DeltaUSN })
	got, err := src.Snapshot(context.Background())
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	u.FullName, u.EmployeeID, u.GivenName = "custom", u.SID, ""
	if diff := cmp.Diff([]directory.User{u}, got.Users); diff != "" {
		t.Fatalf("users mismatch (-want +got):\n%s", diff)
	}
}

func TestSnapshotCancelled(t *testing.T) {
	f := startFake(t, fakead.Options{})
	seedScenario(f)
	src := newTestSource(t, f, func(o *Options) { o.DeltaMode = DeltaUSN })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	got, err := src.Snapshot(ctx)
	if !errors.Is(err, context.Canceled) || got != nil {
		t.Fatalf("Snapshot = %v, %v; want context.Canceled and no snapshot", got, err)
	}
}

func TestCheckReportsMissingScope(t *testing.T) {
	f := startFake(t, fakead.Options{DirSyncDenied: true})
	seedScenario(f)
	src := newTestSource(t, f, func(o *Options) {
		o.Scope.OrganizationalUnits = []string{ouStaff, "OU=Missing," + testBase}
		o.Scope.Groups = []string{"Engineers", "Nope"}
		o.DeltaMode = DeltaDirSync
	})
	rep := src.Check(context.Background())
	if !rep.Bound || rep.DCHost != "dc1.test.example.com" || rep.DirSync {
		t.Fatalf("Check = %+v", rep)
	}
	want := []string{"dirsync configured but not available", `organizational unit "OU=Missing`, `"Nope"`}
	if len(rep.Problems) != len(want) {
		t.Fatalf("problems = %q, want %d", rep.Problems, len(want))
	}
	for i, w := range want {
		if !strings.Contains(rep.Problems[i], w) {
			t.Errorf("problem %d = %q, want it to mention %s", i, rep.Problems[i], w)
		}
	}
}
