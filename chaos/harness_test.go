//go:build chaos

package chaos

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"
)

var (
	binPath string
	// full is false for CHAOS_LEVEL=ci: fewer trials, shorter fuzzing.
	full = os.Getenv("CHAOS_LEVEL") != "ci"
	seed = envInt("CHAOS_SEED", 1)
)

func envInt(name string, def int64) int64 {
	if v, err := strconv.ParseInt(os.Getenv(name), 10, 64); err == nil {
		return v
	}
	return def
}

// trials picks the trial count of the level.
func trials(ci, fullN int) int {
	if full {
		return fullN
	}
	return ci
}

// rng returns a random source fixed by CHAOS_SEED and the stream number, so
// that a scenario's choices do not depend on which scenarios ran before.
func rng(stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), stream))
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "idsync-chaos-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "idsync")
	if out, err := exec.Command("go", "build", "-o", binPath, "../cmd/idsync").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build idsync: %v\n%s", err, out)
		os.Exit(1)
	}
	start := time.Now()
	code := m.Run()
	os.RemoveAll(dir)
	var b bytes.Buffer
	printTable(&b, time.Since(start))
	os.Stdout.Write(b.Bytes())
	if path := os.Getenv("CHAOS_TABLE"); path != "" {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// row is one line of the result table.
type row struct {
	scenario string
	trials   int
	result   string
	took     time.Duration
}

var (
	tableMu sync.Mutex
	table   []row
)

// scenario counts the trials of one table row; the row is added when the
// test that began it ends, as "pass" or "FAIL" with the first failure.
type scenario struct {
	t      testing.TB
	mu     sync.Mutex
	n      int
	reason string
	note   string
}

// setNote adds a remark to a passing row.
func (sc *scenario) setNote(format string, args ...any) {
	sc.mu.Lock()
	sc.note = fmt.Sprintf(format, args...)
	sc.mu.Unlock()
}

func begin(t testing.TB, name string) *scenario {
	sc := &scenario{t: t}
	start := time.Now()
	t.Cleanup(func() {
		res := "pass"
		if sc.note != "" {
			res += " (" + sc.note + ")"
		}
		if t.Skipped() {
			// The suite never skips: a skip (no DC) fails the table.
			res = "FAIL: skipped (no domain controller?)"
		}
		if t.Failed() {
			res = "FAIL"
			if sc.reason != "" {
				res += ": " + sc.reason
			}
		}
		tableMu.Lock()
		table = append(table, row{scenario: name, trials: sc.n, result: res, took: time.Since(start).Round(100 * time.Millisecond)})
		tableMu.Unlock()
	})
	return sc
}

// trial counts one trial.
func (sc *scenario) trial() {
	sc.mu.Lock()
	sc.n++
	sc.mu.Unlock()
}

// fail fails the test and keeps the first reason for the table.
func (sc *scenario) fail(format string, args ...any) {
	sc.t.Helper()
	msg := fmt.Sprintf(format, args...)
	sc.mu.Lock()
	if sc.reason == "" {
		first, _, _ := strings.Cut(msg, "\n")
		if len(first) > 70 {
			first = first[:70] + "..."
		}
		sc.reason = first
	}
	sc.mu.Unlock()
	sc.t.Error(msg)
}

// fatal is fail plus FailNow.
func (sc *scenario) fatal(format string, args ...any) {
	sc.t.Helper()
	sc.fail(format, args...)
	sc.t.FailNow()
}

func printTable(w io.Writer, took time.Duration) {
	tableMu.Lock()
	defer tableMu.Unlock()
	level := "full"
	if !full {
		level = "ci"
	}
	fmt.Fprintf(w, "\nidsync chaos suite (level %s, seed %d, %s)\n\n", level, seed, took.Round(time.Second))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tTRIALS\tTOOK\tRESULT")
	failed := 0
	// Rows in the order of the issue, whatever order the tests ran in.
	order := []string{"cloud:", "directory:", "crash:", "agents:", "config:", "directory data:", "fuzz:", "security:"}
	rank := func(s string) int {
		for i, p := range order {
			if strings.HasPrefix(s, p) {
				return i
			}
		}
		return len(order)
	}
	sort.SliceStable(table, func(i, j int) bool { return rank(table[i].scenario) < rank(table[j].scenario) })
	for _, r := range table {
		if !strings.HasPrefix(r.result, "pass") {
			failed++
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", r.scenario, r.trials, r.took, r.result)
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d scenarios, %d failed\n", len(table), failed)
}

// result is one finished run of the binary.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// runBin runs the binary with env added to the environment.
func runBin(t testing.TB, env []string, args ...string) result {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), binPath, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("run idsync %v: %v", args, err)
	}
	return r
}

// waitFor polls cond every 20ms until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cond()
}
