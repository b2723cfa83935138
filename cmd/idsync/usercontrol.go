package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/idsync/idsync/agent"
	"github.com/idsync/idsync/internal/config"
	"github.com/idsync/idsync/internal/idhub"
	"github.com/idsync/idsync/internal/state"
	"github.com/idsync/idsync/ldapsource"
)

// accountReaderFactory returns the function that connects the account-state
// reader, scoped like the directory read: the config's sync_settings, or
// the pool's.
func accountReaderFactory(cfg *config.Config, log *zap.Logger, client *idhub.Client) func(ctx context.Context) (agent.AccountReader, error) {
	return func(ctx context.Context) (agent.AccountReader, error) {
		s := localSettings(cfg)
		if s == nil {
			cs, err := client.GetSyncSettings(ctx)
			if err != nil {
				return nil, fmt.Errorf("read the pool's synchronization settings: %w", err)
			}
			fc := agent.FromCloud(idhub.PoolSettings(cs))
			s = &fc
		}
		src, err := ldapsource.New(ldapsourceOptions(cfg, *s, log))
		if err != nil {
			return nil, err
		}
		return src, nil
	}
}

// newUserControl builds the AD_USER_CONTROL loop. open hands out the state
// database for one tick.
func newUserControl(cfg *config.Config, log *zap.Logger, client *idhub.Client, open func() (agent.UserControlStore, func(), error),
	onTick func(agent.TickOutcome)) (*agent.UserControl, error) {
	return agent.NewUserControl(agent.UserControlOptions{
		AgentID: cfg.AgentID, UserpoolID: cfg.UserpoolID, Cloud: idhub.NewCloud(client),
		NewReader: accountReaderFactory(cfg, log, client), OpenStore: open, Jobs: state.OpenJobs(cfg.StatePath),
		Interval: cfg.UserControl.Interval, SuspendLockedOut: cfg.UserControl.SuspendLockedOut, Concurrency: cfg.Apply.Concurrency,
		ReportInterval: cfg.ReportInterval, HeartbeatInterval: cfg.HeartbeatInterval, OnTick: onTick, Logger: log,
	})
}

// checkUserControl says how the user-control loop reads account state:
// DirSync on the account-state attributes when the account may use it
// (and ldap.delta_mode allows it), uSNChanged polling otherwise.
func checkUserControl(ck *checklist, cfg *config.Config, dirSync bool) {
	if !cfg.UserControl.Enabled {
		ck.info("user control", "off (user_control.enabled: false): account state follows the directory cycles only")
		return
	}
	how := "uSNChanged polling of the in-scope users"
	if cfg.LDAP.DeltaMode == config.DeltaDirSync || (dirSync && cfg.LDAP.DeltaMode != config.DeltaUSN) {
		how = "DirSync restricted to userAccountControl, lockoutTime and accountExpires"
	}
	ck.ok("user control", "every %s, account state read by %s; locked-out accounts %s", cfg.UserControl.Interval, how,
		map[bool]string{true: "are suspended", false: "are left active"}[cfg.UserControl.SuspendLockedOut])
}

// userControlHealthyAfter is how long /healthz tolerates user-control
// ticks failing: ten intervals, at least 5 minutes.
func userControlHealthyAfter(interval time.Duration) time.Duration {
	return max(10*interval, 5*time.Minute)
}

// runUserControlOnce runs one user-control tick for 'idsync sync --user-control'.
func (e *engine) runUserControlOnce(ctx context.Context) (*state.Job, error) {
	uc, err := newUserControl(e.cfg, e.log, e.client, func() (agent.UserControlStore, func(), error) { return e.store, func() {}, nil }, nil)
	if err != nil {
		return nil, err
	}
	defer uc.Close()
	return uc.RunOnce(ctx, agent.TriggerManual)
}

// runUserControlLoop runs a user-control tick every user_control.interval,
// independent of the directory schedule and of password sessions. It holds
// the state database only while a tick works.
func (d *daemon) runUserControlLoop(ctx context.Context) {
	client, err := newClient(d.cfg, d.log)
	if err != nil {
		d.log.Error("user control not started", zap.Error(err))
		return
	}
	defer client.Close()
	open := func() (agent.UserControlStore, func(), error) {
		st, release, err := d.states.acquire(d.log)
		if err != nil {
			return nil, nil, err
		}
		return st, release, nil
	}
	var seen idhub.CallStats // the client's counters already added
	onTick := func(o agent.TickOutcome) {
		text := ""
		if o.Err != nil {
			text = o.Err.Error()
		}
		d.metrics.UserControlTick(o.At, o.Result(), o.Code, text, o.Activated, o.Deactivated, o.Failed)
		st := client.Stats()
		calls := map[string]int64{}
		for m, n := range st.Calls {
			if n > seen.Calls[m] {
				calls[m] = n - seen.Calls[m]
			}
		}
		errs := map[[2]string]int64{}
		for k, n := range st.Errors {
			if n > seen.Errors[k] {
				errs[[2]string{k.Method, k.Code.String()}] = n - seen.Errors[k]
			}
		}
		d.metrics.APICalls(calls, errs)
		seen = st
	}
	uc, err := newUserControl(d.cfg, d.log, client, open, onTick)
	if err != nil {
		d.log.Error("user control not started", zap.Error(err))
		return
	}
	d.log.Info("user control on", zap.Duration("interval", d.cfg.UserControl.Interval),
		zap.Bool("suspend_locked_out", d.cfg.UserControl.SuspendLockedOut))
	if err := uc.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		d.log.Error("user control stopped", zap.Error(err))
	}
}
