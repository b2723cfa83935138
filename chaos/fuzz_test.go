//go:build chaos

package chaos

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestFuzz runs the project's fuzzers with `go test -fuzz` for a while
// each: the config loader, the planner (applying a plan to random source
// and target states must make them equal), the group-name mapper, the
// AD attribute decoders and the emulator's request validation. Seeds live
// in the fuzz functions (f.Add) and testdata/fuzz; a crasher found here is
// written to the package's testdata/fuzz and fails the row.
func TestFuzz(t *testing.T) {
	sc := begin(t, "fuzz: config, planner, decoders, group names")
	fuzzers := []struct{ pkg, name string }{
		{"./internal/config", "FuzzParse"},
		{"./agent", "FuzzPlanConverges"},
		{"./agent", "FuzzSanitizeGroupName"},
		{"./ldapsource", "FuzzDecodeGUID"},
		{"./ldapsource", "FuzzDecodeSID"},
		{"./ldapsource", "FuzzParseFileTime"},
		{"./internal/emulator/validation", "FuzzCheck"},
	}
	each := 30 * time.Second
	if !full {
		// CI: the planner and the config loader, briefly; the seeds of all
		// of them already run in every `go test`.
		fuzzers, each = fuzzers[:2], 5*time.Second
	}
	if v, err := time.ParseDuration(os.Getenv("CHAOS_FUZZTIME")); err == nil {
		each = v
	}
	for _, f := range fuzzers {
		sc.trial()
		cmd := exec.CommandContext(t.Context(), "go", "test", "-run=^$", "-fuzz=^"+f.name+"$", "-fuzztime="+each.String(), "-parallel=1", f.pkg)
		cmd.Dir = ".."
		out, err := cmd.CombinedOutput()
		if err != nil {
			sc.fail("%s %s: %v\n%s", f.pkg, f.name, err, out)
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		last := ""
		for _, l := range lines {
			if strings.HasPrefix(l, "fuzz: elapsed") {
				last = l
			}
		}
		// `go test -fuzz` exits 0 when no target matches: a run that never
		// fuzzed must not pass.
		if last == "" {
			sc.fail("%s %s: no fuzzing progress in the output\n%s", f.pkg, f.name, out)
			t.Errorf("%s %s did not fuzz", f.pkg, f.name)
			continue
		}
		t.Logf("%s %s: %s", f.pkg, f.name, last)
	}
}
