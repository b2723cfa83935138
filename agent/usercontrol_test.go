package agent

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/emulator"
)

// fakeAccounts reads account state from a rig's fakeDir: each user has the
// USN of its last account-state write; a lockout that ends by itself
// changes the state without one.
type fakeAccounts struct {
	dir *fakeDir
	mu  sync.Mutex
	usn int64
	at  map[string]int64
	// reads counts AccountChanges calls; rechecks the ids AccountStates
	// was asked for.
	reads    int
	rechecks [][]string
}

func (f *fakeAccounts) states(pick func(id string) bool) []directory.AccountState {
	f.dir.mu.Lock()
	defer f.dir.mu.Unlock()
	var out []directory.AccountState
	for i := range f.dir.users {
		if pick(f.dir.users[i].ExternalID) {
			out = append(out, f.dir.users[i].Account())
		}
	}
	return out
}

func (f *fakeAccounts) AccountChanges(_ context.Context, from directory.Watermark) (*directory.AccountChanges, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	next := directory.Watermark{Mode: directory.ModeUSN, DCHost: "dc1", InvocationID: "inv", USN: f.usn}
	if from.IsZero() {
		return &directory.AccountChanges{States: f.states(func(string) bool { return true }), Watermark: next, Full: true}, nil
	}
	return &directory.AccountChanges{States: f.states(func(id string) bool { return f.at[id] > from.USN }), Watermark: next}, nil
}

func (f *fakeAccounts) AccountStates(_ context.Context, ids []string) ([]directory.AccountState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rechecks = append(f.rechecks, ids)
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	return f.states(func(id string) bool { return want[id] }), nil
}

func (f *fakeAccounts) Close() error { return nil }

// write changes user i's account state with a write the reader sees.
func (f *fakeAccounts) write(i int, fn func(u *directory.User)) {
	f.silently(i, fn)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.usn++
	f.at[dirUser(i).ExternalID] = f.usn
}

// silently changes user i's account state without a write (a lockout that
// ends, an expiry time that passes).
func (f *fakeAccounts) silently(i int, fn func(u *directory.User)) {
	f.dir.set(func(d *fakeDir) {
		for j := range d.users {
			if d.users[j].ExternalID == dirUser(i).ExternalID {
				fn(&d.users[j])
			}
		}
	})
}

type ucRig struct {
	*rig
	acc   *fakeAccounts
	uc    *UserControl
	now   time.Time
	ticks []TickOutcome
	opens int // OpenStore calls
}

func newUCRig(t *testing.T) *ucRig {
	t.Helper()
	r := &ucRig{now: time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)}
	clock := func() time.Time { return r.now }
	r.rig = newRig(t, emulator.Options{NoMinInterval: true}, func(o *Options) {
		o.Now, o.SuspendLockedOut = clock, true
	})
	r.acc = &fakeAccounts{dir: r.dir, at: map[string]int64{}}
	for i := 1; i <= 5; i++ {
		r.dir.users = append(r.dir.users, dirUser(i))
	}
	var err error
	r.uc, err = NewUserControl(UserControlOptions{
		AgentID: "agent-a", UserpoolID: testPool, Cloud: r.cloud, Jobs: r.jobs, SuspendLockedOut: true,
		NewReader: func(context.Context) (AccountReader, error) { return r.acc, nil },
		OpenStore: func() (UserControlStore, func(), error) { r.opens++; return r.store, func() {}, nil },
		OnTick:    func(o TickOutcome) { r.ticks = append(r.ticks, o) },
		Logger:    zaptest.NewLogger(t), Now: clock, ReportInterval: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// ucSessions returns the AD_USER_CONTROL sessions so far.
func (r *ucRig) ucSessions() []emulator.DumpSession {
	var out []emulator.DumpSession
	for _, s := range r.emu.Dump().Sessions {
		if s.Type == idp.SessionType_AD_USER_CONTROL.String() {
			out = append(out, s)
		}
	}
	return out
}

// statusCalls counts Suspend and Reactivate calls.
func (r *ucRig) statusCalls() int64 {
	var n int64
	for m, c := range r.emu.Stats().Calls {
		if strings.HasSuffix(m, "UserService/Suspend") || strings.HasSuffix(m, "UserService/Reactivate") {
			n += c
		}
	}
	return n
}

func (r *ucRig) tick(t *testing.T) {
	t.Helper()
	if _, err := r.uc.RunOnce(t.Context(), TriggerAuto); err != nil {
		t.Fatalf("tick: %v", err)
	}
}

func (r *ucRig) status(i int) string {
	users, _ := r.poolState()
	s := users[dirUser(i).ExternalID]
	return s[strings.LastIndex(s, "|")+1:]
}

func TestUserControl(t *testing.T) {
	r := newUCRig(t)
	ctx := t.Context()
	if _, err := r.agent.RunCycle(ctx, CycleOptions{Trigger: TriggerManual}); err != nil {
		t.Fatalf("first cycle: %v", err)
	}

	// The first tick reads every account; with all of them active there is
	// nothing to do, and idle ticks after it make no cloud call at all.
	r.tick(t)
	calls, opens := r.emu.Stats().Calls, r.opens
	for range 3 {
		r.now = r.now.Add(10 * time.Second)
		r.tick(t)
	}
	if diff := cmp.Diff(calls, r.emu.Stats().Calls); diff != "" {
		t.Errorf("idle ticks called the cloud (-before +after):\n%s", diff)
	}
	if r.opens != opens {
		t.Errorf("idle ticks opened the local state %d times, want 0", r.opens-opens)
	}
	// Every few minutes an idle tick writes its watermark.
	r.now = r.now.Add(idleSaveEvery)
	r.tick(t)
	if r.opens != opens+1 {
		t.Errorf("an idle tick %s after the last write opened the local state %d times, want 1", idleSaveEvery, r.opens-opens)
	}
	if n := len(r.ucSessions()); n != 0 {
		t.Fatalf("%d user-control sessions without a change", n)
	}

	// Disabled -> suspended within a tick, in a session of its own with
	// its progress, token and job.
	r.acc.write(1, func(u *directory.User) { u.Enabled = false })
	job, err := r.uc.RunOnce(ctx, TriggerAuto)
	if err != nil || job == nil {
		t.Fatalf("tick after disabling: job %v, err %v", job, err)
	}
	if got := r.status(1); got != "SUSPENDED" {
		t.Fatalf("disabled user: %s, want SUSPENDED", got)
	}
	s := r.ucSessions()
	if len(s) != 1 || s[0].Status != "COMPLETED" {
		t.Fatalf("user-control sessions %+v, want one completed", s)
	}
	if want := []emulator.DumpProgress{{Object: "USER", Change: "DEACTIVATE", Successful: 1}}; !cmp.Equal(want, s[0].Progress) {
		t.Errorf("progress %+v, want %+v", s[0].Progress, want)
	}
	if job.Type != JobTypeUserControl || job.SessionType != "AD_USER_CONTROL" || job.Result.UserStatistics.Deactivated.Success != 1 {
		t.Errorf("job type %q session %q deactivated %+v", job.Type, job.SessionType, job.Result.UserStatistics.Deactivated)
	}
	if len(job.Objects) != 1 || job.Objects[0].Action != "deactivate" || job.Objects[0].ExternalID == "" || job.Objects[0].Error != "" ||
		job.Objects[0].DN != "CN=u1,OU=Staff,DC=corp,DC=test" {
		t.Errorf("job objects %+v, want the one user deactivated", job.Objects)
	}
	tok, err := r.client.GetReplicationToken(ctx, idp.SessionType_AD_USER_CONTROL)
	if err != nil || tok == "" {
		t.Errorf("user-control replication token %q (%v), want one", tok, err)
	}

	// A directory cycle afterwards does not undo it, and the next tick has
	// nothing to do.
	before := r.statusCalls()
	if _, err := r.agent.RunCycle(ctx, CycleOptions{Trigger: TriggerManual, Full: true}); err != nil {
		t.Fatalf("full cycle: %v", err)
	}
	r.tick(t)
	if r.statusCalls() != before || len(r.ucSessions()) != 1 {
		t.Errorf("after the full cycle and a tick: %d status calls, %d sessions; want none new", r.statusCalls()-before, len(r.ucSessions()))
	}

	// Enabled -> active.
	r.acc.write(1, func(u *directory.User) { u.Enabled = true })
	r.tick(t)
	if got := r.status(1); got != "ACTIVE" {
		t.Errorf("enabled user: %s, want ACTIVE", got)
	}

	// Locked out -> suspended; the lockout ends without a write and the
	// next tick reactivates the user, without an admin action.
	r.acc.write(2, func(u *directory.User) { u.LockedOut = true })
	r.tick(t)
	if got := r.status(2); got != "SUSPENDED" {
		t.Fatalf("locked-out user: %s, want SUSPENDED", got)
	}
	r.now = r.now.Add(10 * time.Second)
	r.tick(t) // still locked: re-read, nothing to do
	if got := r.status(2); got != "SUSPENDED" {
		t.Fatalf("still locked-out user: %s, want SUSPENDED", got)
	}
	r.acc.silently(2, func(u *directory.User) { u.LockedOut = false })
	r.now = r.now.Add(10 * time.Second)
	r.tick(t)
	if got := r.status(2); got != "ACTIVE" {
		t.Errorf("user whose lockout ended: %s, want ACTIVE", got)
	}
	if last := r.acc.rechecks[len(r.acc.rechecks)-1]; !cmp.Equal(last, []string{dirUser(2).ExternalID}) {
		t.Errorf("re-checked %v, want only the locked-out user", last)
	}

	// A disabled user that gets locked out stays suspended when the lockout
	// ends.
	r.acc.write(3, func(u *directory.User) { u.Enabled, u.LockedOut = false, true })
	r.tick(t)
	r.acc.silently(3, func(u *directory.User) { u.LockedOut = false })
	r.tick(t)
	if got := r.status(3); got != "SUSPENDED" {
		t.Errorf("disabled user after its lockout ended: %s, want SUSPENDED", got)
	}

	// accountExpires a few seconds ahead: suspended by the tick that passes
	// it, with no write in the directory.
	r.acc.write(4, func(u *directory.User) { u.ExpiresAt = r.now.Add(5 * time.Second) })
	r.tick(t)
	if got := r.status(4); got != "ACTIVE" {
		t.Fatalf("user expiring later: %s, want ACTIVE", got)
	}
	reads := r.acc.reads
	r.now = r.now.Add(6 * time.Second)
	r.tick(t)
	if got := r.status(4); got != "SUSPENDED" {
		t.Errorf("expired user: %s, want SUSPENDED", got)
	}
	if r.acc.reads != reads+1 {
		t.Errorf("the expiry tick read %d times", r.acc.reads-reads)
	}

	// No flapping: a full directory cycle and more ticks change nothing.
	before = r.statusCalls()
	if _, err := r.agent.RunCycle(ctx, CycleOptions{Trigger: TriggerManual, Full: true}); err != nil {
		t.Fatalf("full cycle: %v", err)
	}
	for range 2 {
		r.now = r.now.Add(10 * time.Second)
		r.tick(t)
	}
	if r.statusCalls() != before {
		t.Errorf("%d status changes after everything settled; want none", r.statusCalls()-before)
	}
	var sessions, changed int
	for _, o := range r.ticks {
		if o.Session {
			sessions++
		}
		changed += o.Activated + o.Deactivated
		if o.Err != nil {
			t.Errorf("tick outcome error: %v", o.Err)
		}
	}
	if sessions != len(r.ucSessions()) || changed != 6 {
		t.Errorf("tick outcomes: %d sessions (emulator %d), %d changes; want 6 changes", sessions, len(r.ucSessions()), changed)
	}
}

// A failing directory is logged once, then once a minute, then its
// recovery; no session is opened meanwhile.
func TestUserControlFailureLogs(t *testing.T) {
	r := newUCRig(t)
	core, logs := observer.New(zap.InfoLevel)
	r.uc.log = zap.New(core)
	if _, err := r.agent.RunCycle(t.Context(), CycleOptions{Trigger: TriggerManual}); err != nil {
		t.Fatal(err)
	}
	r.tick(t)
	fail := errors.New("ldap: connection refused")
	r.uc.opts.NewReader = func(context.Context) (AccountReader, error) { return nil, fail }
	_ = r.uc.Close()
	for range 12 { // two minutes
		r.now = r.now.Add(10 * time.Second)
		if _, err := r.uc.RunOnce(t.Context(), TriggerAuto); !errors.Is(err, fail) {
			t.Fatalf("tick with a failing directory: %v", err)
		}
	}
	r.uc.opts.NewReader = func(context.Context) (AccountReader, error) { return r.acc, nil }
	r.now = r.now.Add(10 * time.Second)
	r.tick(t)
	if n := logs.FilterMessage("user control tick failed; trying again every interval").Len(); n != 2 {
		t.Errorf("%d failure warnings over two minutes, want 2", n)
	}
	if logs.FilterMessage("user control recovered").Len() != 1 {
		t.Error("no recovery message")
	}
	if res := r.ticks[len(r.ticks)-2]; res.Result() != "failed" || res.Code == "" {
		t.Errorf("failed tick outcome %+v (%s)", res, res.Result())
	}
	if n := len(r.ucSessions()); n != 0 {
		t.Errorf("%d sessions opened", n)
	}
}
