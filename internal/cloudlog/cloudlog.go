// Package cloudlog sends the agent's log entries to Yandex Cloud Logging
// (yandex.cloud.logging.v1.LogIngestionService.Write) as a zap core.
//
// Logging never waits for the network: the core puts each entry in a
// bounded buffer and returns; a background loop writes batches. When the
// buffer is full, or a batch cannot be written (the service unreachable or
// refusing), entries are dropped and counted (Dropped), never retried
// forever and never allowed to block a cycle. Every entry carries agent_id
// in its JSON payload. Fields are encoded by zap like any other sink, so
// secrets (config.Secret) appear as <secret>.
package cloudlog

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	loggingv1 "github.com/yandex-cloud/go-genproto/yandex/cloud/logging/v1"
	"go.uber.org/zap/zapcore"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// ResourceType names the writer in each request's resource; its id is
// the agent_id.
const ResourceType = "idsync.agent"

// DefaultEndpoint is Cloud Logging's ingestion endpoint.
const DefaultEndpoint = "ingester.logging.yandexcloud.net:443"

// Options configure a Sink. LogGroupID and Conn are required.
type Options struct {
	// Conn reaches LogIngestionService, authenticated like the other
	// cloud calls (a connection with the agent's per-RPC credentials).
	Conn grpc.ClientConnInterface
	// LogGroupID is the destination log group.
	LogGroupID string
	// AgentID goes into every entry's payload as agent_id.
	AgentID string
	// Level is the lowest level sent; zero means Info.
	Level zapcore.Level
	// BufferSize bounds the entries waiting to be sent; zero means 1000.
	BufferSize int
	// BatchSize is the most entries per Write (the API allows 100); zero
	// means 100.
	BatchSize int
	// FlushInterval is the longest an entry waits for a batch; zero means
	// 2 s.
	FlushInterval time.Duration
	// Timeout bounds one Write; zero means 10 s.
	Timeout time.Duration
	// OnError, if set, is told of each failed Write (not through the
	// logger, which would feed the failure back into this sink).
	OnError func(err error, dropped int)
}

// Sink buffers entries and writes them in batches. Start it with Run.
type Sink struct {
	opts    Options
	client  loggingv1.LogIngestionServiceClient
	ch      chan *loggingv1.IncomingLogEntry
	dropped atomic.Int64
	sent    atomic.Int64
	done    chan struct{}
}

// New validates opts and returns a Sink.
func New(opts Options) (*Sink, error) {
	if opts.Conn == nil || opts.LogGroupID == "" {
		return nil, errors.New("cloudlog: a connection and a log group id are required")
	}
	if opts.BufferSize <= 0 {
		opts.BufferSize = 1000
	}
	if opts.BatchSize <= 0 || opts.BatchSize > 100 {
		opts.BatchSize = 100
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = 2 * time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	return &Sink{opts: opts, client: loggingv1.NewLogIngestionServiceClient(opts.Conn),
		ch: make(chan *loggingv1.IncomingLogEntry, opts.BufferSize), done: make(chan struct{})}, nil
}

// Dropped is how many entries were dropped (buffer full or write failed).
func (s *Sink) Dropped() int64 { return s.dropped.Load() }

// Sent is how many entries Cloud Logging accepted.
func (s *Sink) Sent() int64 { return s.sent.Load() }

// enqueue never blocks: a full buffer drops the entry.
func (s *Sink) enqueue(e *loggingv1.IncomingLogEntry) {
	select {
	case s.ch <- e:
	default:
		s.dropped.Add(1)
	}
}

// Run writes batches until ctx ends, then sends what is buffered (bounded
// by Timeout) and returns. Call it once, in its own goroutine.
func (s *Sink) Run(ctx context.Context) {
	defer close(s.done)
	tick := time.NewTicker(s.opts.FlushInterval)
	defer tick.Stop()
	batch := make([]*loggingv1.IncomingLogEntry, 0, s.opts.BatchSize)
	// A write in flight finishes (bounded by Timeout) even when ctx ends:
	// shutdown should not lose the last entries.
	wctx := context.WithoutCancel(ctx)
	flush := func(wctx context.Context) {
		if len(batch) > 0 {
			s.write(wctx, batch)
			batch = batch[:0]
		}
	}
	for {
		select {
		case e := <-s.ch:
			batch = append(batch, e)
			if len(batch) == s.opts.BatchSize {
				flush(wctx)
			}
		case <-tick.C:
			flush(wctx)
		case <-ctx.Done():
			// Drain what is buffered now; the caller is shutting down, so
			// a bounded final attempt, detached from the cancelled ctx.
			fctx, cancel := context.WithTimeout(wctx, s.opts.Timeout)
			defer cancel()
			for drained := false; !drained; {
				select {
				case e := <-s.ch:
					batch = append(batch, e)
					if len(batch) == s.opts.BatchSize {
						flush(fctx)
					}
				default:
					drained = true
				}
			}
			flush(fctx)
			return
		}
	}
}

// Wait blocks until Run has returned.
func (s *Sink) Wait() { <-s.done }

func (s *Sink) write(ctx context.Context, batch []*loggingv1.IncomingLogEntry) {
	wctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	req := &loggingv1.WriteRequest{
		Destination: &loggingv1.Destination{Destination: &loggingv1.Destination_LogGroupId{LogGroupId: s.opts.LogGroupID}},
		Resource:    &loggingv1.LogEntryResource{Type: ResourceType, Id: s.opts.AgentID},
		Entries:     batch,
	}
	resp, err := s.client.Write(wctx, req)
	if err != nil {
		s.dropped.Add(int64(len(batch)))
		if s.opts.OnError != nil {
			s.opts.OnError(fmt.Errorf("cloud logging write: %w", err), len(batch))
		}
		return
	}
	failed := len(resp.GetErrors())
	s.dropped.Add(int64(failed))
	s.sent.Add(int64(len(batch) - failed))
}

// Core returns the zap core feeding this sink. enc configures how fields
// are encoded into each entry's JSON payload.
func (s *Sink) Core(enc zapcore.EncoderConfig) zapcore.Core {
	enc.TimeKey, enc.LevelKey, enc.MessageKey, enc.CallerKey, enc.StacktraceKey, enc.FunctionKey = "", "", "", "", "", ""
	if enc.NameKey == "" {
		enc.NameKey = "logger"
	}
	c := &core{sink: s, enc: zapcore.NewJSONEncoder(enc)}
	c.enc.AddString("agent_id", s.opts.AgentID)
	return c
}

type core struct {
	sink *Sink
	enc  zapcore.Encoder
}

func (c *core) Enabled(l zapcore.Level) bool { return l >= c.sink.opts.Level }

func (c *core) With(fields []zapcore.Field) zapcore.Core {
	clone := &core{sink: c.sink, enc: c.enc.Clone()}
	for _, f := range fields {
		f.AddTo(clone.enc)
	}
	return clone
}

func (c *core) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *core) Write(e zapcore.Entry, fields []zapcore.Field) error {
	buf, err := c.enc.EncodeEntry(e, fields)
	if err != nil {
		return fmt.Errorf("cloudlog: encode entry: %w", err)
	}
	payload := &structpb.Struct{}
	err = protojson.Unmarshal(buf.Bytes(), payload)
	buf.Free()
	if err != nil {
		return fmt.Errorf("cloudlog: encode entry: %w", err)
	}
	c.sink.enqueue(&loggingv1.IncomingLogEntry{
		Timestamp:   timestamppb.New(e.Time),
		Level:       level(e.Level),
		Message:     e.Message,
		JsonPayload: payload,
	})
	return nil
}

func (c *core) Sync() error { return nil }

func level(l zapcore.Level) loggingv1.LogLevel_Level {
	switch {
	case l <= zapcore.DebugLevel:
		return loggingv1.LogLevel_DEBUG
	case l == zapcore.InfoLevel:
		return loggingv1.LogLevel_INFO
	case l == zapcore.WarnLevel:
		return loggingv1.LogLevel_WARN
	case l == zapcore.ErrorLevel:
		return loggingv1.LogLevel_ERROR
	}
	return loggingv1.LogLevel_FATAL
}
