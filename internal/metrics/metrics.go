// Package metrics exposes what the idsync daemon does: Prometheus metrics,
// a health check and the job history as read-only JSON, on one opt-in local
// HTTP address.
package metrics

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/idsync/idsync/internal/state"
)

// Metrics holds the daemon's Prometheus metrics. Feed it with Started,
// Finished and APICalls; serve it with Handler.
type Metrics struct {
	reg *prometheus.Registry

	cycles      *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	objectsRead *prometheus.CounterVec
	changes     *prometheus.CounterVec
	apiCalls    *prometheus.CounterVec
	apiErrors   *prometheus.CounterVec
	lastSuccess prometheus.Gauge
	lastCycle   prometheus.Gauge
	sessionOpen prometheus.Gauge
	uc          *userControl
	quarantined prometheus.Gauge

	mu              sync.Mutex
	started         time.Time
	lastOK          time.Time
	lastFailure     string // an error code or result name
	lastFailureText string // its message; may name hosts and DNs
	failedInARow    int    // cycles failed (or safety-stopped) since the last success
	failureLimit    int    // failedInARow that makes /healthz unhealthy; 0: off
	quarantinedN    int    // objects in quarantine after the last cycle
	writeback       *Writeback
}

// New registers the metrics in a registry of their own.
func New(now time.Time) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), started: now}
	f := func(c prometheus.Collector) { m.reg.MustRegister(c) }
	m.cycles = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "idsync_cycles_total", Help: "Synchronization cycles by result (success, partial_success, failed, safety_stop, not_now).",
	}, []string{"result"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "idsync_cycle_duration_seconds", Help: "Duration of synchronization cycles that ran, by mode (full, delta).",
		Buckets: prometheus.ExponentialBuckets(0.1, 2.5, 12),
	}, []string{"mode"})
	m.objectsRead = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "idsync_directory_objects_read_total", Help: "Directory objects read (whole scope in full cycles, changed objects in deltas).",
	}, []string{"object"})
	m.changes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "idsync_changes_total", Help: "Changes applied to Identity Hub by object type, change type and result.",
	}, []string{"object", "change", "result"})
	m.apiCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "idsync_api_calls_total", Help: "Identity Hub API calls by method.",
	}, []string{"method"})
	m.apiErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "idsync_api_errors_total", Help: "Identity Hub API call errors by method and gRPC code.",
	}, []string{"method", "code"})
	m.lastSuccess = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "idsync_last_success_timestamp_seconds", Help: "Unix time of the end of the last successful cycle (0: none yet).",
	})
	m.lastCycle = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "idsync_last_cycle_timestamp_seconds", Help: "Unix time of the end of the last cycle, whatever its result.",
	})
	m.sessionOpen = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "idsync_session_open", Help: "1 while a synchronization cycle (and its session) is running, else 0.",
	})
	m.quarantined = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "idsync_quarantined_objects", Help: "Objects in quarantine after the last cycle: their change failed in apply.quarantine_after consecutive cycles.",
	})
	for _, c := range []prometheus.Collector{m.cycles, m.duration, m.objectsRead, m.changes, m.apiCalls, m.apiErrors,
		m.lastSuccess, m.lastCycle, m.sessionOpen, m.quarantined,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		f(c)
	}
	m.uc = newUserControl(m)
	return m
}

// SetFailureLimit makes /healthz unhealthy once n cycles in a row have
// failed or stopped for safety, whatever the age of the last success;
// n <= 0 turns that off. Cycles the pool said were too early do not count.
func (m *Metrics) SetFailureLimit(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failureLimit = n
}

// Started marks a cycle as running.
func (m *Metrics) Started() { m.sessionOpen.Set(1) }

// Finished records a cycle's outcome. job is nil when the cycle did not run
// (too early or another agent active) or could not start; result names the
// outcome then.
func (m *Metrics) Finished(job *state.Job, result string, end time.Time) {
	m.sessionOpen.Set(0)
	m.cycles.WithLabelValues(result).Inc()
	m.lastCycle.Set(float64(end.Unix()))
	m.mu.Lock()
	defer m.mu.Unlock()
	if job == nil {
		if result != "not_now" {
			m.lastFailure, m.lastFailureText = result, ""
			m.failedInARow++
		}
		return
	}
	if !job.EndTime.IsZero() && job.Mode != "" {
		m.duration.WithLabelValues(job.Mode).Observe(job.EndTime.Sub(job.StartTime.Time).Seconds())
	}
	m.objectsRead.WithLabelValues("user").Add(float64(job.UsersRead))
	m.objectsRead.WithLabelValues("group").Add(float64(job.GroupsRead))
	addStats(m.changes, "user", job.Result.UserStatistics)
	addStats(m.changes, "group", job.Result.GroupStatistics)
	addStats(m.changes, "membership", job.Result.GroupMemberStatistics)
	if (job.Status == state.StatusSuccess || job.Status == state.StatusPartialSuccess) && !job.DryRun {
		m.quarantinedN = job.Quarantined
		m.quarantined.Set(float64(job.Quarantined))
	}
	if job.Status == state.StatusSuccess || job.Status == state.StatusPartialSuccess {
		m.lastOK = end
		m.lastSuccess.Set(float64(end.Unix()))
		m.lastFailure, m.lastFailureText = "", ""
		m.failedInARow = 0
	} else {
		m.lastFailure, m.lastFailureText = job.ErrorCode, job.ErrorMessage
		m.failedInARow++
	}
}

func addStats(v *prometheus.CounterVec, object string, s state.Statistics) {
	for _, c := range []struct {
		name string
		ctr  state.Counter
	}{
		{"create", s.Created}, {"update", s.Updated}, {"delete", s.Deleted}, {"bind", s.Binded},
		{"activate", s.Activated}, {"deactivate", s.Deactivated}, {"password_hash", s.PasswordHashUpdated},
	} {
		for result, n := range map[string]int64{"success": c.ctr.Success, "failed": c.ctr.Failed, "skipped": c.ctr.Skipped} {
			if n > 0 {
				v.WithLabelValues(object, c.name, result).Add(float64(n))
			}
		}
	}
}

// APICalls adds one cycle's API call and error counts.
func (m *Metrics) APICalls(calls map[string]int64, errors map[[2]string]int64) {
	for method, n := range calls {
		m.apiCalls.WithLabelValues(method).Add(float64(n))
	}
	for k, n := range errors {
		m.apiErrors.WithLabelValues(k[0], k[1]).Add(float64(n))
	}
}

// health reports whether the daemon is healthy at now: fewer cycles than
// the failure limit failed in a row, and a successful cycle ended less
// than maxAge ago, or the daemon started less than maxAge ago and has not
// had one yet. The detail names the last failure by its code,
// and with verbose by its message too (which may name hosts and DNs).
func (m *Metrics) health(now time.Time, maxAge time.Duration, verbose bool) (ok bool, detail string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	last := m.lastFailure
	if verbose && m.lastFailureText != "" {
		last += ": " + m.lastFailureText
	}
	switch {
	case m.failureLimit > 0 && m.failedInARow >= m.failureLimit:
		return false, strconv.Itoa(m.failedInARow) + " cycles failed in a row (limit " + strconv.Itoa(m.failureLimit) + ")" + failure(last)
	case !m.lastOK.IsZero() && now.Sub(m.lastOK) <= maxAge:
		return true, "last successful cycle " + now.Sub(m.lastOK).Round(time.Second).String() + " ago" + quarantineDetail(m.quarantinedN)
	case m.lastOK.IsZero() && now.Sub(m.started) <= maxAge:
		return true, "starting: no successful cycle yet"
	case m.lastOK.IsZero():
		return false, "no successful cycle since the start " + now.Sub(m.started).Round(time.Second).String() + " ago" + failure(last)
	default:
		return false, "last successful cycle " + now.Sub(m.lastOK).Round(time.Second).String() + " ago, over " + maxAge.String() + failure(last)
	}
}

func failure(s string) string {
	if s == "" {
		return ""
	}
	return "; last failure: " + s
}
