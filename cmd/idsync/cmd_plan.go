package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/idsync/idsync/agent"
)

func cmdPlan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("plan", stderr)
	cfgPath := fs.String("config", "", "config file (required)")
	full := fs.Bool("full", false, "plan a full comparison instead of a delta")
	output := fs.String("o", "text", "output format: text, json, csv or html (a self-contained report)")
	out := fs.String("out", "", "also save the plan to this file, bound to the directory and the pool's replication token, for 'idsync apply'")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: idsync plan [--full] [-o text|json|csv|html] [--out plan.json] --config FILE\n\nShow what a cycle would change, without opening a session or changing anything.\nText shows names and old -> new values; JSON adds the external ids; html is a\nreport to attach to a change request (idsync plan -o html --config F > plan.html).\nA plan a safety limit would stop exits 4 in every format.\nWith --out, save it for 'idsync apply plan.json', which applies exactly these\nchanges if neither the directory nor the pool moved since.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch *output {
	case "text", "json", "csv", "html":
	default:
		return usagef("-o must be text, json, csv or html, not %q", *output)
	}
	cfg, log, closeLog, err := openConfig(*cfgPath, stderr)
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
	if *out != "" {
		p, err = savePlan(ctx, e, *full, *out)
	} else {
		p, err = e.agent.Plan(ctx, *full)
	}
	bar.finish()
	if err != nil {
		return err
	}
	return writePlan(stdout, p, *output, planReportMeta{Pool: cfg.UserpoolID, Agent: cfg.AgentID, Version: version,
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
