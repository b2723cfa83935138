package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/idsync/idsync/internal/state"
)

// /healthz turns unhealthy after the configured number of failed cycles in
// a row, long before the staleness window, and healthy again after a
// success; "too early" answers do not count.
func TestHealthzConsecutiveFailures(t *testing.T) {
	start := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	now := start
	m := New(start)
	m.SetFailureLimit(3)
	h := m.Handler(state.OpenJobs(t.TempDir()), 24*time.Hour, func() time.Time { return now })
	ok := &state.Job{Status: state.StatusSuccess}
	failed := &state.Job{Status: state.StatusFailed, ErrorCode: "PermissionDenied"}

	m.Finished(ok, "success", now)
	steps := []struct {
		job    *state.Job
		result string
		want   int
	}{
		{failed, "failed", 200},
		{nil, "failed", 200}, // a cycle that could not start
		{nil, "not_now", 200},
		{failed, "failed", 503},
		{ok, "success", 200},
		{failed, "failed", 200},
	}
	for i, s := range steps {
		now = now.Add(time.Minute)
		m.Finished(s.job, s.result, now)
		code, body := get(t, h, "/healthz")
		if code != s.want {
			t.Errorf("step %d (%s): healthz %d %s, want %d", i, s.result, code, body, s.want)
		}
		if code == 503 && !strings.Contains(body, "3 cycles failed in a row (limit 3); last failure: PermissionDenied") {
			t.Errorf("step %d: healthz detail %s", i, body)
		}
	}

	// With the limit off only the staleness window counts.
	m.SetFailureLimit(0)
	for range 5 {
		m.Finished(failed, "failed", now)
	}
	if code, body := get(t, h, "/healthz"); code != 200 {
		t.Errorf("limit off: healthz %d %s, want 200", code, body)
	}
}
