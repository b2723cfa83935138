package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kardianos/service"

	"github.com/idsync/idsync/internal/config"
)

func TestApplyInstallOptions(t *testing.T) {
	env := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	tests := []struct {
		name    string
		o       installOptions
		goos    string
		env     map[string]string
		user    string
		opts    service.KeyValue // the options that must be set
		wantErr string
	}{
		{name: "default: LocalSystem, delayed automatic start", o: installOptions{start: "delayed"}, goos: "windows",
			opts: service.KeyValue{optStartType: "automatic", "DelayedAutoStart": true}},
		{name: "gMSA needs no password", o: installOptions{user: `CORP\svc-idsync$`, start: "auto"}, goos: "windows", user: `CORP\svc-idsync$`,
			opts: service.KeyValue{optStartType: "automatic", "DelayedAutoStart": false}},
		{name: "an account's password comes from the environment", o: installOptions{user: `CORP\svc-idsync`, start: "manual"}, goos: "windows",
			env: map[string]string{servicePasswordEnv: "pw"}, user: `CORP\svc-idsync`,
			opts: service.KeyValue{optStartType: "manual", "Password": "pw"}},
		{name: "an account without its password", o: installOptions{user: `CORP\svc-idsync`}, goos: "windows", wantErr: servicePasswordEnv},
		{name: "disabled", o: installOptions{start: "disabled"}, goos: "windows", opts: service.KeyValue{optStartType: "disabled"}},
		{name: "bad start type", o: installOptions{start: "sometimes"}, goos: "windows", wantErr: "--start must be"},
		{name: "linux takes the defaults", o: installOptions{start: "delayed"}, goos: "linux"},
		{name: "linux refuses --user", o: installOptions{user: "root", start: "delayed"}, goos: "linux", wantErr: "for Windows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := serviceConfig("/etc/idsync/config.yaml")
			err := applyInstallOptions(sc, tt.o, tt.goos, env(tt.env))
			if tt.wantErr != "" {
				var ue usageError
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.As(err, &ue) {
					t.Fatalf("error %v, want a usage error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if sc.UserName != tt.user {
				t.Errorf("user %q, want %q", sc.UserName, tt.user)
			}
			for k, v := range tt.opts {
				if sc.Option[k] != v {
					t.Errorf("option %s = %v, want %v", k, sc.Option[k], v)
				}
			}
			if _, ok := sc.Option["Password"]; ok && tt.opts["Password"] == nil {
				t.Error("a password was set")
			}
		})
	}
}

// Windows takes service names as dependencies: the systemd ordering must
// not reach it.
func TestUnitDependencies(t *testing.T) {
	if d := unitDependencies("windows"); d != nil {
		t.Errorf("windows dependencies %v, want none", d)
	}
	if d := unitDependencies("linux"); len(d) != 2 {
		t.Errorf("linux dependencies %v", d)
	}
}

func TestServiceLogDefaults(t *testing.T) {
	dir := windowsDataDir(func(k string) string {
		if k == "ProgramData" {
			return "/pd"
		}
		return ""
	})
	if dir != filepath.Join("/pd", "idsync") {
		t.Errorf("data dir %q", dir)
	}
	got := serviceLogDefaults(config.Logger{Level: "info"}, dir, true)
	if got.File.Filename != filepath.Join("/pd", "idsync", "idsync.log") || got.File.MaxSize != 30 || got.File.MaxBackups != 10 || got.EventLog.Source != windowsEventSource {
		t.Errorf("defaults %+v", got)
	}
	own := config.Logger{File: config.LogFile{Filename: `D:\logs\sync.log`, MaxSize: 5}, EventLog: config.EventLog{Source: "IdentityHubSync"}}
	if got := serviceLogDefaults(own, dir, true); got != own {
		t.Errorf("the config's own destinations changed: %+v", got)
	}
	// Without the registered source only the file is a default.
	if got := serviceLogDefaults(config.Logger{}, dir, false); got.EventLog.Source != "" || got.File.Filename == "" {
		t.Errorf("defaults without the event source %+v", got)
	}
}

// A config error at service start lands in the log file and the event log.
func TestRecordStartFailure(t *testing.T) {
	logFile := filepath.Join(t.TempDir(), "idsync", "idsync.log")
	ev := &fakeEvents{}
	recordStartFailure(errors.New("line 4: ldap.host: must be an ldaps:// or ldap:// URL"), logFile, ev, time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	b, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	want := "2026-12-01T10:00:00.000Z\tERROR\tidsync service could not start: line 4: ldap.host: must be an ldaps:// or ldap:// URL\n"
	if string(b) != want {
		t.Errorf("log file %q, want %q", b, want)
	}
	if len(ev.got) != 1 || ev.got[0].kind != "error" || !strings.Contains(ev.got[0].msg, "ldap.host") {
		t.Errorf("events %+v", ev.got)
	}
}
