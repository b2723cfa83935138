package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse: it must not panic, and every
// failure must be a *Error with at least one problem, or a valid config.
func FuzzParse(f *testing.F) {
	seeds, err := filepath.Glob("testdata/*/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range append(seeds, "../../config.example.yaml") {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	dir, err := filepath.Abs("testdata")
	if err != nil {
		f.Fatal(err)
	}
	env := func(name string) (string, bool) { v, ok := goodEnv[name]; return v, ok }
	host := func() (string, error) { return testHostname, nil }
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, ParseOptions{Dir: dir, LookupEnv: env, Hostname: host})
		if err != nil {
			var cerr *Error
			if !errors.As(err, &cerr) || len(cerr.Problems) == 0 {
				t.Fatalf("error is not a config error with problems: %T %v", err, err)
			}
			if cfg != nil {
				t.Fatal("config returned with an error")
			}
			return
		}
		if verr := cfg.Validate(); verr != nil {
			t.Fatalf("Parse accepted a config that Validate rejects: %v", verr)
		}
		if _, err := cfg.Redacted(); err != nil {
			t.Fatalf("Redacted: %v", err)
		}
	})
}
