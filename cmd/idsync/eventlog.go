package main

import (
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// eventWriter is what the Event Log core needs of the Windows Application
// log (*eventlog.Log has these methods).
type eventWriter interface {
	Warning(eid uint32, msg string) error
	Error(eid uint32, msg string) error
	Close() error
}

// Event IDs written under the source: 1 for warnings, 2 for errors.
const (
	eventIDWarning = 1
	eventIDError   = 2
)

// eventLogCore sends warnings and errors to w, one event per entry, in the
// plain format (the Event Viewer adds its own time and level).
func eventLogCore(w eventWriter, enc zapcore.EncoderConfig) zapcore.Core {
	enc.TimeKey = ""
	enc.LevelKey = ""
	warn := zapcore.NewCore(zapcore.NewConsoleEncoder(enc), eventSink{w.Warning, eventIDWarning},
		zap.LevelEnablerFunc(func(l zapcore.Level) bool { return l == zapcore.WarnLevel }))
	errs := zapcore.NewCore(zapcore.NewConsoleEncoder(enc), eventSink{w.Error, eventIDError},
		zap.LevelEnablerFunc(func(l zapcore.Level) bool { return l >= zapcore.ErrorLevel }))
	return zapcore.NewTee(warn, errs)
}

// eventSink is a zapcore.WriteSyncer writing each encoded entry as one event.
type eventSink struct {
	report func(eid uint32, msg string) error
	eid    uint32
}

func (s eventSink) Write(p []byte) (int, error) {
	if err := s.report(s.eid, strings.TrimRight(string(p), "\n")); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (s eventSink) Sync() error { return nil }
