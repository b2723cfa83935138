// Command idsync-bench measures idsync against a seeded Samba AD DC and the
// in-process Identity Hub emulator and prints a markdown report. See
// scripts/bench.sh, which starts and seeds the DC first.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/idsync/idsync/internal/bench"
	"github.com/idsync/idsync/internal/testing/testdc"
)

func main() {
	bench.MeasureMain()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "idsync-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("idsync-bench", flag.ContinueOnError)
	opts := bench.Options{}
	fs.StringVar(&opts.Workload, "workload", "w1k", "seeded adseed `profile`: w1k, w10k or w100k")
	fs.StringVar(&opts.DCDir, "dc-dir", testdc.DefaultDir(), "state `dir` of the Samba DC (default $IDSYNC_DC_DIR or /tmp/idsync-dc)")
	fs.StringVar(&opts.Binary, "idsync", "", "idsync `binary` to measure (default: build ./cmd/idsync of the module in the current directory)")
	fs.StringVar(&opts.WorkDir, "work", "", "keep configs, state and idsync logs in `dir` (default: a temporary directory, removed)")
	fs.IntVar(&opts.Concurrency, "concurrency", 8, "idsync apply.concurrency")
	fs.DurationVar(&opts.Latency, "latency", 0, "latency per call of the latency scenario (default 20ms; negative skips it)")
	fs.Float64Var(&opts.RPS, "rps", 0, "emulator rate limit of the rate-limited scenario (default 200; negative skips it)")
	fs.Float64Var(&opts.ClientRate, "client-rate", 0, "idsync apply.rate_limit in the rate-limited scenario (default: the -rps value)")
	fs.Float64Var(&opts.ChangePercent, "change-percent", 1, "percent of users and of memberships changed for the delta scenario")
	fs.IntVar(&opts.UserControlChanges, "uc-changes", 0, "AD changes timed to the cloud in the user-control scenario (default 50; negative skips it)")
	fs.BoolVar(&opts.FullOnly, "full-only", false, "of the plain scenarios run only the full sync into an empty pool")
	fs.BoolVar(&opts.FullSyncsOnly, "full-syncs-only", false, "run only the latency and rate-limited full syncs (and the floor), not the plain cycles")
	out := fs.String("o", "", "also write the report to `file`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts.Command = commandLine(args)
	if opts.Binary == "" {
		dir, err := os.MkdirTemp("", "idsync-bench-bin")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if opts.Binary, err = bench.Build(ctx, ".", dir); err != nil {
			return err
		}
	}
	rep, err := bench.Run(ctx, opts)
	if err != nil {
		if rep != nil && len(rep.Scenarios) > 0 {
			rep.Write(os.Stderr)
		}
		return err
	}
	var sb strings.Builder
	rep.Write(&sb)
	fmt.Fprint(stdout, sb.String())
	if *out != "" {
		if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(*out, []byte(sb.String()), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// commandLine is how the report records the command that produced it.
func commandLine(args []string) string {
	if c := os.Getenv("IDSYNC_BENCH_COMMAND"); c != "" {
		return c
	}
	return "go run ./cmd/idsync-bench " + strings.Join(args, " ")
}
