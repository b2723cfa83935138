package agent

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/pool"
	"github.com/idsync/idsync/internal/state"
	"github.com/idsync/idsync/reporter"
)

// Local state keys of the password hash session.
const (
	metaPasswordCursor  = "AD_PASSWORD_HASH/cursor"
	metaPasswordPending = "AD_PASSWORD_HASH/pending"
)

// HashSource reads password changes and hashes from the directory.
// *drsrsource.Client implements it.
type HashSource interface {
	// CheckRights fails with an error that has a MissingRight() string
	// method (see RightError) naming a missing replication right.
	CheckRights(ctx context.Context) error
	// PasswordChanges calls fn for each in-scope account whose password
	// changed since the opaque cursor (empty: everything) and returns the
	// next cursor and whether it was a full pass. A cursor it cannot use
	// fails with directory.ErrFullSyncRequired.
	PasswordChanges(ctx context.Context, from []byte, fn func(directory.HashChange) error) ([]byte, bool, error)
	// PasswordHashes calls fn with the hash of each account, named by
	// external id; accounts without a password are skipped, and the hash
	// is wiped when fn returns.
	PasswordHashes(ctx context.Context, externalIDs []string, fn func(directory.PasswordHash) error) error
	Close() error
}

// RightError is what a HashSource's error says when the replication
// account lacks a right.
type RightError interface {
	error
	MissingRight() string
}

// PasswordCloud is what a password hash session needs from Identity Hub.
// *idhub.Cloud implements it.
type PasswordCloud interface {
	SessionAPI
	ResolveExternalIDs(ctx context.Context, externalIDs []string) ([]pool.ResolvedUser, error)
	SetPasswordHash(ctx context.Context, userID, ntHash string, needChange bool) error
}

// MetaStore keeps small named values. *state.Store implements it.
type MetaStore interface {
	Meta(name string) (string, error)
	SetMeta(name, value string) error
}

// PasswordOptions configure a PasswordSync. Required: AgentID, Cloud,
// NewSource, Store.
type PasswordOptions struct {
	AgentID string
	// UserpoolID is recorded in the job records.
	UserpoolID string
	Cloud      PasswordCloud
	// NewSource connects to the directory for one session; the session
	// closes it.
	NewSource func(ctx context.Context) (HashSource, error)
	Store     MetaStore
	// Jobs, when set, records each session as a job.
	Jobs JobLog
	// Interval is the time between sessions in Run; zero means 2 minutes.
	Interval time.Duration
	// Concurrency is the number of parallel SetPasswordHash calls; zero
	// means 8.
	Concurrency int
	// ReportInterval is how often progress is reported; zero means 5 s.
	ReportInterval time.Duration
	// HeartbeatInterval is how often the session is kept alive; zero
	// means a third of the session's lifetime.
	HeartbeatInterval time.Duration
	Logger            *zap.Logger
	Now               func() time.Time
}

// PasswordSync runs AD_PASSWORD_HASH sessions: it replicates the password
// changes since the session's replication token and sets the hash of each
// changed user already in the pool. It is independent of the AD_SYNC cycle.
// Sessions of one PasswordSync must not overlap.
type PasswordSync struct {
	opts PasswordOptions
	log  *zap.Logger
	now  func() time.Time
}

// NewPasswordSync checks the options and returns a PasswordSync.
func NewPasswordSync(opts PasswordOptions) (*PasswordSync, error) {
	if opts.AgentID == "" || opts.Cloud == nil || opts.NewSource == nil || opts.Store == nil {
		return nil, errors.New("agent: password sync: AgentID, Cloud, NewSource and Store are required")
	}
	if opts.Interval <= 0 {
		opts.Interval = 2 * time.Minute
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	p := &PasswordSync{opts: opts, log: named(opts.Logger, "passwords"), now: time.Now}
	if opts.Now != nil {
		p.now = opts.Now
	}
	return p, nil
}

// Run runs a session every Interval until ctx is done. Failures are logged
// and the next session runs on schedule; when the API says it is too early,
// the next session waits until the time it gave.
func (p *PasswordSync) Run(ctx context.Context) error {
	for {
		wait := p.opts.Interval
		_, err := p.RunOnce(ctx, TriggerAuto)
		var nn *NotNowError
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.As(err, &nn) && !nn.Held && nn.Next.After(p.now()):
			wait = max(wait, nn.Next.Sub(p.now()))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// RunOnce runs one AD_PASSWORD_HASH session and returns its job record.
// The error is a *NotNowError (nothing ran, no job), a *PartialError, a
// RightError (wrapped) or another failure.
func (p *PasswordSync) RunOnce(ctx context.Context, trigger Trigger) (*state.Job, error) {
	start := p.now()
	job := &state.Job{
		ID: state.NewJobID(start), TargetType: "user_pool", TargetID: p.opts.UserpoolID, Direction: "ingress", AgentID: p.opts.AgentID,
		StartTime: state.UnixMilli{Time: start.UTC()}, TriggerType: string(trigger), Status: state.StatusRunning,
		SessionType: pool.SessionADPasswordHash.String(),
	}
	s := &pwSession{p: p, log: p.log.With(zap.String("job", job.ID)), job: job, counts: &reporter.Counts{}}
	err := s.run(ctx)
	var nn *NotNowError
	if errors.As(err, &nn) {
		s.log.Debug("password session not run", zap.String("reason", nn.Error()))
		return nil, err
	}
	err = finishJob(job, s.counts, err, p.now(), passwordErrorCode)
	if p.opts.Jobs != nil {
		if serr := p.opts.Jobs.Save(job); serr != nil {
			s.log.Error("saving the job record failed", zap.Error(serr))
		}
	}
	fields := []zap.Field{zap.String("status", job.Status), zap.String("mode", job.Mode),
		zap.Duration("took", job.EndTime.Sub(start)), zap.Int("changed", job.UsersRead),
		zap.Int64("hashes_set", s.counts.Get(directory.KindUser, reporter.PasswordHash, reporter.Success)),
		zap.Int64("failed", job.Result.Failures())}
	if err != nil {
		s.log.Warn("password session finished", append(fields, zap.Error(err))...)
	} else {
		s.log.Info("password session finished", fields...)
	}
	return job, err
}

func passwordErrorCode(err error) string {
	var re RightError
	if errors.As(err, &re) {
		return "ReplicationRightMissing"
	}
	return errorCode(err)
}

// pwSession is the state of one password hash session.
type pwSession struct {
	p      *PasswordSync
	log    *zap.Logger
	job    *state.Job
	counts *reporter.Counts

	session *session
	token   string
}

func (s *pwSession) run(ctx context.Context) error {
	o := &s.p.opts
	spec := sessionSpec{API: o.Cloud, AgentID: o.AgentID, Type: pool.SessionADPasswordHash, Op: "open password hash session",
		HeartbeatInterval: o.HeartbeatInterval, ReportInterval: o.ReportInterval, Log: s.log}
	return withSession(ctx, spec, s.counts, func(ctx context.Context, ss *session) error {
		s.session, s.token = ss, ss.Token()
		s.job.SessionID = ss.ID()
		return s.sync(ctx)
	})
}

// sync replicates the changes, sets the hashes, and moves the cursor.
func (s *pwSession) sync(ctx context.Context) error {
	o := &s.p.opts
	src, err := o.NewSource(ctx)
	if err != nil {
		return fmt.Errorf("%w: %w", errSourceRead, err)
	}
	defer src.Close()
	if err := src.CheckRights(ctx); err != nil {
		return fmt.Errorf("password hash sync: %w", err)
	}
	from, why := s.cursor()
	if why != "" {
		s.log.Info("full password pass", zap.String("reason", why))
	}
	var changed []directory.HashChange
	collect := func(a directory.HashChange) error {
		changed = append(changed, a)
		return nil
	}
	next, full, err := src.PasswordChanges(ctx, from, collect)
	if errors.Is(err, directory.ErrFullSyncRequired) && len(from) > 0 {
		s.log.Info("full password pass", zap.String("reason", "unreadable local password cursor"))
		changed = nil
		next, full, err = src.PasswordChanges(ctx, nil, collect)
	}
	if err != nil {
		return fmt.Errorf("%w: %w", errSourceRead, err)
	}
	s.job.Mode = string(ModeDelta)
	if full {
		s.job.Mode = string(ModeFull)
	}
	changed, err = s.withPending(changed)
	if err != nil {
		return err
	}
	s.job.UsersRead = len(changed)

	failed, err := s.apply(ctx, src, changed)
	if err != nil {
		return err
	}
	// Record what must be retried and the cursor, then let the pool's token
	// cover them: the token is never ahead of what was applied or recorded.
	pending, _ := json.Marshal(failed)
	if err := o.Store.SetMeta(metaPasswordPending, string(pending)); err != nil {
		return fmt.Errorf("save pending password updates: %w", err)
	}
	if err := o.Store.SetMeta(metaPasswordCursor, base64.StdEncoding.EncodeToString(next)); err != nil {
		return fmt.Errorf("save the password cursor: %w", err)
	}
	if err := s.session.setToken(ctx, cursorToken(next)); err != nil {
		return fmt.Errorf("store the password replication token: %w", err)
	}
	return nil
}

// cursor returns the local cursor when the pool's token vouches for it,
// otherwise the empty cursor and why a full pass is needed. The source
// says when the cursor itself is unreadable.
func (s *pwSession) cursor() ([]byte, string) {
	local, err := s.p.opts.Store.Meta(metaPasswordCursor)
	if err != nil || local == "" {
		return nil, "no local password cursor"
	}
	raw, err := base64.StdEncoding.DecodeString(local)
	if err != nil {
		return nil, "unreadable local password cursor"
	}
	if s.token == "" {
		return nil, "the pool has no password replication token"
	}
	if s.token != cursorToken(raw) {
		return nil, "the pool's password replication token does not match the local cursor"
	}
	return raw, ""
}

// withPending adds the accounts whose update failed last time.
func (s *pwSession) withPending(changed []directory.HashChange) ([]directory.HashChange, error) {
	v, err := s.p.opts.Store.Meta(metaPasswordPending)
	if err != nil {
		return nil, fmt.Errorf("read pending password updates: %w", err)
	}
	var ids []string
	if v != "" {
		if err := json.Unmarshal([]byte(v), &ids); err != nil {
			s.log.Warn("unreadable pending password updates; dropped", zap.Error(err))
		}
	}
	seen := map[string]bool{}
	for _, a := range changed {
		seen[a.ExternalID] = true
	}
	for _, id := range ids {
		if _, err := uuid.Parse(id); err == nil && !seen[id] {
			seen[id] = true
			changed = append(changed, directory.HashChange{ExternalID: id})
		}
	}
	return changed, nil
}

// apply sets the hash of each changed account that is in the pool and
// returns the external ids whose update failed.
func (s *pwSession) apply(ctx context.Context, src HashSource, changed []directory.HashChange) ([]string, error) {
	o := &s.p.opts
	if len(changed) == 0 {
		return nil, nil
	}
	ids := make([]string, len(changed))
	for i, a := range changed {
		ids[i] = a.ExternalID
	}
	resolved, err := o.Cloud.ResolveExternalIDs(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errTargetRead, err)
	}
	userOf := make(map[string]string, len(resolved))
	for _, r := range resolved {
		userOf[r.ExternalID] = r.UserID
	}
	inPool := slices.DeleteFunc(changed, func(a directory.HashChange) bool { return userOf[a.ExternalID] == "" })
	s.log.Info("password changes", zap.Int("changed", len(ids)), zap.Int("in_pool", len(inPool)))
	if len(inPool) == 0 {
		return nil, nil
	}

	reps := s.session.startReports(ctx)

	var mu sync.Mutex
	var failed []string
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.Concurrency)
	inPoolIDs := make([]string, len(inPool))
	for i, a := range inPool {
		inPoolIDs[i] = a.ExternalID
	}
	err = src.PasswordHashes(gctx, inPoolIDs, func(sec directory.PasswordHash) error {
		ext, user, hash, must := sec.ExternalID, userOf[sec.ExternalID], sec.Hash.Hex(), sec.MustChange
		g.Go(func() error {
			if err := o.Cloud.SetPasswordHash(gctx, user, hash, must); err != nil {
				if gctx.Err() != nil {
					return gctx.Err()
				}
				s.log.Warn("setting a password hash failed", zap.String("external_id", ext), zap.Error(err))
				s.counts.Add(directory.KindUser, reporter.PasswordHash, reporter.Failed, 1)
				mu.Lock()
				failed = append(failed, ext)
				mu.Unlock()
				return nil
			}
			s.counts.Add(directory.KindUser, reporter.PasswordHash, reporter.Success, 1)
			return nil
		})
		return nil
	})
	gerr := g.Wait()
	reps.Stop()
	if err = errors.Join(err, gerr); err != nil {
		return nil, fmt.Errorf("setting password hashes: %w", err)
	}
	if err := reps.Flush(ctx); err != nil {
		return nil, err
	}
	return failed, nil
}

// cursorToken is the replication token of a cursor: its base64 encoding,
// or "sha256:" and the digest when that exceeds the API's limit.
func cursorToken(raw []byte) string {
	s := base64.StdEncoding.EncodeToString(raw)
	if len(s) > maxTokenChars {
		sum := sha256.Sum256(raw)
		return "sha256:" + hex.EncodeToString(sum[:])
	}
	return s
}

// CreateCredentials returns the credentials a new user is created with when
// password hash sync is on: the account's NT hash as AD_MD4, and whether
// the user must change the password (pwdLastSet 0). It returns nil, false,
// nil when the account has no password; the caller then generates one.
func CreateCredentials(ctx context.Context, src HashSource, externalID string) (*pool.PasswordHash, bool, error) {
	var creds *pool.PasswordHash
	var must bool
	err := src.PasswordHashes(ctx, []string{externalID}, func(s directory.PasswordHash) error {
		creds = &pool.PasswordHash{Hex: s.Hash.Hex(), Type: pool.HashADMD4}
		must = s.MustChange
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("read the password hash of %s: %w", externalID, err)
	}
	return creds, must, nil
}
