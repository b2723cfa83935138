package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/idsync/idsync/agent"
)

// command is one subcommand of idsync. Each lives in its own cmd_*.go file
// and registers itself in commands below.
type command struct {
	name    string
	summary string
	// run executes the subcommand. args excludes the subcommand name.
	run func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands lists every subcommand. Keep it sorted by name.
func commands() []command {
	cmds := []command{
		{name: "apply", summary: "apply a plan saved by 'idsync plan --out', if it is still current", run: cmdApply},
		{name: "check", summary: "check the configuration, the domain controller and Identity Hub", run: cmdCheck},
		{name: "emulator", summary: "run the built-in Identity Hub API emulator", run: cmdEmulator},
		{name: "explain", summary: "explain what a cycle does with one user or group, and why", run: cmdExplain},
		{name: "jobs", summary: "list past synchronization jobs or show one", run: cmdJobs},
		{name: "plan", summary: "show what a cycle would change, changing nothing", run: cmdPlan},
		{name: "run", summary: "run the daemon (what the service runs)", run: cmdRun},
		{name: "service", summary: "install, uninstall, start, stop or query the system service", run: cmdService},
		{name: "sync", summary: "run one synchronization cycle now", run: cmdSync},
		{name: "version", summary: "print version information", run: cmdVersion},
	}
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].name < cmds[j].name })
	return cmds
}

// Exit codes. They are part of the command-line contract: scripts and the
// service manager depend on them.
const (
	exitOK      = 0
	exitFailed  = 1
	exitUsage   = 2 // usage or configuration error
	exitPartial = 3 // the cycle finished but some objects failed
	exitSafety  = 4 // a safety limit stopped the cycle before any change
	exitNotNow  = 5 // too early, or another agent holds the session
)

// usageError marks errors caused by how idsync was invoked or configured.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usagef returns a usage error (exit code 2).
func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// exitCode is the one place where errors become exit codes.
func exitCode(err error) int {
	var (
		ue usageError
		nn *agent.NotNowError
		se *agent.SafetyError
		pe *agent.PartialError
	)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &nn):
		return exitNotNow
	case errors.As(err, &se):
		return exitSafety
	case errors.As(err, &pe):
		return exitPartial
	default:
		return exitFailed
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printUsage(stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, args[1:], stdout, stderr)
			if err != nil && !errors.Is(err, flag.ErrHelp) {
				fmt.Fprintf(stderr, "idsync %s: %v\n", c.name, err)
				if hint := runAsHint(err, args); hint != "" {
					fmt.Fprintln(stderr, hint)
				}
			}
			return exitCode(err)
		}
	}
	fmt.Fprintf(stderr, "idsync: unknown command %q\n\n", args[0])
	printUsage(stderr)
	return exitUsage
}

func printUsage(w io.Writer) {
	var b strings.Builder
	b.WriteString("idsync synchronizes Active Directory users, groups and memberships to a Yandex Identity Hub user pool.\n\n")
	b.WriteString("Usage:\n  idsync <command> [flags]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-10s %s\n", c.name, c.summary)
	}
	b.WriteString("\nRun 'idsync <command> -h' for the flags of a command.\n")
	io.WriteString(w, b.String())
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("idsync "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args and turns flag errors into usage errors.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	return nil
}
