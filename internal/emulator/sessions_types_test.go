package emulator

import (
	"testing"
	"time"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
)

// The three session types of one agent interleave: a password-hash and
// several user-control sessions open and close while an AD_SYNC session is
// open, user-control sessions follow each other seconds apart, and each
// type keeps its own replication token.
func TestSessionTypesInterleave(t *testing.T) {
	v := newEnv(t, Options{}) // the 15 minute minimum applies to AD_SYNC only
	ad := v.open(t, idp.SessionType_AD_SYNC)
	if ad.Result != idp.OpenSessionResult_SUCCESS {
		t.Fatalf("open AD_SYNC: %v", ad.Result)
	}
	pw := v.open(t, idp.SessionType_AD_PASSWORD_HASH)
	if pw.Result != idp.OpenSessionResult_SUCCESS {
		t.Fatalf("open AD_PASSWORD_HASH while AD_SYNC is open: %v", pw.Result)
	}
	for i := range 3 {
		uc := v.open(t, idp.SessionType_AD_USER_CONTROL)
		if uc.Result != idp.OpenSessionResult_SUCCESS {
			t.Fatalf("user-control session %d while AD_SYNC and AD_PASSWORD_HASH are open: %v", i, uc.Result)
		}
		if r := v.open(t, idp.SessionType_AD_USER_CONTROL); r.Result != idp.OpenSessionResult_OPENED_SESSION_EXISTS {
			t.Errorf("a second user-control session at once: %v, want OPENED_SESSION_EXISTS", r.Result)
		}
		id := uc.GetOpenedSession().SessionId
		if _, err := v.sessions.ReportSessionProgress(v.ctx, &idp.ReportSessionProgressRequest{SessionId: id,
			ProgressEntries: []*idp.ProgressEntry{{ObjectType: idp.RelatedObjectType_USER, ChangeInfo: []*idp.ChangeInfo{
				{ChangeType: idp.ChangeType_DEACTIVATE, Successful: 1}, {ChangeType: idp.ChangeType_ACTIVATE, Successful: 1}}}}}); err != nil {
			t.Fatalf("user-control progress: %v", err)
		}
		if _, err := v.sync.SetReplicationToken(v.ctx, &idp.SetReplicationTokenRequest{SubjectContainerId: testPool,
			SessionType: idp.SessionType_AD_USER_CONTROL, ReplicationToken: "uc-token"}); err != nil {
			t.Fatalf("user-control token: %v", err)
		}
		if s := v.close(t, id, false); s.Status != idp.SessionStatus_COMPLETED {
			t.Errorf("user-control session %d closed as %v", i, s.Status)
		}
		v.clock.Advance(10 * time.Second)
	}
	v.close(t, pw.GetOpenedSession().SessionId, false)
	v.close(t, ad.GetOpenedSession().SessionId, false)

	// Each type kept its own token; AD_SYNC alone waits for the interval.
	for typ, want := range map[idp.SessionType]string{idp.SessionType_AD_USER_CONTROL: "uc-token", idp.SessionType_AD_SYNC: ""} {
		got, err := v.sync.GetReplicationToken(v.ctx, &idp.GetReplicationTokenRequest{SubjectContainerId: testPool, SessionType: typ})
		if err != nil || got.ReplicationToken != want {
			t.Errorf("token of %v = %q (%v), want %q", typ, got.GetReplicationToken(), err, want)
		}
	}
	if r := v.open(t, idp.SessionType_AD_USER_CONTROL); r.Result != idp.OpenSessionResult_SUCCESS || r.ReplicationToken != "uc-token" {
		t.Errorf("user-control session after the others: %v token %q", r.Result, r.ReplicationToken)
	}
	if r := v.open(t, idp.SessionType_AD_SYNC); r.Result != idp.OpenSessionResult_TOO_EARLY {
		t.Errorf("AD_SYNC right after the last one: %v, want TOO_EARLY", r.Result)
	}
}
