package bench

import (
	"strings"
	"testing"
	"time"

	"github.com/idsync/idsync/internal/testing/adseed"
)

func TestShortMethod(t *testing.T) {
	for in, want := range map[string]string{
		"/yandex.cloud.organizationmanager.v1.idp.UserService/Create":     "UserService.Create",
		"/yandex.cloud.organizationmanager.v1.GroupService/UpdateMembers": "GroupService.UpdateMembers",
		"nomethod": "nomethod",
	} {
		if got := shortMethod(in); got != want {
			t.Errorf("shortMethod(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCallsStringAndDiff(t *testing.T) {
	before := calls{"A.X": 1, "B.Y": 5}
	after := calls{"A.X": 4, "B.Y": 5, "C.Z": 3}
	d := diff(after, before)
	if got, want := d.String(), "A.X 3, C.Z 3"; got != want {
		t.Errorf("diff = %q, want %q", got, want)
	}
	if d.total() != 6 {
		t.Errorf("total = %d, want 6", d.total())
	}
}

func TestCountWriterSplitWrites(t *testing.T) {
	var w countWriter
	ldif := "dn: CN=a,DC=x\nobjectGUID:: AAAA\n\ndn: CN=b,DC=x\n\ndn: CN=c,DC=x\n"
	for _, chunk := range []string{ldif[:5], ldif[5:17], ldif[17:40], ldif[40:]} {
		if _, err := w.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	if w.entries != 3 || w.n != int64(len(ldif)) {
		t.Errorf("entries %d bytes %d, want 3 and %d", w.entries, w.n, len(ldif))
	}
}

func TestPlanChangesW1k(t *testing.T) {
	ds, err := adseed.Profile("w1k", "DC=idsync,DC=test")
	if err != nil {
		t.Fatal(err)
	}
	cs := planChanges(ds, 1)
	if len(cs.users) != 10 {
		t.Errorf("users changed = %d, want 10 (1%% of 1,000)", len(cs.users))
	}
	if n, want := len(cs.removes)+len(cs.adds), (ds.MembershipCount()+50)/100; n != want {
		t.Errorf("member values changed = %d, want %d", n, want)
	}
	if len(cs.removes) == 0 || len(cs.adds) == 0 {
		t.Errorf("want both removes and adds, got %s", cs)
	}
	for _, m := range cs.removes {
		g, ok := ds.Group(m[0])
		if !ok || !containsFold(g.Members, m[1]) {
			t.Errorf("remove %v: not a member value of the dataset", m)
		}
	}
	for _, m := range cs.adds {
		g, ok := ds.Group(m[0])
		if !ok || containsFold(g.Members, m[1]) {
			t.Errorf("add %v: already a member value of the dataset", m)
		}
	}
	if again := planChanges(ds, 1); again.String() != cs.String() || again.adds[0] != cs.adds[0] {
		t.Errorf("planChanges is not deterministic")
	}
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func TestDescribeMinCalls(t *testing.T) {
	ds, err := adseed.Profile("w1k", "DC=idsync,DC=test")
	if err != nil {
		t.Fatal(err)
	}
	w := describe(ds)
	if w.Users != 1000 || w.Groups != 100 {
		t.Fatalf("workload %d users %d groups, want 1000 and 100", w.Users, w.Groups)
	}
	// No w1k group reaches 1,000 members: one UpdateMembers per non-empty group.
	if w.LargestGroup >= 1000 || w.minUpdateMembers() > w.Groups {
		t.Errorf("largest group %d, UpdateMembers minimum %d", w.LargestGroup, w.minUpdateMembers())
	}
	if w.MinCalls != w.Users+w.Groups+w.minUpdateMembers()+4 {
		t.Errorf("MinCalls = %d", w.MinCalls)
	}
}

func TestEffectiveCountsMatchDataset(t *testing.T) {
	for _, profile := range []string{"w1k", "test"} {
		ds, err := adseed.Profile(profile, "DC=idsync,DC=test")
		if err != nil {
			t.Fatal(err)
		}
		eff := effectiveCounts(ds)
		for _, g := range ds.ScopedGroups() {
			if got, want := eff[strings.ToLower(g.DN)], len(ds.EffectiveMembers(g.DN)); got != want {
				t.Errorf("%s: group %s has %d effective members, want %d", profile, g.DN, got, want)
			}
		}
	}
}

func TestReportTargets(t *testing.T) {
	r := &Report{
		Workload: Workload{Name: "w1k", Users: 1000, Groups: 100, Effective: 5000, MinCalls: 1204},
		Scenarios: []Scenario{
			{Name: "full sync, empty pool", proc: proc{Wall: 2 * time.Second, PeakRSS: 50 << 20}, Pool: "ok",
				Calls: calls{"UserService.Create": 1000, "UserService.GeneratePassword": 1000, "GroupService.UpdateMembers": 100}},
			{Name: "no-change cycle, delta", proc: proc{Wall: 1500 * time.Millisecond, PeakRSS: 40 << 20}},
			{Name: "full sync, 200 calls/s limit", proc: proc{Wall: 9 * time.Second, PeakRSS: 60 << 20}, Limit: 200, Rate: 150,
				Errors: calls{"ResourceExhausted": 3}, Pool: "ok"},
		},
		LDAP: ldapFloor{Users: 300 * time.Millisecond, Groups: 200 * time.Millisecond}, EmuRate: 10000,
	}
	var sb strings.Builder
	r.Write(&sb)
	out := sb.String()
	for _, want := range []string{
		"| full sync within 3x the floor | 3.22x | **no** |",
		"| at most ~2 API calls per created user | 2.00 (Create + GeneratePassword) | yes |",
		"| no-change delta cycle under 1s | 1.50 s | **no** |",
		"75%, failed calls: ResourceExhausted 3, exit 0, pool ok | **no** |",
		"| peak RSS under 100.0 MiB | 60.0 MiB | yes |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 20; i++ {
		d = append(d, time.Duration(i)*time.Second)
	}
	if p50, p95, p100 := percentile(d, 0.5), percentile(d, 0.95), percentile(d, 1); p50 != 11*time.Second || p95 != 19*time.Second || p100 != 20*time.Second {
		t.Errorf("p50 %s p95 %s p100 %s", p50, p95, p100)
	}
	if percentile(nil, 0.5) != 0 {
		t.Error("percentile of nothing is not 0")
	}
}
