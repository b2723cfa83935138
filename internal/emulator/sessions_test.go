package emulator

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"
)

func (v *env) open(t *testing.T, typ idp.SessionType) *idp.OpenSessionResponse {
	t.Helper()
	op, err := v.sessions.OpenSession(v.ctx, &idp.OpenSessionRequest{SubjectContainerId: testPool, AgentId: "agent-1", SessionType: typ})
	return result(t, op, err, &idp.OpenSessionResponse{})
}

func (v *env) close(t *testing.T, id string, failed bool) *idp.SynchronizationSession {
	t.Helper()
	op, err := v.sessions.CloseSession(v.ctx, &idp.CloseSessionRequest{SessionId: id, Failed: failed, FailReason: reasonIf(failed)})
	return result(t, op, err, &idp.SynchronizationSession{})
}

func reasonIf(failed bool) string {
	if failed {
		return "ldap unreachable"
	}
	return ""
}

func TestSessionLifecycle(t *testing.T) {
	v := newEnv(t, Options{SessionTTL: time.Minute})
	start := v.clock.Now()

	first := v.open(t, idp.SessionType_AD_SYNC)
	if first.Result != idp.OpenSessionResult_SUCCESS {
		t.Fatalf("first open: %v", first.Result)
	}
	sess := first.GetOpenedSession()
	if sess.SyncMode != idp.SyncMode_FULL_SYNC || sess.Status != idp.SessionStatus_OPENED {
		t.Fatalf("new session mode %v status %v, want FULL_SYNC OPENED", sess.SyncMode, sess.Status)
	}
	if got, want := sess.ExpiresAt.AsTime(), start.Add(time.Minute); !got.Equal(want) {
		t.Errorf("expires_at %v, want %v", got, want)
	}

	if r := v.open(t, idp.SessionType_AD_SYNC); r.Result != idp.OpenSessionResult_OPENED_SESSION_EXISTS {
		t.Errorf("second open of the same type: %v, want OPENED_SESSION_EXISTS", r.Result)
	}
	if r := v.open(t, idp.SessionType_AD_PASSWORD_HASH); r.Result != idp.OpenSessionResult_SUCCESS {
		t.Errorf("open of another type: %v, want SUCCESS", r.Result)
	}

	// Heartbeats keep the session alive past its first expiry.
	for range 3 {
		v.clock.Advance(40 * time.Second)
		if _, err := v.sessions.Heartbeat(v.ctx, &idp.HeartbeatRequest{SessionId: sess.SessionId}); err != nil {
			t.Fatalf("heartbeat: %v", err)
		}
	}
	got, err := v.sessions.GetSession(v.ctx, &idp.GetSessionRequest{SessionId: sess.SessionId})
	if err != nil {
		t.Fatal(err)
	}
	if want := v.clock.Now().Add(time.Minute); !got.Session.ExpiresAt.AsTime().Equal(want) || got.Session.Status != idp.SessionStatus_OPENED {
		t.Errorf("after heartbeats: status %v expires %v, want OPENED %v", got.Session.Status, got.Session.ExpiresAt.AsTime(), want)
	}

	// Reports are cumulative: the latest replaces the previous one.
	report := func(created int64) {
		t.Helper()
		_, err := v.sessions.ReportSessionProgress(v.ctx, &idp.ReportSessionProgressRequest{
			SessionId: sess.SessionId,
			ProgressEntries: []*idp.ProgressEntry{{
				ObjectType: idp.RelatedObjectType_USER,
				ChangeInfo: []*idp.ChangeInfo{{ChangeType: idp.ChangeType_CREATE, Successful: created, Failed: 1}},
			}},
		})
		if err != nil {
			t.Fatalf("report: %v", err)
		}
	}
	report(10)
	report(25)
	closed := v.close(t, sess.SessionId, false)
	want := []*idp.ProgressEntry{{
		ObjectType: idp.RelatedObjectType_USER,
		ChangeInfo: []*idp.ChangeInfo{{ChangeType: idp.ChangeType_CREATE, Successful: 25, Failed: 1}},
	}}
	if diff := cmp.Diff(want, closed.ProgressEntries, protocmp.Transform()); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
	if closed.Status != idp.SessionStatus_COMPLETED || !closed.ClosedAt.AsTime().Equal(v.clock.Now()) {
		t.Errorf("closed session: status %v closed_at %v", closed.Status, closed.ClosedAt.AsTime())
	}

	// Calls on a closed or unknown session fail.
	_, err = v.sessions.Heartbeat(v.ctx, &idp.HeartbeatRequest{SessionId: sess.SessionId})
	wantCode(t, err, codes.FailedPrecondition)
	_, err = v.sessions.ReportSessionProgress(v.ctx, &idp.ReportSessionProgressRequest{SessionId: "nosuchsession", ProgressEntries: want})
	wantCode(t, err, codes.NotFound)
	_, err = v.sessions.CloseSession(v.ctx, &idp.CloseSessionRequest{SessionId: sess.SessionId})
	wantCode(t, err, codes.FailedPrecondition)
}

func TestSessionTooEarly(t *testing.T) {
	tests := []struct {
		name     string
		opts     Options
		settings time.Duration // 0: no settings
		wait     time.Duration // the interval in force
	}{
		{name: "default minimum", wait: DefaultMinInterval},
		{name: "lowered minimum", opts: Options{MinInterval: time.Minute}, wait: time.Minute},
		{name: "settings interval", settings: time.Hour, wait: time.Hour},
		{name: "no minimum", opts: Options{NoMinInterval: true}, wait: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newEnv(t, tc.opts)
			if tc.settings > 0 {
				_, err := v.sync.CreateSynchronizationSettings(v.ctx, &idp.CreateSynchronizationSettingsRequest{
					SubjectContainerId: testPool, Filter: &idp.SynchronizationFilter{Domain: "corp.example"},
					SynchronizationInterval: durationpb.New(tc.settings),
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			id := v.open(t, idp.SessionType_AD_SYNC).GetOpenedSession().SessionId
			closedAt := v.close(t, id, false).ClosedAt.AsTime()
			r := v.open(t, idp.SessionType_AD_SYNC)
			if tc.wait == 0 {
				if r.Result != idp.OpenSessionResult_SUCCESS {
					t.Fatalf("reopen without minimum: %v", r.Result)
				}
				return
			}
			if r.Result != idp.OpenSessionResult_TOO_EARLY {
				t.Fatalf("reopen at once: %v, want TOO_EARLY", r.Result)
			}
			if got, want := r.GetNextSessionAt().AsTime(), closedAt.Add(tc.wait); !got.Equal(want) {
				t.Errorf("next_session_at %v, want %v", got, want)
			}
			v.clock.Advance(tc.wait)
			if r := v.open(t, idp.SessionType_AD_SYNC); r.Result != idp.OpenSessionResult_SUCCESS {
				t.Errorf("reopen after the interval: %v", r.Result)
			}
		})
	}
}

func TestPasswordSessionsAreNotDelayed(t *testing.T) {
	v := newEnv(t, Options{}) // the 15 minute minimum applies to AD_SYNC
	id := v.open(t, idp.SessionType_AD_PASSWORD_HASH).GetOpenedSession().SessionId
	v.close(t, id, false)
	if r := v.open(t, idp.SessionType_AD_PASSWORD_HASH); r.Result != idp.OpenSessionResult_SUCCESS {
		t.Fatalf("a password session right after another: %v, want SUCCESS", r.Result)
	}
	ad := v.open(t, idp.SessionType_AD_SYNC).GetOpenedSession().SessionId
	v.close(t, ad, false)
	if r := v.open(t, idp.SessionType_AD_SYNC); r.Result != idp.OpenSessionResult_TOO_EARLY {
		t.Fatalf("an AD_SYNC session right after another: %v, want TOO_EARLY", r.Result)
	}
}

func TestSessionFailedDoesNotDelay(t *testing.T) {
	v := newEnv(t, Options{})
	id := v.open(t, idp.SessionType_AD_SYNC).GetOpenedSession().SessionId
	s := v.close(t, id, true)
	if s.Status != idp.SessionStatus_FAILED || s.FailReason != "ldap unreachable" {
		t.Errorf("failed close: status %v reason %q", s.Status, s.FailReason)
	}
	if r := v.open(t, idp.SessionType_AD_SYNC); r.Result != idp.OpenSessionResult_SUCCESS {
		t.Errorf("open after a failed session: %v, want SUCCESS", r.Result)
	}
}

func TestSessionExpires(t *testing.T) {
	v := newEnv(t, Options{SessionTTL: time.Minute})
	id := v.open(t, idp.SessionType_AD_SYNC).GetOpenedSession().SessionId
	v.clock.Advance(time.Minute)
	_, err := v.sessions.Heartbeat(v.ctx, &idp.HeartbeatRequest{SessionId: id})
	wantCode(t, err, codes.FailedPrecondition)
	got, err := v.sessions.GetSession(v.ctx, &idp.GetSessionRequest{SessionId: id})
	if err != nil {
		t.Fatal(err)
	}
	if got.Session.Status != idp.SessionStatus_EXPIRED {
		t.Errorf("status %v, want EXPIRED", got.Session.Status)
	}
	// The slot is free again.
	if r := v.open(t, idp.SessionType_AD_SYNC); r.Result != idp.OpenSessionResult_SUCCESS {
		t.Errorf("open after expiry: %v", r.Result)
	}
	list, err := v.sessions.ListSessions(v.ctx, &idp.ListSessionsRequest{SubjectContainerId: testPool, Filter: `status="EXPIRED"`})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Sessions) != 1 || list.Sessions[0].SessionId != id {
		t.Errorf("expired sessions: %v", list.Sessions)
	}
}

func TestSessionDeltaWithTokenAndSettings(t *testing.T) {
	v := newEnv(t, Options{NoMinInterval: true})
	if _, err := v.sync.SetReplicationToken(v.ctx, &idp.SetReplicationTokenRequest{
		SubjectContainerId: testPool, ReplicationToken: "cookie-1", SessionType: idp.SessionType_AD_SYNC,
	}); err != nil {
		t.Fatal(err)
	}
	settingsReq := &idp.CreateSynchronizationSettingsRequest{
		SubjectContainerId: testPool, Filter: &idp.SynchronizationFilter{Domain: "corp.example"},
		RemoveUserBehavior: idp.RemoveUserBehavior_BLOCK,
	}
	if _, err := v.sync.CreateSynchronizationSettings(v.ctx, settingsReq); err != nil {
		t.Fatal(err)
	}
	r := v.open(t, idp.SessionType_AD_SYNC)
	if r.GetOpenedSession().SyncMode != idp.SyncMode_DELTA || r.ReplicationToken != "cookie-1" {
		t.Errorf("mode %v token %q, want DELTA cookie-1", r.GetOpenedSession().SyncMode, r.ReplicationToken)
	}
	if r.SynchronizationSettings.GetRemoveUserBehavior() != idp.RemoveUserBehavior_BLOCK {
		t.Errorf("settings not returned: %v", r.SynchronizationSettings)
	}
	// Another type has no token: full sync.
	if m := v.open(t, idp.SessionType_AD_PASSWORD_HASH).GetOpenedSession().SyncMode; m != idp.SyncMode_FULL_SYNC {
		t.Errorf("password hash session mode %v, want FULL_SYNC", m)
	}
	v.close(t, r.GetOpenedSession().SessionId, false)
	if _, err := v.sync.ResetReplicationToken(v.ctx, &idp.ResetReplicationTokenRequest{SubjectContainerId: testPool}); err != nil {
		t.Fatal(err)
	}
	if m := v.open(t, idp.SessionType_AD_SYNC).GetOpenedSession().SyncMode; m != idp.SyncMode_FULL_SYNC {
		t.Errorf("mode after reset %v, want FULL_SYNC", m)
	}
}

func TestSettingsValidation(t *testing.T) {
	v := newEnv(t, Options{})
	tests := []struct {
		name string
		req  *idp.CreateSynchronizationSettingsRequest
		code codes.Code
	}{
		{"interval too short", &idp.CreateSynchronizationSettingsRequest{SynchronizationInterval: durationpb.New(time.Minute)}, codes.InvalidArgument},
		{"interval too long", &idp.CreateSynchronizationSettingsRequest{SynchronizationInterval: durationpb.New(7 * time.Hour)}, codes.InvalidArgument},
		{"unsupported source", &idp.CreateSynchronizationSettingsRequest{UserAttributeMappings: []*idp.UserAttributeMapping{
			{Source: "favouriteColour", Target: idp.UserTargetAttribute_FULL_NAME, Type: idp.MappingType_DIRECT}}}, codes.InvalidArgument},
		{"username cannot be empty", &idp.CreateSynchronizationSettingsRequest{UserAttributeMappings: []*idp.UserAttributeMapping{
			{Target: idp.UserTargetAttribute_USERNAME, Type: idp.MappingType_EMPTY}}}, codes.InvalidArgument},
		{"unknown pool", &idp.CreateSynchronizationSettingsRequest{SubjectContainerId: "other"}, codes.NotFound},
		{"valid", &idp.CreateSynchronizationSettingsRequest{SynchronizationInterval: durationpb.New(time.Hour),
			UserAttributeMappings: []*idp.UserAttributeMapping{{Source: "SN", Target: idp.UserTargetAttribute_FAMILY_NAME, Type: idp.MappingType_DIRECT}}}, codes.OK},
		{"exists", &idp.CreateSynchronizationSettingsRequest{}, codes.AlreadyExists},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.req.SubjectContainerId == "" {
				tc.req.SubjectContainerId = testPool
			}
			tc.req.Filter = &idp.SynchronizationFilter{Domain: "corp.example"}
			_, err := v.sync.CreateSynchronizationSettings(v.ctx, tc.req)
			wantCode(t, err, tc.code)
		})
	}
}

// TestSessionMaxAge: under the fault a session expires SessionMaxAge after
// it opened, whatever its heartbeats, and its expires_at says so.
func TestSessionMaxAge(t *testing.T) {
	v := newEnv(t, Options{SessionTTL: time.Minute, SessionMaxAge: 90 * time.Second})
	start := v.clock.Now()
	sess := v.open(t, idp.SessionType_AD_SYNC).GetOpenedSession()
	if got, want := sess.ExpiresAt.AsTime(), start.Add(time.Minute); !got.Equal(want) {
		t.Errorf("expires_at at open %v, want %v", got, want)
	}
	beat := func() error {
		_, err := v.sessions.Heartbeat(v.ctx, &idp.HeartbeatRequest{SessionId: sess.SessionId})
		return err
	}
	for range 2 {
		v.clock.Advance(40 * time.Second)
		if err := beat(); err != nil {
			t.Fatalf("heartbeat before the maximum age: %v", err)
		}
	}
	got, err := v.sessions.GetSession(v.ctx, &idp.GetSessionRequest{SessionId: sess.SessionId})
	if err != nil {
		t.Fatal(err)
	}
	if want := start.Add(90 * time.Second); !got.Session.ExpiresAt.AsTime().Equal(want) {
		t.Errorf("expires_at after heartbeats %v, want the maximum age %v", got.Session.ExpiresAt.AsTime(), want)
	}
	v.clock.Advance(15 * time.Second)
	wantCode(t, beat(), codes.FailedPrecondition)
	got, err = v.sessions.GetSession(v.ctx, &idp.GetSessionRequest{SessionId: sess.SessionId})
	if err != nil || got.Session.Status != idp.SessionStatus_EXPIRED {
		t.Fatalf("session past its maximum age: %v, %v; want EXPIRED", got.GetSession().GetStatus(), err)
	}
}

// TestHeartbeatError: under the fault every heartbeat of an open session
// answers the code and leaves the session as it was; other calls and the
// session's own errors are unchanged.
func TestHeartbeatError(t *testing.T) {
	v := newEnv(t, Options{SessionTTL: time.Minute, HeartbeatError: codes.PermissionDenied})
	sess := v.open(t, idp.SessionType_AD_SYNC).GetOpenedSession()
	v.clock.Advance(30 * time.Second)
	_, err := v.sessions.Heartbeat(v.ctx, &idp.HeartbeatRequest{SessionId: sess.SessionId})
	wantCode(t, err, codes.PermissionDenied)
	got, err := v.sessions.GetSession(v.ctx, &idp.GetSessionRequest{SessionId: sess.SessionId})
	if err != nil {
		t.Fatal(err)
	}
	if !got.Session.ExpiresAt.AsTime().Equal(sess.ExpiresAt.AsTime()) || got.Session.Status != idp.SessionStatus_OPENED {
		t.Errorf("after a refused heartbeat: %v expires %v, want OPENED %v", got.Session.Status, got.Session.ExpiresAt.AsTime(), sess.ExpiresAt.AsTime())
	}
	_, err = v.sessions.ReportSessionProgress(v.ctx, &idp.ReportSessionProgressRequest{SessionId: sess.SessionId,
		ProgressEntries: []*idp.ProgressEntry{{ObjectType: idp.RelatedObjectType_USER,
			ChangeInfo: []*idp.ChangeInfo{{ChangeType: idp.ChangeType_CREATE, Successful: 1}}}}})
	if err != nil {
		t.Errorf("progress report under the heartbeat fault: %v", err)
	}
	_, err = v.sessions.Heartbeat(v.ctx, &idp.HeartbeatRequest{SessionId: "iss-unknown"})
	wantCode(t, err, codes.NotFound)
}
