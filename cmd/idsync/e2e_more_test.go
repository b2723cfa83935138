package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/idhub"
	"github.com/idsync/idsync/internal/testing/poolcheck"
	"github.com/idsync/idsync/internal/testing/testdc"
)

func (e *e2e) client() *idhub.Client {
	e.t.Helper()
	c, err := idhub.New(idhub.Options{UserpoolID: e2ePool, OrganizationManagerEndpoint: e.addr, OperationEndpoint: e.addr,
		IAMEndpoint: e.addr, Plaintext: true, StaticToken: e2eToken})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	return c
}

func TestE2EMassDeletionStops(t *testing.T) {
	e := newE2E(t, "e2e-safety", emulator.Options{}, "")
	raw, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.config, []byte(strings.Replace(string(raw), "safety:\n", "safety:\n  max_deletions: 2\n", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	e.mustRun(exitOK, "sync", "--full")
	conn := testdc.Dial(t, e.dc)
	users := e.set.Before.ScopedUsers()
	for _, u := range users[:3] {
		if err := conn.Del(ldapDel(u.DN)); err != nil {
			t.Fatalf("delete %s: %v", u.DN, err)
		}
	}
	before, pool := e.mutating(), e.pool()
	out := e.mustRun(exitSafety, "sync")
	if !strings.Contains(out, "SafetyStop") || !strings.Contains(out, "over the limit of 2") {
		t.Errorf("safety stop summary:\n%s", out)
	}
	if e.mutating() != before || !cmp.Equal(pool, e.pool()) {
		t.Error("a safety stop changed the pool")
	}
	sess := e.emu.Dump().Sessions
	if last := sess[len(sess)-1]; last.Status != "FAILED" {
		t.Errorf("safety stop closed the session as %s", last.Status)
	}
}

func TestE2ENotNow(t *testing.T) {
	e := newE2E(t, "e2e-notnow", emulator.Options{MinInterval: time.Hour}, "")
	e.mustRun(exitOK, "sync")
	_, errOut, code := e.run("sync")
	if code != exitNotNow || !strings.Contains(errOut, "too early") {
		t.Errorf("second sync within the interval: exit %d, stderr:\n%s", code, errOut)
	}

	e2 := newE2E(t, "e2e-held", emulator.Options{}, "")
	if _, err := e2.client().OpenSession(t.Context(), "other-agent", idp.SessionType_AD_SYNC); err != nil {
		t.Fatal(err)
	}
	_, errOut, code = e2.run("sync")
	if code != exitNotNow || !strings.Contains(errOut, "another agent") {
		t.Errorf("sync while another agent holds the session: exit %d, stderr:\n%s", code, errOut)
	}
}

func TestE2EBlockInsteadOfDelete(t *testing.T) {
	e := newE2E(t, "e2e-block", emulator.Options{}, "")
	// remove_user_behavior belongs to sync_settings.
	raw, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(raw), "sync_settings:\n", "sync_settings:\n  remove_user_behavior: block\n", 1)
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	e.mustRun(exitOK, "sync")
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if err := e.set.Apply(ctx, e.dc.Target()); err != nil {
		t.Fatal(err)
	}
	out := e.mustRun(exitOK, "sync")
	want := expected(e.set.After)
	// Users that left the scope stay, suspended, under their last values.
	was := expected(e.set.Before)
	after := map[string]bool{}
	for _, u := range e.set.After.ScopedUsers() {
		after[strings.ToLower(u.SAMAccountName)] = true
	}
	for _, u := range e.set.Before.ScopedUsers() {
		if !after[strings.ToLower(u.SAMAccountName)] {
			name := usernameOf(u.UPN)
			full, _, _ := strings.Cut(was.Users[name], "|")
			want.Users[name] = full + "|SUSPENDED"
		}
	}
	if diff := cmp.Diff(want, e.pool()); diff != "" {
		t.Errorf("pool with remove_user_behavior block (-want +got):\n%s\n%s", diff, out)
	}
	if strings.Contains(out, "deleted 1") && strings.Contains(out, "users       created") && !strings.Contains(out, "deactivated") {
		t.Errorf("summary:\n%s", out)
	}
}

func usernameOf(upn string) string { return poolcheck.Username(upn, e2eDomain) }

func TestE2ECapture(t *testing.T) {
	for _, capture := range []bool{false, true} {
		name := "e2e-capture-off"
		extra := ""
		if capture {
			name = "e2e-capture-on"
		}
		e := newE2E(t, name, emulator.Options{}, extra)
		if capture {
			raw, _ := os.ReadFile(e.config)
			cfg := strings.Replace(string(raw), "sync_settings:\n", "sync_settings:\n  allow_to_capture_users: true\n", 1)
			if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		target := e.set.Before.ScopedUsers()[0]
		c := e.client()
		pre, err := c.CreateUser(t.Context(), &idp.CreateUserRequest{Username: usernameOf(target.UPN), FullName: "Made By Hand", IsActive: wrapperspb.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		out, errOut, code := e.run("sync")
		got, err := c.GetUser(t.Context(), pre.GetId())
		if err != nil {
			t.Fatal(err)
		}
		if !capture {
			if code != exitPartial || !strings.Contains(errOut, "allow_to_capture_users") {
				t.Errorf("capture off: exit %d\n%s\n%s", code, out, errOut)
			}
			if got.GetExternalId() != "" || got.GetFullName() != "Made By Hand" {
				t.Errorf("capture off changed the existing user: %v", got)
			}
			continue
		}
		if code != exitOK || !strings.Contains(out, "bound 1") {
			t.Errorf("capture on: exit %d\n%s\n%s", code, out, errOut)
		}
		if got.GetExternalId() == "" || got.GetFullName() == "Made By Hand" {
			t.Errorf("capture on did not take the user over: %v", got)
		}
	}
}

func TestE2EKillDuringApplyConverges(t *testing.T) {
	e := newE2E(t, "e2e-kill", emulator.Options{Latency: 60 * time.Millisecond, SessionTTL: 2 * time.Second},
		"apply:\n  concurrency: 1\nheartbeat_interval: 500ms\n")
	cmd := exec.CommandContext(t.Context(), binPath, "sync", "--config", e.config)
	cmd.Env = append(os.Environ(), "IDSYNC_E2E_TOKEN="+e2eToken, "IDSYNC_E2E_LDAP_PASSWORD="+e.dc.Password)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until some users exist, then kill -9 in the middle of applying.
	deadline := time.Now().Add(time.Minute)
	for len(e.emu.Dump().Users) < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	n := len(e.emu.Dump().Users)
	if n == 0 || n >= len(e.set.Before.ScopedUsers()) {
		t.Fatalf("killed with %d of %d users created; the kill did not land mid-apply", n, len(e.set.Before.ScopedUsers()))
	}
	// The killed agent's session expires after its TTL; until then a rerun
	// is told another agent is active.
	_, _, code := e.run("sync")
	if code != exitNotNow {
		t.Errorf("rerun while the dead session lives: exit %d, want %d", code, exitNotNow)
	}
	time.Sleep(2500 * time.Millisecond)
	e.mustRun(exitOK, "sync")
	if diff := cmp.Diff(expected(e.set.Before), e.pool()); diff != "" {
		t.Fatalf("pool after kill and rerun (-want +got):\n%s", diff)
	}
	before := e.mutating()
	e.mustRun(exitOK, "sync")
	if e.mutating() != before {
		t.Errorf("the run after convergence made %d mutating calls", e.mutating()-before)
	}
}

func TestE2EPlanAndDryRunChangeNothing(t *testing.T) {
	e := newE2E(t, "e2e-plan", emulator.Options{}, "")
	out := e.mustRun(exitOK, "plan", "-o", "json")
	if !strings.Contains(out, `"action": "create"`) {
		t.Errorf("plan of an empty pool creates nothing:\n%s", out)
	}
	if html := e.mustRun(exitOK, "plan", "-o", "html"); !strings.HasPrefix(html, "<!DOCTYPE html>") || !strings.Contains(html, "<td>create</td>") || !strings.Contains(html, e2ePool) {
		t.Errorf("plan -o html is not a report of the creates:\n%.500s", html)
	}
	e.mustRun(exitOK, "sync", "--dry-run")
	calls := e.emu.Stats().Calls
	for m, n := range calls {
		for _, verb := range []string{"Create", "Update", "Delete", "OpenSession", "SetReplicationToken", "UpdateMembers"} {
			if strings.Contains(m, "/"+verb) {
				t.Errorf("plan or dry run called %s %d times", m, n)
			}
		}
	}
	if d := e.emu.Dump(); len(d.Users) != 0 || len(d.Sessions) != 0 || len(d.Settings) != 0 {
		t.Errorf("plan or dry run changed the pool: %d users, %d sessions, settings %s", len(d.Users), len(d.Sessions), d.Settings)
	}
	e.mustRun(exitOK, "sync")
	if len(e.emu.Dump().Settings) == 0 {
		t.Error("a real cycle did not push the config's sync_settings to the pool")
	}
}
