package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"go.uber.org/zap/zaptest"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/idhub"
	"github.com/idsync/idsync/internal/state"
	"github.com/idsync/idsync/internal/testing/emulatortest"
)

const (
	testPool   = "pool1"
	testOrg    = "org1"
	testDomain = "pool.idp.test"
	testToken  = "t0ken"
)

// fakeDir is an in-memory directory: Snapshot returns its content, Delta
// diffs it against the previous snapshot.
type fakeDir struct {
	mu      sync.Mutex
	users   []directory.User
	groups  []directory.Group
	deleted map[string]bool
	usn     int64
	fail    error
	// seen holds what each read saw, by the USN of its watermark, so that
	// Delta, as a real source, answers "nothing changed" without loading
	// the previous state; loads counts the loads it could not avoid.
	seen  map[int64]*directory.Snapshot
	loads int
}

func (d *fakeDir) read() (*directory.Snapshot, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail != nil {
		return nil, d.fail
	}
	d.usn++
	s := &directory.Snapshot{Users: slices.Clone(d.users), Groups: slices.Clone(d.groups),
		Watermark: directory.Watermark{Mode: directory.ModeUSN, DCHost: "dc1", InvocationID: "inv", USN: d.usn}}
	slices.SortFunc(s.Users, func(a, b directory.User) int { return strings.Compare(a.ExternalID, b.ExternalID) })
	slices.SortFunc(s.Groups, func(a, b directory.Group) int { return strings.Compare(a.ExternalID, b.ExternalID) })
	if d.seen == nil {
		d.seen = map[int64]*directory.Snapshot{}
	}
	d.seen[d.usn] = s
	return s, nil
}

func (d *fakeDir) Snapshot(context.Context) (*directory.Snapshot, error) { return d.read() }

func (d *fakeDir) Delta(_ context.Context, prev directory.Previous) (*directory.Delta, error) {
	if prev.Watermark.IsZero() {
		return nil, fmt.Errorf("fake delta: %w", directory.ErrFullSyncRequired)
	}
	next, err := d.read()
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	then := d.seen[prev.Watermark.USN]
	unchanged := then != nil && len(d.deleted) == 0 && cmp.Equal(then.Users, next.Users) && cmp.Equal(then.Groups, next.Groups)
	if !unchanged {
		d.loads++
	}
	d.mu.Unlock()
	if unchanged {
		return &directory.Delta{Watermark: next.Watermark}, nil
	}
	p, err := prev.Load()
	if err != nil {
		return nil, fmt.Errorf("fake delta: %w", err)
	}
	if p == nil {
		return nil, fmt.Errorf("fake delta: %w", directory.ErrFullSyncRequired)
	}
	return directory.Diff(p, next, d.deleted), nil
}

func (d *fakeDir) set(fn func(d *fakeDir)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fn(d)
}

func dirUser(i int) directory.User {
	return directory.User{ExternalID: fmt.Sprintf("00000000-0000-0000-0000-%012d", i), DN: fmt.Sprintf("CN=u%d,OU=Staff,DC=corp,DC=test", i),
		Username: fmt.Sprintf("user%d@corp.test", i), FullName: fmt.Sprintf("User %d", i), Email: fmt.Sprintf("user%d@corp.test", i), Enabled: true}
}

type rig struct {
	emu    *emulator.Emulator
	client *idhub.Client
	cloud  *idhub.Cloud // client as agent sees it
	dir    *fakeDir
	store  *state.Store
	jobs   *state.Jobs
	agent  *Agent
	opts   Options
}

func newRig(t *testing.T, eo emulator.Options, tweak func(*Options)) *rig {
	t.Helper()
	return newRigClient(t, eo, nil, tweak)
}

// newRigClient is newRig with client options adjusted by mod.
func newRigClient(t *testing.T, eo emulator.Options, mod func(*idhub.Options), tweak func(*Options)) *rig {
	t.Helper()
	eo.UserpoolID, eo.OrganizationID, eo.Domain, eo.StaticToken = testPool, testOrg, testDomain, testToken
	emu, addr := emulatortest.Start(t, eo)
	client := emulatortest.Client(t, addr, testPool, testToken, mod)
	dir := t.TempDir()
	store, err := state.Open(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	r := &rig{emu: emu, client: client, cloud: idhub.NewCloud(client), dir: &fakeDir{deleted: map[string]bool{}}, store: store, jobs: state.OpenJobs(dir)}
	r.opts = Options{
		AgentID: "agent-a", UserpoolID: testPool, Cloud: r.cloud, Store: store, Jobs: r.jobs,
		NewSource: func(SyncSettings) (Source, error) { return r.dir, nil },
		Settings: &SyncSettings{Plan: Settings{ReplacementDomain: testDomain, RemoveBehavior: RemoveDelete}, Domain: "corp.test",
			Mapping: directory.DefaultMapping()},
		Limits:         Limits{MaxDeletions: 500, MaxDeletionPercent: 50},
		ReportInterval: 20 * time.Millisecond,
		Logger:         zaptest.NewLogger(t),
	}
	if tweak != nil {
		tweak(&r.opts)
	}
	r.agent, err = New(r.opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// mutating counts the emulator's calls that change users or groups.
func (r *rig) mutating() int64 {
	var n int64
	for m, c := range r.emu.Stats().Calls {
		for _, verb := range []string{"/Create", "/Update", "/Delete", "/Suspend", "/Reactivate", "/ConvertToExternal", "/CreateExternal", "/UpdateMembers"} {
			if strings.HasSuffix(m, verb) && !strings.Contains(m, "Synchronization") {
				n += c
			}
		}
	}
	return n
}

// poolState summarizes the emulator's users and groups for comparisons.
func (r *rig) poolState() (users map[string]string, groups map[string][]string) {
	d := r.emu.Dump()
	users = map[string]string{}
	byID := map[string]string{}
	for _, u := range d.Users {
		users[u.ExternalID] = u.Username + "|" + u.FullName + "|" + u.Status
		byID[u.ID] = u.ExternalID
	}
	groups = map[string][]string{}
	for _, g := range d.Groups {
		var ms []string
		for _, m := range g.Members {
			ms = append(ms, byID[m])
		}
		slices.Sort(ms)
		groups[g.Name] = ms
	}
	return users, groups
}

func TestCycleEndToEnd(t *testing.T) {
	r := newRig(t, emulator.Options{NoMinInterval: true}, nil)
	ctx := t.Context()
	u := []directory.User{dirUser(1), dirUser(2), dirUser(3)}
	u[2].Enabled = false
	r.dir.set(func(d *fakeDir) {
		d.users = u
		d.groups = []directory.Group{
			{ExternalID: "g-eng", Name: "Engineering", Members: []string{u[0].ExternalID, u[1].ExternalID}},
			{ExternalID: "g-all", Name: "All Staff", Members: []string{u[0].ExternalID, u[1].ExternalID, u[2].ExternalID}},
		}
	})

	// 1. Full sync into an empty pool.
	job, err := r.agent.RunCycle(ctx, CycleOptions{Trigger: TriggerManual})
	if err != nil {
		t.Fatalf("first cycle: %v", err)
	}
	if job.Mode != "full" || job.Status != state.StatusSuccess {
		t.Errorf("first cycle: mode %s status %s", job.Mode, job.Status)
	}
	users, groups := r.poolState()
	wantUsers := map[string]string{
		u[0].ExternalID: "user1@pool.idp.test|User 1|ACTIVE",
		u[1].ExternalID: "user2@pool.idp.test|User 2|ACTIVE",
		u[2].ExternalID: "user3@pool.idp.test|User 3|SUSPENDED",
	}
	if diff := cmp.Diff(wantUsers, users); diff != "" {
		t.Errorf("pool users after full sync (-want +got):\n%s", diff)
	}
	wantGroups := map[string][]string{
		"Engineering": {u[0].ExternalID, u[1].ExternalID},
		"All-Staff":   {u[0].ExternalID, u[1].ExternalID, u[2].ExternalID},
	}
	if diff := cmp.Diff(wantGroups, groups); diff != "" {
		t.Errorf("pool groups after full sync (-want +got):\n%s", diff)
	}
	res := job.Result
	if got := []int64{res.UserStatistics.Created.Success, res.GroupStatistics.Created.Success, res.GroupMemberStatistics.Created.Success}; !slices.Equal(got, []int64{3, 2, 5}) {
		t.Errorf("created users, groups, memberships = %v, want [3 2 5]", got)
	}
	sess := r.emu.Dump().Sessions
	if len(sess) != 1 || sess[0].Status != "COMPLETED" {
		t.Fatalf("sessions after first cycle: %+v", sess)
	}
	wantProgress := []emulator.DumpProgress{
		{Object: "USER", Change: "CREATE", Successful: 3},
		{Object: "GROUP", Change: "CREATE", Successful: 2},
		{Object: "MEMBERSHIP", Change: "CREATE", Successful: 5},
	}
	if diff := cmp.Diff(wantProgress, sess[0].Progress); diff != "" {
		t.Errorf("reported progress (-want +got):\n%s", diff)
	}
	if r.emu.Dump().ReplicationTokens["AD_SYNC"] == "" {
		t.Error("no replication token stored after the first cycle")
	}

	// 2. No directory change: a delta cycle with no mutating call.
	before := r.mutating()
	job, err = r.agent.RunCycle(ctx, CycleOptions{Trigger: TriggerAuto})
	if err != nil {
		t.Fatalf("no-change cycle: %v", err)
	}
	if job.Mode != "delta" || r.mutating() != before {
		t.Errorf("no-change cycle: mode %s, %d mutating calls", job.Mode, r.mutating()-before)
	}
	if p := r.emu.Dump().Sessions[1].Progress; len(p) != 0 {
		t.Errorf("no-change session reported progress %+v, want none", p)
	}

	// 3. Changes: rename, disable, enable, delete a user, a new user, and
	// membership changes.
	r.dir.set(func(d *fakeDir) {
		d.users[0].FullName = "User One"
		d.users[1].Enabled = false
		d.users[2].Enabled = true
		d.users = append(d.users, dirUser(4))
		d.groups[0].Members = []string{d.users[0].ExternalID, d.users[3].ExternalID}
	})
	job, err = r.agent.RunCycle(ctx, CycleOptions{Trigger: TriggerAuto})
	if err != nil {
		t.Fatalf("delta cycle: %v", err)
	}
	users, groups = r.poolState()
	if got := users[u[0].ExternalID]; got != "user1@pool.idp.test|User One|ACTIVE" {
		t.Errorf("renamed user = %s", got)
	}
	if got := users[u[1].ExternalID]; got != "user2@pool.idp.test|User 2|SUSPENDED" {
		t.Errorf("disabled user = %s", got)
	}
	if got := users[u[2].ExternalID]; got != "user3@pool.idp.test|User 3|ACTIVE" {
		t.Errorf("enabled user = %s", got)
	}
	if diff := cmp.Diff([]string{u[0].ExternalID, dirUser(4).ExternalID}, groups["Engineering"]); diff != "" {
		t.Errorf("Engineering members after delta (-want +got):\n%s", diff)
	}
	rs := job.Result.UserStatistics
	if job.Mode != "delta" || rs.Created.Success != 1 || rs.Updated.Success != 1 || rs.Activated.Success != 1 || rs.Deactivated.Success != 1 {
		t.Errorf("delta job: mode %s user stats %+v", job.Mode, rs)
	}
	ms := job.Result.GroupMemberStatistics
	if ms.Created.Success != 1 || ms.Deleted.Success != 1 {
		t.Errorf("delta membership stats %+v, want 1 added and 1 removed", ms)
	}
	// The id cache gained the new user and kept the others (a delta
	// writes back only the pairs it learned).
	cached, err := r.store.AllIDs(directory.KindUser)
	if err != nil {
		t.Fatal(err)
	}
	if len(cached) != 4 || cached[dirUser(4).ExternalID] == "" || cached[u[0].ExternalID] == "" {
		t.Errorf("id cache after the delta: %v, want the 4 users", cached)
	}

	// 4. A deleted user is deleted in a delta.
	r.dir.set(func(d *fakeDir) {
		d.deleted[d.users[2].ExternalID] = true
		d.users = slices.Delete(d.users, 2, 3)
		d.groups[1].Members = []string{d.users[0].ExternalID, d.users[1].ExternalID}
	})
	job, err = r.agent.RunCycle(ctx, CycleOptions{Trigger: TriggerAuto})
	if err != nil {
		t.Fatalf("delete cycle: %v", err)
	}
	users, _ = r.poolState()
	if _, ok := users[u[2].ExternalID]; ok || job.Result.UserStatistics.Deleted.Success != 1 {
		t.Errorf("deleted user still in pool (%v) or not counted (%+v)", ok, job.Result.UserStatistics.Deleted)
	}

	// 5. Mass deletion: a safety stop that changes nothing.
	before = r.mutating()
	usersBefore, groupsBefore := r.poolState()
	r.dir.set(func(d *fakeDir) { d.users = d.users[:1]; d.groups = nil })
	job, err = r.agent.RunCycle(ctx, CycleOptions{Trigger: TriggerAuto, Full: true})
	var se *SafetyError
	if !errors.As(err, &se) {
		t.Fatalf("mass deletion: err %v, want a safety stop", err)
	}
	if job.Status != state.StatusFailed || job.ErrorCode != "SafetyStop" {
		t.Errorf("safety job: status %s code %s", job.Status, job.ErrorCode)
	}
	usersAfter, groupsAfter := r.poolState()
	if r.mutating() != before || !cmp.Equal(usersBefore, usersAfter) || !cmp.Equal(groupsBefore, groupsAfter) {
		t.Error("a safety stop changed the pool")
	}
	sess = r.emu.Dump().Sessions
	if last := sess[len(sess)-1]; last.Status != "FAILED" || !strings.Contains(last.FailReason, "safety") {
		t.Errorf("safety stop session: %s %q", last.Status, last.FailReason)
	}

	// 6. The job history holds every cycle, newest first.
	list, err := r.jobs.List(0)
	if err != nil || len(list) != 5 {
		t.Fatalf("job history: %d jobs, err %v; want 5", len(list), err)
	}
	if list[0].ErrorCode != "SafetyStop" || list[4].Mode != "full" {
		t.Errorf("history order: first %s, last %s", list[0].ErrorCode, list[4].Mode)
	}
}

func TestCycleNotNow(t *testing.T) {
	r := newRig(t, emulator.Options{}, nil) // the real 15 minute minimum interval
	ctx := t.Context()
	r.dir.set(func(d *fakeDir) { d.users = []directory.User{dirUser(1)} })
	if _, err := r.agent.RunCycle(ctx, CycleOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := r.agent.RunCycle(ctx, CycleOptions{})
	var nn *NotNowError
	if !errors.As(err, &nn) || nn.Held || nn.Next.IsZero() {
		t.Fatalf("second cycle within the interval: %v, want too early with a time", err)
	}

	r2 := newRig(t, emulator.Options{NoMinInterval: true}, nil)
	if _, err := r2.client.OpenSession(ctx, "agent-b", idp.SessionType_AD_SYNC); err != nil {
		t.Fatal(err)
	}
	_, err = r2.agent.RunCycle(ctx, CycleOptions{})
	if !errors.As(err, &nn) || !nn.Held {
		t.Fatalf("cycle while another agent holds the session: %v", err)
	}
	if list, _ := r2.jobs.List(0); len(list) != 0 {
		t.Errorf("a cycle that did not run left %d job records", len(list))
	}
}

func TestCycleSourceFailureDeletesNothing(t *testing.T) {
	r := newRig(t, emulator.Options{NoMinInterval: true}, nil)
	ctx := t.Context()
	r.dir.set(func(d *fakeDir) { d.users = []directory.User{dirUser(1), dirUser(2)} })
	if _, err := r.agent.RunCycle(ctx, CycleOptions{}); err != nil {
		t.Fatal(err)
	}
	before := r.mutating()
	r.dir.set(func(d *fakeDir) { d.fail = errors.New("connection reset by peer") })
	job, err := r.agent.RunCycle(ctx, CycleOptions{Full: true})
	if err == nil || job.ErrorCode != "SourceReadFailed" || !strings.Contains(job.ErrorMessage, "connection reset") {
		t.Fatalf("cycle with a failing read: err %v, job %+v", err, job)
	}
	if r.mutating() != before {
		t.Error("a failed directory read changed the pool")
	}
}

func TestCycleBlockAndPartial(t *testing.T) {
	r, _ := rigWithABadUser(t)
	ctx := t.Context()
	job, err := r.agent.RunCycle(ctx, CycleOptions{})
	var pe *PartialError
	if !errors.As(err, &pe) || job.Status != state.StatusPartialSuccess {
		t.Fatalf("a bad user: err %v status %s, want partial success", err, job.Status)
	}
	if c := job.Result.UserStatistics.Created; c.Success != 2 || c.Failed != 1 {
		t.Errorf("created %+v, want 2 successes and 1 failure", c)
	}
	r.dir.set(func(d *fakeDir) {
		d.deleted[d.users[1].ExternalID] = true
		d.users = []directory.User{d.users[0], d.users[2]}
	})
	job, err = r.agent.RunCycle(ctx, CycleOptions{})
	if !errors.As(err, &pe) { // the bad user is retried and fails again
		t.Fatalf("second cycle: %v", err)
	}
	users, _ := r.poolState()
	if got := users[dirUser(2).ExternalID]; !strings.HasSuffix(got, "SUSPENDED") {
		t.Errorf("removed user with block behaviour = %q, want suspended", got)
	}
	if job.Result.UserStatistics.Deactivated.Success != 1 || job.Result.UserStatistics.Deleted.Total != 0 {
		t.Errorf("block stats %+v", job.Result.UserStatistics)
	}
	if job.Result.UserStatistics.Created.Failed != 1 {
		t.Errorf("the pending bad user was not retried: %+v", job.Result.UserStatistics.Created)
	}
}

func TestPlanAndDryRunChangeNothing(t *testing.T) {
	r := newRig(t, emulator.Options{NoMinInterval: true}, nil)
	ctx := t.Context()
	r.dir.set(func(d *fakeDir) { d.users = []directory.User{dirUser(1), dirUser(2)} })
	if _, err := r.agent.RunCycle(ctx, CycleOptions{}); err != nil {
		t.Fatal(err)
	}
	r.dir.set(func(d *fakeDir) {
		d.users[0].JobTitle = "Engineer"
		d.users = append(d.users, dirUser(3))
	})
	before, sessions := r.mutating(), len(r.emu.Dump().Sessions)
	p, err := r.agent.Plan(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if p.Mode != ModeDelta || len(p.Users) != 2 || p.Users[0].Action != ActionUpdate || p.Users[1].Action != ActionCreate {
		t.Fatalf("plan: mode %s users %+v", p.Mode, p.Users)
	}
	if diff := cmp.Diff([]string{"job_title"}, p.Users[0].Mask); diff != "" {
		t.Errorf("update mask (-want +got):\n%s", diff)
	}
	job, err := r.agent.RunCycle(ctx, CycleOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if !job.DryRun || job.Result.UserStatistics.Created.Skipped != 1 || job.Result.UserStatistics.Updated.Skipped != 1 {
		t.Errorf("dry-run job %+v", job.Result.UserStatistics)
	}
	if r.mutating() != before || len(r.emu.Dump().Sessions) != sessions {
		t.Error("plan or dry run changed the pool or opened a session")
	}
	// The dry run did not advance the local state: a real cycle still
	// applies both changes.
	job, err = r.agent.RunCycle(ctx, CycleOptions{})
	if err != nil || job.Result.UserStatistics.Created.Success != 1 || job.Result.UserStatistics.Updated.Success != 1 {
		t.Fatalf("cycle after the dry run: err %v stats %+v", err, job.Result.UserStatistics)
	}
}

func TestEncodeTokenFitsTheAPI(t *testing.T) {
	small := directory.Watermark{Mode: directory.ModeDirSync, DCHost: "dc1", InvocationID: "inv", Cookie: make([]byte, 100)}
	big := small
	big.Cookie = make([]byte, 2000)
	for _, w := range []directory.Watermark{small, big} {
		tok, err := encodeToken(w, "0123456789abcdef")
		if err != nil {
			t.Fatal(err)
		}
		if len(tok) > maxTokenChars || tok == "" {
			t.Errorf("token of %d characters for a %d-byte cookie", len(tok), len(w.Cookie))
		}
		again, _ := encodeToken(w, "0123456789abcdef")
		if again != tok {
			t.Error("token is not deterministic")
		}
	}
	a, _ := encodeToken(big, "0123456789abcdef")
	big.Cookie[0] = 1
	b, _ := encodeToken(big, "0123456789abcdef")
	if a == b || !strings.HasPrefix(a, scopeTokenPrefix+"0123456789abcdef.sha256:") {
		t.Errorf("digest tokens %q and %q must differ and be marked", a, b)
	}
}

func TestHeartbeatKeepsALongCycleAlive(t *testing.T) {
	// Applying takes about 2.4 s (30 users, two calls each at 40 ms, one at
	// a time), over twice the session's lifetime: only heartbeats keep it
	// open.
	r := newRig(t, emulator.Options{NoMinInterval: true, SessionTTL: time.Second, Latency: 40 * time.Millisecond},
		func(o *Options) { o.Concurrency = 1 })
	var users []directory.User
	for i := range 30 {
		users = append(users, dirUser(i+1))
	}
	r.dir.set(func(d *fakeDir) { d.users = users })
	start := time.Now()
	job, err := r.agent.RunCycle(t.Context(), CycleOptions{})
	if err != nil {
		t.Fatalf("long cycle: %v", err)
	}
	if took := time.Since(start); took < 2*time.Second {
		t.Fatalf("the cycle took %v; the test needs it longer than the session TTL", took)
	}
	sess := r.emu.Dump().Sessions
	if len(sess) != 1 || sess[0].Status != "COMPLETED" || job.Result.UserStatistics.Created.Success != 30 {
		t.Fatalf("session %+v, created %d", sess, job.Result.UserStatistics.Created.Success)
	}
}

func TestCycleRecreatedObjectsTakeOverTheirNames(t *testing.T) {
	r := newRig(t, emulator.Options{NoMinInterval: true}, nil)
	ctx := t.Context()
	old := dirUser(1)
	r.dir.set(func(d *fakeDir) {
		d.users = []directory.User{old, dirUser(2)}
		d.groups = []directory.Group{{ExternalID: "g-old", Name: "Ops", Members: []string{old.ExternalID}}, {ExternalID: "g-keep", Name: "Keep"}}
	})
	if _, err := r.agent.RunCycle(ctx, CycleOptions{}); err != nil {
		t.Fatal(err)
	}
	// The user and the group are deleted and created again in AD: new
	// objectGUIDs, same username and group name.
	recreated := old
	recreated.ExternalID = "00000000-0000-0000-0000-0000000000ff"
	r.dir.set(func(d *fakeDir) {
		d.deleted[old.ExternalID], d.deleted["g-old"] = true, true
		d.users = []directory.User{recreated, dirUser(2)}
		// A second group stays, so one group of two goes: within the
		// rig's deletion percentage.
		d.groups = []directory.Group{{ExternalID: "g-new", Name: "Ops", Members: []string{recreated.ExternalID}}, {ExternalID: "g-keep", Name: "Keep"}}
	})
	job, err := r.agent.RunCycle(ctx, CycleOptions{})
	if err != nil {
		t.Fatalf("cycle with recreated objects: %v", err)
	}
	us, gs := job.Result.UserStatistics, job.Result.GroupStatistics
	if us.Created.Success != 1 || us.Deleted.Success != 1 || gs.Created.Success != 1 || gs.Deleted.Success != 1 {
		t.Fatalf("users %+v groups %+v; want one delete and one create of each", us, gs)
	}
	d := r.emu.Dump()
	var ops []emulator.DumpGroup
	for _, g := range d.Groups {
		if g.Name == "Ops" {
			ops = append(ops, g)
		}
	}
	if len(d.Groups) != 2 || len(ops) != 1 || ops[0].ExternalID != "g-new" || len(ops[0].Members) != 1 {
		t.Fatalf("groups after the cycle: %+v", d.Groups)
	}
	// The local state forgets the deleted group: it is the base of the
	// group deletion percentage in deltas.
	known, err := r.store.AllIDs(directory.KindGroup)
	if err != nil || len(known) != 2 || known["g-old"] != "" {
		t.Errorf("managed groups in the local state after the delta: %v (%v)", known, err)
	}
	for _, u := range d.Users {
		if u.Username == "user1@"+testDomain && u.ExternalID != recreated.ExternalID {
			t.Errorf("user1 belongs to external id %s, want the recreated %s", u.ExternalID, recreated.ExternalID)
		}
	}
}

// TestDeltaListsWhenThatIsCheaper: a delta reads one changed user with
// Get and finds one changed group with ResolveExternal, and many of either
// with one list page.
func TestDeltaListsWhenThatIsCheaper(t *testing.T) {
	r := newRig(t, emulator.Options{NoMinInterval: true}, nil)
	ctx := t.Context()
	var users []directory.User
	for i := range 6 {
		users = append(users, dirUser(i))
	}
	var groups []directory.Group
	for i := range 5 {
		groups = append(groups, directory.Group{ExternalID: fmt.Sprintf("g-%d", i), Name: fmt.Sprintf("team%d", i), Members: []string{users[i].ExternalID}})
	}
	r.dir.set(func(d *fakeDir) { d.users, d.groups = users, groups })
	if _, err := r.agent.RunCycle(ctx, CycleOptions{Trigger: TriggerManual}); err != nil {
		t.Fatal(err)
	}
	calls := func() map[string]int64 {
		out := map[string]int64{}
		for m, c := range r.emu.Stats().Calls {
			out[m[strings.LastIndexByte(m, '.')+1:]] = c
		}
		return out
	}
	step := func(name string, change func(d *fakeDir), want map[string]int64) {
		t.Helper()
		before := calls()
		r.dir.set(change)
		job, err := r.agent.RunCycle(ctx, CycleOptions{Trigger: TriggerAuto})
		if err != nil || job.Mode != "delta" {
			t.Fatalf("%s: mode %s, err %v", name, job.Mode, err)
		}
		after := calls()
		for m, n := range want {
			if got := after[m] - before[m]; got != n {
				t.Errorf("%s: %d %s calls, want %d", name, got, m, n)
			}
		}
	}
	step("one group changed", func(d *fakeDir) { d.groups[0].Members = append(d.groups[0].Members, users[5].ExternalID) },
		map[string]int64{"GroupService/ResolveExternal": 1, "GroupService/ListExternal": 0})
	step("every group changed", func(d *fakeDir) {
		for i := range d.groups {
			d.groups[i].Members = []string{users[5].ExternalID}
		}
	}, map[string]int64{"GroupService/ResolveExternal": 0, "GroupService/ListExternal": 1})
	step("one user changed", func(d *fakeDir) { d.users[0].JobTitle = "Engineer" },
		map[string]int64{"UserService/Get": 1, "UserService/List": 0, "UserService/Update": 1})
	step("every user changed", func(d *fakeDir) {
		for i := range d.users {
			d.users[i].JobTitle = "Analyst"
		}
	}, map[string]int64{"UserService/Get": 0, "UserService/List": 1, "UserService/Update": 6})
	_, pool := r.poolState()
	for _, g := range groups {
		if got := pool[g.Name]; len(got) != 1 || got[0] != users[5].ExternalID {
			t.Errorf("group %s has members %v, want only %s", g.Name, got, users[5].ExternalID)
		}
	}
}

// TestDamagedSnapshotMeansAFullCycle: a snapshot file that cannot be read
// does not stop the agent; the next cycle is full and writes a good one.
func TestDamagedSnapshotMeansAFullCycle(t *testing.T) {
	r, path, good := syncedSnapshot(t)
	ctx := t.Context()
	if err := os.WriteFile(path, good[:len(good)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	before := r.mutating()
	job, err := r.agent.RunCycle(ctx, CycleOptions{Trigger: TriggerAuto})
	if err != nil {
		t.Fatalf("cycle over a damaged snapshot: %v", err)
	}
	if job.Mode != "full" || job.Status != state.StatusSuccess || r.mutating() != before {
		t.Errorf("cycle over a damaged snapshot: mode %s, status %s, %d mutating calls; want full, success, none",
			job.Mode, job.Status, r.mutating()-before)
	}
	if snap, err := r.store.Snapshot("AD_SYNC"); err != nil || len(snap.Users) != 2 {
		t.Fatalf("snapshot after the full cycle: %v", err)
	}
	if job, err := r.agent.RunCycle(ctx, CycleOptions{Trigger: TriggerAuto}); err != nil || job.Mode != "delta" {
		t.Errorf("next cycle: mode %s, err %v; want delta", job.Mode, err)
	}
}

// syncedSnapshot returns a rig after one cycle over two users, with the
// path and the content of the snapshot that cycle wrote.
func syncedSnapshot(t *testing.T) (*rig, string, []byte) {
	t.Helper()
	r := newRig(t, emulator.Options{NoMinInterval: true}, nil)
	r.dir.set(func(d *fakeDir) { d.users = []directory.User{dirUser(1), dirUser(2)} })
	if _, err := r.agent.RunCycle(t.Context(), CycleOptions{Trigger: TriggerManual}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(r.store.Dir(), "snapshot.AD_SYNC.gz")
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return r, path, good
}

// rigWithABadUser returns a rig that blocks removed users, over a directory
// of three users the third of which has a username the pool refuses.
func rigWithABadUser(t *testing.T) (*rig, directory.User) {
	t.Helper()
	r := newRig(t, emulator.Options{NoMinInterval: true}, func(o *Options) { o.Settings.Plan.RemoveBehavior = RemoveBlock })
	bad := dirUser(3)
	bad.Username = "bad name@corp.test"
	r.dir.set(func(d *fakeDir) { d.users = []directory.User{dirUser(1), dirUser(2), bad} })
	return r, bad
}
