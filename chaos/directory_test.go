//go:build chaos

package chaos

import (
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/internal/emulator"
)

// TestDirectoryFaults cuts the connection to the DC part-way through a full
// read and a delta read (at fractions of the bytes a clean read takes), and
// stops the DC outright: each cycle must fail with a reason that names the
// directory, change nothing in the pool, and the next cycle after the DC
// returns must converge.
func TestDirectoryFaults(t *testing.T) {
	w := newWorld(t, "dirfault")
	w.startEmulator(emulator.Options{})
	host, _, err := net.SplitHostPort(strings.TrimPrefix(w.dc.LDAPSURL, "ldaps://"))
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, host, strings.TrimPrefix(w.dc.LDAPSURL, "ldaps://"))
	path := w.config(cfg{LDAPURL: p.url()})
	r := rng(2)
	fractions := func() []float64 {
		fs := []float64{0.5}
		for range trials(1, 5) {
			fs = append(fs, 0.2+0.75*r.Float64())
		}
		return fs
	}

	if res := w.run(path, "sync"); res.code != 0 {
		t.Fatalf("first sync through the proxy: %s", res)
	}
	// faultCycle runs one cycle under a fault and checks it changed nothing.
	faultCycle := func(sc *scenario, what string, args ...string) {
		sc.trial()
		before, calls := w.emu.Dump(), mutating(w.emu)
		res := w.run(path, args...)
		if res.code != 1 {
			sc.fail("%s: want exit 1, got %s", what, res)
			return
		}
		reason := firstLine(res.stderr)
		if !strings.Contains(reason, "directory") && !strings.Contains(reason, "ldap") {
			sc.fail("%s: the reason does not name the directory: %s", what, reason)
		}
		if mutating(w.emu) != calls {
			sc.fail("%s: %d mutating calls during a failed read", what, mutating(w.emu)-calls)
		}
		bv, _ := view(before)
		av, _ := view(w.emu.Dump())
		if diff := cmp.Diff(bv, av); diff != "" {
			sc.fail("%s: the pool changed (-before +after):\n%s", what, diff)
		}
		t.Logf("%s: %s", what, reason)
	}
	measure := func(args ...string) int64 {
		p.reset()
		if res := w.run(path, args...); res.code != 0 {
			t.Fatalf("clean %v: %s", args, res)
		}
		return p.bytes.Load()
	}
	converge := func(sc *scenario, want poolView) {
		p.reset()
		sc.trial()
		if res := w.run(path, "sync"); res.code != 0 {
			sc.fatal("sync after the DC returned: %s", res)
		}
		got, dups := view(w.emu.Dump())
		if diff := cmp.Diff(want, got); diff != "" || len(dups) > 0 {
			sc.fatal("pool after the DC returned (-want +got):\n%s%v", diff, dups)
		}
	}

	t.Run("full", func(t *testing.T) {
		sc := begin(t, "directory: cut or DC stopped during a full read")
		total := measure("sync", "--full")
		for _, f := range fractions() {
			p.cutAfter(int64(f * float64(total)))
			faultCycle(sc, fmt.Sprintf("full read cut at %.0f%% of %d bytes", 100*f, total), "sync", "--full")
		}
		p.reset()
		p.stop()
		faultCycle(sc, "full read with the DC stopped", "sync", "--full")
		converge(sc, expected(w.set.Before))
	})
	t.Run("delta", func(t *testing.T) {
		sc := begin(t, "directory: cut or DC stopped during a delta read")
		w.applyMutations()
		// plan reads the same delta without consuming it.
		total := measure("plan")
		for _, f := range fractions() {
			p.cutAfter(int64(f * float64(total)))
			faultCycle(sc, fmt.Sprintf("delta read cut at %.0f%% of %d bytes", 100*f, total), "sync")
		}
		p.reset()
		p.stop()
		faultCycle(sc, "delta read with the DC stopped", "sync")
		converge(sc, expected(w.set.After))
	})
}
