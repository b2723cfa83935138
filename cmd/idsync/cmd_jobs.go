package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/idsync/idsync/internal/config"
	"github.com/idsync/idsync/internal/state"
)

// jobsFlags are the flags of `idsync jobs` and its subcommands; they may
// come before or after the subcommand and the id.
type jobsFlags struct {
	config, output string
	limit          int
}

func newJobsCmd() *cobra.Command {
	var f jobsFlags
	c := &cobra.Command{
		Use:   "jobs list|show|quarantine [-o json] --config FILE",
		Short: "list past synchronization jobs or show one",
		Long: `List past synchronization jobs, show one, or list the objects whose change
keeps failing. Reading the history needs only state_path from the config: no
secret, no other key. Flags may come before or after the subcommand and the id.
Times are ISO 8601 in this machine's time zone; JSON has the IDaaS fields
(times in Unix milliseconds) and the same times in RFC 3339
(StartTimeRFC3339, EndTimeRFC3339).`,
		Example: `  idsync jobs list -n 5 --config /etc/idsync/config.yaml
  idsync jobs show last --config /etc/idsync/config.yaml
  idsync jobs --config /etc/idsync/config.yaml show 20261123T1000 -o json`,
	}
	needSubcommand(c)
	pf := c.PersistentFlags()
	pf.StringVar(&f.config, "config", "", "config `FILE` (required)")
	_ = c.MarkPersistentFlagFilename("config", "yaml", "yml")
	pf.StringVarP(&f.output, "output", "o", "text", "output `FORMAT`: text or json")
	pf.IntVarP(&f.limit, "limit", "n", 20, "how many jobs to list, newest first (0: all)")
	_ = c.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))

	list := &cobra.Command{
		Use:     "list [-n N] [-o json] --config FILE",
		Short:   "list past jobs, newest first",
		Long:    "List past jobs, newest first, one line each: start, trigger, mode, status, duration, counts and the reason of a failure.",
		Example: "  idsync jobs list --config /etc/idsync/config.yaml\n  idsync jobs list -n 0 -o json --config /etc/idsync/config.yaml",
		Args:    noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runJobs(f, "list", nil, c.OutOrStdout(), c.ErrOrStderr())
		},
	}
	show := &cobra.Command{
		Use:   "show ID|last [-o json] --config FILE",
		Short: "show one job: status, times, trigger, counts and errors",
		Long: `Show one job. ID may be the start of a job id, with or without "sync_" (it
must match one job); "last" is the newest job.`,
		Example: "  idsync jobs show last --config /etc/idsync/config.yaml\n  idsync jobs show 20261123T1000 -o json --config /etc/idsync/config.yaml",
		Args:    exactlyOne("jobs show needs one job id, or last (see 'idsync jobs list')"),
		RunE: func(c *cobra.Command, args []string) error {
			return runJobs(f, "show", args, c.OutOrStdout(), c.ErrOrStderr())
		},
	}
	quarantine := &cobra.Command{
		Use:   "quarantine [-o json] --config FILE",
		Short: "list the objects whose change keeps failing",
		Long: `List the objects whose change failed in consecutive cycles, with the last
error; from apply.quarantine_after failures on they are quarantined (tried
once a day or when their directory object changes).`,
		Example: "  idsync jobs quarantine --config /etc/idsync/config.yaml\n  idsync jobs quarantine -o json --config /etc/idsync/config.yaml",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("jobs quarantine takes no arguments, or release OBJECT")
			}
			return nil
		},
		RunE: func(c *cobra.Command, _ []string) error {
			return runJobs(f, "quarantine", nil, c.OutOrStdout(), c.ErrOrStderr())
		},
	}
	release := &cobra.Command{
		Use:     "release OBJECT --config FILE",
		Short:   "have a failing or quarantined object tried at the next cycle",
		Long:    "Release OBJECT (a username, group name, DN or external id): it is tried at the next cycle.",
		Example: "  idsync jobs quarantine release ann@corp.example --config /etc/idsync/config.yaml",
		Args:    exactlyOne("jobs quarantine release needs one object: a username, group name, DN or external id"),
		RunE: func(c *cobra.Command, args []string) error {
			return runJobs(f, "quarantine", append([]string{"release"}, args...), c.OutOrStdout(), c.ErrOrStderr())
		},
	}
	quarantine.AddCommand(release)
	c.AddCommand(list, show, quarantine)
	return c
}

// runJobs runs `jobs sub` with its positional arguments pos.
func runJobs(f jobsFlags, sub string, pos []string, stdout, stderr io.Writer) error {
	if f.output != "text" && f.output != "json" {
		return usagef("-o must be text or json, not %q", f.output)
	}
	if f.config == "" {
		return usagef("--config is required")
	}
	// Reading the history needs state_path only: no secret, no permission
	// check, no other key.
	statePath, err := config.LoadStatePath(f.config)
	if err != nil {
		return usageError{err}
	}
	if sub == "quarantine" {
		return jobsQuarantine(statePath, pos, f.output, stdout)
	}
	jobs := state.OpenJobs(statePath)
	if sub == "show" {
		return showJob(jobs, pos[0], f.output, stdout, stderr)
	}
	list, err := jobs.List(f.limit)
	if err != nil {
		return err
	}
	if f.output == "json" {
		if list == nil {
			list = []*state.Job{}
		}
		return writeJSON(stdout, list)
	}
	writeJobList(stdout, list, time.Local)
	return nil
}

func showJob(jobs *state.Jobs, ref, output string, stdout, stderr io.Writer) error {
	id, err := jobs.Resolve(ref)
	switch {
	case errors.Is(err, state.ErrNoJob):
		return usagef("no job %q (see 'idsync jobs list')", ref)
	case errors.Is(err, state.ErrAmbiguousJob):
		return usageError{err}
	case err != nil:
		return err
	}
	j, err := jobs.Get(id)
	if err != nil {
		return err
	}
	// The object list only explains: a list that is gone, damaged or
	// unreadable leaves the record to show, with a warning for the last two.
	objs, _, err := jobs.Objects(id)
	switch {
	case err == nil:
		j.Objects = objs
	case j.ObjectsRecorded > 0 && (errors.Is(err, state.ErrDamagedObjects) || !errors.Is(err, state.ErrNoObjects)):
		fmt.Fprintf(stderr, "idsync jobs show: warning: %v\n", err)
	}
	if output == "json" {
		return writeJSON(stdout, j)
	}
	writeJobDetail(stdout, j, time.Local)
	return nil
}

// writeJobList prints one line per job, times in loc.
func writeJobList(w io.Writer, list []*state.Job, loc *time.Location) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTARTED\tTRIGGER\tMODE\tSTATUS\tTOOK\tUSERS +/~/-\tGROUPS +/~/-\tMEMBERS +/-\tFAILED\tREASON")
	for _, j := range list {
		r := j.Result
		mode := j.Mode
		if j.Type != "" {
			mode = j.Type + " " + mode
		}
		if j.DryRun {
			mode += " (dry run)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d/%d/%d\t%d/%d/%d\t%d/%d\t%d\t%s\n", j.ID, state.FormatTime(j.StartTime.Time, loc),
			j.TriggerType, orDash(mode), j.Status, took(j),
			r.UserStatistics.Created.Success, r.UserStatistics.Updated.Success+r.UserStatistics.Binded.Success, r.UserStatistics.Deleted.Success,
			r.GroupStatistics.Created.Success, r.GroupStatistics.Updated.Success+r.GroupStatistics.Binded.Success, r.GroupStatistics.Deleted.Success,
			r.GroupMemberStatistics.Created.Success, r.GroupMemberStatistics.Deleted.Success, r.Failures(), jobReason(j))
	}
	_ = tw.Flush()
}

// writeJobDetail prints one job for people, times in loc.
func writeJobDetail(w io.Writer, j *state.Job, loc *time.Location) {
	// Values line up with those of printJobStats.
	row := func(k, v string) { fmt.Fprintf(w, "%-14s%s\n", k, v) }
	row("job", j.ID)
	status := j.Status
	if j.DryRun {
		status += " (dry run: nothing was changed)"
	}
	row("status", status)
	row("started", state.FormatTime(j.StartTime.Time, loc))
	row("ended", state.FormatTime(j.EndTime.Time, loc)+" (took "+took(j)+")")
	row("trigger", j.TriggerType)
	row("mode", orDash(j.Mode))
	session := orDash(j.SessionID)
	if j.SessionType != "" {
		session += " (" + j.SessionType + ")"
	}
	row("session", session)
	row("agent", orDash(j.AgentID))
	row("pool", j.TargetID)
	row("read", fmt.Sprintf("%d users, %d groups", j.UsersRead, j.GroupsRead))
	for i, c := range j.SettingsChanges {
		k := ""
		if i == 0 {
			k = "settings"
		}
		row(k, c.String())
	}
	printJobStats(w, j)
	writeJobObjects(w, j)
}

// writeJobObjects lists the objects a job changed, failed on or rejected.
func writeJobObjects(w io.Writer, j *state.Job) {
	if len(j.Objects) == 0 {
		if j.ObjectsRecorded > 0 {
			fmt.Fprintf(w, "objects       %d recorded, list not available (the newest %d jobs that changed something keep theirs)\n", j.ObjectsRecorded, state.KeepObjectLists)
		}
		return
	}
	fmt.Fprintln(w, "objects")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  KIND\tNAME\tAD NAME\tACTION\tEXTERNAL ID\tDETAIL")
	for _, o := range j.Objects {
		detail := strings.Join(o.Fields, ",")
		if o.Action == "members" {
			detail = fmt.Sprintf("+%d -%d", o.Added, o.Removed)
		}
		if o.Error != "" {
			detail = strings.TrimSpace(detail + " FAILED: " + strings.Join(strings.Fields(o.Error), " "))
		}
		name := o.Name
		if name == "" {
			name = o.DN
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", o.Kind, orDash(name), orDash(o.ADName), o.Action, o.ExternalID, orDash(detail))
	}
	_ = tw.Flush()
	if j.ObjectsOmitted > 0 {
		fmt.Fprintf(w, "  ... and %d more (a job lists at most %d objects)\n", j.ObjectsOmitted, state.MaxJobObjects)
	}
}

func took(j *state.Job) string {
	if j.EndTime.IsZero() {
		return "-"
	}
	return j.EndTime.Sub(j.StartTime.Time).Round(time.Millisecond).String()
}

// jobReason is why a job did not simply succeed, on one line.
func jobReason(j *state.Job) string {
	reason := j.ErrorMessage
	if reason == "" {
		reason = j.ErrorCode
	}
	if reason == "" {
		return "-"
	}
	return strings.Join(strings.Fields(reason), " ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}
