// Package bench measures idsync end to end: the real binary against a Samba
// AD domain controller seeded with a benchmark profile and the in-process
// Identity Hub emulator, next to the floor the directory and the API allow
// (ldapsearch paging through the same scope, and the emulator's throughput
// for the minimum number of calls). Run prints a markdown report.
package bench

import (
	"errors"
	"fmt"
	"time"
)

// Options configure a benchmark run. Workload, DCDir and Binary are
// required; every other zero value has the documented default.
type Options struct {
	// Workload is the adseed profile seeded into the DC: w1k, w10k or w100k.
	Workload string
	// DCDir is the state directory of the DC (scripts/samba-dc.sh), holding
	// dc.env.
	DCDir string
	// Binary is the idsync executable to run.
	Binary string
	// WorkDir holds configs, state and logs of the runs. Empty: a temporary
	// directory removed at the end.
	WorkDir string
	// Concurrency is idsync's apply.concurrency. Zero means 8 (its default).
	Concurrency int
	// Latency is the latency injected per call in the latency scenario.
	// Zero means 20ms; negative skips the scenario.
	Latency time.Duration
	// RPS is the emulator's rate limit in the rate-limited scenario (idsync's
	// apply.rate_limit is set to the same value). Zero means 200; negative
	// skips the scenario.
	RPS float64
	// ClientRate is idsync's apply.rate_limit in the rate-limited scenario.
	// Zero means RPS: idsync configured to the limit it is given.
	ClientRate float64
	// ChangePercent is the share of users and of memberships changed for the
	// delta scenario. Zero means 1.
	ChangePercent float64
	// UserControlChanges is the number of AD changes whose time to the
	// cloud the user-control scenario measures. Zero means 50; negative
	// skips the scenario.
	UserControlChanges int
	// FullOnly runs only the full sync into an empty pool of the plain
	// scenarios (no no-change, delta or user-control cycles), e.g. to
	// profile it with IDSYNC_PROFILE_DIR.
	FullOnly bool
	// FullSyncsOnly skips the plain emulator's cycles (full sync, no-change
	// cycles, deltas, user control) and runs only the latency and
	// rate-limited full syncs and the floor: a latency run of a large
	// workload on its own.
	FullSyncsOnly bool
	// Command is the command line recorded in the report.
	Command string
}

func (o *Options) normalize() error {
	if o.Workload == "" || o.DCDir == "" || o.Binary == "" {
		return errors.New("bench: workload, DC directory and binary are required")
	}
	if o.Concurrency == 0 {
		o.Concurrency = 8
	}
	if o.Concurrency < 1 || o.Concurrency > 64 {
		return fmt.Errorf("bench: concurrency %d outside 1..64", o.Concurrency)
	}
	if o.Latency == 0 {
		o.Latency = 20 * time.Millisecond
	}
	if o.RPS == 0 {
		o.RPS = 200
	}
	if o.ClientRate == 0 {
		o.ClientRate = o.RPS
	}
	if o.UserControlChanges == 0 {
		o.UserControlChanges = 50
	}
	if o.ChangePercent == 0 {
		o.ChangePercent = 1
	}
	if o.ChangePercent < 0 || o.ChangePercent > 50 {
		return fmt.Errorf("bench: change percent %g outside 0..50", o.ChangePercent)
	}
	return nil
}
