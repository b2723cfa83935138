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

// Retry policy: the one retry layer of idsync.
//
// Every call of the Client goes through its retrier, which wraps the call
// (as a backend retry wrapper does in restic) so nothing above it loops:
// the agent makes each change once and handles only the outcome.
//
// A call is made at most RetryOptions.MaxAttempts times in total. Calls
// marked idempotent are retried on ClassRetryable errors, waiting a random
// duration in [d/2, d] between attempts where d starts at InitialBackoff
// and doubles up to MaxBackoff (or the server's RetryInfo delay when
// longer). Nothing is retried, and no retry is logged, once the caller's
// context is done; a wait in progress ends at once. For calls that start
// an operation, one attempt is "start the operation and wait for it"; a
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
// groups, ConvertToExternal (the server may have acted, and a retry could
// duplicate work or fail confusingly); a create that failed is made again
// by the next cycle, which finds the object by its external id on
// conflict. Every call, idempotent or not, is retried when the server
// rejected it before doing anything: RESOURCE_EXHAUSTED from rate limiting
// (not a quota), and UNAVAILABLE for OpenSession, whose worst case on a
// retry is OPENED_SESSION_EXISTS.

// retrier runs calls under the retry policy.
type retrier struct {
	opts RetryOptions
	log  *zap.Logger
}

// do runs fn under the retry policy and wraps the final error as
// "idhub: <method>: <err>".
func (c *Client) do(ctx context.Context, method string, idempotent bool, fn func(ctx context.Context) error) error {
	if err := c.retrier.run(ctx, method, idempotent, fn); err != nil {
		return fmt.Errorf("idhub: %s: %w", method, err)
	}
	return nil
}

// run calls fn until it succeeds, fails in a way the policy does not
// retry, has been called opts.MaxAttempts times, or ctx is done. It returns
// the last error unwrapped; when ctx ended a wait, the error is ctx's, with
// the last failure attached.
func (r *retrier) run(ctx context.Context, method string, idempotent bool, fn func(ctx context.Context) error) error {
	delay := r.opts.InitialBackoff
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		if attempt >= r.opts.MaxAttempts || ctx.Err() != nil || !IsRetryable(err) {
			return err
		}
		if !idempotent && !rejected(method, err) {
			return err
		}
		wait := delay/2 + rand.N(delay/2+1)
		if rd := retryDelay(err); rd > wait {
			wait = rd
		}
		r.log.Debug("retrying call", zap.String("method", method), zap.Int("attempt", attempt),
			zap.Duration("wait", wait), zap.Error(err))
		if cerr := sleep(ctx, wait); cerr != nil {
			return fmt.Errorf("%w (last attempt: %w)", cerr, err)
		}
		delay = min(delay*2, r.opts.MaxBackoff)
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
