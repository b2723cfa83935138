package metrics

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/state"
	"github.com/idsync/idsync/reporter"
)

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b)
}

func TestMetricsHealthAndJobs(t *testing.T) {
	start := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	now := start
	m := New(start)
	jobs := state.OpenJobs(t.TempDir())
	h := m.Handler(jobs, time.Hour, func() time.Time { return now })

	if code, body := get(t, h, "/healthz"); code != 200 || !strings.Contains(body, "starting") {
		t.Errorf("healthz at start: %d %s", code, body)
	}
	now = start.Add(2 * time.Hour)
	m.Finished(nil, "failed", now)
	if code, body := get(t, h, "/healthz"); code != 503 || !strings.Contains(body, "no successful cycle") {
		t.Errorf("healthz with no success after maxAge: %d %s", code, body)
	}

	m.Started()
	if _, body := get(t, h, "/metrics"); !strings.Contains(body, "idsync_session_open 1") {
		t.Error("session gauge not 1 during a cycle")
	}
	j := &state.Job{ID: state.NewJobID(now), Mode: "full", Status: state.StatusSuccess, UsersRead: 12, GroupsRead: 3,
		StartTime: state.UnixMilli{Time: now.Add(-3 * time.Second)}, EndTime: state.UnixMilli{Time: now}}
	var c reporter.Counts
	c.Add(directory.KindUser, reporter.Create, reporter.Success, 10)
	c.Add(directory.KindUser, reporter.Create, reporter.Failed, 2)
	c.Add(directory.KindMembership, reporter.Delete, reporter.Success, 4)
	j.Result = c.Result()
	j.Objects = []state.JobObject{{Kind: "user", ExternalID: "u1", Name: "ann@corp.test", Action: "create"}}
	if err := jobs.Save(j); err != nil {
		t.Fatal(err)
	}
	m.Finished(j, "success", now)
	m.APICalls(map[string]int64{"UserService/Create": 12}, map[[2]string]int64{{"UserService/Create", "AlreadyExists"}: 2})

	_, body := get(t, h, "/metrics")
	for _, want := range []string{
		`idsync_cycles_total{result="success"} 1`,
		`idsync_cycles_total{result="failed"} 1`,
		`idsync_changes_total{change="create",object="user",result="success"} 10`,
		`idsync_changes_total{change="create",object="user",result="failed"} 2`,
		`idsync_changes_total{change="delete",object="membership",result="success"} 4`,
		`idsync_directory_objects_read_total{object="user"} 12`,
		`idsync_api_calls_total{method="UserService/Create"} 12`,
		`idsync_api_errors_total{code="AlreadyExists",method="UserService/Create"} 2`,
		`idsync_cycle_duration_seconds_count{mode="full"} 1`,
		`idsync_session_open 0`,
		`idsync_last_success_timestamp_seconds 1.7954352e+09`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if code, body := get(t, h, "/healthz"); code != 200 || !strings.Contains(body, `"ok"`) {
		t.Errorf("healthz after a success: %d %s", code, body)
	}
	now = now.Add(61 * time.Minute)
	if code, _ := get(t, h, "/healthz"); code != 503 {
		t.Errorf("healthz an hour after the last success: %d, want 503", code)
	}

	code, body := get(t, h, "/jobs")
	var list []state.Job
	if err := json.Unmarshal([]byte(body), &list); err != nil || code != 200 || len(list) != 1 || list[0].ID != j.ID {
		t.Errorf("/jobs: %d %s (%v)", code, body, err)
	}
	if code, body := get(t, h, "/jobs/"+j.ID); code != 200 || !strings.Contains(body, `"UsersRead": 12`) || !strings.Contains(body, `"Name": "ann@corp.test"`) {
		t.Errorf("/jobs/ID: %d %s", code, body)
	}
	if code, _ := get(t, h, "/jobs/sync_nope"); code != 404 {
		t.Errorf("/jobs/unknown: %d, want 404", code)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/jobs", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /jobs: %d, want 405", rec.Code)
	}
}

// /healthz names the last failure by its code; the message, which can name
// hosts and DNs, only with ?verbose=1.
func TestHealthzHidesErrorText(t *testing.T) {
	start := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	m := New(start)
	now := start.Add(2 * time.Hour)
	h := m.Handler(state.OpenJobs(t.TempDir()), time.Hour, func() time.Time { return now })
	const secret = "ldaps://dc1.corp.example.com:636: bind as CN=svc-idsync,OU=Service,DC=corp,DC=example,DC=com failed"
	m.Finished(&state.Job{Status: state.StatusFailed, ErrorCode: "SourceReadFailed", ErrorMessage: secret}, "failed", now)

	code, body := get(t, h, "/healthz")
	if code != 503 || !strings.Contains(body, "SourceReadFailed") {
		t.Errorf("healthz: %d %s, want 503 naming the error code", code, body)
	}
	for _, leak := range []string{"dc1.corp.example.com", "CN=svc-idsync", "DC=corp"} {
		if strings.Contains(body, leak) {
			t.Errorf("healthz shows %q: %s", leak, body)
		}
	}
	if _, body := get(t, h, "/healthz?verbose=1"); !strings.Contains(body, "CN=svc-idsync") || !strings.Contains(body, "SourceReadFailed") {
		t.Errorf("healthz?verbose=1 lacks the error message: %s", body)
	}
}

// /jobs answers at most MaxJobs records, whatever limit asks.
func TestJobsLimitCapped(t *testing.T) {
	jobs := state.OpenJobs(t.TempDir())
	start := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for i := range MaxJobs + 5 {
		at := start.Add(time.Duration(i) * time.Second)
		if err := jobs.Save(&state.Job{ID: state.NewJobID(at), Status: state.StatusSuccess,
			StartTime: state.UnixMilli{Time: at}, EndTime: state.UnixMilli{Time: at}}); err != nil {
			t.Fatal(err)
		}
	}
	h := New(start).Handler(jobs, time.Hour, time.Now)
	for _, q := range []string{"?limit=100000", "?limit=0", "?limit=" + strings.Repeat("9", 18)} {
		code, body := get(t, h, "/jobs"+q)
		var list []state.Job
		if err := json.Unmarshal([]byte(body), &list); err != nil || code != 200 {
			t.Fatalf("/jobs%s: %d %v", q, code, err)
		}
		if len(list) != MaxJobs {
			t.Errorf("/jobs%s: %d records, want %d", q, len(list), MaxJobs)
		}
	}
	if code, _ := get(t, h, "/jobs?limit=-1"); code != 400 {
		t.Errorf("/jobs?limit=-1: %d, want 400", code)
	}
}

// The server has read, write and idle timeouts.
func TestServerTimeouts(t *testing.T) {
	srv := NewServer(http.NotFoundHandler())
	for name, d := range map[string]time.Duration{
		"ReadHeaderTimeout": srv.ReadHeaderTimeout, "ReadTimeout": srv.ReadTimeout,
		"WriteTimeout": srv.WriteTimeout, "IdleTimeout": srv.IdleTimeout,
	} {
		if d <= 0 {
			t.Errorf("%s is %v: unbounded", name, d)
		}
	}
}

func TestLoopback(t *testing.T) {
	for _, c := range []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:9464", true}, {"127.77.0.13:1", true}, {"[::1]:9464", true},
		{"0.0.0.0:9464", false}, {"[::]:9464", false}, {"10.0.0.5:9464", false},
	} {
		a, err := net.ResolveTCPAddr("tcp", c.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := Loopback(a); got != c.want {
			t.Errorf("Loopback(%s) = %v, want %v", c.addr, got, c.want)
		}
	}
}
