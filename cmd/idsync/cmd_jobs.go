package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/idsync/idsync/internal/config"
	"github.com/idsync/idsync/internal/state"
)

const jobsUsage = `Usage:
  idsync jobs list [-n N] [-o json] --config FILE
  idsync jobs show ID|last [-o json] --config FILE
  idsync jobs quarantine [-o json] --config FILE
  idsync jobs quarantine release OBJECT --config FILE

ID may be the start of a job id, with or without "sync_" (it must match one
job); "last" is the newest job. Flags may come before or after the
subcommand and the id. Times are ISO 8601 in this machine's time zone; JSON
has the IDaaS fields (times in Unix milliseconds) and the same times in
RFC 3339 (StartTimeRFC3339, EndTimeRFC3339).

quarantine lists the objects whose change failed in consecutive cycles,
with the last error; from apply.quarantine_after failures on they are
quarantined (tried once a day or when their directory object changes).
release OBJECT (a username, group name, DN or external id) has it tried at
the next cycle.

Examples:
  idsync jobs list -n 5 --config /etc/idsync/config.yaml
  idsync jobs show last --config /etc/idsync/config.yaml
  idsync jobs --config /etc/idsync/config.yaml show 20261123T1000 -o json
  idsync jobs quarantine release ann@corp.example --config /etc/idsync/config.yaml`

func cmdJobs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("jobs", stderr)
	cfgPath := fs.String("config", "", "config file (required)")
	output := fs.String("o", "text", "output format: text or json")
	limit := fs.Int("n", 20, "how many jobs to list, newest first (0: all)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), jobsUsage+"\n\nFlags:")
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 || (pos[0] != "list" && pos[0] != "show" && pos[0] != "quarantine") {
		fs.Usage()
		return usagef("jobs needs a subcommand: list, show or quarantine")
	}
	sub, pos := pos[0], pos[1:]
	switch {
	case sub == "show" && len(pos) != 1:
		return usagef("jobs show needs one job id, or last (see 'idsync jobs list')")
	case sub == "list" && len(pos) > 0:
		return usagef("unexpected arguments: %s", strings.Join(pos, " "))
	}
	if *output != "text" && *output != "json" {
		return usagef("-o must be text or json, not %q", *output)
	}
	if *cfgPath == "" {
		return usagef("--config is required")
	}
	// Reading the history needs state_path only: no secret, no permission
	// check, no other key.
	statePath, err := config.LoadStatePath(*cfgPath)
	if err != nil {
		return usageError{err}
	}
	if sub == "quarantine" {
		return jobsQuarantine(statePath, pos, *output, stdout)
	}
	jobs := state.OpenJobs(statePath)
	if sub == "show" {
		return showJob(jobs, pos[0], *output, stdout)
	}
	list, err := jobs.List(*limit)
	if err != nil {
		return err
	}
	if *output == "json" {
		if list == nil {
			list = []*state.Job{}
		}
		return writeJSON(stdout, list)
	}
	writeJobList(stdout, list, time.Local)
	return nil
}

func showJob(jobs *state.Jobs, ref, output string, stdout io.Writer) error {
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
	objs, _, err := jobs.Objects(id)
	switch {
	case errors.Is(err, state.ErrNoObjects):
	case err != nil:
		return err
	default:
		j.Objects = objs
	}
	if output == "json" {
		return writeJSON(stdout, j)
	}
	writeJobDetail(stdout, j, time.Local)
	return nil
}

// parseInterspersed parses flags anywhere among args and returns the other
// arguments in order; everything after "--" is an argument.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
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
			fmt.Fprintf(w, "objects       %d recorded, list no longer kept (only the newest %d jobs keep theirs)\n", j.ObjectsRecorded, state.KeepObjectLists)
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
