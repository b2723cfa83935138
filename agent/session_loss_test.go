package agent

import (
	"errors"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/emulator"
)

// TestCycleStopsWhenTheSessionIsLost: a cycle whose session is lost in the
// middle of applying (the emulator expires it early, or refuses its
// heartbeats with a code that is not transient) stops applying, fails with
// SessionLost and leaves most of its changes undone; a transient heartbeat
// failure does not stop it.
func TestCycleStopsWhenTheSessionIsLost(t *testing.T) {
	const n = 40 // users to create: about 1.6 s of calls at 20 ms, one at a time
	for name, tc := range map[string]struct {
		eo       emulator.Options
		lost     bool
		closedAs string // the session's status after the cycle
	}{
		"expired early":         {eo: emulator.Options{SessionMaxAge: 300 * time.Millisecond}, lost: true, closedAs: "EXPIRED"},
		"heartbeat refused":     {eo: emulator.Options{HeartbeatError: codes.PermissionDenied}, lost: true, closedAs: "FAILED"},
		"heartbeat unavailable": {eo: emulator.Options{HeartbeatError: codes.Unavailable}, closedAs: "COMPLETED"},
	} {
		t.Run(name, func(t *testing.T) {
			eo := tc.eo
			eo.NoMinInterval, eo.Latency = true, 20*time.Millisecond
			r := newRig(t, eo, func(o *Options) {
				o.Concurrency = 1
				o.HeartbeatInterval = 50 * time.Millisecond
			})
			var users []directory.User
			for i := range n {
				users = append(users, dirUser(i+1))
			}
			r.dir.set(func(d *fakeDir) { d.users = users })
			job, err := r.agent.RunCycle(t.Context(), CycleOptions{})
			created := len(r.emu.Dump().Users)
			sess := r.emu.Dump().Sessions
			if len(sess) != 1 || sess[0].Status != tc.closedAs {
				t.Errorf("sessions %+v, want one %s", sess, tc.closedAs)
			}
			if !tc.lost {
				if err != nil || created != n {
					t.Fatalf("cycle: %v, %d of %d users created; want all", err, created, n)
				}
				return
			}
			if !errors.Is(err, errSessionLost) || job == nil || job.ErrorCode != "SessionLost" {
				t.Fatalf("cycle: %v (job %+v); want SessionLost", err, job)
			}
			if created >= n {
				t.Errorf("%d of %d users created after the session was lost; want the cycle to stop applying", created, n)
			}
			// Nothing is applied after the cycle returned.
			before := r.mutating()
			time.Sleep(100 * time.Millisecond)
			if after := r.mutating(); after != before {
				t.Errorf("%d mutating calls after the cycle returned", after-before)
			}
		})
	}
}
