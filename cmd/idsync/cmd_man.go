package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// newManCmd writes the man pages, made from the commands' help, for the
// package (scripts/dist.sh, make man). Hidden: people read them with man.
func newManCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "man DIR",
		Short:   "write the man pages (idsync.1, idsync-sync.1, ...) into DIR",
		Long:    "Write a man page for idsync and for each command, made from the help text, into DIR.\nThe date in them is $SOURCE_DATE_EPOCH when set, so that builds are reproducible.",
		Example: "  idsync man /usr/share/man/man1",
		Hidden:  true,
		Args:    exactlyOne("man needs one directory"),
		RunE: func(c *cobra.Command, args []string) error {
			if err := os.MkdirAll(args[0], 0o755); err != nil {
				return fmt.Errorf("man: %w", err)
			}
			header := &doc.GenManHeader{Title: "IDSYNC", Section: "1", Source: "idsync " + version, Manual: "idsync manual"}
			if err := doc.GenManTree(c.Root(), header, args[0]); err != nil {
				return fmt.Errorf("man: %w", err)
			}
			fmt.Fprintf(c.OutOrStdout(), "man pages written to %s\n", args[0])
			return nil
		},
	}
}
