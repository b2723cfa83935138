package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/bad/*.err from the current output")

// badEnv is the environment bad configs are loaded with.
var badEnv = map[string]string{
	"IDSYNC_LDAP_PASSWORD": "ldap-secret",
	"IDSYNC_EMPTY":         "",
}

// problemText renders the problems of err one per line, with the absolute
// testdata directory replaced by $TESTDATA so that the text is the same on
// every machine.
func problemText(t *testing.T, err error) string {
	t.Helper()
	var cerr *Error
	if !errors.As(err, &cerr) {
		t.Fatalf("error is %T, want *config.Error: %v", err, err)
	}
	if len(cerr.Problems) == 0 {
		t.Fatal("*config.Error without problems")
	}
	lines := make([]string, len(cerr.Problems))
	for i, p := range cerr.Problems {
		lines[i] = p.String()
	}
	return strings.ReplaceAll(strings.Join(lines, "\n")+"\n", testdataDir(t), "$TESTDATA")
}

// TestBadConfigs loads every testdata/bad/*.yaml and compares the problems
// with the .err file next to it. Run with -update to rewrite the .err files.
func TestBadConfigs(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 25 {
		t.Fatalf("found %d bad configs, want at least 25", len(files))
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			cfg, err := loadTest(file, badEnv)
			if err == nil {
				t.Fatalf("loaded without error: %+v", cfg)
			}
			if cfg != nil {
				t.Errorf("returned a config together with an error")
			}
			if !strings.Contains(err.Error(), file[len("testdata/bad/"):]) {
				t.Errorf("error does not name the file: %v", err)
			}
			got := problemText(t, err)
			golden := strings.TrimSuffix(file, ".yaml") + ".err"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read golden file (run with -update to create it): %v", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("problems differ from %s (-want +got):\n%s", golden, diff)
			}
		})
	}
}

// TestErrorFormat checks how problems and the joined error read.
func TestErrorFormat(t *testing.T) {
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{
			name: "line and key",
			err:  &Error{Problems: []Problem{{Line: 3, Key: "ldap.host", Msg: "bad"}}},
			want: "line 3: ldap.host: bad",
		},
		{
			name: "no line",
			err:  &Error{Problems: []Problem{{Key: "userpool_id", Msg: "required"}}},
			want: "userpool_id: required",
		},
		{
			name: "no key",
			err:  &Error{Problems: []Problem{{Line: 7, Msg: "syntax error: x"}}},
			want: "line 7: syntax error: x",
		},
		{
			name: "file prefix, several problems",
			err: &Error{File: "/etc/idsync.yaml", Problems: []Problem{
				{Line: 1, Key: "a", Msg: "one"},
				{Key: "b", Msg: "two"},
			}},
			want: "/etc/idsync.yaml: line 1: a: one\n/etc/idsync.yaml: b: two",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestProblemsSorted checks that problems come out by line, lineless last.
func TestProblemsSorted(t *testing.T) {
	got := sortProblems([]Problem{
		{Key: "x"}, {Line: 9, Key: "a"}, {Line: 2, Key: "b"}, {Key: "y"}, {Line: 2, Key: "c"},
	})
	want := []Problem{{Line: 2, Key: "b"}, {Line: 2, Key: "c"}, {Line: 9, Key: "a"}, {Key: "x"}, {Key: "y"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}
