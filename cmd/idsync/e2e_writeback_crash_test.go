package main

import (
	"context"
	"errors"
	"net"
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
