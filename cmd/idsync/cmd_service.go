package main

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/kardianos/service"
)

var serviceActions = []string{"install", "uninstall", "start", "stop", "status"}

func cmdService(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || !slices.Contains(serviceActions, args[0]) {
		fmt.Fprintln(stderr, "Usage: idsync service install|uninstall|start|stop|status --config FILE\n\nManage the idsync system service (systemd on Linux, the Service Control Manager on\nWindows). The service runs 'idsync run --config FILE' with the absolute path of FILE.")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return usagef("service needs an action: install, uninstall, start, stop or status")
	}
	action := args[0]
	fs := newFlagSet("service "+action, stderr)
	cfgPath := fs.String("config", "", "config file (required)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *cfgPath == "" {
		return usagef("--config is required")
	}
	if action == "install" {
		// Refuse to install a service that could not start.
		if _, err := loadConfig(*cfgPath); err != nil {
			return err
		}
	}
	svc, err := service.New(&program{}, serviceConfig(*cfgPath))
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
	fmt.Fprintf(stdout, "idsync service: %s done (%s)\n", action, svc.Platform())
	return nil
}
