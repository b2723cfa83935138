package main

import (
	"errors"
	"fmt"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc/mgr"
)

// serviceUnitName is the Windows service name.
func serviceUnitName(name, _ string) string { return name }

// installedService reads the service's command line and account from the
// Service Control Manager. It returns nil when the service does not exist.
func installedService(name, _ string) (*serviceDefinition, error) {
	m, err := mgr.Connect()
	if err != nil {
		return nil, fmt.Errorf("connect to the Service Control Manager: %w", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(name)
	if errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open service %s: %w", name, err)
	}
	defer s.Close()
	c, err := s.Config()
	if err != nil {
		return nil, fmt.Errorf("read service %s: %w", name, err)
	}
	args, err := windows.DecomposeCommandLine(c.BinaryPathName)
	if err != nil {
		args = []string{c.BinaryPathName}
	}
	account := c.ServiceStartName
	if account == "" {
		account = "LocalSystem"
	}
	return &serviceDefinition{Where: "Service Control Manager", Command: args, Account: account}, nil
}
