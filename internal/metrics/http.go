package metrics

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/idsync/idsync/internal/state"
)

// MaxJobs is the most job records one /jobs answer holds.
const MaxJobs = 200

// Handler serves /metrics, /healthz and the job history (/jobs, newest
// first, ?limit=N up to MaxJobs; /jobs/ID with its object list). Nothing it serves can change
// anything. /healthz names the last failure by its code only; with
// ?verbose=1 it adds the error message, which may name hosts and DNs.
func (m *Metrics) Handler(jobs *state.Jobs, maxAge time.Duration, now func() time.Time) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		verbose := r.URL.Query().Get("verbose") == "1"
		ok, detail := m.health(now(), maxAge, verbose)
		if ucOK, ucDetail := m.userControlHealth(now(), verbose); !ucOK {
			ok, detail = false, detail+"; "+ucDetail
		}
		status, code := "ok", http.StatusOK
		if !ok {
			status, code = "unhealthy", http.StatusServiceUnavailable
		}
		writeJSON(w, code, map[string]string{"status": status, "detail": detail})
	})
	mux.HandleFunc("GET /jobs", func(w http.ResponseWriter, r *http.Request) {
		limit := 50
		if s := r.URL.Query().Get("limit"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "limit must be a non-negative integer"})
				return
			}
			limit = n
		}
		if limit == 0 || limit > MaxJobs {
			limit = MaxJobs
		}
		list, err := jobs.List(limit)
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "reading the job history failed"})
			return
		}
		if list == nil {
			list = []*state.Job{}
		}
		writeJSON(w, http.StatusOK, list)
	})
	mux.HandleFunc("GET /jobs/{id}", func(w http.ResponseWriter, r *http.Request) {
		j, err := jobs.Get(strings.TrimSpace(r.PathValue("id")))
		switch {
		case errors.Is(err, state.ErrNoJob):
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such job"})
		case err != nil:
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "reading the job failed"})
		default:
			// The objects it changed, as 'idsync jobs show' lists them; a
			// list that is gone or unreadable leaves the record to show.
			if objs, _, err := jobs.Objects(j.ID); err == nil {
				j.Objects = objs
			}
			writeJSON(w, http.StatusOK, j)
		}
	})
	return mux
}

// NewServer returns the HTTP server for h, with read, write and idle
// timeouts so that slow or idle clients cannot hold connections open.
func NewServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
}

// Loopback reports whether a listener's address is a loopback one, that
// only this machine can reach. An unspecified address (all interfaces) is
// not.
func Loopback(addr net.Addr) bool {
	ta, ok := addr.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
