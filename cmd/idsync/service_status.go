package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kardianos/service"

	"github.com/idsync/idsync/internal/config"
	"github.com/idsync/idsync/internal/state"
)

// serviceDefinition is what the service manager holds about the installed
// service: where it is defined, the command it runs and its account.
type serviceDefinition struct {
	Where   string   // the unit file, or the Service Control Manager
	Command []string // the binary and its arguments
	Account string
}

// serviceReport is what `idsync service status` found.
type serviceReport struct {
	Platform string // kardianos/service's platform, such as linux-systemd
	Name     string // the unit or service name
	State    string // running, stopped, failed, not installed or unknown (why)
	Def      *serviceDefinition
	Config   string // the config file the job history was read with
	LastJob  string // the last job's outcome, or why it is unknown
}

// The statuses that exit 1, as they did before the report existed, so that
// monitoring such as `idsync service status || alert` notices them.
var (
	errServiceNotInstalled = errors.New("the service is not installed")
	errServiceFailed       = errors.New("the service has failed")
	errServiceUnknown      = errors.New("the service manager gave no status")
)

// serviceStatus reports on the installed service; cfgPath, when set,
// overrides the config whose job history is read.
func serviceStatus(cfgPath string, stdout io.Writer) error {
	sc := serviceConfig("idsync.yaml")
	svc, err := service.New(&program{}, sc)
	if err != nil {
		return fmt.Errorf("service: %w", err)
	}
	def, err := installedService(sc.Name, svc.Platform())
	if err != nil {
		return fmt.Errorf("service status: %w", err)
	}
	r := inspectService(svc.Platform(), serviceUnitName(sc.Name, svc.Platform()), svc.Status, def, cfgPath, lastJob)
	r.write(stdout)
	return r.err()
}

// err is the error a report exits with: nil for a running or stopped
// service.
func (r serviceReport) err() error {
	switch {
	case r.State == "not installed":
		return errServiceNotInstalled
	case r.State == "failed":
		return errServiceFailed
	case strings.HasPrefix(r.State, "unknown"):
		return errServiceUnknown
	}
	return nil
}

// inspectService assembles the report from the service manager's status,
// the installed definition (nil when none was found) and the job history
// of the config the service runs with, or of cfgPath.
func inspectService(platform, name string, status func() (service.Status, error), def *serviceDefinition,
	cfgPath string, last func(cfgPath string) string) serviceReport {
	r := serviceReport{Platform: platform, Name: name, Def: def}
	st, err := status()
	switch {
	case errors.Is(err, service.ErrNotInstalled) && def == nil:
		r.State = "not installed"
		return r
	case err != nil && strings.Contains(err.Error(), "failed state"):
		r.State = "failed"
	case err != nil:
		r.State = "unknown (" + err.Error() + ")"
	case st == service.StatusRunning:
		r.State = "running"
	case st == service.StatusStopped:
		r.State = "stopped"
	default:
		r.State = "unknown"
	}
	r.Config = cfgPath
	if r.Config == "" && def != nil {
		r.Config = configArg(def.Command)
	}
	if r.Config != "" {
		r.LastJob = last(r.Config)
	}
	return r
}

// write prints the report; its first line is "idsync service: STATE
// (PLATFORM)".
func (r serviceReport) write(w io.Writer) {
	fmt.Fprintf(w, "idsync service: %s (%s)\n", r.State, r.Platform)
	row := func(k, v string) { fmt.Fprintf(w, "  %-10s%s\n", k, v) }
	row("name", r.Name)
	if r.State == "not installed" {
		row("install", "idsync service install --config FILE")
		return
	}
	if d := r.Def; d != nil {
		row("defined", d.Where)
		row("runs", quoteArgs(d.Command))
		row("account", orDash(d.Account))
	}
	row("config", orDash(r.Config))
	if r.LastJob != "" {
		row("last job", r.LastJob)
	}
}

// configArg returns the value of --config (or -config) in a command line.
func configArg(args []string) string {
	for i, a := range args {
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "config" {
			continue
		}
		if hasVal {
			return val
		}
		if i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// lastJob describes the newest job in the history of the config file
// cfgPath, or says why it cannot.
func lastJob(cfgPath string) string {
	statePath, err := config.LoadStatePath(cfgPath)
	if err != nil {
		return fmt.Sprintf("unknown: %v", err)
	}
	list, err := state.OpenJobs(statePath).List(1)
	switch {
	case err != nil:
		return fmt.Sprintf("unknown: %v", err)
	case len(list) == 0:
		return "none yet (" + statePath + ")"
	}
	return describeJob(list[0], time.Local)
}

// describeJob is one job on one line: id, status, start, trigger and the
// reason of a failure.
func describeJob(j *state.Job, loc *time.Location) string {
	s := fmt.Sprintf("%s %s, started %s (%s, took %s)", j.ID, j.Status, state.FormatTime(j.StartTime.Time, loc), j.TriggerType, took(j))
	if r := jobReason(j); r != "-" {
		s += ": " + r
	}
	return s
}
