package agent

import (
	"fmt"
	"time"
)

// NotNowError means the cycle did not run: it is too early for a new
// session, or another agent holds the open one.
type NotNowError struct {
	// Held is true when another agent's session is open; false when it is
	// too early.
	Held bool
	// Next is when the API said to try again (too early only).
	Next time.Time
}

func (e *NotNowError) Error() string {
	if e.Held {
		return "another agent holds the synchronization session of this pool; standing by"
	}
	return fmt.Sprintf("too early for a new synchronization session; next allowed at %s", e.Next.UTC().Format(time.RFC3339))
}

// SafetyError means a safety limit stopped the cycle before any change.
type SafetyError struct{ Stop *SafetyStop }

func (e *SafetyError) Error() string { return "safety stop: " + e.Stop.Reason }

// PartialError means the cycle finished but some objects failed.
type PartialError struct{ Failed int64 }

func (e *PartialError) Error() string {
	return fmt.Sprintf("%d changes failed; they are retried in the next cycle (see the log and 'idsync jobs show')", e.Failed)
}
