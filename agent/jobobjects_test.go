package agent

import (
	"errors"
	"testing"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/state"
)

// A job lists the objects it changed, failed on or rejected, with what it
// did to each.
func TestJobListsItsObjects(t *testing.T) {
	r, bad := rigWithABadUser(t)
	ctx := t.Context()
	job, err := r.agent.RunCycle(ctx, CycleOptions{})
	var pe *PartialError
	if !errors.As(err, &pe) {
		t.Fatalf("first cycle: %v", err)
	}
	byID := func(job *state.Job) map[string][]state.JobObject {
		m := map[string][]state.JobObject{}
		for _, o := range job.Objects {
			m[o.ExternalID] = append(m[o.ExternalID], o)
		}
		return m
	}
	got := byID(job)
	for _, u := range []directory.User{dirUser(1), dirUser(2)} {
		if o := got[u.ExternalID]; len(o) != 1 || o[0].Action != "create" || o[0].Kind != "user" || o[0].Name == "" || o[0].Error != "" {
			t.Errorf("objects of %s = %+v, want one successful create with a name", u.ExternalID, o)
		}
	}
	if o := got[bad.ExternalID]; len(o) != 1 || o[0].Error == "" {
		t.Errorf("objects of the bad user = %+v, want one failure with its error", o)
	}
	if job.ObjectsOmitted != 0 {
		t.Errorf("omitted %d", job.ObjectsOmitted)
	}

	r.dir.set(func(d *fakeDir) {
		u := dirUser(1)
		u.JobTitle = "Chief " + u.JobTitle
		d.deleted[d.users[1].ExternalID] = true
		d.users = []directory.User{u, d.users[2]}
	})
	job, _ = r.agent.RunCycle(ctx, CycleOptions{})
	got = byID(job)
	if o := got[dirUser(1).ExternalID]; len(o) != 1 || o[0].Action != "update" || len(o[0].Fields) != 1 || o[0].Fields[0] != "job_title" {
		t.Errorf("objects of the changed user = %+v, want an update of job_title", o)
	}
	if o := got[dirUser(2).ExternalID]; len(o) != 1 || o[0].Action != "deactivate" {
		t.Errorf("objects of the removed user = %+v, want a deactivate", o)
	}
}
