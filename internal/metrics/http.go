package metrics

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/idsync/idsync/internal/state"
)

// Handler serves /metrics, /healthz and the job history (/jobs, newest
// first, ?limit=N; /jobs/ID). Nothing it serves can change anything.
func (m *Metrics) Handler(jobs *state.Jobs, maxAge time.Duration, now func() time.Time) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ok, detail := m.health(now(), maxAge)
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
			writeJSON(w, http.StatusOK, j)
		}
	})
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
