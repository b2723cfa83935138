package main

import (
	"context"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
)

// A panic in the user-control loop stops the daemon with exit status 1.
func TestDaemonUserControlLoopPanicExitsOne(t *testing.T) {
	t.Setenv("IDSYNC_LDAP_PASSWORD", "x")
	cfg, err := loadConfig(writeOfflineConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.UserControl.Enabled {
		t.Fatal("user control is not on by default")
	}
	d := &daemon{cfg: cfg, log: zaptest.NewLogger(t),
		runCycle:        func(context.Context) {},
		userControlLoop: func(context.Context) { panic("user control fault") }}
	err = d.run(t.Context())
	if got := exitCode(err); err == nil || got != exitFailed {
		t.Errorf("exit status %d (%v), want %d", got, err, exitFailed)
	}
}

// With user_control.enabled false the daemon does not run the loop.
func TestDaemonWithoutUserControl(t *testing.T) {
	t.Setenv("IDSYNC_LDAP_PASSWORD", "x")
	cfg, err := loadConfig(writeOfflineConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.UserControl.Enabled = false
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	d := &daemon{cfg: cfg, log: zaptest.NewLogger(t),
		runCycle:        func(context.Context) {},
		userControlLoop: func(context.Context) { panic("the user control loop ran although disabled") }}
	if err := d.run(ctx); err != nil {
		t.Errorf("daemon: %v", err)
	}
}

func TestUserControlHealthyAfter(t *testing.T) {
	for _, c := range []struct{ interval, want time.Duration }{
		{10 * time.Second, 5 * time.Minute}, {time.Minute, 10 * time.Minute},
	} {
		if got := userControlHealthyAfter(c.interval); got != c.want {
			t.Errorf("userControlHealthyAfter(%s) = %s, want %s", c.interval, got, c.want)
		}
	}
}
