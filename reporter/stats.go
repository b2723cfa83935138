// Package reporter counts the outcome of every change a cycle applies and
// turns the counts into two things: the cumulative session progress sent with
// ReportSessionProgress, and the statistics of the job record kept in local
// history.
package reporter

import (
	"fmt"
	"sync"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/state"
)

// kinds are the kinds of object counted, in report order.
var kinds = [...]directory.Kind{directory.KindUser, directory.KindGroup, directory.KindMembership}

const numObjects = len(kinds)

// index is a kind's place in kinds.
func index(k directory.Kind) int {
	for i, x := range kinds {
		if x == k {
			return i
		}
	}
	panic("reporter: unknown object kind " + string(k))
}

// Change is the kind of change. Bind is the capture of an existing pool
// object (ConvertToExternal); Same is an object that needed no change.
type Change int

// Changes.
const (
	Create Change = iota
	Update
	Delete
	Bind
	Same
	Activate
	Deactivate
	// PasswordHash is a password hash set from the directory.
	PasswordHash
	// PasswordWriteback is a password from Identity Hub written to the
	// directory (password writeback; no session reports it).
	PasswordWriteback
	numChanges
)

func (c Change) String() string {
	switch c {
	case Create:
		return "create"
	case Update:
		return "update"
	case Delete:
		return "delete"
	case Bind:
		return "bind"
	case Same:
		return "same"
	case Activate:
		return "activate"
	case Deactivate:
		return "deactivate"
	case PasswordHash:
		return "password_hash"
	case PasswordWriteback:
		return "password_writeback"
	}
	return fmt.Sprintf("Change(%d)", int(c))
}

// Outcome is how one change ended. Skipped changes were not attempted,
// for instance a membership of a user whose creation failed.
type Outcome int

// Outcomes.
const (
	Success Outcome = iota
	Failed
	Skipped
	numOutcomes
)

func (o Outcome) String() string {
	switch o {
	case Success:
		return "success"
	case Failed:
		return "failed"
	case Skipped:
		return "skipped"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// Counts is a concurrency-safe tally of change outcomes. The zero value is
// ready to use.
type Counts struct {
	mu sync.Mutex
	n  [numObjects][numChanges][numOutcomes]int64
	// version increases with every Add, so a reporter knows when there is
	// something new to send.
	version uint64
	// objects are the objects changed, failed or rejected (objects.go).
	objects objectList
}

// Add records n changes of one kind with one outcome.
func (c *Counts) Add(o directory.Kind, ch Change, out Outcome, n int64) {
	if n == 0 {
		return
	}
	c.mu.Lock()
	c.n[index(o)][ch][out] += n
	c.version++
	c.mu.Unlock()
}

// Get returns the count of one kind of change with one outcome.
func (c *Counts) Get(o directory.Kind, ch Change, out Outcome) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[index(o)][ch][out]
}

func (c *Counts) snapshot() (n [numObjects][numChanges][numOutcomes]int64, version uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n, c.version
}

// Result returns the job statistics so far.
func (c *Counts) Result() state.Result {
	n, _ := c.snapshot()
	stats := func(k directory.Kind) state.Statistics {
		o := index(k)
		ctr := func(ch Change) state.Counter {
			s, f, k := n[o][ch][Success], n[o][ch][Failed], n[o][ch][Skipped]
			return state.Counter{Total: s + f + k, Success: s, Failed: f, Skipped: k}
		}
		return state.Statistics{
			Created: ctr(Create), Updated: ctr(Update), Deleted: ctr(Delete), Binded: ctr(Bind),
			Same: ctr(Same), Activated: ctr(Activate), Deactivated: ctr(Deactivate), PasswordHashUpdated: ctr(PasswordHash),
			PasswordWritten: ctr(PasswordWriteback),
		}
	}
	return state.Result{UserStatistics: stats(directory.KindUser), GroupStatistics: stats(directory.KindGroup), GroupMemberStatistics: stats(directory.KindMembership)}
}
