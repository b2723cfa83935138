package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/idsync/idsync/internal/state"
)

func cmdJobs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "show") {
		fmt.Fprintln(stderr, "Usage:\n  idsync jobs list [-n N] [-o json] --config FILE\n  idsync jobs show ID [-o json] --config FILE")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return usagef("jobs needs a subcommand: list or show")
	}
	sub := args[0]
	fs := newFlagSet("jobs "+sub, stderr)
	cfgPath := fs.String("config", "", "config file (required)")
	output := fs.String("o", "text", "output format: text or json")
	limit := fs.Int("n", 20, "how many jobs to list, newest first (0: all)")
	rest := args[1:]
	var id string
	if sub == "show" {
		if len(rest) == 0 || rest[0] == "" || rest[0][0] == '-' {
			return usagef("jobs show needs a job id (see 'idsync jobs list')")
		}
		id, rest = rest[0], rest[1:]
	}
	if err := parseFlags(fs, rest); err != nil {
		return err
	}
	if *output != "text" && *output != "json" {
		return usagef("-o must be text or json, not %q", *output)
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	jobs := state.OpenJobs(cfg.StatePath)
	if sub == "show" {
		j, err := jobs.Get(id)
		if errors.Is(err, state.ErrNoJob) {
			return usagef("no job %q (see 'idsync jobs list')", id)
		}
		if err != nil {
			return err
		}
		if *output == "json" {
			return writeJSON(stdout, j)
		}
		printJobSummary(stdout, j)
		return nil
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
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTARTED\tTRIGGER\tMODE\tSTATUS\tTOOK\tUSERS +/~/-\tGROUPS +/~/-\tMEMBERS +/-\tFAILED")
	for _, j := range list {
		r := j.Result
		took := "-"
		if !j.EndTime.IsZero() {
			took = j.EndTime.Sub(j.StartTime.Time).Round(time.Millisecond).String()
		}
		mode := j.Mode
		if j.Type != "" {
			mode = j.Type + " " + mode
		}
		if j.DryRun {
			mode += " (dry run)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d/%d/%d\t%d/%d/%d\t%d/%d\t%d\n", j.ID, j.StartTime.Local().Format("2006-01-02 15:04:05"),
			j.TriggerType, mode, j.Status, took,
			r.UserStatistics.Created.Success, r.UserStatistics.Updated.Success+r.UserStatistics.Binded.Success, r.UserStatistics.Deleted.Success,
			r.GroupStatistics.Created.Success, r.GroupStatistics.Updated.Success+r.GroupStatistics.Binded.Success, r.GroupStatistics.Deleted.Success,
			r.GroupMemberStatistics.Created.Success, r.GroupMemberStatistics.Deleted.Success, r.Failures())
	}
	return tw.Flush()
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}
