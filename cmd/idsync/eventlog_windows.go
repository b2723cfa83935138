//go:build windows

package main

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/windows/svc/eventlog"
)

// openEventLog opens the Application log under source, which `idsync
// service install` registered.
func openEventLog(source string) (eventWriter, error) {
	l, err := eventlog.Open(source)
	if err != nil {
		return nil, fmt.Errorf("open the event log source %s: %w", source, err)
	}
	return l, nil
}

// installEventSource registers source in the Application log; an existing
// registration is kept.
func installEventSource(source string) error {
	err := eventlog.InstallAsEventCreate(source, eventlog.Error|eventlog.Warning|eventlog.Info)
	if err != nil && !strings.Contains(err.Error(), "registry key already exists") {
		return fmt.Errorf("register the event log source %s: %w", source, err)
	}
	return nil
}

// removeEventSource undoes installEventSource.
func removeEventSource(source string) error {
	if err := eventlog.Remove(source); err != nil {
		return fmt.Errorf("remove the event log source %s: %w", source, errors.Unwrap(err))
	}
	return nil
}
