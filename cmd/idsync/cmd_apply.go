package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/idsync/idsync/agent"
	"github.com/idsync/idsync/internal/state"
)

func newApplyCmd() *cobra.Command {
	var cfgPath string
	c := &cobra.Command{
		Use:   "apply PLAN.json --config FILE",
		Short: "apply a plan saved by 'idsync plan --out', if it is still current",
		Long: `Apply exactly the changes of a plan saved by 'idsync plan --out PLAN.json',
in a synchronization session of its own, if neither the directory nor the
pool's replication token moved since the plan was made. Otherwise nothing is
applied, the command says what changed, and exits 1: make a new plan. A plan
that trips a safety limit is refused (exit 4). Only the last plan saved by
this agent's state can be applied.`,
		Example: "  idsync plan --out plan.json --config /etc/idsync/config.yaml\n" +
			"  idsync apply plan.json --config /etc/idsync/config.yaml",
		Args: exactlyOne("apply needs one plan file, saved by 'idsync plan --out'"),
		RunE: func(c *cobra.Command, args []string) error {
			return runApply(c.Context(), cfgPath, args[0], c.OutOrStdout(), c.ErrOrStderr())
		},
	}
	configFlag(c, &cfgPath)
	return c
}

func runApply(ctx context.Context, cfgPath, planFile string, stdout, stderr io.Writer) error {
	raw, err := os.ReadFile(planFile)
	if err != nil {
		return usagef("read the plan: %w", err)
	}
	var sp agent.SavedPlan
	if err := json.Unmarshal(raw, &sp); err != nil || sp.Plan == nil || sp.Version == 0 {
		return usagef("%s is not a plan saved by 'idsync plan --out' (%v)", planFile, err)
	}
	e, done, err := openEngine(cfgPath, stderr)
	if err != nil {
		return err
	}
	defer done()
	changes, err := e.pushSettings(ctx)
	if err != nil {
		return err
	}
	job, err := e.agent.RunCycle(ctx, agent.CycleOptions{Trigger: agent.TriggerManual, Saved: &sp, SettingsChanges: changes})
	if job != nil {
		printJobSummary(stdout, job)
	}
	return err
}

// savePlan computes a plan bound to the directory and the pool and writes
// it to path (mode 0600: it names users).
func savePlan(ctx context.Context, e *engine, full bool, path string) (*agent.Plan, error) {
	sp, err := e.agent.SavePlan(ctx, full)
	if err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(sp, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode the plan: %w", err)
	}
	if err := state.WriteFileAtomic(path, append(b, '\n'), 0o600); err != nil {
		return nil, fmt.Errorf("save the plan: %w", err)
	}
	return sp.Plan, nil
}
