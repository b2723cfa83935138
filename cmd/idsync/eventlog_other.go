//go:build !windows

package main

// The Windows Event Log exists only on Windows: logger.event_log.source is
// accepted elsewhere with a configuration warning, and ignored.

func openEventLog(string) (eventWriter, error) { return nil, nil }

func installEventSource(string) error { return nil }

func removeEventSource(string) error { return nil }
