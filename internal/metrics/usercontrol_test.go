package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/idsync/idsync/internal/state"
)

func TestUserControlMetricsAndHealth(t *testing.T) {
	start := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	now := start
	m := New(start)
	m.EnableUserControl(5 * time.Minute)
	h := m.Handler(state.OpenJobs(t.TempDir()), 24*time.Hour, func() time.Time { return now })

	m.UserControlTick(now, "idle", "", "", 0, 0, 0)
	now = now.Add(10 * time.Second)
	m.UserControlTick(now, "changed", "", "", 1, 2, 1)
	_, body := get(t, h, "/metrics")
	for _, want := range []string{
		`idsync_user_control_ticks_total{result="idle"} 1`,
		`idsync_user_control_ticks_total{result="changed"} 1`,
		`idsync_user_control_changes_total{change="activate",result="success"} 1`,
		`idsync_user_control_changes_total{change="deactivate",result="success"} 2`,
		`idsync_user_control_changes_total{change="any",result="failed"} 1`,
		`idsync_user_control_last_success_timestamp_seconds 1.79542801e+09`,
		`idsync_user_control_last_success_age_seconds`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if code, _ := get(t, h, "/healthz"); code != 200 {
		t.Errorf("healthz after a successful tick: %d", code)
	}

	// Ticks that fail for longer than the limit make the daemon unhealthy,
	// though the directory cycles are fine.
	for range 40 {
		now = now.Add(10 * time.Second)
		m.UserControlTick(now, "failed", "SourceReadFailed", "dial dc1.corp.test: refused", 0, 0, 0)
	}
	code, body := get(t, h, "/healthz")
	if code != 503 || !strings.Contains(body, "user control: last successful tick 6m40s ago") || !strings.Contains(body, "SourceReadFailed") {
		t.Errorf("healthz after failing ticks: %d %s", code, body)
	}
	if strings.Contains(body, "dc1.corp.test") {
		t.Errorf("healthz shows the error text without verbose: %s", body)
	}
	now = now.Add(10 * time.Second)
	m.UserControlTick(now, "idle", "", "", 0, 0, 0)
	if code, body := get(t, h, "/healthz"); code != 200 {
		t.Errorf("healthz after a successful tick again: %d %s", code, body)
	}
}
