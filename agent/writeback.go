package agent

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"go.uber.org/zap"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/state"
	"github.com/idsync/idsync/reporter"
)

// WritebackCloud is what password writeback needs from Identity Hub (cmd
// adapts *idhub.Client to it).
type WritebackCloud interface {
	// PasswordChanges opens the stream of changes after offset; it ends
	// when ctx is done.
	PasswordChanges(ctx context.Context, agentID string, offset int64) (directory.PasswordChangeStream, error)
	// CommitPassword reports the directory's answer: success when failure
	// is nil. directory.ErrChangeGone (wrapped) when the service no longer
	// waits for the change.
	CommitPassword(ctx context.Context, c *directory.PasswordChange, failure *directory.WritebackFailure) error
}

// PasswordDirectory writes passwords to the directory.
type PasswordDirectory interface {
	// WritePassword writes c. A *directory.WritebackFailure is the
	// directory's final refusal (or a user out of scope); other errors are
	// transient and retried.
	WritePassword(ctx context.Context, c *directory.PasswordChange) error
}

// WritebackOptions configure a Writeback. Required: AgentID, Cloud,
// Directory, Managed, Store.
type WritebackOptions struct {
	AgentID    string
	UserpoolID string
	Cloud      WritebackCloud
	Directory  PasswordDirectory
	// Managed reports whether idsync manages the user with this external
	// id in this pool (it synchronized the user from the directory).
	Managed func(externalID string) (bool, error)
	Store   MetaStore
	// Jobs, when set, records the changes processed as password_writeback
	// jobs (counts only): one job per burst of changes.
	Jobs JobLog
	// Observe, when set, is told each change's result (the writeback code,
	// "success" or "skipped") and its latency from the change's arrival to
	// its commit.
	Observe func(result string, latency time.Duration)
	// MinBackoff and MaxBackoff bound the wait before reconnecting the
	// stream or retrying the directory; zero means 500 ms and 30 s.
	MinBackoff, MaxBackoff time.Duration
	// JobIdle closes the current job after this long without a change;
	// zero means 2 s.
	JobIdle time.Duration
	// AfterWrite, when set, is called after the directory accepted a
	// password and that was recorded, before the commit (tests).
	AfterWrite func(c *directory.PasswordChange)
	Logger     *zap.Logger
	Now        func() time.Time
}

// JobTypePasswordWriteback is the SessionType of password writeback jobs.
const JobTypePasswordWriteback = "password_writeback"

// Writeback writes passwords set in Identity Hub to the directory first
// and commits the directory's answer. It keeps no session: each change is
// committed on its own.
type Writeback struct {
	opts WritebackOptions
	log  *zap.Logger
	now  func() time.Time

	st     *writebackState
	job    *state.Job
	counts *reporter.Counts
}

// NewWriteback checks the options and returns a Writeback.
func NewWriteback(opts WritebackOptions) (*Writeback, error) {
	if opts.AgentID == "" || opts.Cloud == nil || opts.Directory == nil || opts.Managed == nil || opts.Store == nil {
		return nil, errors.New("agent: password writeback: AgentID, Cloud, Directory, Managed and Store are required")
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 500 * time.Millisecond
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(30*time.Second, opts.MinBackoff)
	}
	if opts.JobIdle <= 0 {
		opts.JobIdle = 2 * time.Second
	}
	w := &Writeback{opts: opts, log: named(opts.Logger, "writeback"), now: time.Now}
	if opts.Now != nil {
		w.now = opts.Now
	}
	return w, nil
}

// Run keeps the stream of password changes open until ctx is done,
// reconnecting with backoff, and processes the changes in offset order.
func (w *Writeback) Run(ctx context.Context) error {
	st, err := loadWritebackState(w.opts.Store)
	if err != nil {
		return fmt.Errorf("password writeback: %w", err)
	}
	w.st = st
	defer w.finishJob()
	backoff := w.opts.MinBackoff
	for {
		processed, err := w.serve(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if processed {
			backoff = w.opts.MinBackoff
		}
		w.log.Warn("password change stream ended; reconnecting", zap.Error(err), zap.Duration("in", backoff))
		w.finishJob()
		if !sleep(ctx, jitter(backoff)) {
			return ctx.Err()
		}
		backoff = min(2*backoff, w.opts.MaxBackoff)
	}
}

// serve runs one stream until it fails; processed tells whether it
// delivered anything (the backoff then starts over).
func (w *Writeback) serve(ctx context.Context) (processed bool, err error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := w.opts.Cloud.PasswordChanges(sctx, w.opts.AgentID, w.st.Offset)
	if err != nil {
		return false, fmt.Errorf("open the password change stream: %w", err)
	}
	w.log.Info("password change stream open", zap.Int64("offset", w.st.Offset))
	type recv struct {
		c   *directory.PasswordChange
		err error
	}
	ch := make(chan recv)
	go func() {
		for {
			c, err := stream.Recv()
			select {
			case ch <- recv{c, err}:
			case <-sctx.Done():
				if c != nil {
					c.Wipe()
				}
				return
			}
			if err != nil {
				return
			}
		}
	}()
	idle := time.NewTimer(w.opts.JobIdle)
	defer idle.Stop()
	for {
		select {
		case <-ctx.Done():
			return processed, ctx.Err()
		case <-idle.C:
			w.finishJob()
		case r := <-ch:
			if r.err != nil {
				return processed, fmt.Errorf("receive password changes: %w", r.err)
			}
			processed = true
			if err := w.process(ctx, r.c); err != nil {
				return processed, err
			}
			if err := stream.Ack(w.st.Offset); err != nil {
				w.log.Debug("acknowledging the offset failed", zap.Error(err))
			}
			idle.Reset(w.opts.JobIdle)
		}
	}
}

// process handles one change: write to the directory unless already done,
// commit, then store the offset. An error stops the stream (the change is
// read again after reconnecting).
func (w *Writeback) process(ctx context.Context, c *directory.PasswordChange) error {
	defer c.Wipe()
	start := w.now()
	log := w.log.With(zap.String("external_id", c.ExternalUserID), zap.String("operation", c.OperationID), zap.Int64("offset", c.Offset))
	if c.Offset <= w.st.Offset && w.st.Offset > 0 || w.st.committed(c.OperationID) {
		log.Debug("password change already committed; skipped")
		w.st.markCommitted(c.OperationID, c.Offset)
		w.observe("skipped", start)
		return w.st.save(w.opts.Store)
	}
	var failure *directory.WritebackFailure
	if !w.st.written(c.OperationID) {
		var done bool
		failure, done = w.write(ctx, log, c)
		if !done {
			return ctx.Err()
		}
		if failure == nil {
			w.st.markWritten(c.OperationID)
			if err := w.st.save(w.opts.Store); err != nil {
				return err
			}
			log.Info("password written to the directory and recorded; committing it")
			if w.opts.AfterWrite != nil {
				w.opts.AfterWrite(c)
			}
			if !c.OperationExpiresAt.IsZero() && w.now().After(c.OperationExpiresAt) {
				log.Warn("the directory accepted the password after the operation expired; the directory has the new password, Identity Hub keeps the old one")
				failure = &directory.WritebackFailure{Code: directory.WritebackDeadlineExceeded,
					Message: "Active Directory accepted the password only after the operation expired"}
			}
		}
	} else {
		log.Info("password already written to the directory; committing it")
	}
	if err := w.commit(ctx, log, c, failure); err != nil {
		return err
	}
	w.st.markCommitted(c.OperationID, c.Offset)
	if err := w.st.save(w.opts.Store); err != nil {
		return err
	}
	w.count(failure)
	result := "success"
	if failure != nil {
		result = failure.Code.String()
		log.Warn("password writeback refused", zap.Stringer("code", failure.Code), zap.String("reason", failure.Message))
	} else {
		log.Info("password written back", zap.Bool("own_change", c.Own()), zap.Bool("need_change", c.NeedChange))
	}
	w.observe(result, start)
	return nil
}

// write writes c to the directory, retrying transient errors until the
// operation expires; it returns the failure to commit (nil: written) and
// done=false when ctx ended first.
func (w *Writeback) write(ctx context.Context, log *zap.Logger, c *directory.PasswordChange) (_ *directory.WritebackFailure, done bool) {
	if !c.OperationExpiresAt.IsZero() && !w.now().Before(c.OperationExpiresAt) {
		return &directory.WritebackFailure{Code: directory.WritebackDeadlineExceeded,
			Message: "the operation expired before idsync could write the password to Active Directory"}, true
	}
	managed, err := w.opts.Managed(c.ExternalUserID)
	switch {
	case err != nil:
		return &directory.WritebackFailure{Code: directory.WritebackUnknown, Message: "idsync could not read its local state: " + err.Error()}, true
	case !managed:
		return &directory.WritebackFailure{Code: directory.WritebackPermissionDenied, Message: fmt.Sprintf(
			"user %s is not managed by idsync agent %s: only users it synchronizes from Active Directory into pool %s can have their password written back",
			c.ExternalUserID, w.opts.AgentID, w.opts.UserpoolID)}, true
	}
	// The directory must answer a little before the operation expires, so
	// that a DEADLINE_EXCEEDED commit still reaches the waiting operation.
	wctx := ctx
	deadline := c.OperationExpiresAt
	if !deadline.IsZero() {
		deadline = deadline.Add(-min(time.Second, deadline.Sub(w.now())/4))
		var cancel context.CancelFunc
		wctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	backoff := w.opts.MinBackoff
	for {
		err := w.opts.Directory.WritePassword(wctx, c)
		var f *directory.WritebackFailure
		switch {
		case err == nil:
			return nil, true
		case errors.As(err, &f):
			return f, true
		case ctx.Err() != nil:
			return nil, false
		case wctx.Err() != nil || !deadline.IsZero() && !w.now().Before(deadline):
			return &directory.WritebackFailure{Code: directory.WritebackDeadlineExceeded,
				Message: "Active Directory did not answer before the operation expired: " + err.Error()}, true
		}
		log.Warn("writing the password to the directory failed; retrying", zap.Error(err), zap.Duration("in", backoff))
		if !sleep(wctx, jitter(backoff)) && ctx.Err() != nil {
			return nil, false
		}
		backoff = min(2*backoff, w.opts.MaxBackoff)
	}
}

// commit reports the result, retrying until it is accepted, the service
// no longer waits for it, or ctx is done.
func (w *Writeback) commit(ctx context.Context, log *zap.Logger, c *directory.PasswordChange, failure *directory.WritebackFailure) error {
	backoff := w.opts.MinBackoff
	for {
		err := w.opts.Cloud.CommitPassword(ctx, c, failure)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, directory.ErrChangeGone):
			log.Warn("Identity Hub no longer waits for this password change; it is dropped", zap.Error(err))
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		}
		log.Warn("committing the password change failed; retrying", zap.Error(err), zap.Duration("in", backoff))
		if !sleep(ctx, jitter(backoff)) {
			return ctx.Err()
		}
		backoff = min(2*backoff, w.opts.MaxBackoff)
	}
}

func (w *Writeback) count(failure *directory.WritebackFailure) {
	if w.job == nil {
		start := w.now()
		w.job = &state.Job{
			ID: state.NewJobID(start), TargetType: "user_pool", TargetID: w.opts.UserpoolID, Direction: "egress", AgentID: w.opts.AgentID,
			StartTime: state.UnixMilli{Time: start.UTC()}, TriggerType: string(TriggerAuto), Status: state.StatusRunning,
			SessionType: JobTypePasswordWriteback, Mode: "writeback",
		}
		w.counts = &reporter.Counts{}
	}
	out := reporter.Success
	if failure != nil {
		out = reporter.Failed
	}
	w.counts.Add(directory.KindUser, reporter.PasswordWriteback, out, 1)
}

// finishJob saves the current job, if any.
func (w *Writeback) finishJob() {
	if w.job == nil {
		return
	}
	job := w.job
	w.job = nil
	err := finishJob(job, w.counts, nil, w.now(), errorCode)
	if w.opts.Jobs != nil {
		if serr := w.opts.Jobs.Save(job); serr != nil {
			w.log.Error("saving the job record failed", zap.Error(serr))
		}
	}
	r := job.Result.UserStatistics.PasswordWritten
	w.log.Info("password writeback job", zap.String("job", job.ID), zap.String("status", job.Status),
		zap.Int64("written", r.Success), zap.Int64("refused", r.Failed), zap.NamedError("result", err))
}

func (w *Writeback) observe(result string, start time.Time) {
	if w.opts.Observe != nil {
		w.opts.Observe(result, w.now().Sub(start))
	}
}

// jitter spreads d by up to +/-20%.
func jitter(d time.Duration) time.Duration {
	return d - d/5 + time.Duration(rand.Int64N(int64(2*d/5)+1))
}

// sleep waits d; false when ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
