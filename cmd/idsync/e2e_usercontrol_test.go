package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/testing/adseed"
	"github.com/idsync/idsync/internal/testing/testdc"
)

// fileTimeEpochDiff is 1601-01-01 to 1970-01-01 in 100 ns.
const fileTimeEpochDiff = 116444736000000000

func fileTimeOf(t time.Time) string {
	return strconv.FormatInt(t.UnixNano()/100+fileTimeEpochDiff, 10)
}

func modify(t *testing.T, conn *ldap.Conn, dn string, fn func(*ldap.ModifyRequest)) {
	t.Helper()
	req := ldap.NewModifyRequest(dn, nil)
	fn(req)
	if err := conn.Modify(req); err != nil {
		t.Fatalf("modify %s: %v", dn, err)
	}
}

// lockoutPSO applies a fine-grained password policy to dn that locks the
// account out after threshold bad passwords for d. The domain policy
// counts lockout in whole minutes; a PSO's attributes count 100 ns, so a
// test can use a lockout of seconds. Samba honours both.
func lockoutPSO(t *testing.T, conn *ldap.Conn, base, name, dn string, threshold int, d time.Duration) {
	t.Helper()
	pso := fmt.Sprintf("CN=%s,CN=Password Settings Container,CN=System,%s", name, base)
	neg := strconv.FormatInt(-int64(d/100), 10)
	req := ldap.NewAddRequest(pso, nil)
	for _, a := range [][2]string{
		{"objectClass", "msDS-PasswordSettings"}, {"msDS-PasswordSettingsPrecedence", "1"},
		{"msDS-PasswordReversibleEncryptionEnabled", "FALSE"}, {"msDS-PasswordHistoryLength", "0"},
		{"msDS-PasswordComplexityEnabled", "FALSE"}, {"msDS-MinimumPasswordLength", "0"},
		{"msDS-MinimumPasswordAge", "0"}, {"msDS-MaximumPasswordAge", "-9223372036854775808"},
		{"msDS-LockoutThreshold", strconv.Itoa(threshold)}, {"msDS-LockoutObservationWindow", neg},
		{"msDS-LockoutDuration", neg}, {"msDS-PSOAppliesTo", dn},
	} {
		req.Attribute(a[0], []string{a[1]})
	}
	if err := conn.Add(req); err != nil {
		t.Fatalf("add the lockout policy: %v", err)
	}
	t.Cleanup(func() { _ = conn.Del(ldap.NewDelRequest(pso, nil)) })
}

// userControlSessions counts the emulator's AD_USER_CONTROL sessions.
func (e *e2e) userControlSessions() int {
	n := 0
	for _, s := range e.emu.Dump().Sessions {
		if s.Type == "AD_USER_CONTROL" {
			n++
		}
	}
	return n
}

func (e *e2e) statusOf(u adseed.User) string {
	for _, p := range e.emu.Dump().Users {
		if p.Username == usernameOf(u.UPN) {
			return p.Status
		}
	}
	e.t.Fatalf("no pool user for %s", u.UPN)
	return ""
}

func TestE2EUserControl(t *testing.T) {
	e := newE2E(t, "e2e-uc", emulator.Options{}, "")
	conn := testdc.Dial(t, e.dc)
	var enabled []adseed.User
	for _, u := range e.set.Before.ScopedUsers() {
		if u.Enabled {
			enabled = append(enabled, u)
		}
	}
	if len(enabled) < 3 {
		t.Fatalf("the test set has %d enabled users, want 3", len(enabled))
	}
	leaver, locked, contractor := enabled[0], enabled[1], enabled[2]
	const pw = "Idsync-UC-Passw0rd-1"
	setPassword(t, conn, locked.DN, pw)

	out := e.mustRun(exitOK, "check")
	if !strings.Contains(out, "user control") || !strings.Contains(out, "DirSync restricted to userAccountControl") {
		t.Errorf("check does not say how user control reads:\n%s", out)
	}
	e.mustRun(exitOK, "sync", "--full")

	// The first tick reads every account; nothing to do. Idle ticks open no
	// session.
	for range 2 {
		if out := e.mustRun(exitOK, "sync", "--user-control"); !strings.Contains(out, "nothing to do") {
			t.Errorf("idle tick:\n%s", out)
		}
	}
	if n := e.userControlSessions(); n != 0 {
		t.Fatalf("%d user-control sessions on idle ticks, want 0", n)
	}

	// Disabled -> suspended.
	modify(t, conn, leaver.DN, func(r *ldap.ModifyRequest) { r.Replace("userAccountControl", []string{"514"}) })
	out = e.mustRun(exitOK, "sync", "--user-control")
	if !strings.Contains(out, "deactivated 1") {
		t.Errorf("tick after disabling:\n%s", out)
	}
	if got := e.statusOf(leaver); got != "SUSPENDED" {
		t.Fatalf("disabled user is %s, want SUSPENDED", got)
	}
	if n := e.userControlSessions(); n != 1 {
		t.Errorf("%d user-control sessions, want 1", n)
	}

	// The next directory cycles, delta and full, keep it suspended.
	e.mustRun(exitOK, "sync")
	e.mustRun(exitOK, "sync", "--full")
	if got := e.statusOf(leaver); got != "SUSPENDED" {
		t.Fatalf("disabled user after directory cycles is %s, want SUSPENDED", got)
	}
	jobs := e.mustRun(exitOK, "jobs", "list")
	if !strings.Contains(jobs, "user_control") {
		t.Errorf("jobs list has no user_control job:\n%s", jobs)
	}

	// Enabled -> active.
	modify(t, conn, leaver.DN, func(r *ldap.ModifyRequest) { r.Replace("userAccountControl", []string{"512"}) })
	e.mustRun(exitOK, "sync", "--user-control")
	if got := e.statusOf(leaver); got != "ACTIVE" {
		t.Fatalf("re-enabled user is %s, want ACTIVE", got)
	}

	// Locked out by bad passwords -> suspended; reactivated when the
	// lockout duration has passed, with no admin action.
	lockoutPSO(t, conn, e.dc.BaseDN, "idsync-e2e-uc-"+strconv.FormatInt(time.Now().UnixNano()%1e9, 10), locked.DN, 2, 5*time.Second)
	for range 3 {
		c := testdc.Dial(t, e.dc)
		if err := c.Bind(locked.DN, "wrong-"+pw); err == nil {
			t.Fatal("a bind with a wrong password succeeded")
		}
		c.Close()
	}
	lockedAt := time.Now()
	e.mustRun(exitOK, "sync", "--user-control")
	if got := e.statusOf(locked); got != "SUSPENDED" {
		t.Fatalf("locked-out user is %s, want SUSPENDED", got)
	}
	// A directory cycle while it is locked out keeps it suspended.
	e.mustRun(exitOK, "sync")
	if got := e.statusOf(locked); got != "SUSPENDED" && time.Since(lockedAt) < 5*time.Second {
		t.Fatalf("locked-out user after a directory cycle is %s, want SUSPENDED", got)
	}
	time.Sleep(time.Until(lockedAt.Add(6 * time.Second)))
	e.mustRun(exitOK, "sync", "--user-control")
	if got := e.statusOf(locked); got != "ACTIVE" {
		t.Fatalf("user whose lockout ended is %s, want ACTIVE", got)
	}

	// accountExpires a few seconds ahead -> suspended by the first tick
	// after that time, with nothing written in AD at that time.
	expires := time.Now().Add(4 * time.Second)
	modify(t, conn, contractor.DN, func(r *ldap.ModifyRequest) { r.Replace("accountExpires", []string{fileTimeOf(expires)}) })
	e.mustRun(exitOK, "sync", "--user-control")
	if got := e.statusOf(contractor); got != "ACTIVE" {
		t.Fatalf("user expiring in a few seconds is %s, want ACTIVE", got)
	}
	time.Sleep(time.Until(expires.Add(500 * time.Millisecond)))
	e.mustRun(exitOK, "sync", "--user-control")
	if got := e.statusOf(contractor); got != "SUSPENDED" {
		t.Fatalf("expired user is %s, want SUSPENDED", got)
	}

	// Everything settled: a full directory cycle and another tick change
	// no status.
	before := e.statusCalls()
	e.mustRun(exitOK, "sync", "--full")
	e.mustRun(exitOK, "sync", "--user-control")
	if n := e.statusCalls() - before; n != 0 {
		t.Errorf("%d Suspend/Reactivate calls after everything settled, want 0", n)
	}
}

// statusCalls counts Suspend and Reactivate calls.
func (e *e2e) statusCalls() int64 {
	var n int64
	for m, c := range e.emu.Stats().Calls {
		if strings.HasSuffix(m, "UserService/Suspend") || strings.HasSuffix(m, "UserService/Reactivate") {
			n += c
		}
	}
	return n
}

// TestE2EUserControlDaemon runs `idsync run`: a user disabled in AD is
// suspended within seconds, between directory cycles, and the metrics and
// health show the loop.
func TestE2EUserControlDaemon(t *testing.T) {
	e := newE2E(t, "e2e-ucd", emulator.Options{},
		"schedule: \"@every 1h\"\nuser_control:\n  interval: 1s\nmetrics:\n  listen: 127.0.0.1:0\nlogger:\n  format: json\n")
	conn := testdc.Dial(t, e.dc)
	var leaver adseed.User
	for _, u := range e.set.Before.ScopedUsers() {
		if u.Enabled {
			leaver = u
			break
		}
	}
	e.mustRun(exitOK, "sync", "--full")

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
	addr := make(chan string, 1)
	var logged syncBuilder
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logged.WriteString(sc.Text() + "\n")
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) == nil && line["msg"] == "serving metrics, health and job history" {
				addr <- line["address"].(string)
			}
		}
	}()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case <-time.After(30 * time.Second):
		t.Fatalf("the daemon did not start:\n%s", logged.String())
	}
	// Let the first ticks pass (the first reads every account).
	time.Sleep(3 * time.Second)

	modify(t, conn, leaver.DN, func(r *ldap.ModifyRequest) { r.Replace("userAccountControl", []string{"514"}) })
	changed := time.Now()
	for e.statusOf(leaver) != "SUSPENDED" {
		if time.Since(changed) > 15*time.Second {
			t.Fatalf("the disabled user was not suspended within 15 s by a 1 s loop:\n%s", logged.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("suspended %s after the change", time.Since(changed).Round(10*time.Millisecond))

	// The tick records its metrics once its session is closed: wait for
	// them (bounded), then report what is missing.
	var missing []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		missing = missing[:0]
		for _, want := range []string{`idsync_user_control_ticks_total{result="idle"}`, `idsync_user_control_ticks_total{result="changed"} 1`,
			`idsync_user_control_changes_total{change="deactivate",result="success"} 1`, "idsync_user_control_last_success_age_seconds"} {
			if !strings.Contains(string(body), want) {
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
	if resp, err := http.Get(base + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %v %v", resp.StatusCode, err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("daemon exit after SIGTERM: %v", err)
	}
}
