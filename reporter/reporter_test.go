package reporter

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/pool"
	"github.com/idsync/idsync/internal/state"
)

func TestResultCountsEveryOutcome(t *testing.T) {
	var c Counts
	c.Add(directory.KindUser, Create, Success, 3)
	c.Add(directory.KindUser, Create, Failed, 1)
	c.Add(directory.KindUser, Same, Success, 7)
	c.Add(directory.KindGroup, Bind, Success, 2)
	c.Add(directory.KindMembership, Create, Skipped, 4)
	c.Add(directory.KindMembership, Delete, Success, 5)
	got := c.Result()
	want := state.Result{
		UserStatistics: state.Statistics{
			Created: state.Counter{Total: 4, Success: 3, Failed: 1},
			Same:    state.Counter{Total: 7, Success: 7},
		},
		GroupStatistics:       state.Statistics{Binded: state.Counter{Total: 2, Success: 2}},
		GroupMemberStatistics: state.Statistics{Created: state.Counter{Total: 4, Skipped: 4}, Deleted: state.Counter{Total: 5, Success: 5}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Result (-want +got):\n%s", diff)
	}
	if got.Failures() != 1 || got.Successes() != 10 {
		t.Errorf("Failures() = %d, Successes() = %d; want 1 and 10", got.Failures(), got.Successes())
	}
}

func TestEntriesFitTheAPI(t *testing.T) {
	var c Counts
	if e := c.Entries(); e != nil {
		t.Fatalf("no changes gave entries %v, want nil (no report)", e)
	}
	c.Add(directory.KindUser, Same, Success, 10)
	if e := c.Entries(); e != nil {
		t.Fatalf("only unchanged objects gave entries %v, want nil", e)
	}
	// Every kind of change with every outcome: still at most 3 entries of
	// at most 6 change infos, with bind folded into update.
	for _, o := range kinds {
		for ch := range numChanges {
			c.Add(o, ch, Success, 2)
			c.Add(o, ch, Failed, 1)
			c.Add(o, ch, Skipped, 100)
		}
	}
	got := c.Entries()
	infos := func() []pool.ChangeInfo {
		return []pool.ChangeInfo{
			{Type: pool.ChangeCreate, Successful: 2, Failed: 1},
			{Type: pool.ChangeUpdate, Successful: 4, Failed: 2},
			{Type: pool.ChangeDelete, Successful: 2, Failed: 1},
			{Type: pool.ChangeActivate, Successful: 2, Failed: 1},
			{Type: pool.ChangeDeactivate, Successful: 2, Failed: 1},
			{Type: pool.ChangePasswordHashUpdate, Successful: 2, Failed: 1},
		}
	}
	want := []pool.ProgressEntry{
		{ObjectType: pool.ObjectUser, Changes: infos()},
		{ObjectType: pool.ObjectGroup, Changes: infos()},
		{ObjectType: pool.ObjectMembership, Changes: infos()},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Entries (-want +got):\n%s", diff)
	}
}

type recordingSink struct {
	mu      sync.Mutex
	reports [][]pool.ProgressEntry
	fail    bool
}

func (s *recordingSink) send(_ context.Context, e []pool.ProgressEntry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return errors.New("unavailable")
	}
	s.reports = append(s.reports, e)
	return nil
}

func TestFlushIsCumulativeAndSkipsRepeats(t *testing.T) {
	var c Counts
	sink := &recordingSink{}
	r := New(&c, sink.send, 0, nil)
	ctx := context.Background()
	if err := r.Flush(ctx); err != nil || len(sink.reports) != 0 {
		t.Fatalf("flush with no changes: err %v, %d reports; want none", err, len(sink.reports))
	}
	c.Add(directory.KindUser, Create, Success, 2)
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if len(sink.reports) != 1 {
		t.Fatalf("two flushes without new outcomes sent %d reports, want 1", len(sink.reports))
	}
	c.Add(directory.KindUser, Create, Success, 3)
	sink.fail = true
	if err := r.Flush(ctx); err == nil {
		t.Fatal("flush into a failing sink returned no error")
	}
	sink.fail = false
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	last := sink.reports[len(sink.reports)-1]
	if got := last[0].Changes[0].Successful; got != 5 {
		t.Errorf("report after a failed one carries %d successes, want the cumulative 5", got)
	}
}

func TestCountsConcurrentAdds(t *testing.T) {
	var c Counts
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				c.Add(directory.KindMembership, Create, Success, 1)
			}
		})
	}
	wg.Wait()
	if got := c.Get(directory.KindMembership, Create, Success); got != 8000 {
		t.Fatalf("concurrent adds counted %d, want 8000", got)
	}
}

func TestPasswordHashProgress(t *testing.T) {
	var c Counts
	c.Add(directory.KindUser, PasswordHash, Success, 3)
	c.Add(directory.KindUser, PasswordHash, Failed, 1)
	want := []pool.ProgressEntry{{ObjectType: pool.ObjectUser, Changes: []pool.ChangeInfo{
		{Type: pool.ChangePasswordHashUpdate, Successful: 3, Failed: 1}}}}
	if diff := cmp.Diff(want, c.Entries()); diff != "" {
		t.Errorf("password hash progress (-want +got):\n%s", diff)
	}
	if got := c.Result().UserStatistics.PasswordHashUpdated; got != (state.Counter{Total: 4, Success: 3, Failed: 1}) {
		t.Errorf("PasswordHashUpdated = %+v", got)
	}
}

func TestCountsObjectsCapped(t *testing.T) {
	var c Counts
	for i := range state.MaxJobObjects + 3 {
		c.Record(state.JobObject{Kind: "group", ExternalID: fmt.Sprint(i), Action: "create"})
	}
	c.Record(state.JobObject{Kind: "user", ExternalID: "u", Action: "update"})
	objs, omitted := c.Objects()
	if len(objs) != state.MaxJobObjects || omitted != 4 {
		t.Errorf("recorded %d, omitted %d; want %d and 4", len(objs), omitted, state.MaxJobObjects)
	}
	// Rejections have a cap of their own, so changes still fit after many.
	var r Counts
	for i := range state.MaxJobRejections + 10 {
		r.Record(state.JobObject{Kind: "user", ExternalID: fmt.Sprint(i), Action: "reject"})
	}
	r.Record(state.JobObject{Kind: "user", ExternalID: "changed", Action: "update"})
	objs, omitted = r.Objects()
	if len(objs) != state.MaxJobRejections+1 || omitted != 10 || !slices.ContainsFunc(objs, func(o state.JobObject) bool { return o.ExternalID == "changed" }) {
		t.Errorf("after %d rejections: recorded %d, omitted %d, the update kept: %v", state.MaxJobRejections+10, len(objs), omitted,
			slices.ContainsFunc(objs, func(o state.JobObject) bool { return o.ExternalID == "changed" }))
	}
	var d Counts
	d.Record(state.JobObject{Kind: "group", Name: "a", Action: "create"})
	d.Record(state.JobObject{Kind: "user", Name: "b", Action: "update"})
	d.Record(state.JobObject{Kind: "user", Name: "b", Action: "deactivate"})
	objs, _ = d.Objects()
	if objs[0].Action != "update" || objs[1].Action != "deactivate" || objs[2].Kind != "group" {
		t.Errorf("order: %+v; want users first, each object's actions in order", objs)
	}
}
