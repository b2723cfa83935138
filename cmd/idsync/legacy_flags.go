package main

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// legacyFlags rewrites the flag spellings the standard flag package of
// earlier releases accepted and pflag does not, so that installed services,
// cron jobs and scripts keep working: a long flag with one dash (-config
// FILE, -full, -dry-run=true) gets two, and a one-letter flag with two
// (--o json) gets one. Only names of idsync's flags are rewritten, and
// nothing after "--".
func legacyFlags(root *cobra.Command, args []string) []string {
	long := map[string]bool{"help": true}
	short := map[string]bool{"h": true}
	walk(root, func(c *cobra.Command) {
		for _, fs := range []*pflag.FlagSet{c.LocalNonPersistentFlags(), c.PersistentFlags()} {
			fs.VisitAll(func(f *pflag.Flag) {
				if len(f.Name) > 1 {
					long[f.Name] = true
				} else {
					short[f.Name] = true
				}
				if f.Shorthand != "" {
					short[f.Shorthand] = true
				}
			})
		}
	})
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch {
		case strings.HasPrefix(a, "--") && len(name) == 1 && short[name]:
			a = a[1:]
		case strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && len(name) > 1 && long[name]:
			a = "-" + a
		}
		out = append(out, a)
	}
	return out
}
