package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/idsync/idsync/agent"
)

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
	case errors.Is(err, pflag.ErrHelp):
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

// newRootCmd builds the command tree, printing to stdout and stderr. Each
// subcommand lives in its own cmd_*.go file; keep them sorted by name.
func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "idsync",
		Short: "synchronize Active Directory to a Yandex Identity Hub user pool",
		Long: "idsync synchronizes Active Directory users, groups and memberships to a Yandex Identity Hub user pool.\n\n" +
			"Flags are spelled --flag (one-letter flags -o, -n, -v, -h); the single-dash spelling of\n" +
			"long flags (-config FILE) of earlier releases is still accepted.",
		Example: "  idsync check --config /etc/idsync/config.yaml\n" +
			"  idsync help sync\n" +
			"  source <(idsync completion bash)",
		Version:       versionString(),
		SilenceErrors: true,
		SilenceUsage:  true,
		// Man pages carry the build's date, not cobra's stamp.
		DisableAutoGenTag: true,
	}
	root.SetVersionTemplate("{{.Version}}\n")
	// Before the completion command is made: it keeps the writer.
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(
		newApplyCmd(),
		newCheckCmd(),
		newEmulatorCmd(),
		newExplainCmd(),
		newJobsCmd(),
		newManCmd(),
		newPlanCmd(),
		newRunCmd(),
		newServiceCmd(),
		newSyncCmd(),
		newVersionCmd(),
	)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		switch c.Name() {
		case "help":
			c.Short = "show the help of a command"
			strictHelp(root, c)
		case "completion":
			c.Short = "print a shell completion script (bash, zsh, fish or powershell)"
			c.Example = "  source <(idsync completion bash)\n" +
				"  idsync completion bash > /etc/bash_completion.d/idsync\n" +
				"  idsync completion zsh > \"${fpath[1]}/_idsync\""
			needSubcommand(c)
		}
	}
	walk(root, func(c *cobra.Command) {
		c.DisableFlagsInUseLine = true
		markRun(c)
	})
	return root
}

// strictHelp makes `idsync help NOSUCH` a usage error instead of printing
// the root's usage with exit status 0.
func strictHelp(root, help *cobra.Command) {
	show := help.Run
	help.Run = nil
	help.RunE = func(c *cobra.Command, args []string) error {
		target, rest, err := root.Find(args)
		if err != nil {
			return usageError{err}
		}
		if len(rest) > 0 {
			return usagef("unknown command %q for %q (see 'idsync help %s')", rest[0], target.CommandPath(), strings.Join(args[:len(args)-len(rest)], " "))
		}
		show(c, args)
		return nil
	}
}

// needSubcommand gives a command that only groups others a run function
// that fails with a usage error: bare, or with an unknown subcommand.
func needSubcommand(c *cobra.Command) {
	c.Args = cobra.ArbitraryArgs
	c.RunE = func(c *cobra.Command, args []string) error {
		var names []string
		for _, s := range c.Commands() {
			if s.IsAvailableCommand() {
				names = append(names, s.Name())
			}
		}
		if len(args) == 0 {
			fmt.Fprint(c.ErrOrStderr(), c.UsageString())
			return usagef("%s needs a subcommand: %s", c.Name(), strings.Join(names, ", "))
		}
		return usagef("unknown %s subcommand %q (one of %s)", c.Name(), args[0], strings.Join(names, ", "))
	}
}

// ranKey marks, in a command's annotations, that its run function was
// entered: an error from anywhere else (flags, arguments, an unknown
// command) is a usage error.
const ranKey = "idsync-ran"

func markRun(c *cobra.Command) {
	switch {
	case c.RunE != nil:
		f := c.RunE
		c.RunE = func(c *cobra.Command, args []string) error {
			setRan(c)
			return f(c, args)
		}
	case c.Run != nil:
		f := c.Run
		c.Run = func(c *cobra.Command, args []string) {
			setRan(c)
			f(c, args)
		}
	}
}

func setRan(c *cobra.Command) {
	if c.Annotations == nil {
		c.Annotations = map[string]string{}
	}
	c.Annotations[ranKey] = "yes"
}

func walk(c *cobra.Command, f func(*cobra.Command)) {
	f(c)
	for _, s := range c.Commands() {
		walk(s, f)
	}
}

// noArgs is cobra.NoArgs with the usage error and wording of idsync.
func noArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected arguments: %s", strings.Join(args, " "))
	}
	return nil
}

// execute runs the command args name and returns the command that ran (or
// failed to parse) and its error, usage errors marked as such.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) (*cobra.Command, error) {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(legacyFlags(root, args))
	c, err := root.ExecuteContextC(ctx)
	if err != nil && c != nil && c.Annotations[ranKey] == "" {
		var ue usageError
		if !errors.As(err, &ue) {
			err = usageError{err}
		}
	}
	return c, err
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		root := newRootCmd(stdout, stderr)
		root.InitDefaultHelpFlag()
		root.InitDefaultVersionFlag()
		_ = root.Help()
		return exitUsage
	}
	c, err := execute(ctx, args, stdout, stderr)
	if err != nil && !errors.Is(err, pflag.ErrHelp) {
		name := topLevel(c)
		fmt.Fprintf(stderr, "idsync%s: %v\n", name, err)
		if c != nil && c.Annotations[ranKey] == "" {
			// The arguments did not parse: point at the usage.
			fmt.Fprintf(stderr, "Run '%s' for usage.\n", strings.Replace(c.CommandPath(), "idsync", "idsync help", 1))
		}
		if hint := runAsHint(err, args); hint != "" {
			fmt.Fprintln(stderr, hint)
		}
	}
	return exitCode(err)
}

// topLevel is " NAME" of the subcommand of the root that c is or is under,
// or "" for the root itself.
func topLevel(c *cobra.Command) string {
	if c == nil || !c.HasParent() {
		return ""
	}
	for c.Parent().HasParent() {
		c = c.Parent()
	}
	return " " + c.Name()
}

// configFlag registers --config, which completes to YAML files.
func configFlag(c *cobra.Command, p *string) {
	c.Flags().StringVar(p, "config", "", "config `FILE` (required)")
	_ = c.MarkFlagFilename("config", "yaml", "yml")
}

// exactlyOne accepts one positional argument; anything else is a usage
// error (exit 2) saying what the one argument is.
func exactlyOne(msg string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != 1 {
			return usagef("%s", msg)
		}
		return nil
	}
}
