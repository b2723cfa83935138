package idhub

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
)

// Retry policy.
//
// Calls marked idempotent are retried on ClassRetryable errors, up to
// RetryOptions.MaxAttempts attempts in total, waiting a random duration in
// [d/2, d] between attempts where d starts at InitialBackoff and doubles up
// to MaxBackoff (or the server's RetryInfo delay when longer). Nothing is
// retried once the caller's context is done. For calls that start an
// operation, one attempt is "start the operation and wait for it"; a
// retryable operation failure is retried like an RPC failure.
//
// Idempotent (retried): every read and list, Heartbeat,
// ReportSessionProgress (reports are cumulative), Set/Reset replication
// token, Update/Delete of settings, users and groups, Suspend, Reactivate,
// SetPasswordHash, UpdateMembers. A retried Delete may return NOT_FOUND if
// an earlier attempt succeeded; callers treat NOT_FOUND on delete as done.
//
// CloseSession is retried too: closing a closed session fails with
// FAILED_PRECONDITION, which is not retried, so a retry cannot do harm, and
// a session left open blocks every agent until it expires.
//
// Not retried on most errors: OpenSession, Create of settings, users and
// groups, ConvertToExternal (a retry could duplicate work or fail
// confusingly); the agent applies its own per-object policy to them. Every
// call, idempotent or not, is retried when the server rejected it before
// doing anything: RESOURCE_EXHAUSTED from rate limiting (not a quota), and
// UNAVAILABLE for OpenSession, whose worst case on a retry is
// OPENED_SESSION_EXISTS.

// do runs fn, retrying it when idempotent, and wraps the final error as
// "idhub: <method>: <err>".
func (c *Client) do(ctx context.Context, method string, idempotent bool, fn func(ctx context.Context) error) error {
	if err := c.retry(ctx, method, idempotent, fn); err != nil {
		return fmt.Errorf("idhub: %s: %w", method, err)
	}
	return nil
}

// retry runs fn, retrying it when idempotent, and returns the last error
// unwrapped.
func (c *Client) retry(ctx context.Context, method string, idempotent bool, fn func(ctx context.Context) error) error {
	delay := c.opts.Retry.InitialBackoff
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		if attempt >= c.opts.Retry.MaxAttempts || ctx.Err() != nil || !IsRetryable(err) {
			return err
		}
		if !idempotent && !rejected(method, err) {
			return err
		}
		wait := delay/2 + rand.N(delay/2+1)
		if rd := retryDelay(err); rd > wait {
			wait = rd
		}
		c.log.Debug("retrying call", zap.String("method", method), zap.Int("attempt", attempt),
			zap.Duration("wait", wait), zap.Error(err))
		if sleep(ctx, wait) != nil {
			return err
		}
		delay = min(delay*2, c.opts.Retry.MaxBackoff)
	}
}

// rejected reports whether err shows that the server turned the call away
// without acting on it, so that even a non-idempotent call may be retried.
func rejected(method string, err error) bool {
	var se *startedError
	if errors.As(err, &se) {
		return false
	}
	switch Code(err) {
	case codes.ResourceExhausted:
		return true // rate limited; quota errors are not retryable at all
	case codes.Unavailable:
		return method == "OpenSession"
	}
	return false
}

// sleep waits for d or until ctx is done, returning ctx.Err() then.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
