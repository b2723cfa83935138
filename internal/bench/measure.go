package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Peak RSS needs a process of its own between the harness and idsync. Go
// starts children with vfork semantics (the child shares the parent's
// memory until exec), and Linux folds the high-water mark of the memory a
// process had before exec into its ru_maxrss: measured directly, idsync's
// peak would be the harness's own (the emulator holding the whole pool). The
// harness therefore re-executes itself as a small runner (measureEnv set),
// which starts idsync, waits for it and reports idsync's rusage on fd 3.
// idsync then inherits only the runner's few MiB as a floor, reported as
// RunnerRSS next to the figure.

// measureEnv marks the harness binary started as a measuring runner.
const measureEnv = "IDSYNC_BENCH_MEASURE"

// usage is what the runner reports about the process it ran.
type usage struct {
	Exit      int           `json:"exit"`
	Wall      time.Duration `json:"wall"`
	CPU       time.Duration `json:"cpu"`
	PeakRSS   int64         `json:"peak_rss"`   // bytes, -1 when unknown
	RunnerRSS int64         `json:"runner_rss"` // the runner's own peak, bytes
	Err       string        `json:"err,omitempty"`
}

// MeasureMain runs the process as a measuring runner when the harness
// started it as one, and exits; otherwise it returns at once. A command
// embedding the harness calls it first thing in main.
func MeasureMain() {
	if os.Getenv(measureEnv) == "" {
		return
	}
	os.Exit(measure(os.Args[1:]))
}

func measure(args []string) int {
	// fd 3 is the report pipe; idsync must not inherit it, or anything it
	// (or a descendant outliving it) holds would keep the harness waiting.
	syscall.CloseOnExec(3)
	report := os.NewFile(3, "usage")
	var u usage
	defer func() {
		u.RunnerRSS = selfPeakRSS()
		_ = json.NewEncoder(report).Encode(u)
		report.Close()
	}()
	if len(args) == 0 {
		u.Err = "no command"
		return 2
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = withoutEnv(os.Environ(), measureEnv)
	cmd.SysProcAttr = childAttr()
	start := time.Now()
	err := cmd.Run()
	u.Wall = time.Since(start)
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		u.Exit = ee.ExitCode()
	default:
		u.Err = err.Error()
		return 2
	}
	ps := cmd.ProcessState
	u.CPU = ps.UserTime() + ps.SystemTime()
	u.PeakRSS = peakRSS(ps)
	return u.Exit
}

// runMeasured runs cmd (not yet started) through a measuring runner: the
// harness's own executable re-executed with measureEnv set.
func runMeasured(ctx context.Context, cmd *exec.Cmd) (usage, error) {
	self, err := os.Executable()
	if err != nil {
		return usage{}, fmt.Errorf("measure: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return usage{}, fmt.Errorf("measure: %w", err)
	}
	defer r.Close()
	runner := exec.CommandContext(ctx, self, append([]string{cmd.Path}, cmd.Args[1:]...)...)
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	runner.Env = slices.Concat(env, []string{measureEnv + "=1"})
	runner.Dir = cmd.Dir
	runner.Stdin, runner.Stdout, runner.Stderr = cmd.Stdin, cmd.Stdout, cmd.Stderr
	runner.ExtraFiles = []*os.File{w}
	runner.SysProcAttr = childAttr() // the runner, and with it idsync, dies with the harness
	if err := runner.Start(); err != nil {
		w.Close()
		return usage{}, fmt.Errorf("measure: %w", err)
	}
	w.Close()
	var u usage
	b, rerr := io.ReadAll(r)
	werr := runner.Wait()
	if err := json.Unmarshal(b, &u); err != nil {
		if ctx.Err() != nil {
			return usage{}, fmt.Errorf("measure %s: %w", cmd.Path, ctx.Err())
		}
		return usage{}, fmt.Errorf("measure %s: no report from the runner (%v, %v)", cmd.Path, werr, rerr)
	}
	if u.Err != "" {
		return u, fmt.Errorf("measure %s: %s", cmd.Path, u.Err)
	}
	return u, nil
}

func withoutEnv(env []string, name string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, name+"=") })
}
