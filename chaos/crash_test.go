//go:build chaos

package chaos

import (
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/internal/emulator"
)

// crashEmulator makes cycles long enough to be killed in the middle and
// sessions short enough that a rerun soon finds the dead one expired.
var crashEmulator = emulator.Options{Latency: 15 * time.Millisecond, SessionTTL: 1500 * time.Millisecond}

const crashExtra = "heartbeat_interval: 300ms\napply:\n  concurrency: 2\n"

// TestCrashes kills idsync with SIGKILL at random points of a full sync (into
// an empty pool) and of a delta sync, then reruns it. Every rerun must
// converge to the directory with no duplicate user or group; and right
// after the kill, a replication token newer than the one before the run
// is only allowed if the pool already holds everything it covers.
func TestCrashes(t *testing.T) {
	n := trials(3, int(envInt("CHAOS_CRASH_TRIALS", 12)))
	t.Run("full", func(t *testing.T) {
		sc := begin(t, "crash: kill -9 during a full sync")
		w := newWorld(t, "crashfull")
		want := expected(w.set.Before)
		// A clean run gives the time span to pick kill points from.
		w.startEmulator(crashEmulator)
		start := time.Now()
		if res := w.run(w.config(cfg{Extra: crashExtra}), "sync"); res.code != 0 {
			t.Fatalf("clean full sync: %s", res)
		}
		span := time.Since(start)
		r := rng(3)
		for i := range n {
			w.startEmulator(crashEmulator)
			path := w.config(cfg{Extra: crashExtra, State: filepath.Join(w.dir, fmt.Sprintf("state-full-%d", i))})
			crashTrial(sc, w, path, time.Duration(r.Int64N(int64(span))), want)
		}
	})
	t.Run("delta", func(t *testing.T) {
		sc := begin(t, "crash: kill -9 during a delta sync")
		w := newWorld(t, "crashdelta")
		want := expected(w.set.After)
		r := rng(4)
		var span time.Duration
		for i := -1; i < n; i++ {
			if i >= 0 {
				w.reseed()
			}
			w.startEmulator(crashEmulator)
			path := w.config(cfg{Extra: crashExtra, State: filepath.Join(w.dir, fmt.Sprintf("state-delta-%d", i))})
			if res := w.run(path, "sync"); res.code != 0 {
				t.Fatalf("full sync before the delta: %s", res)
			}
			w.applyMutations()
			if i < 0 {
				// The first round measures a clean delta.
				start := time.Now()
				if res := w.run(path, "sync"); res.code != 0 {
					t.Fatalf("clean delta sync: %s", res)
				}
				span = time.Since(start)
				continue
			}
			crashTrial(sc, w, path, time.Duration(r.Int64N(int64(span))), want)
		}
	})
}

// crashTrial starts a sync, kills it after delay, checks the token rule,
// and reruns until a cycle succeeds.
func crashTrial(sc *scenario, w *world, path string, delay time.Duration, want poolView) {
	sc.t.Helper()
	sc.trial()
	tokenBefore := w.emu.Dump().ReplicationTokens["AD_SYNC"]
	cmd := w.start(path, "sync")
	time.Sleep(delay)
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	d := w.emu.Dump()
	got, dups := view(d)
	if len(dups) > 0 {
		sc.fail("after a kill at %s: duplicates %v", delay, dups)
	}
	if tok := d.ReplicationTokens["AD_SYNC"]; tok != tokenBefore {
		if diff := cmp.Diff(want, got); diff != "" {
			sc.fail("kill at %s: the replication token moved ahead of the pool (-want +got):\n%s", delay, diff)
		}
	}
	sc.t.Logf("kill at %s: %d users in the pool", delay, len(d.Users))
	for attempt := 0; ; attempt++ {
		res := w.run(path, "sync")
		if res.code == 0 {
			break
		}
		// The dead agent's session holds the pool until its TTL.
		if res.code != 5 || attempt == 20 {
			sc.fatal("rerun after a kill at %s: %s", delay, res)
		}
		time.Sleep(200 * time.Millisecond)
	}
	got, dups = view(w.emu.Dump())
	if diff := cmp.Diff(want, got); diff != "" || len(dups) > 0 {
		sc.fatal("pool after a kill at %s and a rerun (-want +got):\n%s%v", delay, diff, dups)
	}
}
