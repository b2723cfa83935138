package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/testing/adseed"
	"github.com/idsync/idsync/internal/testing/testdc"
	"github.com/idsync/idsync/ldapsource"
)

// UserControl is the user-control measurement: the daemon runs with its
// default interval against a synchronized pool; accounts are disabled and
// enabled again over LDAP at random moments of the tick cycle, and the time
// until the emulator has the Suspend or Reactivate call is taken.
type UserControl struct {
	Interval time.Duration
	// Latencies are the times from an AD change to the cloud state, sorted.
	Latencies []time.Duration
	// IdleTicks is the number of ticks in the idle window; IdleCPU and
	// IdleDCCPU the idsync and DC CPU per tick over it (the daemon's whole
	// CPU, so an upper bound); IdleCalls the cloud calls made meanwhile.
	IdleTicks           int
	IdleCPU, IdleDCCPU  time.Duration
	IdleCalls           int64
	IdleLDAP, IdleLDAPx time.Duration // median and max wall time of an idle account-state read
}

// percentile returns the p-th percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1)*p + 0.5)
	return sorted[i]
}

// P50 and P95 of the latencies.
func (u *UserControl) P50() time.Duration { return percentile(u.Latencies, 0.50) }

// P95 is the 95th percentile latency.
func (u *UserControl) P95() time.Duration { return percentile(u.Latencies, 0.95) }

const ucInterval = 10 * time.Second

// measureUserControl runs the daemon on in's state (a synchronized pool)
// and measures n changes and an idle window.
func measureUserControl(ctx context.Context, in *instance, e *emu, dc testdc.DC, ds *adseed.Dataset, samba, n int) (*UserControl, error) {
	res := &UserControl{Interval: ucInterval}
	// The directory schedule is pushed past the measurement, so that only
	// user control acts on the changes.
	raw, err := os.ReadFile(in.config)
	if err != nil {
		return nil, fmt.Errorf("user control: %w", err)
	}
	cfg := strings.Replace(in.config, "config.yaml", "config-uc.yaml", 1)
	extra := fmt.Sprintf("schedule: \"@every 6h\"\nuser_control:\n  enabled: true\n  interval: %s\n", ucInterval)
	if err := os.WriteFile(cfg, append(raw, extra...), 0o600); err != nil {
		return nil, fmt.Errorf("user control: %w", err)
	}
	logf, err := os.OpenFile(in.logf, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("user control: %w", err)
	}
	defer logf.Close()
	fmt.Fprintf(logf, "=== idsync run (user control)\n")
	start, err := os.Stat(in.logf)
	if err != nil {
		return nil, fmt.Errorf("user control: %w", err)
	}
	cmd := exec.CommandContext(ctx, in.bin, "run", "--config", cfg)
	cmd.Env = append(os.Environ(), "IDSYNC_BENCH_TOKEN="+emuToken, "IDSYNC_BENCH_LDAP_PASSWORD="+in.dc.Password)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("user control: start the daemon: %w", err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
		}
	}()

	// The first tick reads every account; wait for it.
	if err := waitLog(ctx, in.logf, start.Size(), []string{"account state read", "user control session finished"}, 3*time.Minute); err != nil {
		return nil, fmt.Errorf("user control: %w", err)
	}
	time.Sleep(ucInterval / 2) // between ticks

	// Idle: six ticks without a change.
	res.IdleTicks = 6
	calls0, _ := e.snapshot()
	cpu0, cpuErr := pidCPU(cmd.Process.Pid)
	dc0, dcErr := pidCPU(samba)
	time.Sleep(time.Duration(res.IdleTicks) * ucInterval)
	calls1, _ := e.snapshot()
	res.IdleCalls = diff(calls1, calls0).total()
	if cpu1, err := pidCPU(cmd.Process.Pid); err == nil && cpuErr == nil {
		res.IdleCPU = (cpu1 - cpu0) / time.Duration(res.IdleTicks)
	}
	res.IdleDCCPU = -1
	if dc1, err := pidCPU(samba); err == nil && dcErr == nil {
		res.IdleDCCPU = (dc1 - dc0) / time.Duration(res.IdleTicks)
	}
	if res.IdleLDAP, res.IdleLDAPx, err = idleRead(ctx, dc, ds.Scope); err != nil {
		return nil, fmt.Errorf("user control: %w", err)
	}

	// Changes: disable, then enable again, each at a random moment.
	var users []adseed.User
	for _, u := range ds.ScopedUsers() {
		if u.Enabled && len(users) < (n+1)/2 {
			users = append(users, u)
		}
	}
	conn, err := dc.Target().Dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("user control: %w", err)
	}
	defer conn.Close()
	rnd := rand.New(rand.NewPCG(15, 15))
	for i := 0; len(res.Latencies) < n && i < 2*len(users); i++ {
		u, disable := users[i/2], i%2 == 0
		uac, method := "512", "UserService.Reactivate"
		if disable {
			uac, method = "514", "UserService.Suspend"
		}
		time.Sleep(time.Duration(rnd.Int64N(int64(ucInterval))))
		before, _ := e.snapshot()
		req := ldap.NewModifyRequest(u.DN, nil)
		req.Replace("userAccountControl", []string{uac})
		if err := conn.Modify(req); err != nil {
			return nil, fmt.Errorf("user control: modify %s: %w", u.DN, err)
		}
		t0 := time.Now()
		for {
			now, _ := e.snapshot()
			if now[method] > before[method] {
				res.Latencies = append(res.Latencies, time.Since(t0))
				break
			}
			if time.Since(t0) > 3*ucInterval {
				return nil, fmt.Errorf("user control: %s of %s not seen within %s", method, u.DN, 3*ucInterval)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	slices.Sort(res.Latencies)
	return res, nil
}

// idleRead measures an idle account-state read in this process: one read
// of every account for a watermark, then 20 reads with nothing changed.
func idleRead(ctx context.Context, dc testdc.DC, scope string) (median, worst time.Duration, err error) {
	src, err := ldapsource.New(ldapsource.Options{URLs: []string{dc.LDAPSURL}, Username: dc.BindUPN, Password: dc.Password,
		CAFile: dc.CAFile, Scope: ldapsource.Scope{Domain: dc.Domain, OrganizationalUnits: []string{scope}}})
	if err != nil {
		return 0, 0, err
	}
	defer src.Close()
	ch, err := src.AccountChanges(ctx, directory.Watermark{})
	if err != nil {
		return 0, 0, err
	}
	var times []time.Duration
	wm := ch.Watermark
	for range 20 {
		t0 := time.Now()
		ch, err := src.AccountChanges(ctx, wm)
		if err != nil {
			return 0, 0, err
		}
		times = append(times, time.Since(t0))
		wm = ch.Watermark
	}
	slices.Sort(times)
	return percentile(times, 0.5), times[len(times)-1], nil
}

// waitLog waits until the log file, from offset on, contains one of the
// texts.
func waitLog(ctx context.Context, path string, offset int64, texts []string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if int64(len(b)) > offset {
			for _, t := range texts {
				if strings.Contains(string(b[offset:]), t) {
					return nil
				}
			}
		}
		if time.Now().After(deadline) {
			return errors.New("the daemon's first user-control tick did not finish in time")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
