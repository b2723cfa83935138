package main

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func TestStartProfilesWritesProfilesWhenAsked(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "prof")
	t.Setenv(profileEnv, dir)
	stop, err := startProfiles()
	if err != nil {
		t.Fatal(err)
	}
	stop()
	for _, name := range []string{"cpu", "heap"} {
		path := filepath.Join(dir, name+"-"+strconv.Itoa(os.Getpid())+".pprof")
		if st, err := os.Stat(path); err != nil || st.Size() == 0 {
			t.Errorf("%s profile: %v", name, err)
		}
	}
}

func TestStartProfilesIsOffByDefault(t *testing.T) {
	t.Setenv(profileEnv, "")
	stop, err := startProfiles()
	if err != nil {
		t.Fatal(err)
	}
	stop()
}
