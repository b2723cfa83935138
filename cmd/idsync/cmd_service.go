package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/kardianos/service"
	"github.com/spf13/cobra"

	"github.com/idsync/idsync/internal/config"
)

// serviceActions are the subcommands of `idsync service`, with their help.
var serviceActions = []struct{ name, short, example string }{
	{"install", "install the service that runs 'idsync run --config FILE'",
		"  idsync service install --config /etc/idsync/config.yaml\n" +
			"  idsync service install --user 'CORP\\svc-idsync$' --start auto --config C:\\ProgramData\\idsync\\config.yaml"},
	{"uninstall", "remove the service", "  idsync service uninstall --config /etc/idsync/config.yaml"},
	{"start", "start the installed service", "  idsync service start --config /etc/idsync/config.yaml"},
	{"stop", "stop the service (it waits for the running cycle up to 20s)", "  idsync service stop --config /etc/idsync/config.yaml"},
	{"status", "say whether the service is installed and running, what it runs, as whom, and the last job",
		"  idsync service status\n  idsync service status --config /etc/idsync/config.yaml"},
}

const serviceLong = `Manage the idsync system service (systemd on Linux, the Service Control Manager on
Windows). The service runs 'idsync run --config FILE' with the absolute path of FILE.

On Linux, install writes a unit with the packaged unit's sandbox that runs as the
system user idsync (create it first, and make the config and key files its own);
it refuses when the idsync package's unit is installed: use systemctl there.

On Windows, install registers the service (delayed automatic start, restart on
failure, as LocalSystem unless --user names an account) and its Application log
source idsync. A gMSA needs no password; any other account's password is read
from $IDSYNC_SERVICE_PASSWORD.

status says whether the service is installed and running, its name, the command
and config file it runs with, its account and, when the state is readable, the
outcome of the last job. It reads the config from the installed service unless
--config names one, and exits 1 when the service is not installed.`

func newServiceCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "service install|uninstall|start|stop|status --config FILE",
		Short: "install, uninstall, start, stop or query the system service",
		Long:  serviceLong,
		Example: "  idsync service install --config /etc/idsync/config.yaml\n" +
			"  idsync service status\n" +
			"  idsync service install --user 'CORP\\svc-idsync$' --config C:\\ProgramData\\idsync\\config.yaml",
	}
	needSubcommand(c)
	for _, a := range serviceActions {
		var cfgPath string
		var inst installOptions
		use := a.name + " --config FILE"
		switch a.name {
		case "install":
			use = "install [--user ACCOUNT] [--start auto|delayed|manual|disabled] --config FILE"
		case "status":
			use = "status [--config FILE]"
		}
		action := a.name
		sub := &cobra.Command{
			Use:     use,
			Short:   a.short,
			Long:    strings.ToUpper(a.short[:1]) + a.short[1:] + ".",
			Example: a.example,
			Args:    noArgs,
			RunE: func(c *cobra.Command, _ []string) error {
				if action == "status" {
					return serviceStatus(cfgPath, c.OutOrStdout())
				}
				return serviceAction(action, cfgPath, inst, c.OutOrStdout())
			},
		}
		configFlag(sub, &cfgPath)
		if action == "status" {
			sub.Flags().Lookup("config").Usage = "config `FILE` whose state_path holds the job history (default: the one the installed service runs with)"
		}
		if action == "install" {
			sub.Flags().StringVar(&inst.user, "user", "", `Windows: the `+"`ACCOUNT`"+` the service runs as, such as CORP\svc-idsync$ (a gMSA; no password) or CORP\svc-idsync (password in $`+servicePasswordEnv+`); default LocalSystem`)
			sub.Flags().StringVar(&inst.start, "start", "delayed", "Windows: start type: auto, delayed (automatic, delayed start), manual or disabled")
			_ = sub.RegisterFlagCompletionFunc("start", cobra.FixedCompletions([]string{"auto", "delayed", "manual", "disabled"}, cobra.ShellCompDirectiveNoFileComp))
		}
		c.AddCommand(sub)
	}
	return c
}

// serviceAction installs, uninstalls, starts or stops the service.
func serviceAction(action, cfgPath string, inst installOptions, stdout io.Writer) error {
	if cfgPath == "" {
		return usagef("--config is required")
	}
	sc := serviceConfig(cfgPath)
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
		cfg, err := loadConfig(cfgPath)
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
		if cfg, err := loadConfig(cfgPath); err == nil {
			eventSource = cfg.Logger.EventLog.Source
		}
	}
	svc, err := service.New(&program{}, sc)
	if err != nil {
		return fmt.Errorf("service: %w", err)
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
