//go:build !windows

package main

import (
	"strings"
	"testing"

	"github.com/idsync/idsync/internal/config"
)

// TestEventLogElsewhere: off Windows a source is accepted and nothing opens.
func TestEventLogElsewhere(t *testing.T) {
	var out strings.Builder
	log, closeLog, err := newLogger(config.Logger{Level: "info", Format: "plain", EventLog: config.EventLog{Source: "idsync"}}, &out)
	if err != nil {
		t.Fatalf("newLogger with an event log source: %v", err)
	}
	log.Warn("still logs")
	closeLog()
	if !strings.Contains(out.String(), "still logs") {
		t.Errorf("stderr lost the line: %q", out.String())
	}
}
