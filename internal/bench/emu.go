package bench

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/idhub"
)

// Emulator identity used by every scenario.
const (
	emuPool   = "idpbenchpool00000001"
	emuOrg    = "orgbench000000000001"
	emuDomain = "bench.idp.test"
	emuToken  = "bench-static-token"
)

// emu is an in-process emulator served on loopback TCP.
type emu struct {
	*emulator.Emulator
	addr string
	stop func() error
}

// startEmulator serves an emulator with unlimited quotas (as raised by
// support for a customer of this size), no minimum interval, and the given
// faults.
func startEmulator(ctx context.Context, latency time.Duration, rps float64) (*emu, error) {
	e, err := emulator.New(emulator.Options{
		UserpoolID: emuPool, OrganizationID: emuOrg, Domain: emuDomain, StaticToken: emuToken,
		NoMinInterval: true, Latency: latency, RPS: rps,
	})
	if err != nil {
		return nil, fmt.Errorf("start emulator: %w", err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start emulator: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- e.Serve(ctx, lis) }()
	return &emu{Emulator: e, addr: lis.Addr().String(), stop: func() error {
		cancel()
		if err := <-done; err != nil {
			return fmt.Errorf("emulator: %w", err)
		}
		return nil
	}}, nil
}

// calls is a count of calls per short method name ("UserService.Create").
type calls map[string]int64

func (c calls) total() int64 {
	var n int64
	for _, v := range c {
		n += v
	}
	return n
}

// String lists the counts, largest first.
func (c calls) String() string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if c[keys[i]] != c[keys[j]] {
			return c[keys[i]] > c[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, c[k]))
	}
	return strings.Join(parts, ", ")
}

// snapshot returns the emulator's call counts by method and its error
// counts by status code name.
func (e *emu) snapshot() (calls, calls) {
	s := e.Stats()
	out := calls{}
	for m, n := range s.Calls {
		out[shortMethod(m)] = n
	}
	errs := calls{}
	for c, n := range s.ErrorsByCode {
		errs[c] = n
	}
	return out, errs
}

// shortMethod is idhub's short method name with a dot between service and
// method, the form the reports use: "UserService.Create".
func shortMethod(full string) string {
	return strings.Replace(idhub.ShortMethod(full), "/", ".", 1)
}

func diff(after, before calls) calls {
	out := calls{}
	for k, v := range after {
		if d := v - before[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}

// rateSampler samples the emulator's count of successful calls to find the
// busy window of a run: from the first to the last sample in which calls
// succeeded. Its rate is what a rate limit is compared with (calls the
// limit rejected do not count).
type rateSampler struct {
	mu      sync.Mutex
	first   time.Time
	last    time.Time
	startN  int64
	lastN   int64
	stopped chan struct{}
	done    chan struct{}
}

func sampleRate(e *emu, every time.Duration) *rateSampler {
	r := &rateSampler{stopped: make(chan struct{}), done: make(chan struct{})}
	count := func() int64 { c, errs := e.snapshot(); return c.total() - errs.total() }
	prev := count()
	go func() {
		defer close(r.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-r.stopped:
				return
			case now := <-t.C:
				n := count()
				r.mu.Lock()
				if n != prev {
					if r.first.IsZero() {
						// The window starts at the previous tick.
						r.first, r.startN = now.Add(-every), prev
					}
					r.last, r.lastN = now, n
				}
				r.mu.Unlock()
				prev = n
			}
		}
	}()
	return r
}

// stop ends sampling and returns calls/s over the busy window (0 when too
// short to say).
func (r *rateSampler) stop() (rate float64, window time.Duration) {
	close(r.stopped)
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	window = r.last.Sub(r.first)
	if window <= 0 {
		return 0, 0
	}
	return float64(r.lastN-r.startN) / window.Seconds(), window
}
