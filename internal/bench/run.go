package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/testing/adseed"
	"github.com/idsync/idsync/internal/testing/testdc"
)

// Scenario is one measured idsync run.
type Scenario struct {
	Name string
	proc
	// DCCPU is the CPU time the domain controller spent meanwhile (-1:
	// unknown); HarnessCPU that of this process, i.e. mostly the emulator.
	DCCPU, HarnessCPU time.Duration
	Calls             calls
	// Errors counts failed calls by status code; NotFound answers to the
	// settings probe are part of a normal first cycle.
	Errors calls
	// Pool is "ok" when the pool matched the workload after the run, else
	// what differed; empty when not checked.
	Pool string
	// Rate is calls/s over the window in which calls were made; Window is
	// that window.
	Rate   float64
	Window time.Duration
	// Limit is the emulator's rate limit (0: none).
	Limit float64
}

// Workload describes the seeded dataset.
type Workload struct {
	Name          string
	Users, Groups int
	MemberValues  int // direct member values over all groups
	Effective     int // effective user memberships of the in-scope groups
	LargestGroup  int // effective members of the largest group
	// MinCalls is the fewest API calls a full sync into an empty pool needs:
	// one Create per user and per group, one UpdateMembers per 1,000
	// members of a group, and four session calls.
	MinCalls int
}

// Report is the result of Run.
type Report struct {
	Options   Options
	Machine   Machine
	Workload  Workload
	Started   time.Time
	Scenarios []Scenario
	Changes   string
	LDAP      ldapFloor
	EmuRate   float64 // emulator calls/s for UserService.Create
	EmuCalls  int     // calls made to measure it
	// UserControl is the user-control scenario (nil: not run).
	UserControl *UserControl
}

// Run measures every scenario against the DC in opts.DCDir, which must hold
// the seeded workload.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if err := opts.normalize(); err != nil {
		return nil, err
	}
	dc, err := testdc.Load(testdc.EnvFile(opts.DCDir))
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	ds, err := adseed.Profile(opts.Workload, dc.BaseDN)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	if err := checkSeeded(dc, ds); err != nil {
		return nil, err
	}
	work := opts.WorkDir
	if work == "" {
		if work, err = os.MkdirTemp("", "idsync-bench"); err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		defer os.RemoveAll(work)
	}
	r := &Report{Options: opts, Machine: DescribeMachine(), Workload: describe(ds), Started: time.Now().UTC()}
	samba := sambaPID(opts.DCDir)
	run := func(name string, in *instance, e *emu, limit float64, args ...string) (Scenario, error) {
		sc := Scenario{Name: name, Limit: limit, DCCPU: -1}
		before, errsBefore := e.snapshot()
		dcBefore, dcErr := pidCPU(samba)
		selfBefore := selfCPU()
		sampler := sampleRate(e, 100*time.Millisecond)
		p, err := in.sync(ctx, args...)
		sc.Rate, sc.Window = sampler.stop()
		sc.proc = p
		sc.HarnessCPU = selfCPU() - selfBefore
		if dcAfter, err := pidCPU(samba); err == nil && dcErr == nil {
			sc.DCCPU = dcAfter - dcBefore
		}
		after, errsAfter := e.snapshot()
		sc.Calls, sc.Errors = diff(after, before), diff(errsAfter, errsBefore)
		if err != nil {
			return sc, fmt.Errorf("bench %s: %w", name, err)
		}
		r.Scenarios = append(r.Scenarios, sc)
		return sc, nil
	}

	// 1-3: a plain emulator, full sync, no-change cycles, 1% changes.
	if err := func() error {
		if opts.FullSyncsOnly {
			return nil
		}
		e, err := startEmulator(ctx, 0, 0)
		if err != nil {
			return err
		}
		defer e.stop() //nolint:errcheck // measured already
		in, err := newInstance(opts.Binary, filepath.Join(work, "plain"), dc, ds.Scope, e.addr, opts.Concurrency, 0)
		if err != nil {
			return err
		}
		if _, err := run("full sync, empty pool", in, e, 0, "--full"); err != nil {
			return err
		}
		r.checkPool(e)
		if opts.FullOnly {
			return nil
		}
		if _, err := run("no-change cycle, delta", in, e, 0); err != nil {
			return err
		}
		if _, err := run("no-change cycle, full", in, e, 0, "--full"); err != nil {
			return err
		}
		cs := planChanges(ds, opts.ChangePercent)
		r.Changes = cs.String()
		if err := cs.apply(ctx, dc.Target(), false); err != nil {
			return err
		}
		_, runErr := run(fmt.Sprintf("delta cycle, %g%% changed", opts.ChangePercent), in, e, 0)
		restoreErr := cs.apply(context.WithoutCancel(ctx), dc.Target(), true)
		if runErr != nil {
			return runErr
		}
		if restoreErr != nil {
			return restoreErr
		}
		if _, err = run("delta cycle, changes undone", in, e, 0); err != nil || opts.UserControlChanges < 0 {
			return err
		}
		r.UserControl, err = measureUserControl(ctx, in, e, dc, ds, samba, opts.UserControlChanges)
		return err
	}(); err != nil {
		return r, err
	}

	// 4: the same full sync with latency, then with a rate limit.
	if opts.Latency > 0 {
		if err := fullSyncWith(ctx, r, run, opts, dc, ds, work, "latency", opts.Latency, 0); err != nil {
			return r, err
		}
	}
	if opts.RPS > 0 {
		if err := fullSyncWith(ctx, r, run, opts, dc, ds, work, "rps", 0, opts.RPS); err != nil {
			return r, err
		}
	}

	// 5: the floor.
	if r.LDAP, err = measureLDAPFloor(ctx, dc, ds.Scope); err != nil {
		return r, err
	}
	r.EmuCalls = min(max(r.Workload.Users, 1000), 5000)
	if r.EmuRate, err = emuThroughput(ctx, r.EmuCalls, opts.Concurrency); err != nil {
		return r, err
	}
	return r, nil
}

type runFunc func(name string, in *instance, e *emu, limit float64, args ...string) (Scenario, error)

func fullSyncWith(ctx context.Context, r *Report, run runFunc, opts Options, dc testdc.DC, ds *adseed.Dataset, work, dir string, latency time.Duration, rps float64) error {
	e, err := startEmulator(ctx, latency, rps)
	if err != nil {
		return err
	}
	defer e.stop() //nolint:errcheck // measured already
	clientRate := 0.0
	if rps > 0 {
		clientRate = opts.ClientRate
	}
	in, err := newInstance(opts.Binary, filepath.Join(work, dir), dc, ds.Scope, e.addr, opts.Concurrency, clientRate)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("full sync, %s latency", latency)
	if rps > 0 {
		name = fmt.Sprintf("full sync, %g calls/s limit", rps)
		if clientRate != rps {
			name += fmt.Sprintf(" (apply.rate_limit %g)", clientRate)
		}
	}
	if _, err := run(name, in, e, rps, "--full"); err != nil {
		return err
	}
	r.checkPool(e)
	return nil
}

// minUpdateMembers is the fewest UpdateMembers calls that fill the groups.
func (w Workload) minUpdateMembers() int { return w.MinCalls - w.Users - w.Groups - 4 }

// describe sizes the dataset and the minimum call count.
func describe(ds *adseed.Dataset) Workload {
	w := Workload{Name: ds.Profile, Users: len(ds.ScopedUsers()), MemberValues: ds.MembershipCount()}
	eff := effectiveCounts(ds)
	for _, g := range ds.ScopedGroups() {
		w.Groups++
		n := eff[strings.ToLower(g.DN)]
		w.Effective += n
		w.LargestGroup = max(w.LargestGroup, n)
		w.MinCalls += (n + 999) / 1000
	}
	w.MinCalls += w.Users + w.Groups + 4
	return w
}

// effectiveCounts returns, per group DN (lowercased), the number of users
// that are members directly, through nested groups or by primary group:
// what Dataset.EffectiveMembers gives, computed once for every group by
// directory.MemberGraph (W100k has 5,000 groups and 100,000 users).
func effectiveCounts(ds *adseed.Dataset) map[string]int {
	rids := make(map[string]uint32, len(ds.Groups))
	var c directory.Candidates
	for i, g := range ds.Groups {
		k := strings.ToLower(g.DN)
		rids[k] = uint32(i + 1)
		direct := make([]string, len(g.Members))
		for j, m := range g.Members {
			direct[j] = strings.ToLower(m)
		}
		c.Groups = append(c.Groups, directory.Group{ExternalID: k})
		c.Links = append(c.Links, directory.Links{GroupID: k, RID: uint32(i + 1), InScope: true, Direct: direct})
	}
	for _, u := range ds.Users {
		c.Users = append(c.Users, directory.User{ExternalID: strings.ToLower(u.DN), PrimaryGroupID: rids[strings.ToLower(u.PrimaryGroup)]})
	}
	g := directory.NewMemberGraph(c, nil)
	out := make(map[string]int, len(ds.Groups))
	for _, gr := range c.Groups {
		out[gr.ExternalID] = len(g.Effective(gr.ExternalID))
	}
	return out
}

// checkSeeded fails unless the DC's state dir records the profile as seeded.
func checkSeeded(dc testdc.DC, ds *adseed.Dataset) error {
	seeded, err := testdc.SeededProfiles(dc.Dir)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if seeded[ds.Profile] != ds.Fingerprint() {
		return fmt.Errorf("bench: profile %s is not seeded in %s; run IDSYNC_DC_DIR=%s scripts/samba-dc.sh seed --profile %s",
			ds.Profile, dc.Dir, dc.Dir, ds.Profile)
	}
	return nil
}

// checkPool records on the last scenario whether the pool holds every user,
// group and membership of the workload.
func (r *Report) checkPool(e *emu) {
	w := r.Workload
	d := e.Dump()
	members := 0
	for _, g := range d.Groups {
		members += len(g.Members)
	}
	res := "ok"
	if len(d.Users) != w.Users || len(d.Groups) != w.Groups || members != w.Effective {
		res = fmt.Sprintf("%d users, %d groups, %d memberships", len(d.Users), len(d.Groups), members)
	}
	r.Scenarios[len(r.Scenarios)-1].Pool = res
}

// sambaPID returns the pid the DC script recorded, or 0.
func sambaPID(dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, "samba.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}
