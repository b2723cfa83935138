package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/kardianos/service"
	"go.uber.org/zap"

	"github.com/spf13/cobra"

	"github.com/idsync/idsync/agent"
	"github.com/idsync/idsync/internal/config"
	"github.com/idsync/idsync/internal/metrics"
	"github.com/idsync/idsync/internal/state"
)

func newRunCmd() *cobra.Command {
	var cfgPath string
	c := &cobra.Command{
		Use:   "run --config FILE",
		Short: "run the daemon (what the service runs)",
		Long: "Run the daemon: a cycle at start, then on the configured schedule, until stopped;\n" +
			"cycles never overlap (one that comes due while another runs is skipped). User control\n" +
			"(user_control) and password hash sync (password_hash_sync) run beside it, each on its\n" +
			"own interval. On SIGINT or SIGTERM it waits up to 20s for the running cycle, then\n" +
			"cancels it (its session is closed as failed). This is what the installed service runs.",
		Example: "  idsync run --config /etc/idsync/config.yaml",
		Args:    noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runDaemon(c.Context(), cfgPath, c.OutOrStdout(), c.ErrOrStderr())
		},
	}
	configFlag(c, &cfgPath)
	return c
}

func runDaemon(ctx context.Context, cfgPath string, stdout, stderr io.Writer) error {
	var adjust func(*config.Config)
	asService := runningAsWindowsService()
	if asService {
		adjust = func(c *config.Config) {
			c.Logger = serviceLogDefaults(c.Logger, windowsDataDir(os.Getenv), eventSourceRegistered())
		}
	}
	cfg, log, closeLog, err := openConfigWith(cfgPath, stderr, adjust)
	if err != nil {
		if asService {
			// Nobody reads a service's stderr: record why it stopped.
			events, _ := openEventLog(windowsEventSource)
			recordStartFailure(err, filepath.Join(windowsDataDir(os.Getenv), "idsync.log"), events, time.Now())
			if events != nil {
				_ = events.Close()
			}
		}
		return err
	}
	defer closeLog()
	d := &daemon{cfg: cfg, log: log}
	if service.Interactive() {
		return d.run(ctx)
	}
	// Under a service manager: it calls Start and Stop.
	prg := &program{ctx: ctx, d: d, exit: func(err error) {
		// The daemon ended on its own, a fault: the service manager
		// sees it only when the process ends, with the daemon's status.
		fmt.Fprintf(stderr, "idsync run: %v\n", err)
		closeLog()
		os.Exit(exitCode(err))
	}}
	svc, err := service.New(prg, serviceConfig(cfg.File()))
	if err != nil {
		return fmt.Errorf("service: %w", err)
	}
	if err := svc.Run(); err != nil {
		return fmt.Errorf("service: %w", err)
	}
	return prg.err
}

// stopWait bounds how long a service stop waits for the daemon: the
// scheduler's own wait for the running cycle, then closing its session.
const stopWait = agent.DefaultStopTimeout + 40*time.Second

// program adapts the daemon to kardianos/service.
type program struct {
	ctx    context.Context
	d      *daemon
	exit   func(error) // called when the daemon fails without being stopped
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

func (p *program) Start(service.Service) error {
	ctx, cancel := context.WithCancel(p.ctx)
	p.cancel, p.done = cancel, make(chan struct{})
	go func() {
		defer close(p.done)
		p.err = p.d.run(ctx)
		if p.err != nil && ctx.Err() == nil && p.exit != nil {
			p.exit(p.err)
		}
	}()
	return nil
}

func (p *program) Stop(service.Service) error {
	p.cancel()
	select {
	case <-p.done:
	case <-time.After(stopWait):
		p.d.log.Warn("the daemon did not stop in time; exiting anyway (an open session expires on its own)", zap.Duration("waited", stopWait))
	}
	return nil
}

// daemon runs cycles on the schedule.
type daemon struct {
	cfg     *config.Config
	log     *zap.Logger
	metrics *metrics.Metrics
	states  *stateOpener

	// runCycle, passwordLoop and userControlLoop, when set, replace the
	// cycle the schedule runs and the password hash and user-control
	// loops (tests).
	runCycle        func(ctx context.Context)
	passwordLoop    func(ctx context.Context)
	userControlLoop func(ctx context.Context)

	mu        sync.Mutex
	notBefore time.Time // the pool said too early until then
}

func (d *daemon) run(ctx context.Context) error {
	sched, err := config.ParseSchedule(d.cfg.Schedule)
	if err != nil {
		return usagef("schedule: %w", err)
	}
	d.log.Info("idsync started", zap.String("version", version), zap.String("agent_id", d.cfg.AgentID),
		zap.String("userpool_id", d.cfg.UserpoolID), zap.String("schedule", d.cfg.Schedule))
	d.metrics = metrics.New(time.Now())
	if d.cfg.UserControl.Enabled {
		d.metrics.EnableUserControl(userControlHealthyAfter(d.cfg.UserControl.Interval))
	}
	d.metrics.SetFailureLimit(d.cfg.Metrics.UnhealthyAfterFailures)
	d.states = &stateOpener{path: d.cfg.StatePath}
	if addr := d.cfg.Metrics.Listen; addr != "" {
		stop, err := d.serveMetrics(ctx, addr)
		if err != nil {
			return err
		}
		defer stop()
	}
	cycle := d.runCycle
	if cycle == nil {
		cycle = func(ctx context.Context) { d.cycle(ctx, agent.TriggerAuto) }
	}
	s, err := agent.NewScheduler(agent.ScheduleOptions{Schedule: sched, Logger: d.log}, cycle)
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	// A panic in a loop stops the daemon with it (exit status 1); the
	// service manager restarts it.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	passwords := d.passwordLoop
	if passwords == nil {
		passwords = d.runPasswordLoop
	}
	// Each loop runs beside the directory schedule; a panic in one stops
	// the daemon (exit 1), never a silent dead loop.
	var pw sync.WaitGroup
	loop := func(name string, run func(context.Context)) {
		pw.Go(func() {
			if err := agent.CatchPanic(func() { run(ctx) }); err != nil {
				d.log.Error("the "+name+" loop panicked; stopping", zap.Error(err), zap.ByteString("stack", err.(*agent.PanicError).Stack))
				cancel(err)
			}
		})
	}
	if d.cfg.PasswordHashSync.Enabled {
		loop("password hash", passwords)
	}
	if d.cfg.EnablePasswordWriteback && !d.cfg.DryRun.Enabled {
		loop("password writeback", d.runWritebackLoop)
	}
	if d.cfg.UserControl.Enabled {
		uc := d.userControlLoop
		if uc == nil {
			uc = d.runUserControlLoop
		}
		loop("user control", uc)
	}
	if err := s.Run(ctx); err != nil {
		cancel(err)
	}
	cancel(nil)
	pw.Wait()
	var pe *agent.PanicError
	if err := context.Cause(ctx); errors.As(err, &pe) {
		return fmt.Errorf("daemon stopped: %w", err)
	}
	d.log.Info("idsync stopped")
	return nil
}

// cycle runs one cycle with a fresh engine, so the state database is held
// only while a cycle runs and 'idsync plan' works between cycles.
func (d *daemon) cycle(ctx context.Context, trigger agent.Trigger) {
	d.mu.Lock()
	wait := time.Until(d.notBefore)
	d.mu.Unlock()
	if wait > 0 {
		d.log.Debug("skipping: too early for a new session", zap.Duration("wait", wait))
		return
	}
	d.metrics.Started()
	start := time.Now()
	e, err := newEngine(d.cfg, d.log, d.states, nil)
	if err != nil {
		job := recordNotStarted(ctx, d.cfg, d.log, trigger, d.cfg.DryRun.Enabled, start, err)
		d.metrics.Finished(job, cycleResult(job, err), time.Now())
		return
	}
	defer e.close()
	var changes []agent.SettingChange
	if !d.cfg.DryRun.Enabled {
		if changes, err = e.pushSettings(ctx); err != nil {
			// A scope change refused here is a safety stop, not a failure:
			// the metric says so; the job records it as ScopeChanged.
			job := recordNotStarted(ctx, d.cfg, d.log, trigger, false, start, err)
			d.metrics.Finished(job, cycleResult(job, err), time.Now())
			return
		}
	}
	job, err := e.agent.RunCycle(ctx, agent.CycleOptions{Trigger: trigger, DryRun: d.cfg.DryRun.Enabled, SettingsChanges: changes})
	d.metrics.Finished(job, cycleResult(job, err), time.Now())
	st := e.client.Stats()
	errs := make(map[[2]string]int64, len(st.Errors))
	for k, n := range st.Errors {
		errs[[2]string{k.Method, k.Code.String()}] = n
	}
	d.metrics.APICalls(st.Calls, errs)
	var nn *agent.NotNowError
	if errors.As(err, &nn) && !nn.Held {
		d.mu.Lock()
		d.notBefore = nn.Next
		d.mu.Unlock()
	}
}

// runPasswordLoop runs an AD_PASSWORD_HASH session every
// password_hash_sync.interval, independent of the AD_SYNC schedule; when
// the pool says it is too early, the next one waits until then.
func (d *daemon) runPasswordLoop(ctx context.Context) {
	every := d.cfg.PasswordHashSync.Interval
	d.log.Info("password hash sync on", zap.Duration("interval", every))
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		wait := every
		if next := d.passwordSession(ctx); time.Until(next) > wait {
			wait = time.Until(next)
		}
		t.Reset(wait)
	}
}

// passwordSession runs one password session; it returns when the pool
// allows the next one (zero when it did not say).
func (d *daemon) passwordSession(ctx context.Context) time.Time {
	e, err := newEngine(d.cfg, d.log, d.states, nil)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Error("password session not started", zap.Error(err))
		}
		return time.Time{}
	}
	defer e.close()
	ps, err := e.newPasswordSync()
	if err != nil {
		d.log.Error("password session not started", zap.Error(err))
		return time.Time{}
	}
	_, err = ps.RunOnce(ctx, agent.TriggerAuto)
	var nn *agent.NotNowError
	if errors.As(err, &nn) && !nn.Held {
		return nn.Next
	}
	return time.Time{}
}

// cycleResult names a cycle's outcome for the cycles metric.
func cycleResult(job *state.Job, err error) string {
	var (
		nn *agent.NotNowError
		se *agent.SafetyError
	)
	switch {
	case errors.As(err, &nn):
		return "not_now"
	case errors.As(err, &se):
		return "safety_stop"
	case job != nil:
		return job.Status
	case err != nil:
		return "failed"
	}
	return "success"
}

// serveMetrics serves /metrics, /healthz and /jobs on addr until stopped.
func (d *daemon) serveMetrics(ctx context.Context, addr string) (stop func(), err error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics.listen %s: %w", addr, err)
	}
	srv := metrics.NewServer(d.metrics.Handler(state.OpenJobs(d.cfg.StatePath), d.cfg.Metrics.HealthyAfter, time.Now))
	go func() {
		if err := srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("metrics server stopped", zap.Error(err))
		}
	}()
	d.log.Info("serving metrics, health and job history", zap.String("address", lis.Addr().String()))
	if !metrics.Loopback(lis.Addr()) {
		d.log.Warn("the metrics listener is reachable from other machines: /metrics and /jobs show the pool, scope and job history without authentication; "+
			"listen on a loopback address or restrict access with a firewall", zap.String("address", lis.Addr().String()))
	}
	return func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}, nil
}

// serviceConfig describes the idsync service: it runs `idsync run` with the
// absolute config path.
func serviceConfig(configPath string) *service.Config {
	abs, err := filepath.Abs(configPath)
	if err != nil {
		abs = configPath
	}
	return &service.Config{
		Name:        "idsync",
		DisplayName: "idsync directory synchronization",
		Description: "Synchronizes Active Directory users, groups and memberships to a Yandex Identity Hub user pool.",
		Arguments:   []string{"run", "--config", abs},
		// systemd's network ordering; Windows takes service names here,
		// and needs none.
		Dependencies: unitDependencies(runtime.GOOS),
		Option: service.KeyValue{
			"Restart":          "on-failure",
			"DelayedAutoStart": true,
			"OnFailure":        "restart",
		},
	}
}

func unitDependencies(goos string) []string {
	if goos == "windows" {
		return nil
	}
	return []string{"After=network-online.target", "Wants=network-online.target"}
}
