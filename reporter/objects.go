package reporter

import (
	"cmp"
	"slices"
	"sync"

	"github.com/idsync/idsync/internal/state"
)

// objectList collects the objects of a job, up to state.MaxJobObjects.
type objectList struct {
	mu       sync.Mutex
	list     []state.JobObject
	rejected int
	omitted  int
}

// Record notes one object the job changed, failed on or rejected. Beyond
// state.MaxJobObjects objects, or state.MaxJobRejections rejections, only
// the number is kept.
func (c *Counts) Record(o state.JobObject) {
	l := &c.objects
	l.mu.Lock()
	defer l.mu.Unlock()
	reject := o.Action == "reject"
	if len(l.list) >= state.MaxJobObjects || (reject && l.rejected >= state.MaxJobRejections) {
		l.omitted++
		return
	}
	if reject {
		l.rejected++
	}
	l.list = append(l.list, o)
}

// Objects returns the recorded objects, users then groups, each by name
// and action, and how many were left out.
func (c *Counts) Objects() ([]state.JobObject, int) {
	l := &c.objects
	l.mu.Lock()
	defer l.mu.Unlock()
	out := slices.Clone(l.list)
	slices.SortStableFunc(out, func(a, b state.JobObject) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind)*-1, cmp.Compare(a.Name, b.Name), cmp.Compare(a.ExternalID, b.ExternalID))
	})
	return out, l.omitted
}
