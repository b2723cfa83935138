// Package emulator is an in-process emulator of the Yandex Identity Hub API:
// synchronization sessions, synchronization settings and replication tokens,
// user pool users, external groups and their members, long-running
// operations and IAM tokens. It implements the generated go-genproto server
// interfaces, so clients built with the generated clients talk to it exactly
// as they talk to Yandex Cloud.
//
// The emulator is the target of integration tests, the default backend of
// demos (`idsync emulator`) and a fault injector (latency, random errors,
// rate limits, slow operations, failed operations, transitional user
// statuses, sessions lost early, refused heartbeats). README.md in this directory lists every behaviour the API
// docs leave open and the choice made for it.
//
// Error model: validation, authentication, not-found, already-exists,
// failed-precondition and quota errors are returned directly as the gRPC
// status of the call, as the real API does; a mutating call that succeeds
// returns an operation.Operation that is done at once, or after
// Options.OpDelay, with the metadata and response types its method option
// declares. Under Options.OpErrorRate a done operation may carry an error.
package emulator

import (
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/time/rate"
	"google.golang.org/grpc/codes"
)

// DefaultMinInterval is the minimum synchronization interval the real API
// accepts; it is also the default interval of a pool without settings.
const DefaultMinInterval = 15 * time.Minute

// MaxInterval is the largest synchronization interval the real API accepts.
const MaxInterval = 6 * time.Hour

// DefaultSessionTTL is how long a session lives without a heartbeat.
const DefaultSessionTTL = 5 * time.Minute

// DefaultMaxSessions is how many synchronization sessions are kept by default.
const DefaultMaxSessions = 1000

// DefaultTokenTTL is the lifetime of IAM tokens issued by IamTokenService.Create.
const DefaultTokenTTL = 12 * time.Hour

// Quotas are the organization limits the emulator enforces. A zero field
// means unlimited.
type Quotas struct {
	SubjectsPerOrganization int // users in the organization's pools
	GroupsPerOrganization   int
	MembersPerGroup         int
	GroupsPerUser           int
}

// DefaultQuotas returns Yandex's documented default limits.
func DefaultQuotas() Quotas {
	return Quotas{
		SubjectsPerOrganization: 10000,
		GroupsPerOrganization:   100,
		MembersPerGroup:         1000,
		GroupsPerUser:           1000,
	}
}

// Options configure an Emulator. UserpoolID, OrganizationID and Domain are
// required; every other zero value has the documented meaning.
type Options struct {
	UserpoolID, OrganizationID, Domain string

	// StaticToken, if set, is accepted as a bearer token as-is (compared
	// in constant time).
	StaticToken string

	// MaxSessions caps the synchronization sessions kept: when more are
	// stored, the oldest closed or expired ones are forgotten first. Opened
	// sessions are never forgotten. Zero means DefaultMaxSessions.
	MaxSessions int

	// UserTransition, when positive, makes a created user show status
	// CREATING, and a deleted user show DELETING before it is removed, for
	// this long.
	UserTransition time.Duration

	// SessionTTL is how long a session lives after open or its last
	// heartbeat. Zero means DefaultSessionTTL (5m).
	SessionTTL time.Duration
	// SessionMaxAge, when positive, expires every session this long after
	// it opened, whatever its heartbeats: a fault that loses sessions
	// mid-run. Its expires_at never lies past it.
	SessionMaxAge time.Duration
	// HeartbeatError, when not OK, is the status code every Heartbeat
	// answers with; the session is left as it is (so it expires when its
	// TTL passes).
	HeartbeatError codes.Code

	// MinInterval is the minimum synchronization interval: the interval of a
	// pool without settings and the lower bound accepted for
	// synchronization_interval. Zero means DefaultMinInterval (15m) unless
	// NoMinInterval is set.
	MinInterval time.Duration
	// NoMinInterval removes the minimum: a pool without settings may open a
	// session right after the previous one completed, and settings accept any
	// interval up to MaxInterval.
	NoMinInterval bool

	// StrictMembers makes UpdateMembers refuse a delta that changes
	// nothing: ADD of a subject already a member is ALREADY_EXISTS,
	// REMOVE of one that is not a member NOT_FOUND (and, as every error,
	// applies none of the call's deltas). The docs do not say; by default
	// such deltas succeed without change.
	StrictMembers bool

	// StatePath, if set, is a JSON file the state is loaded from at start and
	// written to (atomically, mode 0600) shortly after each mutation and on
	// Close.
	StatePath string

	// Latency is added to every call; Jitter varies it uniformly by up to
	// +/-Jitter. Zero means none.
	Latency, Jitter time.Duration
	// ErrorRate (0..1) is the probability that a call fails before its
	// handler runs with UNAVAILABLE, INTERNAL or DEADLINE_EXCEEDED.
	ErrorRate float64
	// RPS limits calls per second over the whole server; calls over the
	// limit fail with RESOURCE_EXHAUSTED. Zero means unlimited.
	RPS float64
	// OpErrorRate (0..1) is the probability that a call that starts an
	// operation is answered with an operation that is done with its error
	// set (UNAVAILABLE or INTERNAL) and changed nothing.
	OpErrorRate float64
	// OpDelay makes operations report done only OpDelay after they were
	// created; clients must poll OperationService.Get. Zero means done at once.
	OpDelay time.Duration
	// FailObjects names objects (username, group name or external id)
	// whose every change fails; see SetFailObjects. A test hook.
	FailObjects []string

	// Quotas are the organization limits; use DefaultQuotas() for Yandex's
	// defaults. The zero value means unlimited.
	Quotas Quotas

	// WritebackTTL is how long a password change queued for password
	// writeback waits for the agent's commit before its operation fails
	// with DEADLINE_EXCEEDED. Zero means DefaultWritebackTTL.
	WritebackTTL time.Duration

	// TokenTTL is the lifetime of issued IAM tokens. Zero means DefaultTokenTTL.
	TokenTTL time.Duration

	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Logger receives debug logs of calls and mutations. Nil means no logs.
	Logger *zap.Logger
}

// Emulator is the Identity Hub API emulator. Create it with New.
type Emulator struct {
	opts    Options
	now     func() time.Time
	log     *zap.Logger
	limiter *rate.Limiter
	// opMethods are the full names of the methods that start an operation.
	opMethods map[string]bool
	// proofKey signs generated passwords (GeneratePassword's generation_proof).
	proofKey []byte

	mu sync.Mutex
	st *state

	logs logStore // Cloud Logging entries (logging.go)

	stats statsCounter
	pers  persister

	objFaults objectFaults // objfaults.go
}

// New returns an emulator for opts, loading opts.StatePath if it exists.
func New(opts Options) (*Emulator, error) {
	if opts.UserpoolID == "" || opts.OrganizationID == "" || opts.Domain == "" {
		return nil, errors.New("emulator: userpool id, organization id and domain are required")
	}
	if opts.ErrorRate < 0 || opts.ErrorRate > 1 {
		return nil, fmt.Errorf("emulator: error rate %v is outside 0..1", opts.ErrorRate)
	}
	if opts.OpErrorRate < 0 || opts.OpErrorRate > 1 {
		return nil, fmt.Errorf("emulator: operation error rate %v is outside 0..1", opts.OpErrorRate)
	}
	if opts.MaxSessions < 0 || opts.UserTransition < 0 {
		return nil, errors.New("emulator: max sessions and user transition must not be negative")
	}
	if opts.MaxSessions == 0 {
		opts.MaxSessions = DefaultMaxSessions
	}
	if opts.RPS < 0 || opts.Latency < 0 || opts.Jitter < 0 || opts.OpDelay < 0 ||
		opts.SessionTTL < 0 || opts.SessionMaxAge < 0 || opts.MinInterval < 0 || opts.TokenTTL < 0 {
		return nil, errors.New("emulator: durations and rates must not be negative")
	}
	if opts.SessionTTL == 0 {
		opts.SessionTTL = DefaultSessionTTL
	}
	if opts.TokenTTL == 0 {
		opts.TokenTTL = DefaultTokenTTL
	}
	if opts.MinInterval == 0 && !opts.NoMinInterval {
		opts.MinInterval = DefaultMinInterval
	}
	if opts.NoMinInterval {
		opts.MinInterval = 0
	}
	if opts.MinInterval > MaxInterval {
		return nil, fmt.Errorf("emulator: minimum interval %s exceeds the maximum %s", opts.MinInterval, MaxInterval)
	}
	e := &Emulator{
		opts:     opts,
		now:      opts.Now,
		log:      opts.Logger,
		proofKey: make([]byte, 32),
	}
	if e.now == nil {
		e.now = time.Now
	}
	e.opMethods = e.operationMethods()
	e.SetFailObjects(opts.FailObjects)
	if e.log == nil {
		e.log = zap.NewNop()
	}
	if opts.RPS > 0 {
		burst := int(opts.RPS)
		if burst < 1 {
			burst = 1
		}
		e.limiter = rate.NewLimiter(rate.Limit(opts.RPS), burst)
	}
	if _, err := rand.Read(e.proofKey); err != nil {
		return nil, fmt.Errorf("emulator: generate proof key: %w", err)
	}
	e.st = newState(opts.UserpoolID, opts.OrganizationID, opts.Domain, e.now())
	e.pers.path = opts.StatePath
	if opts.StatePath != "" {
		st, err := loadStateFile(opts.StatePath)
		switch {
		case errors.Is(err, errNoState):
		case err != nil:
			return nil, fmt.Errorf("emulator: %w", err)
		case st.UserpoolID != opts.UserpoolID || st.OrganizationID != opts.OrganizationID:
			return nil, fmt.Errorf("emulator: state file %s belongs to user pool %s in organization %s",
				opts.StatePath, st.UserpoolID, st.OrganizationID)
		default:
			st.Domain = opts.Domain
			e.st = st
		}
	}
	return e, nil
}

// Close writes any pending state to Options.StatePath. The emulator stays
// usable; later mutations are persisted again.
func (e *Emulator) Close() error {
	return e.flush()
}

// minInterval is the effective minimum synchronization interval.
func (e *Emulator) minInterval() time.Duration {
	return e.opts.MinInterval
}
