package main

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/idsync/idsync/internal/config"
	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/emulator"
)

// listenRetry listens on addr, retrying briefly while the previous
// listener's port is released.
func listenRetry(addr string) (net.Listener, error) {
	var err error
	for range 50 {
		var lis net.Listener
		if lis, err = net.Listen("tcp", addr); err == nil {
			return lis, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil, err
}

const commitMethod = "/yandex.cloud.organizationmanager.v1.idp.UserService/CommitPassword"

// TestE2EWritebackCrashBetweenWriteAndCommit stops the writeback loop
// right after AD accepted a password and before the commit (as a crash
// would), then starts it again: the change is committed once, not written
// twice, and the password is right on both sides.
func TestE2EWritebackCrashBetweenWriteAndCommit(t *testing.T) {
	w := newWBE2E(t, "e2e-wb-crash", emulator.Options{})
	t.Setenv("IDSYNC_E2E_TOKEN", e2eToken)
	t.Setenv("IDSYNC_E2E_LDAP_PASSWORD", w.dc.Password)
	cfg, err := config.Load(w.config)
	if err != nil {
		t.Fatal(err)
	}
	u := w.activeUsers()[0]
	id := w.poolUser(u)
	opID := w.reset(id, "Wb-Crash-0001")
	log := zaptest.NewLogger(t)
	states := &stateOpener{path: cfg.StatePath}

	ctx, crash := context.WithCancel(t.Context())
	var written int
	wb, closeFn, err := newWritebackRunner(ctx, writebackDeps{cfg: cfg, log: log, states: states,
		afterWrite: func(*directory.PasswordChange) { written++; crash() }})
	if err != nil {
		t.Fatal(err)
	}
	if err := wb.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
	closeFn()
	if written != 1 || w.emu.Stats().Calls[commitMethod] != 0 {
		t.Fatalf("before the restart: written %d, commits %d; want 1 and 0", written, w.emu.Stats().Calls[commitMethod])
	}
	if !w.passwordIs(u.DN, "Wb-Crash-0001") {
		t.Fatal("AD does not have the password after the write")
	}

	// Restart.
	ctx2, stop := context.WithCancel(t.Context())
	wb2, closeFn2, err := newWritebackRunner(ctx2, writebackDeps{cfg: cfg, log: log, states: states,
		afterWrite: func(*directory.PasswordChange) { written++ }})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- wb2.Run(ctx2) }()
	op := w.wait(opID, 30*time.Second)
	stop()
	<-done
	closeFn2()
	if op.GetError() != nil {
		t.Fatalf("operation after the restart: %v", op.GetError())
	}
	if written != 1 {
		t.Errorf("the password was written to AD %d times, want once", written)
	}
	if n := w.emu.Stats().Calls[commitMethod]; n != 1 {
		t.Errorf("committed %d times, want once", n)
	}
	if !w.passwordIs(u.DN, "Wb-Crash-0001") || !w.emu.PasswordDigestMatches(id, "Wb-Crash-0001") {
		t.Error("the password is not right on both sides after the restart")
	}
}

// TestE2EWritebackKill9BetweenWriteAndCommit kills the daemon with SIGKILL
// after AD accepted a password and while its commit is on the way (the
// emulator holds every call for a while), then starts it again against the
// restarted emulator: the change is committed once, AD is not written
// again, and the password is right on both sides.
func TestE2EWritebackKill9BetweenWriteAndCommit(t *testing.T) {
	e := newE2E(t, "e2e-wb-kill", emulator.Options{}, writebackConfig)
	eo := emulator.Options{UserpoolID: e2ePool, OrganizationID: "org-e2e", Domain: e2eDomain, StaticToken: e2eToken,
		NoMinInterval: true, StatePath: e.dir + "/emulator.json"}
	srv := startRestartable(t, eo)
	e.emu, e.addr = srv.emu, srv.addr
	e.writeConfig(writebackConfig)
	e.mustRun(exitOK, "sync", "--full")
	w := &wbE2E{e2e: e}
	w.connect()
	u := w.activeUsers()[0]
	id := w.poolUser(u)

	// Every unary call now waits 3 s (the stream does not): the commit
	// stays in flight long enough to kill the daemon under it.
	srv.eo.Latency = 3 * time.Second
	srv.restart(t)
	e.emu = srv.emu
	daemon := w.daemon()
	opID := make(chan string, 1)
	go func() { opID <- w.reset(id, "Wb-Kill-0001") }()
	var usn string
	// Kill once AD has the password and the daemon has recorded that it
	// wrote it (the record is what makes a restart commit instead of
	// writing again; README names the instant before it).
	if !waitFor(30*time.Second, func() bool {
		return strings.Contains(w.logged.String(), "password written to the directory and recorded")
	}) {
		t.Fatal("the daemon did not record writing the password to AD")
	}
	if !w.passwordIs(u.DN, "Wb-Kill-0001") {
		t.Fatal("the password did not reach AD")
	}
	if err := daemon.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = daemon.Wait()
	usn = w.attr(u.DN, "uSNChanged")
	op := <-opID
	if n := srv.emu.PendingPasswordChanges(); n != 1 {
		t.Fatalf("%d changes pending after the kill, want 1: the commit was applied before the kill, too late to test anything", n)
	}

	// Restart both, without the delay.
	srv.eo.Latency = 0
	srv.restart(t)
	e.emu = srv.emu
	w.connect()
	w.daemon()
	done := w.wait(op, 30*time.Second)
	if done.GetError() != nil {
		t.Fatalf("operation after the restart: %v", done.GetError())
	}
	if n := srv.emu.Stats().Calls[commitMethod]; n != 1 {
		t.Errorf("committed %d times after the restart, want once", n)
	}
	if got := w.attr(u.DN, "uSNChanged"); got != usn {
		t.Errorf("AD was written again after the restart (uSNChanged %s -> %s)", usn, got)
	}
	if !w.passwordIs(u.DN, "Wb-Kill-0001") || !srv.emu.PasswordDigestMatches(id, "Wb-Kill-0001") {
		t.Error("the password is not right on both sides after the restart")
	}
}

// waitFor polls cond every 10 ms until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cond()
}
