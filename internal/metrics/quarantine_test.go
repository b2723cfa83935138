package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/idsync/idsync/internal/state"
)

func TestQuarantineGaugeAndHealthDetail(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	m := New(now)
	h := m.Handler(state.OpenJobs(t.TempDir()), time.Hour, func() time.Time { return now })
	job := func(n int, status string) *state.Job {
		return &state.Job{ID: state.NewJobID(now), Mode: "delta", Status: status, Quarantined: n,
			StartTime: state.UnixMilli{Time: now}, EndTime: state.UnixMilli{Time: now}}
	}
	m.Finished(job(3, state.StatusSuccess), "success", now)
	if _, body := get(t, h, "/metrics"); !strings.Contains(body, "idsync_quarantined_objects 3") {
		t.Errorf("gauge after a cycle with 3 quarantined:\n%s", body)
	}
	if code, body := get(t, h, "/healthz"); code != 200 || !strings.Contains(body, "3 objects quarantined") {
		t.Errorf("healthz: %d %s", code, body)
	}
	// A failed cycle does not know the quarantine; the last count stays.
	m.Finished(job(0, state.StatusFailed), "failed", now)
	if _, body := get(t, h, "/metrics"); !strings.Contains(body, "idsync_quarantined_objects 3") {
		t.Error("a failed cycle reset the gauge")
	}
	m.Finished(job(0, state.StatusSuccess), "success", now)
	if code, body := get(t, h, "/healthz"); code != 200 || strings.Contains(body, "quarantined") {
		t.Errorf("healthz with none quarantined: %d %s", code, body)
	}
}
