package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/state"
)

// TestE2EDaemonMetrics runs `idsync run` with the metrics endpoint on and
// scrapes it during the run: the cycle metrics, health and job history must
// reflect the cycle the daemon ran at start.
func TestE2EDaemonMetrics(t *testing.T) {
	e := newE2E(t, "e2e-daemon", emulator.Options{},
		"schedule: \"@every 1h\"\nmetrics:\n  listen: 127.0.0.1:0\n  healthy_after: 1h\nlogger:\n  format: json\n")
	cmd := exec.CommandContext(t.Context(), binPath, "run", "--config", e.config)
	cmd.Env = append(os.Environ(), "IDSYNC_E2E_TOKEN="+e2eToken, "IDSYNC_E2E_LDAP_PASSWORD="+e.dc.Password)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	// Follow the JSON log: the metrics address, then the end of the first cycle.
	addr, finished, exited := make(chan string, 1), make(chan struct{}, 1), make(chan struct{})
	var logged syncBuilder
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logged.WriteString(sc.Text() + "\n")
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) != nil {
				continue
			}
			switch line["msg"] {
			case "serving metrics, health and job history":
				addr <- line["address"].(string)
			case "cycle finished":
				select {
				case finished <- struct{}{}:
				default:
				}
			}
		}
	}()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case <-exited:
		t.Fatalf("the daemon exited at start:\n%s", logged.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("the daemon did not start its metrics server:\n%s", logged.String())
	}
	select {
	case <-finished:
	case <-time.After(2 * time.Minute):
		t.Fatalf("the daemon did not finish its first cycle")
	}
	fetch := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	users := int64(len(e.set.Before.ScopedUsers()))
	// The cycle's log line comes just before the daemon records its
	// metrics, one family after another: wait (bounded) until all of them
	// show the cycle, then report what is still missing.
	wants := []string{
		`idsync_cycles_total{result="success"} 1`,
		`idsync_changes_total{change="create",object="user",result="success"} ` + itoa(users),
		`idsync_directory_objects_read_total{object="user"} ` + itoa(users),
		`idsync_api_calls_total{method="UserService/Create"} ` + itoa(users),
		`idsync_session_open 0`,
		"idsync_last_success_timestamp_seconds 1.",
	}
	var missing []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		_, metrics := fetch("/metrics")
		missing = missing[:0]
		for _, want := range wants {
			if !strings.Contains(metrics, want) {
				missing = append(missing, want)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, want := range missing {
		t.Errorf("/metrics lacks %q", want)
	}
	if code, body := fetch("/healthz"); code != http.StatusOK || !strings.Contains(body, "last successful cycle") {
		t.Errorf("/healthz: %d %s", code, body)
	}
	code, body := fetch("/jobs")
	var jobs []state.Job
	if err := json.Unmarshal([]byte(body), &jobs); err != nil || code != 200 || len(jobs) != 1 || jobs[0].Status != "success" || jobs[0].TriggerType != "auto" {
		t.Errorf("/jobs: %d %s", code, body)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		<-exited
		if err != nil {
			t.Errorf("daemon exit after SIGTERM: %v\n%s", err, logged.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the daemon did not stop within 30s of SIGTERM")
	}
	if strings.Contains(logged.String(), e.dc.Password) || strings.Contains(logged.String(), e2eToken) {
		t.Error("the daemon's log contains a secret")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// syncBuilder is a strings.Builder safe for one writer and other readers.
type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuilder) WriteString(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.WriteString(v)
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
