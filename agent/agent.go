// Package agent is the synchronization engine: it drives sessions against
// Identity Hub, reads the directory, plans the changes (purely), checks the
// safety limits, applies the plan and records the job.
package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/pool"
	"github.com/idsync/idsync/internal/state"
)

// Store is the local state a cycle keeps between runs. *state.Store
// implements it.
type Store interface {
	Snapshot(kind string) (*directory.Snapshot, error)
	SaveSnapshot(kind string, snap *directory.Snapshot) error
	// Watermark returns the last snapshot's watermark without reading the
	// snapshot; SetWatermark moves it while the snapshot stands.
	Watermark(kind string) (directory.Watermark, error)
	SetWatermark(kind string, wm directory.Watermark) error
	AllIDs(k directory.Kind) (map[string]string, error)
	ReplaceIDs(k directory.Kind, pairs map[string]string) error
	UpdateIDs(k directory.Kind, set map[string]string, remove []string) error
	Pending(k directory.Kind) ([]string, error)
	SetPending(k directory.Kind, externalIDs []string) error
	Meta(name string) (string, error)
	SetMeta(name, value string) error
}

// JobLog keeps job records. *state.Jobs implements it.
type JobLog interface {
	Save(j *state.Job) error
}

// SyncSettings are the effective synchronization settings of a cycle: what
// the planner applies and what scopes and maps the directory read.
type SyncSettings struct {
	Plan Settings
	// Domain, OrganizationalUnits and Groups are the scope filter.
	Domain              string
	OrganizationalUnits []string
	Groups              []string
	// Mapping selects the directory attributes of each field.
	Mapping directory.Mapping
}

// Trigger says who started a cycle.
type Trigger string

// Triggers, as in the job record.
const (
	TriggerAuto   Trigger = "auto"
	TriggerManual Trigger = "manual"
)

// Options configure an Agent. Required: AgentID, UserpoolID, Cloud,
// NewSource, Store, Jobs.
type Options struct {
	AgentID    string
	UserpoolID string
	Cloud      Cloud
	// NewSource returns the directory reader for the effective settings.
	NewSource func(SyncSettings) (Source, error)
	Store     Store
	Jobs      JobLog
	// Settings, when non-nil, are the local settings and take precedence
	// over the pool's; otherwise those returned by OpenSession are used.
	Settings *SyncSettings
	Limits   Limits
	// Concurrency is the number of parallel API calls; zero means 8.
	// Each change is applied once: retries of transient failures are
	// Cloud's (the idhub client's retry layer), never the agent's.
	Concurrency int
	// ReportInterval is how often progress is reported; zero means 5 s.
	ReportInterval time.Duration
	// HeartbeatInterval is how often the session is kept alive; it is
	// never longer than a third of the session's lifetime (zero: that).
	HeartbeatInterval time.Duration
	// FullSyncInterval forces a full cycle when the last one is older;
	// zero means only when needed.
	FullSyncInterval time.Duration
	// NewHashSource, when set (password hash sync is on), connects to the
	// directory over MS-DRSR so new users are created with their AD
	// password hash instead of a generated password.
	NewHashSource func(ctx context.Context) (HashSource, error)
	// SuspendLockedOut makes locked-out accounts inactive in the pool, as
	// the user-control loop does (user_control.suspend_locked_out while
	// user_control is enabled).
	SuspendLockedOut bool
	// Progress, when set, is called with (done, total) changes while
	// applying, for a progress display.
	Progress func(done, total int64)
	// Quarantine, when set with QuarantineAfter > 0, keeps objects whose
	// change failed in QuarantineAfter consecutive cycles out of later
	// cycles until their directory object changes, they are released, or
	// QuarantineRetry (zero: DefaultQuarantineRetry) has passed.
	Quarantine      QuarantineStore
	QuarantineAfter int
	QuarantineRetry time.Duration
	Logger          *zap.Logger
	Now             func() time.Time
}

// Agent runs synchronization cycles. Cycles of one Agent must not overlap.
type Agent struct {
	opts Options
	log  *zap.Logger
	now  func() time.Time
}

// New checks the options and returns an Agent.
func New(opts Options) (*Agent, error) {
	var missing []string
	for name, ok := range map[string]bool{
		"AgentID": opts.AgentID != "", "UserpoolID": opts.UserpoolID != "", "Cloud": opts.Cloud != nil,
		"NewSource": opts.NewSource != nil, "Store": opts.Store != nil, "Jobs": opts.Jobs != nil,
	} {
		if !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("agent: missing options: %v", missing)
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.ReportInterval <= 0 {
		opts.ReportInterval = 5 * time.Second
	}
	a := &Agent{opts: opts, log: named(opts.Logger, ""), now: opts.Now}
	if a.now == nil {
		a.now = time.Now
	}
	return a, nil
}

// errorCode names a failure for the job record.
func errorCode(err error) string {
	var (
		nn *NotNowError
		se *SafetyError
		pe *PartialError
	)
	switch {
	case err == nil:
		return ""
	case errors.As(err, &nn):
		return "NotNow"
	case errors.As(err, &se) && se.Stop.ScopeChange:
		return "ScopeChanged"
	case errors.As(err, &se):
		return "SafetyStop"
	case errors.As(err, &pe):
		return "PartialFailure"
	case errors.As(err, new(*StalePlanError)):
		return "StalePlan"
	case errors.Is(err, context.Canceled):
		return "Canceled"
	case errors.Is(err, errSessionLost):
		return "SessionLost"
	case errors.Is(err, errSourceRead):
		return "SourceReadFailed"
	case errors.Is(err, errTargetRead):
		return "TargetReadFailed"
	}
	switch pool.Classify(err) {
	case pool.ClassPermission:
		return "PermissionDenied"
	case pool.ClassRetryable:
		return "Unavailable"
	}
	return "Failed"
}

var (
	errSessionLost = errors.New("the synchronization session was lost")
	errSourceRead  = errors.New("reading the directory failed")
	errTargetRead  = errors.New("reading the user pool failed")
)
