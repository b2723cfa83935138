package idhub

import (
	"context"
	"iter"
	"time"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"

	"github.com/idsync/idsync/internal/pool"
)

// MaxFailReason is the longest fail_reason CloseSession accepts.
const MaxFailReason = pool.MaxFailReason

// OpenResult is the outcome of OpenSession.
type OpenResult struct {
	// Result is SUCCESS, OPENED_SESSION_EXISTS or TOO_EARLY.
	Result idp.OpenSessionResult
	// Session is the opened session (SUCCESS only).
	Session *idp.SynchronizationSession
	// NextSessionAt is when to try again (TOO_EARLY only).
	NextSessionAt time.Time
	// ReplicationToken is the stored watermark; empty means full sync.
	ReplicationToken string
	// Settings are the pool's synchronization settings, if any.
	Settings *idp.SynchronizationSettings
}

// OpenSession opens a synchronization session of type t for agentID. A
// session held by another agent or a too early request is not an error:
// see OpenResult.Result. Not retried.
func (c *Client) OpenSession(ctx context.Context, agentID string, t idp.SessionType) (*OpenResult, error) {
	resp := &idp.OpenSessionResponse{}
	err := c.opCall(ctx, "OpenSession", "SynchronizationSessionService/OpenSession", false,
		func(ctx context.Context) (*operation.Operation, error) {
			return c.sessions.OpenSession(ctx, &idp.OpenSessionRequest{
				SubjectContainerId: c.opts.UserpoolID, AgentId: agentID, SessionType: t,
			})
		}, resp)
	if err != nil {
		return nil, err
	}
	r := &OpenResult{
		Result:           resp.GetResult(),
		Session:          resp.GetOpenedSession(),
		ReplicationToken: resp.GetReplicationToken(),
		Settings:         resp.GetSynchronizationSettings(),
	}
	if ts := resp.GetNextSessionAt(); ts != nil {
		r.NextSessionAt = ts.AsTime()
	}
	return r, nil
}

// Heartbeat extends the session's lease.
func (c *Client) Heartbeat(ctx context.Context, sessionID string) error {
	return c.opCall(ctx, "Heartbeat", "SynchronizationSessionService/Heartbeat", true,
		func(ctx context.Context) (*operation.Operation, error) {
			return c.sessions.Heartbeat(ctx, &idp.HeartbeatRequest{SessionId: sessionID})
		}, nil)
}

// ReportProgress replaces the session's progress with entries (cumulative
// counts, 1-3 entries of 1-6 change infos). The operation's response is not
// read: the agent does not need it.
func (c *Client) ReportProgress(ctx context.Context, sessionID string, entries []*idp.ProgressEntry) error {
	return c.opCall(ctx, "ReportSessionProgress", "SynchronizationSessionService/ReportSessionProgress", true,
		func(ctx context.Context) (*operation.Operation, error) {
			return c.sessions.ReportSessionProgress(ctx, &idp.ReportSessionProgressRequest{SessionId: sessionID, ProgressEntries: entries})
		}, nil)
}

// CloseSession closes the session, as failed with reason when failed is
// true. The reason is made valid UTF-8 and truncated to MaxFailReason bytes
// on a rune boundary. Retried: a session left open blocks every agent until
// it expires.
func (c *Client) CloseSession(ctx context.Context, sessionID string, failed bool, reason string) (*idp.SynchronizationSession, error) {
	s := &idp.SynchronizationSession{}
	err := c.opCall(ctx, "CloseSession", "SynchronizationSessionService/CloseSession", true,
		func(ctx context.Context) (*operation.Operation, error) {
			return c.sessions.CloseSession(ctx, &idp.CloseSessionRequest{
				SessionId: sessionID, Failed: failed, FailReason: TruncateReason(reason),
			})
		}, s)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// TruncateReason returns reason as valid UTF-8 of at most MaxFailReason
// bytes (hence also runes), cut on a rune boundary and ending in "…" when
// shortened.
func TruncateReason(reason string) string { return pool.TruncateReason(reason) }

// GetSession returns one session.
func (c *Client) GetSession(ctx context.Context, sessionID string) (*idp.SynchronizationSession, error) {
	var resp *idp.GetSessionResponse
	err := c.do(ctx, "GetSession", true, func(ctx context.Context) error {
		var err error
		resp, err = c.sessions.GetSession(ctx, &idp.GetSessionRequest{SessionId: sessionID})
		return err
	})
	if err != nil {
		return nil, err
	}
	return resp.GetSession(), nil
}

// ListSessions iterates over the pool's sessions matching filter (empty
// for all).
func (c *Client) ListSessions(ctx context.Context, filter string) iter.Seq2[*idp.SynchronizationSession, error] {
	return pages(ctx, c, "ListSessions", func(ctx context.Context, token string) ([]*idp.SynchronizationSession, string, error) {
		resp, err := c.sessions.ListSessions(ctx, &idp.ListSessionsRequest{
			SubjectContainerId: c.opts.UserpoolID, PageSize: MaxBatch, PageToken: token, Filter: filter,
		})
		return resp.GetSessions(), resp.GetNextPageToken(), err
	})
}
