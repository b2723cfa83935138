package idhub_test

// The conformance suite drives the client against the real emulator served
// over loopback TCP, covering every helper, the API constraints, auth, the
// session state machine, paging, quotas, operations and injected faults.

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/idhub"
	"github.com/idsync/idsync/internal/testing/emulatortest"
)

const (
	confPool   = "pool-conf"
	confOrg    = "org-conf"
	confDomain = "conf.idp.example"
	confToken  = "t1.conformance-static"
)

// clock is a settable clock shared by the emulator and tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

// newClock starts at the current time: the go-sdk stamps the JWTs it
// signs with the system clock, and the emulator checks them with this one.
func newClock() *clock { return &clock{t: time.Now().UTC().Truncate(time.Second)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// conf is one emulator on loopback TCP and a client of it.
type conf struct {
	emu   *emulator.Emulator
	addr  string
	clock *clock
	c     *idhub.Client
	ctx   context.Context
}

// startConf serves an emulator configured by mod on 127.0.0.1 and returns
// a static-token client of it (configured by cmod).
func startConf(t *testing.T, mod func(*emulator.Options), cmod func(*idhub.Options)) *conf {
	t.Helper()
	clk := newClock()
	eo := emulator.Options{
		UserpoolID: confPool, OrganizationID: confOrg, Domain: confDomain,
		StaticToken: confToken, Now: clk.Now, Logger: zaptest.NewLogger(t).Named("emulator"),
	}
	if mod != nil {
		mod(&eo)
	}
	emu, addr := emulatortest.Start(t, eo)
	v := &conf{emu: emu, addr: addr, clock: clk, ctx: context.Background()}
	v.c = v.client(t, func(o *idhub.Options) {
		o.StaticToken = confToken
		if cmod != nil {
			cmod(o)
		}
	})
	return v
}

// client returns a plaintext client of the emulator; mod must set
// credentials.
func (v *conf) client(t *testing.T, mod func(*idhub.Options)) *idhub.Client {
	t.Helper()
	o := idhub.Options{
		UserpoolID:                  confPool,
		OrganizationManagerEndpoint: v.addr,
		OperationEndpoint:           v.addr,
		IAMEndpoint:                 v.addr,
		Plaintext:                   true,
		PollInitial:                 time.Millisecond,
		PollMax:                     20 * time.Millisecond,
		Retry:                       idhub.RetryOptions{InitialBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond},
		Logger:                      zaptest.NewLogger(t).Named("client"),
	}
	mod(&o)
	c, err := idhub.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// raw returns a go-genproto connection with the static token, for requests
// the client would never send.
func (v *conf) raw(t *testing.T) (*grpc.ClientConn, context.Context) {
	t.Helper()
	cc, err := grpc.NewClient(v.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc, metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+confToken)
}

// wantClass fails unless err has class want.
func wantClass(t *testing.T, what string, err error, want idhub.Class) {
	t.Helper()
	if got := idhub.Classify(err); got != want {
		t.Errorf("%s: class %v (err %v), want %v", what, got, err, want)
	}
}

func progress(created, failed int64) []*idp.ProgressEntry {
	return []*idp.ProgressEntry{{
		ObjectType: idp.RelatedObjectType_USER,
		ChangeInfo: []*idp.ChangeInfo{{ChangeType: idp.ChangeType_CREATE, Successful: created, Failed: failed}},
	}}
}

func TestConformanceSessionStateMachine(t *testing.T) {
	v := startConf(t, nil, nil)
	c, ctx := v.c, v.ctx

	r, err := c.OpenSession(ctx, "agent-1", idp.SessionType_AD_SYNC)
	if err != nil {
		t.Fatal(err)
	}
	if r.Result != idp.OpenSessionResult_SUCCESS || r.Session.GetSyncMode() != idp.SyncMode_FULL_SYNC || r.ReplicationToken != "" {
		t.Fatalf("first open: %+v", r)
	}
	id := r.Session.GetSessionId()

	r2, err := c.OpenSession(ctx, "agent-2", idp.SessionType_AD_SYNC)
	if err != nil || r2.Result != idp.OpenSessionResult_OPENED_SESSION_EXISTS {
		t.Fatalf("second open: %+v, %v", r2, err)
	}
	// Another session type is independent.
	if r3, err := c.OpenSession(ctx, "agent-1", idp.SessionType_AD_PASSWORD_HASH); err != nil || r3.Result != idp.OpenSessionResult_SUCCESS {
		t.Fatalf("password hash session: %+v, %v", r3, err)
	}

	// Heartbeats keep the session alive past its TTL.
	for range 3 {
		v.clock.Advance(4 * time.Minute)
		if err := c.Heartbeat(ctx, id); err != nil {
			t.Fatalf("heartbeat: %v", err)
		}
	}
	// Cumulative reports: the latest replaces the earlier.
	if err := c.ReportProgress(ctx, id, progress(5, 1)); err != nil {
		t.Fatal(err)
	}
	if err := c.ReportProgress(ctx, id, progress(10, 2)); err != nil {
		t.Fatal(err)
	}
	s, err := c.GetSession(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(progress(10, 2), s.GetProgressEntries(), protocmp.Transform()); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
	if s.GetStatus() != idp.SessionStatus_OPENED {
		t.Errorf("status %v after heartbeats, want OPENED", s.GetStatus())
	}

	if err := c.SetReplicationToken(ctx, idp.SessionType_AD_SYNC, "d2F0ZXJtYXJr"); err != nil {
		t.Fatal(err)
	}
	closed, err := c.CloseSession(ctx, id, false, "")
	if err != nil || closed.GetStatus() != idp.SessionStatus_COMPLETED {
		t.Fatalf("close: %v, %v", closed, err)
	}
	if err := c.Heartbeat(ctx, id); !idhub.IsConflict(err) {
		t.Errorf("heartbeat of a closed session: %v, want conflict", err)
	}

	// Too early until the interval (15m by default) has passed.
	r, err = c.OpenSession(ctx, "agent-1", idp.SessionType_AD_SYNC)
	if err != nil || r.Result != idp.OpenSessionResult_TOO_EARLY {
		t.Fatalf("reopen: %+v, %v", r, err)
	}
	if want := v.clock.Now().Add(15 * time.Minute); !r.NextSessionAt.Equal(want) {
		t.Errorf("next_session_at %v, want %v", r.NextSessionAt, want)
	}
	v.clock.Advance(15 * time.Minute)
	r, err = c.OpenSession(ctx, "agent-1", idp.SessionType_AD_SYNC)
	if err != nil || r.Result != idp.OpenSessionResult_SUCCESS {
		t.Fatalf("open after interval: %+v, %v", r, err)
	}
	if r.ReplicationToken != "d2F0ZXJtYXJr" || r.Session.GetSyncMode() != idp.SyncMode_DELTA {
		t.Errorf("open with token: token %q mode %v", r.ReplicationToken, r.Session.GetSyncMode())
	}

	// Without heartbeats the session expires.
	v.clock.Advance(emulator.DefaultSessionTTL + time.Second)
	s, err = c.GetSession(ctx, r.Session.GetSessionId())
	if err != nil || s.GetStatus() != idp.SessionStatus_EXPIRED {
		t.Fatalf("after ttl: %v, %v", s, err)
	}
	if err := c.ReportProgress(ctx, s.GetSessionId(), progress(1, 0)); !idhub.IsConflict(err) {
		t.Errorf("report to an expired session: %v, want conflict", err)
	}

	// A failed close keeps a reason truncated by the client.
	r, err = c.OpenSession(ctx, "agent-1", idp.SessionType_AD_SYNC)
	if err != nil || r.Result != idp.OpenSessionResult_SUCCESS {
		t.Fatalf("open: %+v, %v", r, err)
	}
	long := strings.Repeat("ошибка LDAP ", 60)
	closed, err = c.CloseSession(ctx, r.Session.GetSessionId(), true, long)
	if err != nil {
		t.Fatalf("close with a long reason: %v", err)
	}
	if closed.GetStatus() != idp.SessionStatus_FAILED || closed.GetFailReason() != idhub.TruncateReason(long) {
		t.Errorf("closed %v with reason %q", closed.GetStatus(), closed.GetFailReason())
	}

	var failed []string
	for s, err := range c.ListSessions(ctx, `status="FAILED"`) {
		if err != nil {
			t.Fatal(err)
		}
		failed = append(failed, s.GetSessionId())
	}
	if diff := cmp.Diff([]string{r.Session.GetSessionId()}, failed); diff != "" {
		t.Errorf("failed sessions (-want +got):\n%s", diff)
	}
	all := 0
	for _, err := range c.ListSessions(ctx, "") {
		if err != nil {
			t.Fatal(err)
		}
		all++
	}
	if all != 4 {
		t.Errorf("listed %d sessions, want 4", all)
	}
	if _, err := c.GetSession(ctx, "no-such-session"); !idhub.IsNotFound(err) {
		t.Errorf("unknown session: %v, want not found", err)
	}
}

// TestConformanceSessionConstraints checks the annotated limits of session
// requests, sent raw where the client would prevent them.
func TestConformanceSessionConstraints(t *testing.T) {
	v := startConf(t, nil, nil)
	c, ctx := v.c, v.ctx
	r, err := c.OpenSession(ctx, "agent-1", idp.SessionType_AD_SYNC)
	if err != nil || r.Result != idp.OpenSessionResult_SUCCESS {
		t.Fatalf("open: %+v, %v", r, err)
	}
	id := r.Session.GetSessionId()
	four := append(append(append(progress(1, 0), progress(1, 0)...), progress(1, 0)...), progress(1, 0)...)
	sevenInfos := []*idp.ProgressEntry{{ObjectType: idp.RelatedObjectType_GROUP}}
	for range 7 {
		sevenInfos[0].ChangeInfo = append(sevenInfos[0].ChangeInfo, &idp.ChangeInfo{ChangeType: idp.ChangeType_UPDATE, Successful: 1})
	}
	tests := []struct {
		name    string
		entries []*idp.ProgressEntry
	}{
		{"no entries", nil},
		{"four entries", four},
		{"seven change infos", sevenInfos},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantClass(t, "ReportProgress", c.ReportProgress(ctx, id, tt.entries), idhub.ClassInvalid)
		})
	}
	t.Run("agent id too long", func(t *testing.T) {
		_, err := c.OpenSession(ctx, strings.Repeat("a", 51), idp.SessionType_AD_PASSWORD_HASH)
		wantClass(t, "OpenSession", err, idhub.ClassInvalid)
	})
	t.Run("raw fail_reason over 256", func(t *testing.T) {
		cc, rctx := v.raw(t)
		_, err := idp.NewSynchronizationSessionServiceClient(cc).CloseSession(rctx, &idp.CloseSessionRequest{
			SessionId: id, Failed: true, FailReason: strings.Repeat("x", 257),
		})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("raw close with 257 chars: %v, want InvalidArgument", err)
		}
	})
}

func TestConformanceSettingsAndTokens(t *testing.T) {
	v := startConf(t, nil, nil)
	c, ctx := v.c, v.ctx

	pool, err := c.GetUserpool(ctx)
	if err != nil || pool.GetId() != confPool || pool.GetOrganizationId() != confOrg {
		t.Fatalf("userpool: %v, %v", pool, err)
	}
	if _, err := c.GetSyncSettings(ctx); !idhub.IsNotFound(err) {
		t.Errorf("settings before create: %v, want not found", err)
	}
	req := &idp.CreateSynchronizationSettingsRequest{
		Filter:                  &idp.SynchronizationFilter{Domain: "corp.example.com"},
		RemoveUserBehavior:      idp.RemoveUserBehavior_BLOCK,
		SynchronizationInterval: durationpb.New(30 * time.Minute),
	}
	created, err := c.CreateSyncSettings(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if created.GetFilter().GetDomain() != "corp.example.com" || created.GetSynchronizationInterval().AsDuration() != 30*time.Minute {
		t.Errorf("created %v", created)
	}
	if _, err := c.CreateSyncSettings(ctx, req); !idhub.IsConflict(err) {
		t.Errorf("second create: %v, want conflict", err)
	}
	upd, err := c.UpdateSyncSettings(ctx, &idp.UpdateSynchronizationSettingsRequest{
		SynchronizationInterval: durationpb.New(time.Hour),
		UpdateMask:              &fieldmaskpb.FieldMask{Paths: []string{"synchronization_interval"}},
	})
	if err != nil || upd.GetSynchronizationInterval().AsDuration() != time.Hour || upd.GetRemoveUserBehavior() != idp.RemoveUserBehavior_BLOCK {
		t.Errorf("update: %v, %v", upd, err)
	}
	got, err := c.GetSyncSettings(ctx)
	if err != nil || got.GetSynchronizationInterval().AsDuration() != time.Hour {
		t.Errorf("get: %v, %v", got, err)
	}
	for _, iv := range []time.Duration{5 * time.Minute, 7 * time.Hour} {
		_, err := c.UpdateSyncSettings(ctx, &idp.UpdateSynchronizationSettingsRequest{
			SynchronizationInterval: durationpb.New(iv),
			UpdateMask:              &fieldmaskpb.FieldMask{Paths: []string{"synchronization_interval"}},
		})
		wantClass(t, "interval "+iv.String(), err, idhub.ClassInvalid)
	}
	bad := &idp.CreateSynchronizationSettingsRequest{Filter: &idp.SynchronizationFilter{Domain: ""}}
	if err := c.DeleteSyncSettings(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateSyncSettings(ctx, bad)
	wantClass(t, "settings without a domain", err, idhub.ClassInvalid)

	for _, typ := range []idp.SessionType{idp.SessionType_AD_SYNC, idp.SessionType_AD_USER_CONTROL} {
		if err := c.SetReplicationToken(ctx, typ, "tok-"+typ.String()); err != nil {
			t.Fatal(err)
		}
	}
	if tok, err := c.GetReplicationToken(ctx, idp.SessionType_AD_USER_CONTROL); err != nil || tok != "tok-AD_USER_CONTROL" {
		t.Errorf("get token: %q, %v", tok, err)
	}
	wantClass(t, "token over 1000 chars", c.SetReplicationToken(ctx, idp.SessionType_AD_SYNC, strings.Repeat("t", 1001)), idhub.ClassInvalid)
	if err := c.ResetReplicationToken(ctx); err != nil {
		t.Fatal(err)
	}
	if tok, err := c.GetReplicationToken(ctx, idp.SessionType_AD_SYNC); err != nil || tok != "" {
		t.Errorf("token after reset: %q, %v", tok, err)
	}
}

// writeForeignKey writes a key file with a real key id but a private key
// the emulator does not know.
func writeForeignKey(t *testing.T, path, id, sa string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]string{"id": id, "service_account_id": sa,
		"private_key": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))})
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestConformanceAuth(t *testing.T) {
	v := startConf(t, func(o *emulator.Options) { o.TokenTTL = time.Hour }, nil)
	ctx := v.ctx
	dir := t.TempDir()
	key, err := v.emu.NewServiceAccountKey()
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(dir, "key.json")
	if err := key.WriteFile(keyPath); err != nil {
		t.Fatal(err)
	}

	t.Run("no token", func(t *testing.T) {
		cc, _ := v.raw(t)
		_, err := idp.NewUserpoolServiceClient(cc).Get(ctx, &idp.GetUserpoolRequest{UserpoolId: confPool})
		if status.Code(err) != codes.Unauthenticated {
			t.Errorf("err %v, want Unauthenticated", err)
		}
	})
	t.Run("bad static token", func(t *testing.T) {
		c := v.client(t, func(o *idhub.Options) { o.StaticToken = "t1.wrong" })
		_, err := c.GetUserpool(ctx)
		wantClass(t, "GetUserpool", err, idhub.ClassPermission)
	})
	t.Run("authorized key", func(t *testing.T) {
		c := v.client(t, func(o *idhub.Options) { o.AuthorizedKeyFile = keyPath; o.Now = v.clock.Now })
		for range 3 {
			if _, err := c.GetUserpool(ctx); err != nil {
				t.Fatalf("GetUserpool with an iam token: %v", err)
			}
		}
		if n := c.Stats().Calls["IamTokenService/Create"]; n != 1 {
			t.Errorf("iam token exchanges = %d, want 1 (cached)", n)
		}
		// The emulator's token expires after an hour; the client refreshed
		// it at half its lifetime.
		v.clock.Advance(31 * time.Minute)
		if _, err := c.GetUserpool(ctx); err != nil {
			t.Fatalf("after refresh: %v", err)
		}
		if n := c.Stats().Calls["IamTokenService/Create"]; n != 2 {
			t.Errorf("iam token exchanges = %d, want 2", n)
		}
	})
	t.Run("foreign key", func(t *testing.T) {
		path := filepath.Join(dir, "foreign.json")
		writeForeignKey(t, path, key.ID, key.ServiceAccountID)
		c := v.client(t, func(o *idhub.Options) { o.AuthorizedKeyFile = path; o.Now = v.clock.Now })
		_, err := c.GetUserpool(ctx)
		wantClass(t, "GetUserpool", err, idhub.ClassPermission)
		if err != nil && strings.Contains(err.Error(), "PRIVATE") {
			t.Errorf("error reveals key material: %v", err)
		}
	})
	t.Run("expired iam token", func(t *testing.T) {
		// The client's clock lags: it still trusts a token the emulator
		// considers expired.
		lag := v.clock.Now()
		c := v.client(t, func(o *idhub.Options) {
			o.AuthorizedKeyFile = keyPath
			o.Now = func() time.Time { return lag }
			o.Retry.MaxAttempts = 1
		})
		if _, err := c.GetUserpool(ctx); err != nil {
			t.Fatal(err)
		}
		v.clock.Advance(2 * time.Hour)
		_, err := c.GetUserpool(ctx)
		wantClass(t, "GetUserpool with an expired token", err, idhub.ClassPermission)
	})
	t.Run("expired jwt", func(t *testing.T) {
		// The SDK signs JWTs valid for an hour by the system clock; by
		// the emulator's clock, two hours ahead, it has expired.
		v.clock.Advance(2 * time.Hour)
		c := v.client(t, func(o *idhub.Options) { o.AuthorizedKeyFile = keyPath; o.Now = v.clock.Now })
		_, err := c.GetUserpool(ctx)
		wantClass(t, "GetUserpool", err, idhub.ClassPermission)
	})
}

func statusErr(c codes.Code) error { return status.Error(c, "x") }
