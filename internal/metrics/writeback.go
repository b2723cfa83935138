package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Writeback holds the password writeback metrics; get it with
// Metrics.Writeback.
type Writeback struct {
	changes *prometheus.CounterVec
	latency prometheus.Histogram
}

// Writeback registers the password writeback metrics (once) and returns
// them.
func (m *Metrics) Writeback() *Writeback {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.writeback != nil {
		return m.writeback
	}
	w := &Writeback{
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "idsync_password_writeback_changes_total",
			Help: "Password changes from Identity Hub by result (success, PERMISSION_DENIED, PASSWORD_POLICY_VIOLATION, UNKNOWN_ERROR, DEADLINE_EXCEEDED, skipped).",
		}, []string{"result"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "idsync_password_writeback_latency_seconds",
			Help:    "Time from receiving a password change to committing the directory's answer.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}),
	}
	m.reg.MustRegister(w.changes, w.latency)
	m.writeback = w
	return w
}

// Observe records one change's result and latency.
func (w *Writeback) Observe(result string, latency time.Duration) {
	w.changes.WithLabelValues(result).Inc()
	if result != "skipped" {
		w.latency.Observe(latency.Seconds())
	}
}
