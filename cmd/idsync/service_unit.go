package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// serviceUser is the account the service runs as, as in the packaged unit.
const serviceUser = "idsync"

// packagedUnits are where the .deb (and distribution packages) put the
// unit; `idsync service install` does not write a second one beside it.
var packagedUnits = []string{"/lib/systemd/system/idsync.service", "/usr/lib/systemd/system/idsync.service"}

// unitHardening is the sandbox of the packaged unit
// (packaging/systemd/idsync.service); a test keeps the two the same.
var unitHardening = []string{
	"UMask=0077",
	"LimitCORE=0",
	"NoNewPrivileges=yes",
	"CapabilityBoundingSet=",
	"AmbientCapabilities=",
	"ProtectSystem=strict",
	"PrivateTmp=yes",
	"PrivateDevices=yes",
	"PrivateUsers=yes",
	"ProtectHostname=yes",
	"ProtectClock=yes",
	"ProtectKernelTunables=yes",
	"ProtectKernelModules=yes",
	"ProtectKernelLogs=yes",
	"ProtectControlGroups=yes",
	"ProtectProc=invisible",
	"ProcSubset=pid",
	"PrivateMounts=yes",
	"RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
	"RestrictNamespaces=yes",
	"RestrictRealtime=yes",
	"RestrictSUIDSGID=yes",
	"LockPersonality=yes",
	"MemoryDenyWriteExecute=yes",
	"RemoveIPC=yes",
	"SystemCallArchitectures=native",
	"SystemCallFilter=@system-service",
	"SystemCallFilter=~@privileged",
	"SystemCallErrorNumber=EPERM",
}

// unitPaths are the files the service uses, absolute.
type unitPaths struct {
	Binary, Config string
	Read           []string // key, CA and secret files
	Write          []string // the state directory, the log file's directory
}

// homeDirs are hidden by ProtectHome=yes; a service using files there gets
// ProtectHome=read-only instead.
var homeDirs = []string{"/home", "/root", "/run/user"}

// systemdUnit returns the unit `idsync service install` writes on Linux: the
// packaged unit's user, restart policy and sandbox, with ReadWritePaths for
// the state and log directories. kardianos/service fills in ExecStart. It
// refuses paths under /tmp and /var/tmp, which the service's private /tmp
// hides.
func systemdUnit(p unitPaths) (string, error) {
	all := append([]string{p.Binary, p.Config}, append(p.Read, p.Write...)...)
	protectHome := "yes"
	for _, path := range all {
		if under(path, "/tmp", "/var/tmp") {
			return "", fmt.Errorf("%s: the service has a private /tmp and cannot use files under /tmp or /var/tmp; move it", path)
		}
		if under(path, homeDirs...) {
			protectHome = "read-only"
		}
	}
	var b strings.Builder
	b.WriteString(`[Unit]
Description={{Description}}
ConditionFileIsExecutable={{Path | cmdEscape}}
{{range Dependencies}}{{.}}
{{end}}
[Service]
Type=simple
User=` + serviceUser + `
Group=` + serviceUser + `
ExecStart={{Path | cmdEscape}}{{range Arguments}} {{. | cmd}}{{end}}
# Exit code 2 is a usage or configuration error: restarting cannot fix it.
# A crash never exits 2, so it is restarted.
Restart=on-failure
RestartSec=30s
RestartPreventExitStatus=2
TimeoutStopSec=60s
EnvironmentFile=-/etc/sysconfig/{{Name}}
`)
	for _, w := range p.Write {
		fmt.Fprintf(&b, "ReadWritePaths=%s\n", w)
	}
	b.WriteString("ProtectHome=" + protectHome + "\n")
	for _, h := range unitHardening {
		b.WriteString(h + "\n")
	}
	b.WriteString("\n[Install]\nWantedBy=multi-user.target\n")
	return b.String(), nil
}

// under reports whether path is one of dirs or below one of them.
func under(path string, dirs ...string) bool {
	for _, d := range dirs {
		if path == d || strings.HasPrefix(path, d+"/") {
			return true
		}
	}
	return false
}

// errPackagedUnit says the package's unit is installed.
var errPackagedUnit = errors.New("the idsync package's unit is installed: use 'systemctl enable --now idsync' with /etc/idsync/config.yaml instead of 'idsync service install'")

// checkPackagedUnit returns errPackagedUnit when a packaged unit exists.
func checkPackagedUnit() error {
	for _, u := range packagedUnits {
		if _, err := os.Stat(u); err == nil {
			return fmt.Errorf("%s: %w", u, errPackagedUnit)
		}
	}
	return nil
}

// absPaths makes paths absolute, skipping empty ones.
func absPaths(paths ...string) []string {
	var out []string
	for _, p := range paths {
		if p == "" {
			continue
		}
		if a, err := filepath.Abs(p); err == nil {
			p = a
		}
		out = append(out, p)
	}
	return out
}
