package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// userControl holds the metrics and health of the user-control loop.
type userControl struct {
	ticks       *prometheus.CounterVec
	changes     *prometheus.CounterVec
	lastSuccess prometheus.Gauge

	mu              sync.Mutex
	enabled         bool
	maxAge          time.Duration
	lastOK          time.Time
	lastFailure     string
	lastFailureText string
}

func newUserControl(m *Metrics) *userControl {
	u := &userControl{
		ticks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "idsync_user_control_ticks_total",
			Help: "User-control ticks by result (idle: nothing to do, no cloud call; changed; partial_success; not_now; failed).",
		}, []string{"result"}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "idsync_user_control_changes_total", Help: "Users suspended (deactivate) or reactivated (activate) by user control, by result.",
		}, []string{"change", "result"}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "idsync_user_control_last_success_timestamp_seconds", Help: "Unix time of the end of the last successful user-control tick (0: none yet).",
		}),
	}
	age := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "idsync_user_control_last_success_age_seconds",
		Help: "Seconds since the last successful user-control tick (since the start while there was none).",
	}, func() float64 {
		u.mu.Lock()
		defer u.mu.Unlock()
		last := u.lastOK
		if last.IsZero() {
			last = m.started
		}
		return time.Since(last).Seconds()
	})
	for _, c := range []prometheus.Collector{u.ticks, u.changes, u.lastSuccess, age} {
		m.reg.MustRegister(c)
	}
	return u
}

// EnableUserControl makes /healthz consider the user-control loop: it is
// unhealthy when no tick succeeded for maxAge.
func (m *Metrics) EnableUserControl(maxAge time.Duration) {
	m.uc.mu.Lock()
	defer m.uc.mu.Unlock()
	m.uc.enabled, m.uc.maxAge = true, maxAge
}

// UserControlTick records a tick that ended at end. result is idle,
// changed, partial_success, not_now or failed; code and text name a
// failure; activated, deactivated and failed count the users changed.
func (m *Metrics) UserControlTick(end time.Time, result, code, text string, activated, deactivated, failed int) {
	u := m.uc
	u.ticks.WithLabelValues(result).Inc()
	for _, c := range []struct {
		change, result string
		n              int
	}{{"activate", "success", activated}, {"deactivate", "success", deactivated}, {"any", "failed", failed}} {
		if c.n > 0 {
			u.changes.WithLabelValues(c.change, c.result).Add(float64(c.n))
		}
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	switch result {
	case "failed":
		u.lastFailure, u.lastFailureText = code, text
	case "not_now":
	default:
		u.lastOK = end
		u.lastSuccess.Set(float64(end.Unix()))
		u.lastFailure, u.lastFailureText = "", ""
	}
}

// userControlHealth says whether the user-control loop is healthy at now,
// or why not.
func (m *Metrics) userControlHealth(now time.Time, verbose bool) (ok bool, detail string) {
	u := m.uc
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.enabled {
		return true, ""
	}
	last := u.lastFailure
	if verbose && u.lastFailureText != "" {
		last += ": " + u.lastFailureText
	}
	switch {
	case !u.lastOK.IsZero() && now.Sub(u.lastOK) <= u.maxAge:
		return true, ""
	case u.lastOK.IsZero() && now.Sub(m.started) <= u.maxAge:
		return true, ""
	case u.lastOK.IsZero():
		return false, "user control: no successful tick since the start " + now.Sub(m.started).Round(time.Second).String() + " ago" + failure(last)
	default:
		return false, "user control: last successful tick " + now.Sub(u.lastOK).Round(time.Second).String() + " ago, over " + u.maxAge.String() + failure(last)
	}
}
