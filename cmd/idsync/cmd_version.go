package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// Set by the linker in release builds (see Makefile).
var (
	version = "dev"
	commit  = ""
	date    = ""
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "print version information",
		Long:    "Print the version, commit, build time, Go version and platform of this binary (the same line as 'idsync --version').",
		Example: "  idsync version\n  idsync --version",
		Args:    noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			fmt.Fprintln(c.OutOrStdout(), versionString())
			return nil
		},
	}
}

// versionString is the line `idsync version` and `idsync --version` print.
func versionString() string {
	c := commit
	if c == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" {
					c = s.Value
				}
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "idsync %s", version)
	if c != "" {
		fmt.Fprintf(&b, " commit %s", c)
	}
	if date != "" {
		fmt.Fprintf(&b, " built %s", date)
	}
	fmt.Fprintf(&b, " %s %s/%s", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return b.String()
}
