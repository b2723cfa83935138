package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/idsync/idsync/internal/state"
)

// quarantineLockWait is how long `idsync jobs quarantine` waits for a
// running cycle to release the state database.
const quarantineLockWait = 30 * time.Second

// jobsQuarantine lists the objects whose changes keep failing, or releases
// one (args: "release OBJECT").
func jobsQuarantine(statePath string, args []string, output string, stdout io.Writer) error {
	switch {
	case len(args) == 0:
	case args[0] == "release" && len(args) == 2:
	case args[0] == "release":
		return usagef("jobs quarantine release needs one object: a username, group name, DN or external id")
	default:
		return usagef("jobs quarantine takes no arguments, or release OBJECT")
	}
	st, err := state.OpenWith(statePath, state.Options{LockWait: quarantineLockWait})
	if err != nil {
		return fmt.Errorf("open the state database (is a cycle running? try again when it ends): %w", err)
	}
	defer st.Close()
	if len(args) == 2 {
		rel, err := st.ReleaseFailure(args[1])
		if err != nil {
			return err
		}
		if len(rel) == 0 {
			return usagef("no failing object %q (see 'idsync jobs quarantine')", args[1])
		}
		for _, f := range rel {
			fmt.Fprintf(stdout, "released %s %s (%s); it is tried at the next cycle\n", f.Object(), orDash(f.Name), f.ExternalID)
		}
		return nil
	}
	fs, err := st.Failures()
	if err != nil {
		return err
	}
	if output == "json" {
		type row struct {
			Object string `json:"object"`
			state.Failure
		}
		rows := make([]row, 0, len(fs))
		for _, f := range fs {
			rows = append(rows, row{f.Object(), f})
		}
		return writeJSON(stdout, rows)
	}
	writeQuarantine(stdout, fs, time.Local)
	return nil
}

// writeQuarantine prints one line per failing object, quarantined first.
func writeQuarantine(w io.Writer, fs []state.Failure, loc *time.Location) {
	n := 0
	for _, f := range fs {
		if f.Quarantined {
			n++
		}
	}
	fmt.Fprintf(w, "%d objects quarantined, %d more failing\n", n, len(fs)-n)
	if len(fs) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STATE\tOBJECT\tNAME\tEXTERNAL ID\tFAILURES\tLAST FAILURE\tLAST ERROR")
	for _, quarantined := range []bool{true, false} {
		for _, f := range fs {
			if f.Quarantined != quarantined {
				continue
			}
			st := "failing"
			switch {
			case f.Released:
				st = "released"
			case f.Quarantined:
				st = "quarantined"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", st, f.Object(), orDash(f.Name), f.ExternalID, f.Count,
				f.Last.In(loc).Format(time.RFC3339), orDash(f.LastError))
		}
	}
	tw.Flush()
}
