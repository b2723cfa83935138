package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"

	"github.com/kardianos/service"

	"github.com/idsync/idsync/internal/config"
)

var serviceActions = []string{"install", "uninstall", "start", "stop", "status"}

func cmdService(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || !slices.Contains(serviceActions, args[0]) {
		fmt.Fprintln(stderr, "Usage: idsync service install|uninstall|start|stop|status --config FILE\n       idsync service install [--user ACCOUNT] [--start auto|delayed|manual|disabled] --config FILE   (Windows)\n\nManage the idsync system service (systemd on Linux, the Service Control Manager on\nWindows). The service runs 'idsync run --config FILE' with the absolute path of FILE.\n\nOn Linux, install writes a unit with the packaged unit's sandbox that runs as the\nsystem user idsync (create it first, and make the config and key files its own);\nit refuses when the idsync package's unit is installed: use systemctl there.\n\nOn Windows, install registers the service (delayed automatic start, restart on\nfailure, as LocalSystem unless --user names an account) and its Application log\nsource idsync. A gMSA needs no password:\n  idsync service install --user 'CORP\\svc-idsync$' --config C:\\ProgramData\\idsync\\config.yaml\nAny other account's password is read from $IDSYNC_SERVICE_PASSWORD.")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return usagef("service needs an action: install, uninstall, start, stop or status")
	}
	action := args[0]
	fs := newFlagSet("service "+action, stderr)
	cfgPath := fs.String("config", "", "config file (required)")
	var inst installOptions
	if action == "install" {
		fs.StringVar(&inst.user, "user", "", `Windows: the account the service runs as, such as CORP\svc-idsync$ (a gMSA; no password) or CORP\svc-idsync (password in $`+servicePasswordEnv+`); default LocalSystem`)
		fs.StringVar(&inst.start, "start", "delayed", "Windows: start type: auto, delayed (automatic, delayed start), manual or disabled")
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *cfgPath == "" {
		return usagef("--config is required")
	}
	sc := serviceConfig(*cfgPath)
	if action == "install" {
		if err := applyInstallOptions(sc, inst, runtime.GOOS, os.LookupEnv); err != nil {
			return err
		}
	}
	var eventSource string
	if action == "install" {
		if runtime.GOOS == "linux" {
			if err := checkPackagedUnit(); err != nil {
				return fmt.Errorf("service install: %w", err)
			}
		}
		// Refuse to install a service that could not start.
		cfg, err := loadConfig(*cfgPath)
		if err != nil {
			return err
		}
		if runtime.GOOS == "linux" {
			if err := prepareSystemdUnit(sc, cfg); err != nil {
				return fmt.Errorf("service install: %w", err)
			}
		}
		eventSource = cfg.Logger.EventLog.Source
	}
	if action == "uninstall" {
		if cfg, err := loadConfig(*cfgPath); err == nil {
			eventSource = cfg.Logger.EventLog.Source
		}
	}
	svc, err := service.New(&program{}, sc)
	if err != nil {
		return fmt.Errorf("service: %w", err)
	}
	if action == "status" {
		st, err := svc.Status()
		if err != nil {
			return fmt.Errorf("service status: %w", err)
		}
		names := map[service.Status]string{service.StatusRunning: "running", service.StatusStopped: "stopped"}
		name, ok := names[st]
		if !ok {
			name = "unknown"
		}
		fmt.Fprintf(stdout, "idsync service: %s (%s)\n", name, svc.Platform())
		return nil
	}
	if err := service.Control(svc, action); err != nil {
		return fmt.Errorf("service %s: %w", action, err)
	}
	if eventSource != "" {
		// Windows only: register (or remove) the Application log source of
		// logger.event_log.source, as the Yandex agent's --install-eventlog.
		reg := installEventSource
		if action == "uninstall" {
			reg = removeEventSource
		}
		if err := reg(eventSource); err != nil {
			return fmt.Errorf("service %s: %w", action, err)
		}
	}
	fmt.Fprintf(stdout, "idsync service: %s done (%s)\n", action, svc.Platform())
	return nil
}

// prepareSystemdUnit gives the unit the packaged unit's user and sandbox
// (see systemdUnit) and makes the state directory the service user's. It
// refuses when the user is missing.
func prepareSystemdUnit(sc *service.Config, cfg *config.Config) error {
	u, err := user.Lookup(serviceUser)
	if err != nil {
		return fmt.Errorf("the service runs as the system user %q, which does not exist: create it "+
			"(useradd --system --home-dir /var/lib/idsync --shell /usr/sbin/nologin %s) and give it the config file: %w", serviceUser, serviceUser, err)
	}
	bin, err := os.Executable()
	if err != nil {
		return fmt.Errorf("locating the idsync binary: %w", err)
	}
	logDir := ""
	if cfg.Logger.File.Filename != "" {
		logDir = filepath.Dir(cfg.Logger.File.Filename)
	}
	p := unitPaths{
		Binary: bin, Config: absPaths(cfg.File())[0],
		Read:  absPaths(cfg.CloudCredentialsFilePath, cfg.LDAP.CertificatePath),
		Write: absPaths(cfg.StatePath, logDir),
	}
	unit, err := systemdUnit(p)
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	for _, dir := range p.Write {
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return fmt.Errorf("creating %s: %w", dir, err)
			}
			if err := os.Chown(dir, uid, gid); err != nil {
				return fmt.Errorf("giving %s to %s: %w", dir, serviceUser, err)
			}
		}
	}
	sc.Option["SystemdScript"] = unit
	return nil
}
