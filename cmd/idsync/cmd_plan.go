package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/idsync/idsync/agent"
)

func cmdPlan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("plan", stderr)
	cfgPath := fs.String("config", "", "config file (required)")
	full := fs.Bool("full", false, "plan a full comparison instead of a delta")
	output := fs.String("o", "text", "output format: text or json")
	out := fs.String("out", "", "also save the plan to this file, bound to the directory and the pool's replication token, for 'idsync apply'")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: idsync plan [--full] [-o json] [--out plan.json] --config FILE\n\nShow what a cycle would change, without opening a session or changing anything.\nWith --out, save it for 'idsync apply plan.json', which applies exactly these\nchanges if neither the directory nor the pool moved since.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *output != "text" && *output != "json" {
		return usagef("-o must be text or json, not %q", *output)
	}
	cfg, log, closeLog, err := openConfig(*cfgPath, stderr)
	if err != nil {
		return err
	}
	defer closeLog()
	e, err := newEngine(cfg, log, &stateOpener{path: cfg.StatePath}, nil)
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
	if err != nil {
		return err
	}
	if *output == "json" {
		return writePlanJSON(stdout, p)
	}
	writePlanText(stdout, p)
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

// writePlanText prints one line per change, then a summary.
func writePlanText(w io.Writer, p *agent.Plan) {
	adds, removes := 0, 0
	for _, c := range p.Users {
		verb := string(c.Action)
		if c.Status != agent.StatusSame {
			if verb != "" {
				verb += "+"
			}
			verb += string(c.Status)
		}
		fmt.Fprintf(w, "user   %-20s %s (%s)", verb, c.Fields.Username, c.ExternalID)
		if len(c.Mask) > 0 {
			fmt.Fprintf(w, " fields %v", c.Mask)
		}
		fmt.Fprintln(w)
	}
	for _, c := range p.Groups {
		fmt.Fprintf(w, "group  %-20s %s", c.Action, c.Name)
		if c.ADName != "" {
			fmt.Fprintf(w, " (AD %q)", c.ADName)
		}
		fmt.Fprintf(w, " (%s)", c.ExternalID)
		if len(c.Mask) > 0 {
			fmt.Fprintf(w, " fields %v", c.Mask)
		}
		if c.PreviousName != "" && c.PreviousName != c.Name {
			fmt.Fprintf(w, " renamed from %s", c.PreviousName)
		}
		fmt.Fprintln(w)
	}
	for _, m := range p.Members {
		fmt.Fprintf(w, "group  %-20s %s (%s) +%d -%d\n", "members", m.GroupName, m.GroupExternalID, len(m.Add), len(m.Remove))
		adds += len(m.Add)
		removes += len(m.Remove)
	}
	for _, r := range p.Rejected {
		fmt.Fprintf(w, "REJECTED %s %s %s: %s\n", r.Object, r.ExternalID, r.DN, r.Reason)
	}
	fmt.Fprintf(w, "%s plan: %d user changes, %d group changes, %d memberships to add, %d to remove, %d rejected, %d users and %d groups unchanged\n",
		p.Mode, len(p.Users), len(p.Groups), adds, removes, len(p.Rejected), p.SameUsers, p.SameGroups)
	if p.Safety != nil {
		fmt.Fprintf(w, "SAFETY STOP: %s\n", p.Safety.Reason)
	}
	writeGuards(w, p)
}
