//go:build chaos

package chaos

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/internal/emulator"
)

// TestCloudFaults runs a full and a delta cycle under each cloud fault.
// Each cycle must either succeed with progress counts that match what
// changed in the pool, or fail cleanly (exit 1 or 3 with a reason, no
// session left open); the first cycle that succeeds after a failed one
// leaves the pool equal to the directory. The faults stay on for the
// cycles that follow: with a 10% error rate on every call, a call that is
// not safe to retry (OpenSession on INTERNAL or DEADLINE_EXCEEDED, a create
// or bind on any of them: the server may have acted) fails its object or
// its cycle, and the next cycle makes it again and can fail the same way,
// so a phase may take up to phaseCycles cycles; every failure is counted
// and must be clean.
//
// "Session expires mid-run" moves the emulator's clock past the session TTL
// once the cycle has created a few users: the next heartbeat finds the
// session gone and the cycle must stop and fail. A jump is deterministic,
// where a short TTL with a slow heartbeat would make every cycle fail.
func TestCloudFaults(t *testing.T) {
	cases := []struct {
		name   string
		eo     emulator.Options
		extra  string
		expire bool
	}{
		{name: "10% UNAVAILABLE/INTERNAL/DEADLINE", eo: emulator.Options{ErrorRate: 0.1}},
		{name: "rate limit RESOURCE_EXHAUSTED", eo: emulator.Options{RPS: 15}, extra: "apply:\n  rate_limit: 0\n  concurrency: 8\n"},
		{name: "latency 50ms +/-25ms", eo: emulator.Options{Latency: 50 * time.Millisecond, Jitter: 25 * time.Millisecond}},
		{name: "operations done after 300ms", eo: emulator.Options{OpDelay: 300 * time.Millisecond}},
		{name: "session expires mid-run", eo: emulator.Options{Latency: 20 * time.Millisecond, SessionTTL: 5 * time.Second},
			extra: "heartbeat_interval: 200ms\napply:\n  concurrency: 1\n", expire: true},
	}
	for i, tc := range cases {
		t.Run(strings.NewReplacer(" ", "_", "/", "-").Replace(tc.name), func(t *testing.T) {
			sc := begin(t, "cloud: "+tc.name)
			w := newWorld(t, fmt.Sprintf("cloud%d", i))
			var cycles, failed int
			for round := range trials(2, cloudRounds) {
				if round > 0 {
					w.reseed()
				}
				w.startEmulator(tc.eo)
				path := w.config(cfg{Extra: tc.extra, State: filepath.Join(w.dir, fmt.Sprintf("state-%d", round))})
				cloudRound(t, sc, w, path, tc.expire, &cycles, &failed)
			}
			t.Logf("%d cycles, %d failed cleanly", cycles, failed)
			sc.setNote("%d of %d cycles failed cleanly", failed, cycles)
		})
	}
}

// cloudRounds is how many times the full level repeats each fault.
var cloudRounds = int(envInt("CHAOS_CLOUD_ROUNDS", 3))

// phaseCycles is how many cycles a phase of cloudRound may take.
const phaseCycles = 5

// cloudRound syncs an empty pool, applies the directory changes and syncs
// again; each phase may fail cleanly up to phaseCycles-1 times before it
// succeeds.
func cloudRound(t *testing.T, sc *scenario, w *world, path string, expire bool, cycles, failed *int) {
	converge := func(phase string, want poolView) {
		for attempt := range phaseCycles {
			before := w.emu.Dump()
			if expire && phase == "full" && attempt == 0 {
				cmd := w.start(path, "sync")
				waitFor(time.Minute, func() bool { return len(w.emu.Dump().Users) >= 3 })
				w.clock.jump(10 * time.Second)
				_ = cmd.Wait()
				r := result{stdout: cmd.Stdout.(*strings.Builder).String(), stderr: cmd.Stderr.(*strings.Builder).String(), code: cmd.ProcessState.ExitCode()}
				*cycles++
				*failed++
				sc.trial()
				if r.code != 1 || !strings.Contains(r.stderr, "session") {
					sc.fail("%s cycle with the session expired mid-run: want exit 1 naming the session, got %s", phase, r)
				}
				checkClean(sc, w, r)
				continue
			}
			r := w.run(path, "sync")
			*cycles++
			sc.trial()
			after := w.emu.Dump()
			switch r.code {
			case 0:
				if err := checkCounts(before, after); err != nil {
					sc.fail("%s cycle %d: counts do not match the pool: %v\n%s", phase, attempt+1, err, r)
				}
			case 1, 3:
				*failed++
				checkClean(sc, w, r)
				t.Logf("%s cycle %d failed cleanly: %s", phase, attempt+1, firstLine(r.stderr))
				if attempt < phaseCycles-1 {
					continue
				}
			default:
				sc.fatal("%s cycle %d: %s", phase, attempt+1, r)
			}
			got, dups := view(after)
			if len(dups) > 0 {
				sc.fatal("%s: duplicates in the pool: %v", phase, dups)
			}
			if r.code == 0 {
				if diff := cmp.Diff(want, got); diff != "" {
					sc.fatal("%s: pool after cycle %d (-want +got):\n%s", phase, attempt+1, diff)
				}
				return
			}
		}
		sc.fatal("%s: the pool did not converge within %d cycles", phase, phaseCycles)
	}
	converge("full", expected(w.set.Before))
	w.applyMutations()
	converge("delta", expected(w.set.After))
}

// checkClean checks that a failed cycle failed cleanly: a reason on
// stderr, no panic, and no session left open by the agent.
func checkClean(sc *scenario, w *world, r result) {
	sc.t.Helper()
	if strings.Contains(r.stderr, "panic:") || strings.Contains(r.stderr, "goroutine ") {
		sc.fail("the binary panicked:\n%s", r)
	}
	if !strings.Contains(r.stderr, "idsync sync:") {
		sc.fail("a failed cycle gave no reason:\n%s", r)
	}
	for _, s := range w.emu.Dump().Sessions {
		if s.Status == "OPENED" {
			sc.fail("session %s left open after a failed cycle", s.ID)
		}
	}
}

func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "idsync ") {
			return l
		}
	}
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// checkCounts compares the progress the last session reported with what
// changed in the pool between two dumps: created and deleted users and
// groups, added and removed memberships.
func checkCounts(before, after emulator.Dump) error {
	if len(after.Sessions) == 0 {
		return fmt.Errorf("no session")
	}
	s := after.Sessions[len(after.Sessions)-1]
	if s.Status != "COMPLETED" {
		return fmt.Errorf("last session is %s", s.Status)
	}
	reported := map[string]int64{}
	for _, p := range s.Progress {
		reported[p.Object+" "+p.Change] += p.Successful
		if p.Failed != 0 {
			return fmt.Errorf("%s %s failed %d in a successful cycle", p.Object, p.Change, p.Failed)
		}
	}
	b, a := objects(before), objects(after)
	actual := map[string]int64{
		"USER CREATE": diffCount(a.users, b.users), "USER DELETE": diffCount(b.users, a.users),
		"GROUP CREATE": diffCount(a.groups, b.groups), "GROUP DELETE": diffCount(b.groups, a.groups),
		"MEMBERSHIP CREATE": diffCount(a.members, b.members), "MEMBERSHIP DELETE": diffCount(b.members, a.members),
	}
	// Memberships of deleted users and groups go with them; the agent may
	// or may not remove them first, so those count either way.
	implicit := int64(0)
	for k := range b.members {
		g, u, _ := strings.Cut(k, "/")
		if !a.members[k] && (!a.groups[g] || !a.users[u]) {
			implicit++
		}
	}
	if r := reported["MEMBERSHIP DELETE"]; r >= actual["MEMBERSHIP DELETE"]-implicit && r <= actual["MEMBERSHIP DELETE"] {
		actual["MEMBERSHIP DELETE"] = r
	}
	var bad []string
	for k, n := range actual {
		if reported[k] != n {
			bad = append(bad, fmt.Sprintf("%s reported %d, pool changed by %d", k, reported[k], n))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s", strings.Join(bad, "; "))
	}
	return nil
}

type objectSets struct{ users, groups, members map[string]bool }

func objects(d emulator.Dump) objectSets {
	o := objectSets{users: map[string]bool{}, groups: map[string]bool{}, members: map[string]bool{}}
	ext := map[string]string{}
	for _, u := range d.Users {
		o.users[u.ExternalID] = true
		ext[u.ID] = u.ExternalID
	}
	for _, g := range d.Groups {
		o.groups[g.ExternalID] = true
		for _, m := range g.Members {
			o.members[g.ExternalID+"/"+ext[m]] = true
		}
	}
	return o
}

// diffCount counts the keys of a missing from b.
func diffCount(a, b map[string]bool) int64 {
	var n int64
	for k := range a {
		if !b[k] {
			n++
		}
	}
	return n
}
