package emulator

import (
	"context"
	"sync"
	"time"

	loggingv1 "github.com/yandex-cloud/go-genproto/yandex/cloud/logging/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

// LogEntry is one entry written through LogIngestionService.Write.
type LogEntry struct {
	LogGroupID string
	Subject    string // who wrote it
	// ResourceType and ResourceID are the request's resource.
	ResourceType, ResourceID string
	Time                     time.Time
	Level                    string
	Message                  string
	// Payload is the entry's json_payload, merged over the request's
	// defaults, as JSON.
	Payload string
	Stream  string
}

// logStore keeps the ingested entries (Cloud Logging).
type logStore struct {
	mu      sync.Mutex
	entries []LogEntry
}

// LogEntries returns the Cloud Logging entries written so far, in order.
func (e *Emulator) LogEntries() []LogEntry {
	e.logs.mu.Lock()
	defer e.logs.mu.Unlock()
	return append([]LogEntry(nil), e.logs.entries...)
}

// logIngestionServer implements yandex.cloud.logging.v1.LogIngestionService:
// the entries are kept for LogEntries. Only log_group_id destinations are
// accepted (idsync writes to a log group).
type logIngestionServer struct {
	loggingv1.UnimplementedLogIngestionServiceServer
	e *Emulator
}

func (s logIngestionServer) Write(ctx context.Context, req *loggingv1.WriteRequest) (*loggingv1.WriteResponse, error) {
	group := req.GetDestination().GetLogGroupId()
	if group == "" {
		return nil, status.Error(codes.InvalidArgument, "destination.log_group_id is required")
	}
	if len(req.GetEntries()) == 0 {
		return nil, status.Error(codes.InvalidArgument, "entries: at least one entry is required")
	}
	subject, _ := ctx.Value(subjectKey{}).(string)
	def := req.GetDefaults()
	var out []LogEntry
	for _, en := range req.GetEntries() {
		le := LogEntry{LogGroupID: group, Subject: subject, Message: en.GetMessage(), Stream: en.GetStreamName(),
			ResourceType: req.GetResource().GetType(), ResourceID: req.GetResource().GetId()}
		if le.Stream == "" {
			le.Stream = def.GetStreamName()
		}
		if en.GetTimestamp() != nil {
			le.Time = en.GetTimestamp().AsTime()
		}
		lvl := en.GetLevel()
		if lvl == loggingv1.LogLevel_LEVEL_UNSPECIFIED {
			lvl = def.GetLevel()
		}
		le.Level = lvl.String()
		payload := map[string]any{}
		for k, v := range def.GetJsonPayload().AsMap() {
			payload[k] = v
		}
		for k, v := range en.GetJsonPayload().AsMap() {
			payload[k] = v
		}
		if len(payload) > 0 {
			st, err := structFromMap(payload)
			if err != nil {
				return nil, status.Errorf(codes.InvalidArgument, "json_payload: %v", err)
			}
			b, _ := protojson.Marshal(st)
			le.Payload = string(b)
		}
		out = append(out, le)
	}
	s.e.logs.mu.Lock()
	s.e.logs.entries = append(s.e.logs.entries, out...)
	s.e.logs.mu.Unlock()
	return &loggingv1.WriteResponse{}, nil
}

func structFromMap(m map[string]any) (*structpb.Struct, error) { return structpb.NewStruct(m) }
