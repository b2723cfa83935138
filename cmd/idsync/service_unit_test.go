package main

import (
	"bufio"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
)

// unitLines returns the [Service] lines of a unit, comments and blank lines
// left out.
func unitLines(text string) []string {
	var out []string
	in := false
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "["):
			in = line == "[Service]"
		case in && line != "" && !strings.HasPrefix(line, "#"):
			out = append(out, line)
		}
	}
	return out
}

// The unit `service install` writes runs as the packaged unit's user, with
// its restart policy and every one of its sandbox settings.
func TestSystemdUnitMatchesPackagedUnit(t *testing.T) {
	packaged, err := os.ReadFile("../../packaging/systemd/idsync.service")
	if err != nil {
		t.Fatal(err)
	}
	unit, err := systemdUnit(unitPaths{
		Binary: "/usr/local/bin/idsync", Config: "/etc/idsync/config.yaml",
		Read:  []string{"/etc/idsync/key.json"},
		Write: []string{"/var/lib/idsync", "/var/log/idsync"},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := unitLines(unit)
	// Where the package's paths and file layout differ from an installed
	// binary's, the lines differ on purpose.
	differ := []string{"ExecStart=", "StateDirectory", "LogsDirectory", "ReadWritePaths=", "Documentation="}
	for _, want := range unitLines(string(packaged)) {
		if slices.ContainsFunc(differ, func(p string) bool { return strings.HasPrefix(want, p) }) {
			continue
		}
		if !slices.Contains(got, want) {
			t.Errorf("the written unit lacks the packaged unit's %q", want)
		}
	}
	for _, want := range []string{"ReadWritePaths=/var/lib/idsync", "ReadWritePaths=/var/log/idsync", "ProtectHome=yes", "User=idsync"} {
		if !slices.Contains(got, want) {
			t.Errorf("the written unit lacks %q:\n%s", want, unit)
		}
	}
	if !strings.Contains(unit, "ExecStart={{Path | cmdEscape}}{{range Arguments}} {{. | cmd}}{{end}}") {
		t.Errorf("the written unit has no ExecStart template:\n%s", unit)
	}
}

// Files under a home directory are reachable read-only; files under /tmp
// are refused (the service has a private /tmp).
func TestSystemdUnitPaths(t *testing.T) {
	unit, err := systemdUnit(unitPaths{Binary: "/home/ops/bin/idsync", Config: "/etc/idsync/config.yaml", Write: []string{"/var/lib/idsync"}})
	if err != nil {
		t.Fatal(err)
	}
	if lines := unitLines(unit); !slices.Contains(lines, "ProtectHome=read-only") || slices.Contains(lines, "ProtectHome=yes") {
		t.Errorf("a binary under /home: want ProtectHome=read-only only:\n%s", unit)
	}
	for _, p := range []unitPaths{
		{Binary: "/usr/bin/idsync", Config: "/tmp/x/config.yaml"},
		{Binary: "/usr/bin/idsync", Config: "/etc/idsync/config.yaml", Write: []string{"/var/tmp/state"}},
	} {
		if _, err := systemdUnit(p); err == nil || !strings.Contains(err.Error(), "private /tmp") {
			t.Errorf("%+v: err %v, want a refusal naming the private /tmp", p, err)
		}
	}
}

// With the package's unit installed, `service install` refuses.
func TestCheckPackagedUnit(t *testing.T) {
	unit := t.TempDir() + "/idsync.service"
	old := packagedUnits
	t.Cleanup(func() { packagedUnits = old })
	packagedUnits = []string{unit}
	if err := checkPackagedUnit(); err != nil {
		t.Fatalf("no packaged unit: %v", err)
	}
	if err := os.WriteFile(unit, []byte("[Unit]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := checkPackagedUnit(); !errors.Is(err, errPackagedUnit) {
		t.Fatalf("packaged unit present: %v, want errPackagedUnit", err)
	}
}
