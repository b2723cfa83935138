package emulator

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"io"
	"strings"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/idsync/idsync/internal/emulator/validation"
)

// streamSubject authenticates a streaming call (the unary interceptors do
// not see streams) and refuses pool users: only service accounts run agents.
func (e *Emulator) streamSubject(ctx context.Context) (string, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	var token string
	for _, v := range md.Get("authorization") {
		if t, ok := strings.CutPrefix(v, "Bearer "); ok {
			token = strings.TrimSpace(t)
		}
	}
	if token == "" {
		return "", status.Error(codes.Unauthenticated, "authorization header with a bearer token is required")
	}
	subject, err := e.authenticate(token)
	if err != nil {
		return "", err
	}
	return subject, nil
}

// agentOnly refuses calls made as a pool user. The caller holds e.mu.
func (e *Emulator) agentOnly(subject string) error {
	if _, ok := e.st.users[subject]; ok {
		return status.Error(codes.PermissionDenied, "password writeback calls are for the sync agent's service account")
	}
	return nil
}

// stopStreams ends every open password change stream (server shutdown).
func (e *Emulator) stopStreams() {
	e.mu.Lock()
	defer e.mu.Unlock()
	w := e.wb()
	w.stream++
	w.changedQueue()
}

// GetPasswordChanges streams the queued password changes with an offset
// above the request's, in offset order, then each new one as it is queued.
// Only the newest stream of the pool is served: an older one ends with
// ABORTED.
func (s userServer) GetPasswordChanges(stream grpc.BidiStreamingServer[idp.GetPasswordChangesRequest, idp.GetPasswordChangesResponse]) error {
	e := s.e
	ctx := stream.Context()
	subject, err := e.streamSubject(ctx)
	if err != nil {
		return err
	}
	req, err := stream.Recv()
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := validation.Check(req); err != nil {
		return err
	}
	e.mu.Lock()
	if err := e.agentOnly(subject); err != nil {
		e.mu.Unlock()
		return err
	}
	if err := e.checkPool(req.GetUserpoolId()); err != nil {
		e.mu.Unlock()
		return err
	}
	w := e.wb()
	w.stream++
	me := w.stream
	w.changedQueue() // wakes the stream this one replaces
	e.mu.Unlock()

	recvDone := make(chan error, 1)
	go func() {
		for {
			// Later requests only acknowledge; the queue shrinks by commits.
			if _, err := stream.Recv(); err != nil {
				recvDone <- err
				return
			}
		}
	}()
	sent := req.GetOffset()
	for {
		e.mu.Lock()
		e.expireWriteback()
		w := e.wb()
		if w.stream != me {
			e.mu.Unlock()
			return status.Error(codes.Aborted, "the password change stream was replaced or the service is stopping; reconnect")
		}
		var batch []*idp.GetPasswordChangesResponse
		for _, c := range w.Pending {
			if c.Offset > sent {
				batch = append(batch, &idp.GetPasswordChangesResponse{
					ExternalUserId: c.ExternalID, Password: c.Password, ModifyingOperationId: c.OpID,
					NeedChange: c.NeedChange, Offset: c.Offset, OperationExpiresAt: timestamppb.New(c.OpExpiresAt),
					Generated: c.Generated, OldPassword: c.OldPassword,
				})
			}
		}
		notify := w.notify
		e.mu.Unlock()
		for _, r := range batch {
			if err := stream.Send(r); err != nil {
				return err
			}
			sent = r.Offset
		}
		select {
		case <-notify:
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		case err := <-recvDone:
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// writebackCodes maps a writeback error code to the status code of the
// failed password operation.
var writebackCodes = map[idp.PasswordWritebackErrorDetails_PasswordWritebackErrorCode]codes.Code{
	idp.PasswordWritebackErrorDetails_PERMISSION_DENIED:         codes.PermissionDenied,
	idp.PasswordWritebackErrorDetails_PASSWORD_POLICY_VIOLATION: codes.FailedPrecondition,
	idp.PasswordWritebackErrorDetails_UNKNOWN_ERROR:             codes.Unknown,
	idp.PasswordWritebackErrorDetails_DEADLINE_EXCEEDED:         codes.DeadlineExceeded,
}

// CommitPassword completes a queued change with the agent's result: without
// error_details the password is set in the pool; with them the password
// operation fails carrying them. A repeated commit with the same result
// succeeds again and changes nothing.
func (s userServer) CommitPassword(ctx context.Context, req *idp.CommitPasswordRequest) (*operation.Operation, error) {
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.agentOnly(subjectFrom(ctx)); err != nil {
		return nil, err
	}
	if err := e.checkPool(req.GetUserpoolId()); err != nil {
		return nil, err
	}
	e.expireWriteback()
	w := e.wb()
	code := req.GetErrorDetails().GetErrorCode()
	failed := code != idp.PasswordWritebackErrorDetails_PASSWORD_WRITEBACK_ERROR_CODE_UNSPECIFIED
	meta := &idp.CommitPasswordMetadata{ExternalUserId: req.GetExternalUserId(), ModifyingOperationId: req.GetModifyingOperationId(), UserpoolId: e.st.UserpoolID}
	idx := -1
	for i, c := range w.Pending {
		if c.OpID == req.GetModifyingOperationId() {
			idx = i
		}
	}
	if idx < 0 {
		for _, d := range w.Done {
			if d.OpID != req.GetModifyingOperationId() {
				continue
			}
			switch {
			case d.Code == "EXPIRED":
				return nil, status.Errorf(codes.FailedPrecondition, "password operation %s expired before the commit", d.OpID)
			case (d.Code == "") == !failed:
				return e.newOp(ctx, "Commit password", meta, nil)
			default:
				return nil, status.Errorf(codes.FailedPrecondition, "password operation %s was already committed with another result", d.OpID)
			}
		}
		return nil, status.Errorf(codes.NotFound, "no pending password change for operation %s", req.GetModifyingOperationId())
	}
	c := w.Pending[idx]
	if c.ExternalID != req.GetExternalUserId() {
		return nil, status.Errorf(codes.InvalidArgument, "operation %s changes the password of another user", c.OpID)
	}
	if failed {
		gc, ok := writebackCodes[code]
		if !ok {
			return nil, status.Errorf(codes.InvalidArgument, "unknown error_details.error_code %d", int32(code))
		}
		st := status.New(gc, "password writeback: "+req.GetErrorDetails().GetErrorMessage())
		if withDetails, err := st.WithDetails(req.GetErrorDetails()); err == nil {
			st = withDetails
		}
		e.finishChange(c, code.String(), st)
	} else {
		got, want := sha256.Sum256([]byte(req.GetPassword())), sha256.Sum256([]byte(c.Password))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			return nil, status.Errorf(codes.InvalidArgument, "the password does not match the one of operation %s", c.OpID)
		}
		if rec, ok := e.st.users[c.UserID]; ok {
			e.applyPassword(rec, c.Password, c.NeedChange)
		}
		e.finishChange(c, "", nil)
	}
	w.Pending = append(w.Pending[:idx], w.Pending[idx+1:]...)
	w.changedQueue()
	e.changed()
	return e.newOp(ctx, "Commit password", meta, nil)
}
