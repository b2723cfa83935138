package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
)

// runCLI runs idsync with args and returns stdout, stderr and the exit code.
func runCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), code
}

// helpPaths lists the command paths whose help is pinned: every command of
// idsync, without cobra's completion scripts.
func helpPaths() [][]string {
	var paths [][]string
	walk(newRootCmd(io.Discard, io.Discard), func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" || (c.HasParent() && c.Parent().Name() == "completion") {
			return
		}
		path := strings.Fields(c.CommandPath())[1:]
		paths = append(paths, path)
	})
	return paths
}

// TestHelpGolden pins `idsync help <command>` for every command, and checks
// that each has a description, a usage line spelling its long flags with
// two dashes, and examples.
func TestHelpGolden(t *testing.T) {
	longSingleDash := regexp.MustCompile(`(^|[\s\[|])-[a-z][a-z-]+`)
	for _, path := range helpPaths() {
		name := "idsync"
		if len(path) > 0 {
			name = strings.Join(path, "-")
		}
		t.Run(name, func(t *testing.T) {
			out, errOut, code := runCLI(t, append([]string{"help"}, path...)...)
			if code != exitOK || errOut != "" {
				t.Fatalf("help %v: exit %d, stderr %q", path, code, errOut)
			}
			usage, _, ok := strings.Cut(out, "\nUsage:\n")
			if !ok || strings.TrimSpace(usage) == "" {
				t.Errorf("help %v has no description before its usage:\n%s", path, out)
			}
			_, rest, _ := strings.Cut(out, "\nUsage:\n")
			lines, _, _ := strings.Cut(rest, "\n\n")
			if m := longSingleDash.FindString(lines); m != "" {
				t.Errorf("usage of %v spells a long flag with one dash (%q):\n%s", path, m, lines)
			}
			if !strings.Contains(out, "\nExamples:\n  idsync ") && !(len(path) == 1 && path[0] == "completion") {
				t.Errorf("help %v has no examples:\n%s", path, out)
			}
			golden(t, filepath.Join("help", name+".golden.txt"), []byte(out))
		})
	}
}

func TestHelpSyncShowsFlagsAndExamples(t *testing.T) {
	for _, args := range [][]string{{"help", "sync"}, {"sync", "--help"}, {"sync", "-h"}, {"sync", "-help"}} {
		out, _, code := runCLI(t, args...)
		if code != exitOK {
			t.Fatalf("%v: exit %d", args, code)
		}
		for _, want := range []string{"idsync sync [--full [--accept-scope-change]]", "--full ", "--config FILE", "Examples:", "  idsync sync --full --dry-run --config"} {
			if !strings.Contains(out, want) {
				t.Errorf("%v lacks %q:\n%s", args, want, out)
			}
		}
	}
}

func TestVersion(t *testing.T) {
	flagOut, _, code := runCLI(t, "--version")
	if code != exitOK || !strings.HasPrefix(flagOut, "idsync "+version+" ") || !strings.HasSuffix(flagOut, "\n") {
		t.Fatalf("--version: exit %d, %q", code, flagOut)
	}
	cmdOut, _, code := runCLI(t, "version")
	if code != exitOK || cmdOut != flagOut {
		t.Errorf("version: exit %d, %q; --version printed %q", code, cmdOut, flagOut)
	}
}

// TestCompletion: each shell's script is the one of idsync, and the
// completions it asks idsync for name the commands and flags.
func TestCompletion(t *testing.T) {
	for shell, want := range map[string]string{
		"bash":       "__start_idsync",
		"zsh":        "#compdef idsync",
		"fish":       "complete -c idsync",
		"powershell": "Register-ArgumentCompleter",
	} {
		out, errOut, code := runCLI(t, "completion", shell)
		if code != exitOK || !strings.Contains(out, want) || !strings.Contains(out, "__complete") {
			t.Errorf("completion %s: exit %d, stderr %q, script lacks %q or __complete", shell, code, errOut, want)
		}
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{""}, []string{"apply", "check", "explain", "jobs", "plan", "run", "service", "sync", "version", "completion"}},
		{[]string{"sync", "--"}, []string{"--full", "--dry-run", "--config", "--object"}},
		{[]string{"jobs", ""}, []string{"list", "show", "quarantine"}},
		{[]string{"service", ""}, []string{"install", "status"}},
		{[]string{"plan", "-o", ""}, []string{"text", "json", "csv", "html"}},
	} {
		out, _, code := runCLI(t, append([]string{"__complete"}, tc.args...)...)
		var got []string
		for _, l := range strings.Split(out, "\n") {
			w, _, _ := strings.Cut(l, "\t")
			got = append(got, w)
		}
		for _, w := range tc.want {
			if code != exitOK || !slices.Contains(got, w) {
				t.Errorf("__complete %q: exit %d, no %q in %q", tc.args, code, w, got)
			}
		}
	}
}

func TestManPages(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1790000000")
	dir := t.TempDir()
	if _, errOut, code := runCLI(t, "man", dir); code != exitOK {
		t.Fatalf("man: exit %d: %s", code, errOut)
	}
	for _, page := range []string{"idsync.1", "idsync-sync.1", "idsync-jobs-show.1", "idsync-service-status.1", "idsync-completion-bash.1"} {
		if _, err := os.Stat(filepath.Join(dir, page)); err != nil {
			t.Errorf("no page %s: %v", page, err)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "idsync-sync.1"))
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, want := range []string{`.TH "IDSYNC" "1" "Sep 2026" "idsync ` + version, `\fB--full\fP`, "--accept-scope-change", ".SH EXAMPLE",
		"idsync sync --object ann@corp.example", `\fBidsync(1)\fP`} {
		if !strings.Contains(page, want) {
			t.Errorf("idsync-sync.1 lacks %q:\n%s", want, page)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "idsync-man.1")); err == nil {
		t.Error("the hidden man command has a page")
	}
}

// TestUsageExitCodes: whatever reports a usage error, idsync exits 2; help
// exits 0.
func TestUsageExitCodes(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{nil, exitUsage, ""},
		{[]string{"nosuch"}, exitUsage, `idsync: unknown command "nosuch"`},
		{[]string{"sync", "--bogus"}, exitUsage, "idsync sync: unknown flag: --bogus\nRun 'idsync help sync' for usage."},
		{[]string{"sync", "-bogus"}, exitUsage, "idsync sync: unknown shorthand flag"},
		{[]string{"plan", "extra", "--config", "x"}, exitUsage, "idsync plan: unexpected arguments: extra"},
		{[]string{"sync", "--full=maybe"}, exitUsage, "idsync sync: invalid argument"},
		{[]string{"jobs", "-n", "x", "list"}, exitUsage, "idsync jobs: invalid argument"},
		{[]string{"jobs"}, exitUsage, "idsync jobs: jobs needs a subcommand: list, quarantine, show"},
		{[]string{"jobs", "bogus"}, exitUsage, `unknown jobs subcommand "bogus"`},
		{[]string{"jobs", "show"}, exitUsage, "jobs show needs one job id"},
		{[]string{"jobs", "show", "a", "b"}, exitUsage, "idsync jobs: jobs show needs one job id, or last (see 'idsync jobs list')\nRun 'idsync help jobs show' for usage."},
		{[]string{"jobs", "quarantine", "foo"}, exitUsage, "jobs quarantine takes no arguments, or release OBJECT"},
		{[]string{"jobs", "quarantine", "release"}, exitUsage, "jobs quarantine release needs one object"},
		{[]string{"service"}, exitUsage, "service needs a subcommand: install, start, status, stop, uninstall"},
		{[]string{"service", "start"}, exitUsage, "idsync service: --config is required"},
		{[]string{"service", "install", "--user"}, exitUsage, "flag needs an argument: --user"},
		{[]string{"completion", "tcsh"}, exitUsage, `unknown completion subcommand "tcsh"`},
		{[]string{"help", "nosuch"}, exitUsage, `unknown command "nosuch"`},
		{[]string{"help", "jobs", "nosuch"}, exitUsage, `unknown command "nosuch" for "idsync jobs"`},
		{[]string{"apply"}, exitUsage, "apply needs one plan file"},
		{[]string{"emulator", "extra"}, exitUsage, "unexpected arguments: extra"},
		{[]string{"help"}, exitOK, ""},
		{[]string{"-h"}, exitOK, ""},
		{[]string{"--help"}, exitOK, ""},
		{[]string{"jobs", "show", "--help"}, exitOK, ""},
		{[]string{"emulator", "dump", "-h"}, exitOK, ""},
	} {
		out, errOut, code := runCLI(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.stderr) {
			t.Errorf("idsync %q: exit %d, want %d; stderr %q, want %q", tc.args, code, tc.code, errOut, tc.stderr)
		}
		if tc.code == exitOK && !strings.Contains(out, "Usage:") {
			t.Errorf("idsync %q printed no usage on stdout: %q", tc.args, out)
		}
	}
	// A bare idsync prints the usage on stdout, as before.
	if out, _, _ := runCLI(t); !strings.Contains(out, "Available Commands:") || !strings.Contains(out, "sync ") {
		t.Errorf("bare idsync: %q", out)
	}
}

func TestLegacyFlags(t *testing.T) {
	got := legacyFlags(newRootCmd(io.Discard, io.Discard), []string{"jobs", "-config", "c.yaml", "list", "-o", "json", "--o=text", "-n=3", "--n", "2",
		"-output", "json", "-full", "-dry-run=true", "-help", "-h", "-nosuch", "-1", "--", "-config"})
	want := []string{"jobs", "--config", "c.yaml", "list", "-o", "json", "-o=text", "-n=3", "-n", "2",
		"--output", "json", "--full", "--dry-run=true", "--help", "-h", "-nosuch", "-1", "--", "-config"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("legacyFlags (-want +got):\n%s", diff)
	}
}

// TestSingleDashFlagsStillWork runs commands as scripts written for the
// standard flag package spelled them.
func TestSingleDashFlagsStillWork(t *testing.T) {
	cfg, jobs := jobHistory(t)
	out, errOut, code := runCLI(t, "jobs", "list", "-config", cfg, "-n", "1")
	if code != exitOK || !strings.Contains(out, jobs[len(jobs)-1].ID) || strings.Contains(out, jobs[0].ID) {
		t.Errorf("jobs list -config F -n 1: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = runCLI(t, "jobs", "show", "last", "-config="+cfg, "--o", "json")
	if code != exitOK || !strings.Contains(out, `"SynchronizationJobId": "`+jobs[len(jobs)-1].ID) {
		t.Errorf("jobs show last -config=F --o json: exit %d\n%s%s", code, out, errOut)
	}
	// sync -full -dry-run -config F reaches the config (a usage error from
	// loading it, not from the flags).
	_, errOut, code = runCLI(t, "sync", "-full", "-dry-run", "-config", filepath.Join(t.TempDir(), "missing.yaml"))
	if code != exitUsage || !strings.Contains(errOut, "missing.yaml") || strings.Contains(errOut, "flag") {
		t.Errorf("sync -full -dry-run -config F: exit %d, %q", code, errOut)
	}
}
