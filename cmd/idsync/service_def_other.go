//go:build !linux && !windows

package main

// serviceUnitName is the service's name for the service manager.
func serviceUnitName(name, _ string) string { return name }

// installedService finds no definition where idsync does not install one
// itself: only the service manager's status is reported.
func installedService(string, string) (*serviceDefinition, error) { return nil, nil }
