package cloudlog

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/idsync/idsync/internal/config"
	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/idhub"
	"github.com/idsync/idsync/internal/testing/emulatortest"
)

const token = "cloudlog-test-token"

func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(idhub.NewStaticTokenSource(token, true)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// TestSinkToEmulator sends entries through the core and reads them back
// from the emulator: batched, with agent_id, level, fields, and secrets
// shown as <secret>.
func TestSinkToEmulator(t *testing.T) {
	emu, addr := emulatortest.Start(t, emulator.Options{UserpoolID: "pool1", OrganizationID: "org1", Domain: "pool.test", StaticToken: token})
	s, err := New(Options{Conn: dial(t, addr), LogGroupID: "e23logroup", AgentID: "agent-7", BatchSize: 2,
		OnError: func(err error, _ int) { t.Log(err) }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	go s.Run(ctx)
	log := zap.New(s.Core(zap.NewProductionEncoderConfig())).Named("agent")
	log.Debug("not sent")
	log.Info("cycle started", zap.String("mode", "delta"))
	log.With(zap.String("job", "j1")).Warn("slow dc", zap.Stringer("password", config.NewSecret("hunter2")))
	log.Error("cycle failed", zap.Int("failed", 3))
	cancel()
	s.Wait()

	got := emu.LogEntries()
	if len(got) != 3 || s.Sent() != 3 || s.Dropped() != 0 {
		t.Fatalf("entries %+v, sent %d, dropped %d; want 3 sent", got, s.Sent(), s.Dropped())
	}
	want := []struct{ level, msg, field string }{
		{"INFO", "cycle started", `"mode":"delta"`},
		{"WARN", "slow dc", `"job":"j1"`},
		{"ERROR", "cycle failed", `"failed":3`},
	}
	for i, w := range want {
		e := got[i]
		var payload map[string]any
		if err := json.Unmarshal([]byte(e.Payload), &payload); err != nil {
			t.Fatalf("entry %d payload %q: %v", i, e.Payload, err)
		}
		compact, _ := json.Marshal(payload)
		if e.LogGroupID != "e23logroup" || e.Level != w.level || e.Message != w.msg || payload["agent_id"] != "agent-7" ||
			payload["logger"] != "agent" || !strings.Contains(string(compact), w.field) || e.Time.IsZero() {
			t.Errorf("entry %d = %+v, want %+v with agent_id", i, e, w)
		}
	}
	if strings.Contains(got[1].Payload, "hunter2") || !strings.Contains(got[1].Payload, "<secret>") {
		t.Errorf("secret in the payload: %s", got[1].Payload)
	}
}

// TestSinkUnreachable: with the service down, logging still returns at
// once and the entries are dropped and counted.
func TestSinkUnreachable(t *testing.T) {
	var failures int
	s, err := New(Options{Conn: dial(t, "127.0.0.1:1"), LogGroupID: "g", BufferSize: 10, BatchSize: 5,
		Timeout: time.Second, OnError: func(error, int) { failures++ }})
	if err != nil {
		t.Fatal(err)
	}
	log := zap.New(s.Core(zap.NewProductionEncoderConfig()))
	// Not running yet: the buffer fills and the rest is dropped, without
	// blocking the caller.
	for i := range 25 {
		log.Info("entry", zap.Int("i", i))
	}
	if s.Dropped() != 15 {
		t.Fatalf("dropped %d with a full buffer of 10, want 15", s.Dropped())
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	s.Run(ctx) // drains the 10 buffered entries into failing writes
	if s.Dropped() != 25 || s.Sent() != 0 || failures != 2 {
		t.Fatalf("dropped %d, sent %d, failures %d; want all 25 dropped over 2 failed writes", s.Dropped(), s.Sent(), failures)
	}
}
