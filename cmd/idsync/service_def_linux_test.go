package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The unit `idsync service install` writes, as kardianos/service renders
// it, gives the command, the config and the account back.
func TestReadUnit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "idsync.service")
	// As kardianos/service renders the unit of systemdUnit.
	rendered := "[Unit]\nDescription=idsync directory synchronization\nConditionFileIsExecutable=/usr/local/bin/idsync\n\n" +
		"[Service]\nType=simple\nUser=idsync\nGroup=idsync\n" +
		`ExecStart=/usr/local/bin/idsync "run" "--config" "/etc/idsync/my config.yaml"` + "\nRestart=on-failure\n"
	if err := os.WriteFile(path, []byte(rendered), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := readUnit([]string{filepath.Join(dir, "missing.service"), path})
	if err != nil || d == nil {
		t.Fatalf("readUnit: %v, %v", d, err)
	}
	want := serviceDefinition{Where: path, Command: []string{"/usr/local/bin/idsync", "run", "--config", "/etc/idsync/my config.yaml"}, Account: "idsync"}
	if diff := cmp.Diff(want, *d); diff != "" {
		t.Errorf("definition (-want +got):\n%s", diff)
	}
	if d, err := readUnit([]string{filepath.Join(dir, "missing.service")}); d != nil || err != nil {
		t.Errorf("no unit: %v, %v", d, err)
	}
	if got := parseUnit("[Service]\nExecStart=/usr/bin/idsync run --config /etc/idsync/config.yaml\n"); got.Account != "root" {
		t.Errorf("a unit without User= runs as %q, want root", got.Account)
	}
	if got, want := splitUnitCommand(`/opt/my\x20dir/idsync 'a b' "c\"d" e\ f`), []string{"/opt/my dir/idsync", "a b", `c"d`, "e f"}; !cmp.Equal(got, want) {
		t.Errorf("splitUnitCommand = %q, want %q", got, want)
	}
}
