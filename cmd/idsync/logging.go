package main

import (
	"fmt"
	"io"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"gopkg.in/natefinch/lumberjack.v2"

	"github.com/idsync/idsync/internal/config"
)

// newLogger builds the root logger from the logger section: plain or JSON
// lines on stderr, and, when a file is configured, also into a rotating
// file (mode 0600), and on Windows warnings and errors into the Application
// event log under logger.event_log.source. The returned function flushes and
// closes them.
func newLogger(c config.Logger, stderr io.Writer) (*zap.Logger, func(), error) {
	level, err := zapcore.ParseLevel(c.Level)
	if err != nil {
		return nil, nil, fmt.Errorf("logger.level: %w", err)
	}
	enc := zap.NewProductionEncoderConfig()
	enc.TimeKey = "time"
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	var encoder zapcore.Encoder
	if c.Format == "json" {
		encoder = zapcore.NewJSONEncoder(enc)
	} else {
		enc.EncodeLevel = zapcore.CapitalLevelEncoder
		encoder = zapcore.NewConsoleEncoder(enc)
	}
	cores := []zapcore.Core{zapcore.NewCore(encoder, zapcore.Lock(zapcore.AddSync(stderr)), level)}
	var file *lumberjack.Logger
	if c.File.Filename != "" {
		file = &lumberjack.Logger{Filename: c.File.Filename, MaxSize: c.File.MaxSize, MaxBackups: c.File.MaxBackups}
		cores = append(cores, zapcore.NewCore(encoder.Clone(), zapcore.AddSync(file), level))
	}
	var events eventWriter
	if c.EventLog.Source != "" {
		if events, err = openEventLog(c.EventLog.Source); err != nil {
			return nil, nil, fmt.Errorf("logger.event_log: %w", err)
		}
		if events != nil {
			cores = append(cores, eventLogCore(events, enc))
		}
	}
	log := zap.New(zapcore.NewTee(cores...))
	return log, func() {
		_ = log.Sync()
		if file != nil {
			_ = file.Close()
		}
		if events != nil {
			_ = events.Close()
		}
	}, nil
}
