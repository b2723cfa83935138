package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/kardianos/service"
	"gopkg.in/natefinch/lumberjack.v2"

	"github.com/idsync/idsync/internal/config"
)

// Windows service defaults.
const (
	// windowsEventSource is the Application log source of the service:
	// `idsync service install` registers it under the service's name.
	windowsEventSource = "idsync"
	// servicePasswordEnv holds the password of a --user account that is
	// not a gMSA, so that it never appears on a command line.
	servicePasswordEnv = "IDSYNC_SERVICE_PASSWORD"
	// optStartType is kardianos/service's Windows start type option
	// (automatic, manual or disabled); its constant exists only in Windows
	// builds.
	optStartType = "StartType"
)

// installOptions are the `service install` flags for the account and the
// start type.
type installOptions struct {
	user  string // DOMAIN\name, name@domain, or a gMSA DOMAIN\name$
	start string // auto, delayed, manual or disabled
}

// applyInstallOptions sets the service account and start type on sc for
// goos; lookupEnv gives the account password of a --user that is not a
// gMSA. Only Windows takes them: on Linux the unit runs as the system user
// idsync and starts at boot.
func applyInstallOptions(sc *service.Config, o installOptions, goos string, lookupEnv func(string) (string, bool)) error {
	if goos != "windows" {
		if o.user != "" || (o.start != "" && o.start != "delayed") {
			return usagef("--user and --start are for Windows; on %s the unit runs as the system user %s and starts at boot", goos, serviceUser)
		}
		return nil
	}
	switch o.start {
	case "", "delayed":
		sc.Option[optStartType] = "automatic"
		sc.Option["DelayedAutoStart"] = true
	case "auto":
		sc.Option[optStartType] = "automatic"
		sc.Option["DelayedAutoStart"] = false
	case "manual":
		sc.Option[optStartType] = "manual"
		sc.Option["DelayedAutoStart"] = false
	case "disabled":
		sc.Option[optStartType] = "disabled"
		sc.Option["DelayedAutoStart"] = false
	default:
		return usagef("--start must be auto, delayed, manual or disabled, not %q", o.start)
	}
	if o.user == "" {
		return nil // LocalSystem
	}
	sc.UserName = o.user
	if strings.HasSuffix(o.user, "$") {
		return nil // a gMSA: Windows keeps its password
	}
	pw, ok := lookupEnv(servicePasswordEnv)
	if !ok || pw == "" {
		return usagef("--user %s is not a gMSA (DOMAIN\\name$): set its password in the environment variable %s", o.user, servicePasswordEnv)
	}
	sc.Option["Password"] = pw
	return nil
}

// windowsDataDir is %ProgramData%\idsync, where the service writes its log
// by default.
func windowsDataDir(getenv func(string) string) string {
	pd := getenv("ProgramData")
	if pd == "" {
		pd = `C:\ProgramData`
	}
	return filepath.Join(pd, "idsync")
}

// serviceLogDefaults gives the logger of a Windows service the destinations
// an admin looks at when the config names none: a rotating file in
// dataDir and, when haveSource (the service's source is registered, as
// `service install` does), the Application event log under that source.
func serviceLogDefaults(l config.Logger, dataDir string, haveSource bool) config.Logger {
	if l.File.Filename == "" {
		l.File.Filename = filepath.Join(dataDir, "idsync.log")
		if l.File.MaxSize == 0 {
			l.File.MaxSize = 30
		}
		if l.File.MaxBackups == 0 {
			l.File.MaxBackups = 10
		}
	}
	if l.EventLog.Source == "" && haveSource {
		l.EventLog.Source = windowsEventSource
	}
	return l
}

// eventSourceRegistered reports whether the service's event source can be
// opened: a service registered by hand (sc.exe) may lack it, and a default
// must not stop the service from starting.
func eventSourceRegistered() bool {
	l, err := openEventLog(windowsEventSource)
	if err != nil || l == nil {
		return false
	}
	_ = l.Close()
	return true
}

// runningAsWindowsService reports whether this process is the Windows
// service (not a command typed by an admin).
func runningAsWindowsService() bool {
	return runtime.GOOS == "windows" && !service.Interactive()
}

// recordStartFailure writes why the service could not start (a config
// error) where an admin looks: one line in logFile (rotated as the log is)
// and, when events is not nil, an error event. Either may fail; the
// service manager still sees the exit status.
func recordStartFailure(err error, logFile string, events eventWriter, now time.Time) {
	msg := "idsync service could not start: " + err.Error()
	if logFile != "" {
		if mkErr := os.MkdirAll(filepath.Dir(logFile), 0o700); mkErr == nil {
			f := &lumberjack.Logger{Filename: logFile, MaxSize: 30, MaxBackups: 10}
			_, _ = io.WriteString(f, fmt.Sprintf("%s\tERROR\t%s\n", now.Format("2006-01-02T15:04:05.000Z0700"), msg))
			_ = f.Close()
		}
	}
	if events != nil {
		_ = events.Error(eventIDError, msg)
	}
}
