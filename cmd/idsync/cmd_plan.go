package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/idsync/idsync/agent"
)

func newPlanCmd() *cobra.Command {
	var cfgPath, output, out string
	var full bool
	c := &cobra.Command{
		Use:   "plan [--full] [-o text|json|csv|html] [--out PLAN.json] --config FILE",
		Short: "show what a cycle would change, changing nothing",
		Long: "Show what a cycle would change, without opening a session or changing anything.\n" +
			"Text shows names and old -> new values; JSON adds the external ids; html is a\n" +
			"report to attach to a change request. A plan a safety limit would stop exits 4\n" +
			"in every format. With --out, save it for 'idsync apply PLAN.json', which applies\n" +
			"exactly these changes if neither the directory nor the pool moved since.",
		Example: "  idsync plan --config /etc/idsync/config.yaml\n" +
			"  idsync plan --full -o html --config /etc/idsync/config.yaml > plan.html\n" +
			"  idsync plan --out plan.json --config /etc/idsync/config.yaml",
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runPlan(c.Context(), cfgPath, full, output, out, c.OutOrStdout(), c.ErrOrStderr())
		},
	}
	configFlag(c, &cfgPath)
	c.Flags().BoolVar(&full, "full", false, "plan a full comparison instead of a delta")
	c.Flags().StringVarP(&output, "output", "o", "text", "output `FORMAT`: text, json, csv or html (a self-contained report)")
	c.Flags().StringVar(&out, "out", "", "also save the plan to this `FILE`, bound to the directory and the pool's replication token, for 'idsync apply'")
	_ = c.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"text", "json", "csv", "html"}, cobra.ShellCompDirectiveNoFileComp))
	return c
}

func runPlan(ctx context.Context, cfgPath string, full bool, output, out string, stdout, stderr io.Writer) error {
	switch output {
	case "text", "json", "csv", "html":
	default:
		return usagef("-o must be text, json, csv or html, not %q", output)
	}
	cfg, log, closeLog, err := openConfig(cfgPath, stderr)
	if err != nil {
		return err
	}
	defer closeLog()
	bar := newProgress(stderr)
	e, err := newEngine(cfg, log, &stateOpener{path: cfg.StatePath}, bar)
	if err != nil {
		return err
	}
	defer e.close()
	var p *agent.Plan
	if out != "" {
		p, err = savePlan(ctx, e, full, out)
	} else {
		p, err = e.agent.Plan(ctx, full)
	}
	bar.finish()
	if err != nil {
		return err
	}
	return writePlan(stdout, p, output, planReportMeta{Pool: cfg.UserpoolID, Agent: cfg.AgentID, Version: version,
		Generated: time.Now().UTC().Format(time.RFC3339)})
}

// writePlan writes p in format (text, json, csv or html). A plan that a
// safety limit stops returns a *agent.SafetyError after it is written, so
// every format exits as the cycle would.
func writePlan(w io.Writer, p *agent.Plan, format string, meta planReportMeta) error {
	var err error
	switch format {
	case "json":
		err = writePlanJSON(w, p)
	case "csv":
		err = writePlanCSV(w, p)
	case "html":
		err = writePlanHTML(w, p, meta)
	default:
		writePlanText(w, p)
	}
	if err != nil {
		return err
	}
	if p.Safety != nil {
		return &agent.SafetyError{Stop: p.Safety}
	}
	return nil
}

// writePlanJSON prints the plan as indented JSON, with empty lists as [].
func writePlanJSON(w io.Writer, p *agent.Plan) error {
	out := *p
	if out.Users == nil {
		out.Users = []agent.UserChange{}
	}
	if out.Groups == nil {
		out.Groups = []agent.GroupChange{}
	}
	if out.Members == nil {
		out.Members = []agent.MemberChange{}
	}
	if out.Rejected == nil {
		out.Rejected = []agent.Rejection{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	return nil
}
