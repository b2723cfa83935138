package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/idsync/idsync/agent"
	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/state"
)

func newExplainCmd() *cobra.Command {
	var cfgPath, output string
	c := &cobra.Command{
		Use:   "explain OBJECT [-o json] --config FILE",
		Short: "explain what a cycle does with one user or group, and why",
		Long: "Explain one user or group (UPN, sAMAccountName, DN, objectGUID or group name): why it is in or\n" +
			"out of scope, how each mapped field is computed, its effective groups and through which nested\n" +
			"groups, what the pool holds, the change a cycle would make, any rejection, recorded failures\n" +
			"and the last job that touched it. Changes nothing.",
		Example: "  idsync explain ann@corp.example --config /etc/idsync/config.yaml\n" +
			"  idsync explain 'CN=Sales,OU=Groups,DC=corp,DC=example' -o json --config /etc/idsync/config.yaml",
		Args: exactlyOne("explain needs one object"),
		RunE: func(c *cobra.Command, args []string) error {
			return cmdExplain(c.Context(), cfgPath, output, args[0], c.OutOrStdout(), c.ErrOrStderr())
		},
	}
	configFlag(c, &cfgPath)
	c.Flags().StringVarP(&output, "output", "o", "text", "output `FORMAT`: text or json")
	_ = c.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	return c
}

func cmdExplain(ctx context.Context, cfgPath, output, object string, stdout, stderr io.Writer) error {
	if output != "text" && output != "json" {
		return usagef("-o must be text or json, not %q", output)
	}
	e, done, err := openEngine(cfgPath, stderr)
	if err != nil {
		return err
	}
	defer done()
	ex, err := e.agent.Explain(ctx, object)
	if err != nil {
		return err
	}
	if output == "json" {
		return writeJSON(stdout, ex)
	}
	writeExplanation(stdout, ex)
	return nil
}

// writeExplanation prints an explanation as numbered sections.
func writeExplanation(w io.Writer, ex *agent.Explanation) {
	switch {
	case ex.Found:
		fmt.Fprintf(w, "%s %s\n  dn: %s\n  objectGUID: %s\n", ex.Object, ex.Ref, ex.DN, ex.ExternalID)
	case ex.Directory != nil:
		fmt.Fprintf(w, "%s: not synchronized\n  dn: %s\n  objectGUID: %s\n", ex.Ref, ex.DN, ex.ExternalID)
	default:
		fmt.Fprintf(w, "%s: not found\n", ex.Ref)
	}
	for _, o := range ex.Others {
		fmt.Fprintf(w, "  (the name also matches %s, objectGUID %s: explain it by DN or objectGUID)\n", o.DN, o.ExternalID)
	}
	fmt.Fprintln(w, "1. scope")
	for _, l := range ex.Scope {
		fmt.Fprintf(w, "  - %s\n", l)
	}
	if ex.Found {
		writeExplanationBody(w, ex)
	}
	switch {
	case ex.LastJob != nil:
		j, o := ex.LastJob, ex.LastJob.Object
		what := o.Action
		if len(o.Fields) > 0 {
			what += ": " + strings.Join(o.Fields, ", ")
		}
		if o.Action == "members" {
			what += fmt.Sprintf(" +%d -%d", o.Added, o.Removed)
		}
		if o.Error != "" {
			what += ", failed: " + o.Error
		}
		fmt.Fprintf(w, "7. last job: %s (%s, %s, %s)\n", j.ID, orDash(strings.Join(strings.Fields(j.Type+" "+j.Mode+" "+j.Trigger), " ")),
			state.FormatTime(j.Started, time.Local), what)
	case ex.LastJobNote != "":
		fmt.Fprintf(w, "7. last job: %s\n", ex.LastJobNote)
	}
}

// writeExplanationBody prints the sections of an object the read or the
// last synchronized state holds.
func writeExplanationBody(w io.Writer, ex *agent.Explanation) {
	if len(ex.Fields) > 0 {
		fmt.Fprintln(w, "2. attributes")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  FIELD\tSOURCE\tDIRECTORY\tSENT\tPOOL\tNOTE")
		for _, f := range ex.Fields {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", f.Field, f.Source, orDash(f.Directory), orDash(f.Desired), orDash(f.Pool), f.Note)
		}
		tw.Flush()
	}
	if ex.Object == directory.KindUser {
		fmt.Fprintln(w, "3. effective groups (direct, nested, primary)")
		for _, m := range ex.Memberships {
			fmt.Fprintf(w, "  - %s\n", m)
		}
		if len(ex.Memberships) == 0 {
			fmt.Fprintf(w, "  %s\n", orDash(strings.Join(ex.Groups, ", ")))
		}
	}
	fmt.Fprintln(w, "4. pool")
	switch {
	case ex.PoolUser != nil:
		fmt.Fprintf(w, "  user %s %s active=%v\n", ex.PoolUser.ID, ex.PoolUser.Fields.Username, ex.PoolUser.Active)
	case ex.PoolGroup != nil:
		fmt.Fprintf(w, "  group %s %s, %d managed members\n", ex.PoolGroup.ID, ex.PoolGroup.Name, len(ex.PoolGroup.Members))
	default:
		fmt.Fprintln(w, "  not in the pool")
	}
	fmt.Fprintln(w, "5. change a cycle would make")
	n := 0
	for _, c := range ex.Users {
		fmt.Fprintf(w, "  user %s%s %s", c.Action, statusSuffix(c), c.Fields.Username)
		if len(c.Mask) > 0 {
			fmt.Fprintf(w, " fields %v", c.Mask)
		}
		fmt.Fprintln(w)
		n++
	}
	for _, c := range ex.GroupsCh {
		fmt.Fprintf(w, "  group %s %s\n", c.Action, c.Name)
		n++
	}
	for _, m := range ex.Members {
		fmt.Fprintf(w, "  member of %s +%d -%d\n", m.GroupName, len(m.Add), len(m.Remove))
		n++
	}
	for _, r := range ex.Rejected {
		fmt.Fprintf(w, "  REJECTED (%s): %s\n", r.Action, r.Reason)
		n++
	}
	if n == 0 {
		fmt.Fprintln(w, "  none: the pool is up to date")
	}
	if f := ex.Failure; f != nil {
		state := "failing"
		if f.Quarantined {
			state = "quarantined"
		}
		fmt.Fprintf(w, "6. recorded failures: %s, %d in a row, last %s: %s\n", state, f.Count, f.Last.Format("2006-01-02T15:04:05Z07:00"), f.LastError)
	}
}

func statusSuffix(c agent.UserChange) string {
	if c.Status == agent.StatusSame {
		return ""
	}
	return "+" + string(c.Status)
}
