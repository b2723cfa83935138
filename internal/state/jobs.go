package state

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Job statuses.
const (
	StatusPending        = "pending"
	StatusRunning        = "running"
	StatusFailed         = "failed"
	StatusPartialSuccess = "partial_success"
	StatusSuccess        = "success"
)

// Job is the record of one synchronization cycle. Its JSON follows the
// GetSynchronizationJob shape of cloud IDaaS products, with times in Unix
// milliseconds, plus idsync's own fields after ErrorMessage.
type Job struct {
	ID           string    `json:"SynchronizationJobId"`
	TargetType   string    `json:"TargetType"`
	TargetID     string    `json:"TargetId"`
	Direction    string    `json:"Direction"`
	StartTime    UnixMilli `json:"StartTime"`
	EndTime      UnixMilli `json:"EndTime,omitzero"`
	TriggerType  string    `json:"TriggerType"`
	Status       string    `json:"Status"`
	Result       Result    `json:"Result"`
	ErrorCode    string    `json:"ErrorCode,omitempty"`
	ErrorMessage string    `json:"ErrorMessage,omitempty"`

	// SessionType is the Identity Hub session type: AD_SYNC (users, groups
	// and memberships) or AD_PASSWORD_HASH (password hashes).
	SessionType string `json:"SessionType,omitempty"`
	// Type names the loop that ran the job when it is not a directory
	// cycle or a password session: "user_control".
	Type string `json:"Type,omitempty"`
	// Mode is "full" or "delta".
	Mode string `json:"Mode,omitempty"`
	// SessionID is the Identity Hub synchronization session of the job.
	SessionID string `json:"SessionId,omitempty"`
	DryRun    bool   `json:"DryRun,omitempty"`
	AgentID   string `json:"AgentId,omitempty"`
	// UsersRead and GroupsRead count the directory objects the job read:
	// the whole scope in a full cycle, the changed objects in a delta.
	UsersRead  int `json:"UsersRead"`
	GroupsRead int `json:"GroupsRead"`
	// Quarantined counts the objects in quarantine when the job ended
	// (see 'idsync jobs quarantine').
	Quarantined int `json:"Quarantined,omitempty"`
	// SettingsChanges are the fields of the pool's synchronization
	// settings that the cycle changed to match the config file.
	SettingsChanges []SettingChange `json:"SettingsChanges,omitempty"`
	// Objects are the objects the job changed, failed on or rejected, at
	// most MaxJobObjects. Save keeps them beside the record (see
	// Jobs.Objects); Get leaves them out.
	Objects []JobObject `json:"Objects,omitempty"`
	// ObjectsRecorded is how many objects the job's list holds, and
	// ObjectsOmitted how many more it changed beyond MaxJobObjects.
	ObjectsRecorded int `json:"ObjectsRecorded,omitempty"`
	ObjectsOmitted  int `json:"ObjectsOmitted,omitempty"`
}

// SettingChange is one field of the pool's synchronization settings that
// was changed, with its values as an admin reads them. Old is "" when the
// pool had no settings.
type SettingChange struct {
	Field string `json:"Field"`
	Old   string `json:"Old"`
	New   string `json:"New"`
}

// String renders the change as "field: old -> new".
func (c SettingChange) String() string {
	old := c.Old
	if old == "" {
		old = "(none)"
	}
	return c.Field + ": " + old + " -> " + c.New
}

// UnixMilli is a time that encodes as Unix milliseconds in JSON.
type UnixMilli struct{ time.Time }

// MarshalJSON encodes the time as Unix milliseconds.
func (t UnixMilli) MarshalJSON() ([]byte, error) {
	return json.Marshal(t.UnixMilli())
}

// UnmarshalJSON decodes Unix milliseconds.
func (t *UnixMilli) UnmarshalJSON(b []byte) error {
	var ms int64
	if err := json.Unmarshal(b, &ms); err != nil {
		return err
	}
	t.Time = time.UnixMilli(ms).UTC()
	return nil
}

// IsZero reports whether the time is unset (for omitzero).
func (t UnixMilli) IsZero() bool { return t.Time.IsZero() }

// NewJobID returns a new job id that sorts by start time:
// "sync_" + UTC time + random suffix.
func NewJobID(start time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "sync_" + start.UTC().Format("20060102T150405.000Z") + "_" + hex.EncodeToString(b[:])
}

// Jobs is the job history under a state directory. It needs no lock: each
// record is one file replaced atomically.
type Jobs struct {
	dir string
	// Keep is how many records are kept; older ones are removed when a
	// job is saved. Zero means 1000.
	Keep int
	// KeepObjects is how many jobs' object lists are kept; zero means
	// KeepObjectLists.
	KeepObjects int
}

// OpenJobs returns the job history under stateDir.
func OpenJobs(stateDir string) *Jobs {
	return &Jobs{dir: filepath.Join(stateDir, "jobs")}
}

// ErrNoJob is returned for an unknown job id.
var ErrNoJob = errors.New("no such job")

// Save writes j atomically, its object list beside it, and prunes old
// records and lists.
func (h *Jobs) Save(j *Job) error {
	if !validJobID(j.ID) {
		return fmt.Errorf("state: save job: invalid id %q", j.ID)
	}
	if err := os.MkdirAll(h.dir, 0o700); err != nil {
		return fmt.Errorf("state: save job: %w", err)
	}
	if err := h.saveObjects(j); err != nil {
		return err
	}
	rec := *j
	rec.ObjectsRecorded, rec.Objects = len(j.Objects), nil
	b, err := json.MarshalIndent(&rec, "", "  ")
	if err != nil {
		return fmt.Errorf("state: encode job %s: %w", j.ID, err)
	}
	if err := WriteFileAtomic(filepath.Join(h.dir, j.ID+".json"), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("state: save job %s: %w", j.ID, err)
	}
	return h.prune()
}

// Get returns one job.
func (h *Jobs) Get(id string) (*Job, error) {
	if !validJobID(id) {
		return nil, fmt.Errorf("state: job %q: %w", id, ErrNoJob)
	}
	b, err := os.ReadFile(filepath.Join(h.dir, id+".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("state: job %s: %w", id, ErrNoJob)
	}
	if err != nil {
		return nil, fmt.Errorf("state: read job %s: %w", id, err)
	}
	var j Job
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("state: decode job %s: %w", id, err)
	}
	return &j, nil
}

// List returns up to limit jobs, newest first; limit <= 0 means all.
func (h *Jobs) List(limit int) ([]*Job, error) {
	ids, err := h.ids()
	if err != nil {
		return nil, err
	}
	slices.Reverse(ids)
	if limit > 0 && len(ids) > limit {
		ids = ids[:limit]
	}
	out := make([]*Job, 0, len(ids))
	for _, id := range ids {
		j, err := h.Get(id)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, nil
}

// ids returns the stored job ids, oldest first.
func (h *Jobs) ids() ([]string, error) {
	ids, err := listJobIDs(h.dir, ".json")
	if err != nil {
		return nil, fmt.Errorf("state: list jobs: %w", err)
	}
	return ids, nil
}

func (h *Jobs) prune() error {
	keep := h.Keep
	if keep <= 0 {
		keep = 1000
	}
	ids, err := h.ids()
	if err != nil {
		return err
	}
	if len(ids) > keep {
		for _, id := range ids[:len(ids)-keep] {
			if err := os.Remove(filepath.Join(h.dir, id+".json")); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("state: prune job %s: %w", id, err)
			}
		}
		ids = ids[len(ids)-keep:]
	}
	return h.pruneObjects(ids)
}

// validJobID accepts the ids NewJobID makes, and nothing that could leave
// the jobs directory.
func validJobID(id string) bool {
	if !strings.HasPrefix(id, "sync_") || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			return false
		}
	}
	return true
}
