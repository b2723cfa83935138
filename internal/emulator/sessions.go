package emulator

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// sessionServer implements SynchronizationSessionService.
//
// At most one session per session type is OPENED at a time. A session
// expires SessionTTL after it was opened or last sent a heartbeat; expiry is
// evaluated lazily with the injected clock. A new AD_SYNC session may open
// only once the pool's synchronization interval has passed since the last
// COMPLETED one closed (failed sessions do not count); AD_PASSWORD_HASH and
// AD_USER_CONTROL sessions have no minimum interval, and sessions of
// different types may be open at once.
type sessionServer struct {
	idp.UnimplementedSynchronizationSessionServiceServer
	e *Emulator
}

// checkPool returns NOT_FOUND unless id is the emulated user pool.
func (e *Emulator) checkPool(id string) error {
	if id != e.st.UserpoolID {
		return status.Errorf(codes.NotFound, "user pool %s not found", id)
	}
	return nil
}

// expireSessions marks OPENED sessions past their expires_at as EXPIRED.
// The caller holds e.mu.
func (e *Emulator) expireSessions() {
	now := e.now()
	for _, s := range e.st.sessions {
		if s.Status == idp.SessionStatus_OPENED && !now.Before(s.ExpiresAt.AsTime()) {
			s.Status = idp.SessionStatus_EXPIRED
			e.changed()
		}
	}
}

// poolInterval is the synchronization interval of the pool: from its
// settings when they set one, else the minimum interval.
func (e *Emulator) poolInterval() time.Duration {
	if s := e.st.settings; s != nil && s.SynchronizationInterval != nil {
		return s.SynchronizationInterval.AsDuration()
	}
	return e.minInterval()
}

// openSession returns the OPENED session with id, or a status error saying why
// the session cannot take calls. The caller holds e.mu.
func (e *Emulator) openSession(id string) (*idp.SynchronizationSession, error) {
	e.expireSessions()
	s, ok := e.st.sessions[id]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "synchronization session %s not found", id)
	}
	switch s.Status {
	case idp.SessionStatus_OPENED:
		return s, nil
	case idp.SessionStatus_EXPIRED:
		return nil, status.Errorf(codes.FailedPrecondition, "synchronization session %s has expired", id)
	default:
		return nil, status.Errorf(codes.FailedPrecondition, "synchronization session %s is closed (%s)", id, s.Status)
	}
}

// OpenSession opens a session, or reports OPENED_SESSION_EXISTS or
// TOO_EARLY inside a successful operation.
func (s sessionServer) OpenSession(ctx context.Context, req *idp.OpenSessionRequest) (*operation.Operation, error) {
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.checkPool(req.GetSubjectContainerId()); err != nil {
		return nil, err
	}
	e.expireSessions()
	now := e.now()
	typ := req.GetSessionType()
	resp := &idp.OpenSessionResponse{}
	meta := &idp.OpenSessionMetadata{}
	for _, other := range e.st.sessions {
		if other.SessionType == typ && other.Status == idp.SessionStatus_OPENED {
			resp.Result = idp.OpenSessionResult_OPENED_SESSION_EXISTS
			return e.newOp(ctx, "Open synchronization session", meta, resp)
		}
	}
	// Only directory cycles wait for the pool's interval; password and
	// user-control sessions run every few seconds in the Yandex agent.
	if last, ok := e.st.lastCompleted[typ]; ok && typ == idp.SessionType_AD_SYNC {
		if next := last.Add(e.poolInterval()); now.Before(next) {
			resp.Result = idp.OpenSessionResult_TOO_EARLY
			resp.SessionInfo = &idp.OpenSessionResponse_NextSessionAt{NextSessionAt: timestamppb.New(next)}
			return e.newOp(ctx, "Open synchronization session", meta, resp)
		}
	}
	token := e.st.tokens[typ]
	sess := &idp.SynchronizationSession{
		SessionId:   newID("iss"),
		AgentId:     req.GetAgentId(),
		CreatedAt:   timestamppb.New(now),
		ExpiresAt:   timestamppb.New(e.sessionExpiry(now, now)),
		SyncMode:    idp.SyncMode_FULL_SYNC,
		Status:      idp.SessionStatus_OPENED,
		SessionType: typ,
	}
	if token != "" {
		sess.SyncMode = idp.SyncMode_DELTA
	}
	e.st.sessions[sess.SessionId] = sess
	e.evictSessions()
	e.changed()
	meta.SessionId = sess.SessionId
	resp.Result = idp.OpenSessionResult_SUCCESS
	resp.SessionInfo = &idp.OpenSessionResponse_OpenedSession{OpenedSession: proto.Clone(sess).(*idp.SynchronizationSession)}
	resp.ReplicationToken = token
	if e.st.settings != nil {
		resp.SynchronizationSettings = proto.Clone(e.st.settings).(*idp.SynchronizationSettings)
	}
	e.log.Debug("session opened", zapSession(sess)...)
	return e.newOp(ctx, "Open synchronization session", meta, resp)
}

// sessionExpiry is when a session created at created expires when it was
// last kept alive at now: SessionTTL later, but never past SessionMaxAge
// after it opened.
func (e *Emulator) sessionExpiry(created, now time.Time) time.Time {
	exp := now.Add(e.opts.SessionTTL)
	if e.opts.SessionMaxAge > 0 {
		exp = minTime(exp, created.Add(e.opts.SessionMaxAge))
	}
	return exp
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// Heartbeat extends an opened session to now + SessionTTL (see
// sessionExpiry). Under Options.HeartbeatError it answers with that code
// and changes nothing.
func (s sessionServer) Heartbeat(ctx context.Context, req *idp.HeartbeatRequest) (*operation.Operation, error) {
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	sess, err := e.openSession(req.GetSessionId())
	if err != nil {
		return nil, err
	}
	if c := e.opts.HeartbeatError; c != codes.OK {
		return nil, status.Errorf(c, "heartbeat of synchronization session %s refused (injected fault)", sess.SessionId)
	}
	sess.ExpiresAt = timestamppb.New(e.sessionExpiry(sess.CreatedAt.AsTime(), e.now()))
	e.changed()
	return e.newOp(ctx, "Synchronization session heartbeat", &idp.HeartbeatMetadata{SessionId: sess.SessionId}, nil)
}

// ReportSessionProgress replaces the session's progress with the report:
// reports are cumulative.
func (s sessionServer) ReportSessionProgress(ctx context.Context, req *idp.ReportSessionProgressRequest) (*operation.Operation, error) {
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	sess, err := e.openSession(req.GetSessionId())
	if err != nil {
		return nil, err
	}
	sess.ProgressEntries = nil
	for _, p := range req.GetProgressEntries() {
		sess.ProgressEntries = append(sess.ProgressEntries, proto.Clone(p).(*idp.ProgressEntry))
	}
	e.changed()
	return e.newOp(ctx, "Report synchronization session progress", &idp.ReportSessionProgressMetadata{SessionId: sess.SessionId},
		proto.Clone(sess).(*idp.SynchronizationSession))
}

// CloseSession closes a session as FAILED (with the reason) or COMPLETED.
func (s sessionServer) CloseSession(ctx context.Context, req *idp.CloseSessionRequest) (*operation.Operation, error) {
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	sess, err := e.openSession(req.GetSessionId())
	if err != nil {
		return nil, err
	}
	now := e.now()
	sess.ClosedAt = timestamppb.New(now)
	if req.GetFailed() {
		sess.Status = idp.SessionStatus_FAILED
		sess.FailReason = req.GetFailReason()
	} else {
		sess.Status = idp.SessionStatus_COMPLETED
		e.st.lastCompleted[sess.SessionType] = now
	}
	e.changed()
	e.log.Debug("session closed", zapSession(sess)...)
	return e.newOp(ctx, "Close synchronization session", &idp.CloseSessionMetadata{SessionId: sess.SessionId},
		proto.Clone(sess).(*idp.SynchronizationSession))
}

// GetSession returns a session in any status.
func (s sessionServer) GetSession(ctx context.Context, req *idp.GetSessionRequest) (*idp.GetSessionResponse, error) {
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	e.expireSessions()
	sess, ok := e.st.sessions[req.GetSessionId()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "synchronization session %s not found", req.GetSessionId())
	}
	return &idp.GetSessionResponse{Session: proto.Clone(sess).(*idp.SynchronizationSession)}, nil
}

// ListSessions lists the pool's sessions, oldest first. The filter accepts
// session_type, status and agent_id, e.g. status="OPENED" AND session_type="AD_SYNC".
func (s sessionServer) ListSessions(ctx context.Context, req *idp.ListSessionsRequest) (*idp.ListSessionsResponse, error) {
	e := s.e
	f, err := parseFilter(req.GetFilter(), "session_type", "status", "agent_id")
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.checkPool(req.GetSubjectContainerId()); err != nil {
		return nil, err
	}
	e.expireSessions()
	var all []*idp.SynchronizationSession
	for _, sess := range e.st.sessions {
		ok := matches(f, func(field string) string {
			switch field {
			case "session_type":
				return sess.SessionType.String()
			case "status":
				return sess.Status.String()
			default:
				return sess.AgentId
			}
		})
		if ok {
			all = append(all, sess)
		}
	}
	sort.Slice(all, func(i, j int) bool { return sessionKey(all[i]) < sessionKey(all[j]) })
	page, next, err := paginate(all, sessionKey, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &idp.ListSessionsResponse{NextPageToken: next}
	for _, sess := range page {
		resp.Sessions = append(resp.Sessions, proto.Clone(sess).(*idp.SynchronizationSession))
	}
	return resp, nil
}

// evictSessions forgets the oldest sessions that are no longer OPENED
// while more than Options.MaxSessions are kept. The caller holds e.mu.
func (e *Emulator) evictSessions() {
	excess := len(e.st.sessions) - e.opts.MaxSessions
	if excess <= 0 {
		return
	}
	var closed []*idp.SynchronizationSession
	for _, s := range e.st.sessions {
		if s.Status != idp.SessionStatus_OPENED {
			closed = append(closed, s)
		}
	}
	sort.Slice(closed, func(i, j int) bool { return sessionKey(closed[i]) < sessionKey(closed[j]) })
	for _, s := range closed[:min(excess, len(closed))] {
		delete(e.st.sessions, s.SessionId)
	}
}

func sessionKey(s *idp.SynchronizationSession) string {
	return fmt.Sprintf("%020d/%s", s.CreatedAt.AsTime().UnixNano(), s.SessionId)
}

func zapSession(s *idp.SynchronizationSession) []zap.Field {
	return []zap.Field{
		zap.String("session_id", s.SessionId), zap.String("agent_id", s.AgentId),
		zap.Stringer("type", s.SessionType), zap.Stringer("status", s.Status),
	}
}
