package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/idsync/idsync/agent"
	"github.com/idsync/idsync/internal/state"
)

func newSyncCmd() *cobra.Command {
	var f syncFlags
	c := &cobra.Command{
		Use: "sync [--full [--accept-scope-change]] [--dry-run] [--password-hashes | --user-control] --config FILE\n" +
			"  idsync sync --object OBJECT [--allow-delete] --config FILE",
		Short: "run one synchronization cycle now",
		Long: "Run one synchronization cycle now, then exit. With --object, apply the changes of one object\n" +
			"(and its memberships) in a session of its own, recorded with trigger on_demand; removing it\n" +
			"needs --allow-delete.\n\n" +
			"A pool whose synchronization settings or replication token were written under another scope\n" +
			"or mapping than this agent's (another agent, or a changed sync_settings filter or mapping) stops\n" +
			"the cycle before any change, with exit code 4. Review with 'idsync plan --full', then confirm\n" +
			"once with --full --accept-scope-change.\n\n" +
			"Exit codes: 0 done, 1 failed, 2 usage or configuration error, 3 some objects failed,\n" +
			"4 a safety limit stopped the cycle, 5 too early or another agent holds the session.",
		Example: "  idsync sync --config /etc/idsync/config.yaml\n" +
			"  idsync sync --full --dry-run --config /etc/idsync/config.yaml\n" +
			"  idsync sync --object ann@corp.example --config /etc/idsync/config.yaml",
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runSync(c.Context(), f, c.OutOrStdout(), c.ErrOrStderr())
		},
	}
	fs := c.Flags()
	configFlag(c, &f.config)
	fs.BoolVar(&f.full, "full", false, "read the whole directory and compare it with the whole pool")
	fs.BoolVar(&f.dryRun, "dry-run", false, "plan and record the job without opening a session or changing anything")
	fs.BoolVar(&f.passwords, "password-hashes", false, "run one password hash session (AD_PASSWORD_HASH) instead of a directory cycle")
	fs.BoolVar(&f.userControl, "user-control", false, "run one user-control tick (AD_USER_CONTROL: suspend or reactivate users whose AD account state changed) instead of a directory cycle")
	fs.BoolVar(&f.acceptScope, "accept-scope-change", false, "with --full: confirm that this agent takes over a pool last synchronized under another scope or mapping")
	fs.StringVar(&f.object, "object", "", "synchronize only this `OBJECT` now (UPN, sAMAccountName, DN, objectGUID or group name) and its memberships, without moving the replication token")
	fs.BoolVar(&f.allowDelete, "allow-delete", false, "with --object: remove the object from the pool when it left the directory scope")
	return c
}

// syncFlags are the flags of `idsync sync`.
type syncFlags struct {
	config                                                         string
	full, dryRun, passwords, userControl, acceptScope, allowDelete bool
	object                                                         string
}

func runSync(ctx context.Context, f syncFlags, stdout, stderr io.Writer) error {
	if f.object == "" && f.allowDelete {
		return usagef("--allow-delete goes with --object")
	}
	if f.object != "" && (f.full || f.dryRun || f.passwords || f.acceptScope || f.userControl) {
		return usagef("--object goes with --allow-delete only")
	}
	if f.acceptScope && (!f.full || f.dryRun || f.passwords || f.userControl) {
		return usagef("--accept-scope-change goes with --full, and not with --dry-run, --password-hashes or --user-control")
	}
	if f.userControl && (f.full || f.dryRun || f.passwords) {
		return usagef("--user-control goes alone, not with --full, --dry-run or --password-hashes")
	}
	cfg, log, closeLog, err := openConfig(f.config, stderr)
	if err != nil {
		return err
	}
	defer closeLog()
	bar := newProgress(stderr)
	start := time.Now()
	e, err := newEngine(cfg, log, &stateOpener{path: cfg.StatePath}, bar)
	if err != nil {
		if !f.passwords {
			recordNotStarted(ctx, cfg, log, agent.TriggerManual, f.dryRun || cfg.DryRun.Enabled, start, err)
		}
		return err
	}
	defer e.close()
	e.acceptScopeChange = f.acceptScope
	if f.passwords {
		if !cfg.PasswordHashSync.Enabled {
			return usagef("--password-hashes needs password_hash_sync.enabled: true and a drsr section in the config")
		}
		ps, err := e.newPasswordSync()
		if err != nil {
			return err
		}
		job, err := ps.RunOnce(ctx, agent.TriggerManual)
		if job != nil {
			printJobSummary(stdout, job)
		}
		return err
	}
	if f.userControl {
		if !cfg.UserControl.Enabled {
			// Directory cycles follow suspend_locked_out only while user
			// control is on; a tick without it would be undone.
			return usagef("--user-control needs user_control.enabled: true in the config")
		}
		if cfg.DryRun.Enabled {
			return usagef("--user-control changes the pool; dry_run.enabled is set in the config")
		}
		job, err := e.runUserControlOnce(ctx)
		if job != nil {
			printJobSummary(stdout, job)
		} else if err == nil {
			fmt.Fprintln(stdout, "user control: nothing to do (no session opened)")
		}
		return err
	}
	dry := f.dryRun || cfg.DryRun.Enabled
	if dry && f.object != "" {
		return usagef("--object applies changes, but dry_run.enabled is set in the config; see 'idsync plan'")
	}
	var changes []agent.SettingChange
	if !dry {
		if changes, err = e.pushSettings(ctx); err != nil {
			if job := recordNotStarted(ctx, cfg, log, agent.TriggerManual, false, start, err); job != nil {
				printJobSummary(stdout, job)
			}
			return err
		}
	}
	co := agent.CycleOptions{Trigger: agent.TriggerManual, Full: f.full, DryRun: dry, AcceptScopeChange: f.acceptScope, SettingsChanges: changes}
	if f.object != "" {
		co = agent.CycleOptions{Trigger: agent.TriggerOnDemand, Object: f.object, AllowDelete: f.allowDelete, SettingsChanges: changes}
	}
	job, err := e.agent.RunCycle(ctx, co)
	bar.finish()
	if job != nil {
		printJobSummary(stdout, job)
	}
	return err
}

// printJobSummary prints what a job did, as a few readable lines.
func printJobSummary(w io.Writer, j *state.Job) {
	took := j.EndTime.Sub(j.StartTime.Time).Round(time.Millisecond)
	mode := j.Mode
	if j.DryRun {
		mode += ", dry run: nothing was changed"
	}
	fmt.Fprintf(w, "job %s: %s (%s) in %s\n", j.ID, j.Status, mode, took)
	printJobStats(w, j)
}

// printJobStats prints a job's statistics and error, indented.
func printJobStats(w io.Writer, j *state.Job) {
	r := j.Result
	row := func(name string, s, f, k int64) string {
		if f == 0 && k == 0 {
			return fmt.Sprintf("%s %d", name, s)
		}
		return fmt.Sprintf("%s %d (failed %d, skipped %d)", name, s, f, k)
	}
	for _, line := range []struct {
		title string
		parts []string
	}{
		{"users", []string{
			row("created", r.UserStatistics.Created.Success, r.UserStatistics.Created.Failed, r.UserStatistics.Created.Skipped),
			row("updated", r.UserStatistics.Updated.Success, r.UserStatistics.Updated.Failed, r.UserStatistics.Updated.Skipped),
			row("bound", r.UserStatistics.Binded.Success, r.UserStatistics.Binded.Failed, r.UserStatistics.Binded.Skipped),
			row("deleted", r.UserStatistics.Deleted.Success, r.UserStatistics.Deleted.Failed, r.UserStatistics.Deleted.Skipped),
			row("activated", r.UserStatistics.Activated.Success, r.UserStatistics.Activated.Failed, r.UserStatistics.Activated.Skipped),
			row("deactivated", r.UserStatistics.Deactivated.Success, r.UserStatistics.Deactivated.Failed, r.UserStatistics.Deactivated.Skipped),
			fmt.Sprintf("unchanged %d", r.UserStatistics.Same.Success),
		}},
		{"groups", []string{
			row("created", r.GroupStatistics.Created.Success, r.GroupStatistics.Created.Failed, r.GroupStatistics.Created.Skipped),
			row("updated", r.GroupStatistics.Updated.Success, r.GroupStatistics.Updated.Failed, r.GroupStatistics.Updated.Skipped),
			row("bound", r.GroupStatistics.Binded.Success, r.GroupStatistics.Binded.Failed, r.GroupStatistics.Binded.Skipped),
			row("deleted", r.GroupStatistics.Deleted.Success, r.GroupStatistics.Deleted.Failed, r.GroupStatistics.Deleted.Skipped),
			fmt.Sprintf("unchanged %d", r.GroupStatistics.Same.Success),
		}},
		{"memberships", []string{
			row("added", r.GroupMemberStatistics.Created.Success, r.GroupMemberStatistics.Created.Failed, r.GroupMemberStatistics.Created.Skipped),
			row("removed", r.GroupMemberStatistics.Deleted.Success, r.GroupMemberStatistics.Deleted.Failed, r.GroupMemberStatistics.Deleted.Skipped),
		}},
	} {
		fmt.Fprintf(w, "  %-12s", line.title)
		for i, p := range line.parts {
			if i > 0 {
				fmt.Fprint(w, ", ")
			}
			fmt.Fprint(w, p)
		}
		fmt.Fprintln(w)
	}
	if j.ErrorMessage != "" {
		fmt.Fprintf(w, "  %-12s%s: %s\n", "error", j.ErrorCode, j.ErrorMessage)
	}
}
