package main

import (
	"errors"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/idsync/idsync/internal/config"
)

type fakeEvent struct {
	kind string
	eid  uint32
	msg  string
}

// fakeEvents records what would reach the Windows Application log.
type fakeEvents struct {
	got    []fakeEvent
	closed bool
}

func (f *fakeEvents) Warning(eid uint32, msg string) error {
	f.got = append(f.got, fakeEvent{"warning", eid, msg})
	return nil
}

func (f *fakeEvents) Error(eid uint32, msg string) error {
	f.got = append(f.got, fakeEvent{"error", eid, msg})
	return nil
}

func (f *fakeEvents) Close() error { f.closed = true; return nil }

// TestEventLogCore: warnings and errors become one event each, with their
// fields and the right type; info and debug stay out; secrets stay secret.
func TestEventLogCore(t *testing.T) {
	f := &fakeEvents{}
	log := zap.New(eventLogCore(f, zap.NewProductionEncoderConfig())).Named("agent")
	log.Debug("debug line")
	log.Info("cycle started")
	log.Warn("domain controller unavailable", zap.String("url", "ldaps://dc1:636"))
	log.With(zap.String("job", "j1")).Error("cycle failed", zap.Error(errors.New("boom")),
		zap.Stringer("password", config.NewSecret("hunter2")))
	if len(f.got) != 2 {
		t.Fatalf("events = %+v, want a warning and an error", f.got)
	}
	w, e := f.got[0], f.got[1]
	if w.kind != "warning" || w.eid != eventIDWarning || !strings.Contains(w.msg, "domain controller unavailable") ||
		!strings.Contains(w.msg, "ldaps://dc1:636") || strings.HasSuffix(w.msg, "\n") {
		t.Errorf("warning event = %+v", w)
	}
	if e.kind != "error" || e.eid != eventIDError || !strings.Contains(e.msg, "cycle failed") ||
		!strings.Contains(e.msg, `"job": "j1"`) || !strings.Contains(e.msg, "boom") {
		t.Errorf("error event = %+v", e)
	}
	if strings.Contains(e.msg, "hunter2") {
		t.Error("a secret reached the event log")
	}
}
