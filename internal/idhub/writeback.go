package idhub

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// PasswordChange is a pending password change from GetPasswordChanges. The
// plaintext is only in its byte slices: the caller wipes them.
type PasswordChange struct {
	ExternalUserID        string
	Password, OldPassword []byte
	OperationID           string
	NeedChange, Generated bool
	Offset                int64
	// ExpiresAt and OperationExpiresAt are zero when not given.
	ExpiresAt, OperationExpiresAt time.Time
}

// WritebackError is a refusal to commit: Code is the API's error code.
type WritebackError struct {
	Code    idp.PasswordWritebackErrorDetails_PasswordWritebackErrorCode
	Message string
}

// ErrChangeGone is returned (wrapped) by CommitPassword when the service no
// longer waits for the change: FAILED_PRECONDITION (expired, or committed
// with another result) or NOT_FOUND.
var ErrChangeGone = errors.New("the password change is no longer pending in Identity Hub")

// PasswordStream is an open GetPasswordChanges stream.
type PasswordStream struct {
	s       grpc.BidiStreamingClient[idp.GetPasswordChangesRequest, idp.GetPasswordChangesResponse]
	pool    string
	agentID string
}

// PasswordChanges opens the GetPasswordChanges stream for the pool from
// offset (the last change processed). The stream ends when ctx is done;
// it is not retried here: the caller reconnects.
func (c *Client) PasswordChanges(ctx context.Context, agentID string, offset int64) (*PasswordStream, error) {
	s, err := c.users.GetPasswordChanges(ctx)
	if err != nil {
		return nil, fmt.Errorf("idhub: GetPasswordChanges: %w", err)
	}
	ps := &PasswordStream{s: s, pool: c.opts.UserpoolID, agentID: agentID}
	if err := ps.send(offset); err != nil {
		return nil, err
	}
	c.stats.call("UserService/GetPasswordChanges")
	return ps, nil
}

func (p *PasswordStream) send(offset int64) error {
	if err := p.s.Send(&idp.GetPasswordChangesRequest{UserpoolId: p.pool, AgentId: p.agentID, Offset: offset}); err != nil {
		return fmt.Errorf("idhub: GetPasswordChanges: send: %w", err)
	}
	return nil
}

// Recv returns the next change. The response's password fields are
// cleared once copied, so only the returned change holds the plaintext.
func (p *PasswordStream) Recv() (*PasswordChange, error) {
	r, err := p.s.Recv()
	if err != nil {
		return nil, fmt.Errorf("idhub: GetPasswordChanges: %w", err)
	}
	ch := &PasswordChange{
		ExternalUserID: r.GetExternalUserId(), OperationID: r.GetModifyingOperationId(),
		NeedChange: r.GetNeedChange(), Generated: r.GetGenerated(), Offset: r.GetOffset(),
		Password: []byte(r.GetPassword()),
	}
	if r.GetOldPassword() != "" {
		ch.OldPassword = []byte(r.GetOldPassword())
	}
	if r.GetExpiresAt() != nil {
		ch.ExpiresAt = r.GetExpiresAt().AsTime()
	}
	if r.GetOperationExpiresAt() != nil {
		ch.OperationExpiresAt = r.GetOperationExpiresAt().AsTime()
	}
	r.Password, r.OldPassword = "", ""
	return ch, nil
}

// Ack sends the offset of the last change processed on the stream.
func (p *PasswordStream) Ack(offset int64) error { return p.send(offset) }

// CommitPassword reports the directory's answer for a change: success when
// failure is nil. A commit the service no longer waits for wraps
// ErrChangeGone.
func (c *Client) CommitPassword(ctx context.Context, ch *PasswordChange, failure *WritebackError) error {
	req := &idp.CommitPasswordRequest{
		ExternalUserId: ch.ExternalUserID, ModifyingOperationId: ch.OperationID, NeedChange: ch.NeedChange,
		Generated: ch.Generated, UserpoolId: c.opts.UserpoolID, Password: string(ch.Password),
	}
	if !ch.ExpiresAt.IsZero() {
		req.ExpiresAt = timestamppb.New(ch.ExpiresAt)
	}
	if failure != nil {
		req.ErrorDetails = &idp.PasswordWritebackErrorDetails{ErrorCode: failure.Code, ErrorMessage: failure.Message}
	}
	defer func() { req.Password = "" }()
	err := c.opCall(ctx, "CommitPassword", "UserService/CommitPassword", true,
		func(ctx context.Context) (*operation.Operation, error) { return c.users.CommitPassword(ctx, req) }, nil)
	switch Code(err) {
	case codes.OK:
		return nil
	case codes.FailedPrecondition, codes.NotFound:
		return fmt.Errorf("%w: %w", ErrChangeGone, err)
	}
	return err
}
