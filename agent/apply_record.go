package agent

import (
	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/state"
)

// The applier notes each object it changes, fails on or rejects in the
// job's object list (reporter.Counts.Record), for 'idsync jobs show' and
// the last job 'idsync explain' names.

// recordUser notes a user change (done or failed) for the job's object
// list.
func (a *applier) recordUser(c *UserChange, action string, err error) {
	o := state.JobObject{Kind: string(directory.KindUser), ExternalID: c.ExternalID, Name: c.Fields.Username, DN: c.DN, Action: action}
	if action == string(ActionUpdate) || action == string(ActionBind) {
		o.Fields = c.Mask
	}
	if err != nil {
		o.Error = err.Error()
	}
	a.counts.Record(o)
}

// recordGroup notes a group change (done or failed) for the job's object
// list.
func (a *applier) recordGroup(c *GroupChange, err error) {
	o := state.JobObject{Kind: string(directory.KindGroup), ExternalID: c.ExternalID, Name: c.Name, ADName: c.ADName, DN: c.DN,
		Action: string(c.Action), Fields: c.Mask}
	if err != nil {
		o.Error = err.Error()
	}
	a.counts.Record(o)
}

// recordRejected notes the objects the planner rejected.
func (a *applier) recordRejected(rs []Rejection) {
	for _, r := range rs {
		a.counts.Record(state.JobObject{Kind: string(r.Object), ExternalID: r.ExternalID, DN: r.DN, Action: "reject",
			Error: string(r.Action) + ": " + r.Reason})
	}
}
