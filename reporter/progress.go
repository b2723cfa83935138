package reporter

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/idsync/idsync/internal/pool"
)

// Sink sends one cumulative progress report for the current session.
type Sink func(ctx context.Context, entries []pool.ProgressEntry) error

// apiChange maps our change kinds to the session API's. Bind is reported as
// an update (the API has no capture type); Same is not reported.
var apiChange = [numChanges]pool.ChangeType{
	Create:       pool.ChangeCreate,
	Update:       pool.ChangeUpdate,
	Delete:       pool.ChangeDelete,
	Bind:         pool.ChangeUpdate,
	Same:         "",
	Activate:     pool.ChangeActivate,
	Deactivate:   pool.ChangeDeactivate,
	PasswordHash: pool.ChangePasswordHashUpdate,
}

// apiObject is the API's type of each of kinds.
var apiObject = [numObjects]pool.ObjectType{
	pool.ObjectUser,
	pool.ObjectGroup,
	pool.ObjectMembership,
}

// Entries returns the cumulative progress of the session so far: per
// object type, the successful and failed counts per API change type. Only
// object types and change types with at least one outcome appear, so the
// result fits the API limits (at most 3 entries of at most 6 change infos).
// It returns nil when nothing has been applied; such a session closes
// without a report. Skipped changes are not reported.
func (c *Counts) Entries() []pool.ProgressEntry {
	n, _ := c.snapshot()
	return entries(&n)
}

func entries(n *[numObjects][numChanges][numOutcomes]int64) []pool.ProgressEntry {
	var out []pool.ProgressEntry
	for o := range numObjects {
		var infos []pool.ChangeInfo
		at := map[pool.ChangeType]int{}
		for ch := range numChanges {
			t := apiChange[ch]
			s, f := n[o][ch][Success], n[o][ch][Failed]
			if t == "" || s+f == 0 {
				continue
			}
			i, ok := at[t]
			if !ok {
				i = len(infos)
				at[t] = i
				infos = append(infos, pool.ChangeInfo{Type: t})
			}
			infos[i].Successful += s
			infos[i].Failed += f
		}
		if len(infos) > 0 {
			out = append(out, pool.ProgressEntry{ObjectType: apiObject[o], Changes: infos})
		}
	}
	return out
}

// Reporter sends the cumulative progress of a session on an interval and
// once more at the end. Reports are idempotent: each carries the totals so
// far and the server keeps the latest, so a retried or repeated report
// cannot inflate the counts.
type Reporter struct {
	counts   *Counts
	sink     Sink
	interval time.Duration
	log      *zap.Logger

	sent uint64 // version of the counts last reported
}

// New returns a reporter of counts into sink. An interval of zero means
// 5 seconds. log may be nil.
func New(counts *Counts, sink Sink, interval time.Duration, log *zap.Logger) *Reporter {
	if interval <= 0 {
		interval = 5 * time.Second
	}
	if log == nil {
		log = zap.NewNop()
	}
	return &Reporter{counts: counts, sink: sink, interval: interval, log: log}
}

// Run reports every interval until ctx is done. A failed report is logged
// and retried at the next tick; the final Flush decides the cycle's fate.
func (r *Reporter) Run(ctx context.Context) {
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := r.report(ctx); err != nil && ctx.Err() == nil {
				r.log.Warn("progress report failed; retrying at the next interval", zap.Error(err))
			}
		}
	}
}

// Flush sends the final cumulative report if anything changed since the
// last one. It is not safe to call concurrently with Run; stop Run first.
func (r *Reporter) Flush(ctx context.Context) error {
	return r.report(ctx)
}

func (r *Reporter) report(ctx context.Context) error {
	n, version := r.counts.snapshot()
	if version == r.sent {
		return nil
	}
	e := entries(&n)
	if len(e) == 0 {
		r.sent = version
		return nil
	}
	if err := r.sink(ctx, e); err != nil {
		return fmt.Errorf("report session progress: %w", err)
	}
	r.sent = version
	return nil
}
