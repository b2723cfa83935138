package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"

	"github.com/idsync/idsync/agent"
	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/idhub"
)

// writebackCloud adapts the Identity Hub client to the agent's terms.
type writebackCloud struct{ c *idhub.Client }

var _ agent.WritebackCloud = writebackCloud{}

var apiWritebackCodes = map[directory.WritebackCode]idp.PasswordWritebackErrorDetails_PasswordWritebackErrorCode{
	directory.WritebackPermissionDenied: idp.PasswordWritebackErrorDetails_PERMISSION_DENIED,
	directory.WritebackPolicyViolation:  idp.PasswordWritebackErrorDetails_PASSWORD_POLICY_VIOLATION,
	directory.WritebackUnknown:          idp.PasswordWritebackErrorDetails_UNKNOWN_ERROR,
	directory.WritebackDeadlineExceeded: idp.PasswordWritebackErrorDetails_DEADLINE_EXCEEDED,
}

func (w writebackCloud) PasswordChanges(ctx context.Context, agentID string, offset int64) (directory.PasswordChangeStream, error) {
	s, err := w.c.PasswordChanges(ctx, agentID, offset)
	if err != nil {
		return nil, err
	}
	return writebackStream{s}, nil
}

func (w writebackCloud) CommitPassword(ctx context.Context, c *directory.PasswordChange, failure *directory.WritebackFailure) error {
	ch := &idhub.PasswordChange{
		ExternalUserID: c.ExternalUserID, Password: c.Password, OldPassword: c.OldPassword, OperationID: c.OperationID,
		NeedChange: c.NeedChange, Generated: c.Generated, Offset: c.Offset, ExpiresAt: c.ExpiresAt, OperationExpiresAt: c.OperationExpiresAt,
	}
	var we *idhub.WritebackError
	if failure != nil {
		code, ok := apiWritebackCodes[failure.Code]
		if !ok {
			code = idp.PasswordWritebackErrorDetails_UNKNOWN_ERROR
		}
		we = &idhub.WritebackError{Code: code, Message: failure.Message}
	}
	err := w.c.CommitPassword(ctx, ch, we)
	if errors.Is(err, idhub.ErrChangeGone) {
		return fmt.Errorf("%w: %w", directory.ErrChangeGone, err)
	}
	return err
}

// writebackStream hands the stream's changes over without copying the
// passwords: the slices move to the agent's change, which wipes them.
type writebackStream struct{ s *idhub.PasswordStream }

func (w writebackStream) Recv() (*directory.PasswordChange, error) {
	c, err := w.s.Recv()
	if err != nil {
		return nil, err
	}
	out := &directory.PasswordChange{
		ExternalUserID: c.ExternalUserID, Password: c.Password, OldPassword: c.OldPassword, OperationID: c.OperationID,
		NeedChange: c.NeedChange, Generated: c.Generated, Offset: c.Offset, ExpiresAt: c.ExpiresAt, OperationExpiresAt: c.OperationExpiresAt,
	}
	c.Password, c.OldPassword = nil, nil
	return out, nil
}

func (w writebackStream) Ack(offset int64) error { return w.s.Ack(offset) }
