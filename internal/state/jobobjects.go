package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Object list limits: a job records at most MaxJobObjects objects, of
// which at most MaxJobRejections rejections (the rest are counted in
// ObjectsOmitted), and the lists of the newest KeepObjectLists jobs that
// changed, failed on or rejected something are kept. About 150 bytes an object, that bounds
// the lists to some 30 MB whatever the directory's size; a delta job's
// list is usually a few kilobytes.
const (
	MaxJobObjects    = 2000
	MaxJobRejections = 500
	KeepObjectLists  = 100
)

// JobObject is one object a job changed, tried to change and failed on,
// or rejected before any call.
type JobObject struct {
	// Kind is "user" or "group".
	Kind string `json:"Kind"`
	// ExternalID is the directory objectGUID.
	ExternalID string `json:"ExternalId"`
	// Name is the username of a user or the pool name of a group.
	Name string `json:"Name,omitempty"`
	// ADName is a group's name in the directory when it differs from Name.
	ADName string `json:"AdName,omitempty"`
	DN     string `json:"Dn,omitempty"`
	// Action is create, bind, update, delete, activate, deactivate,
	// members (membership changes of a group) or reject.
	Action string `json:"Action"`
	// Fields are the fields an update or bind changed.
	Fields []string `json:"Fields,omitempty"`
	// Added and Removed count the members a "members" change added and
	// removed.
	Added   int `json:"Added,omitempty"`
	Removed int `json:"Removed,omitempty"`
	// Error is why the change failed or was rejected; empty on success.
	Error string `json:"Error,omitempty"`
}

// jobObjects is the file jobs/objects/<job id>.json.
type jobObjects struct {
	Version int         `json:"Version"`
	Omitted int         `json:"Omitted,omitempty"`
	Objects []JobObject `json:"Objects"`
}

// ErrNoObjects means a job's object list is not kept: the job changed
// nothing, predates object lists, is older than the newest
// KeepObjectLists lists, or was written by a newer idsync.
var ErrNoObjects = errors.New("no object list for this job")

// ErrDamagedObjects means a job's object list could not be decoded; it is
// moved aside as <id>.json.damaged. It wraps ErrNoObjects: losing a list
// loses no synchronization state.
var ErrDamagedObjects = fmt.Errorf("damaged object list: %w", ErrNoObjects)

func (h *Jobs) objectsDir() string { return filepath.Join(h.dir, "objects") }

func (h *Jobs) objectsPath(id string) string { return filepath.Join(h.objectsDir(), id+".json") }

// saveObjects writes the object list of j, if it has one.
func (h *Jobs) saveObjects(j *Job) error {
	if len(j.Objects) == 0 {
		return nil
	}
	if err := os.MkdirAll(h.objectsDir(), 0o700); err != nil {
		return fmt.Errorf("state: save objects of job %s: %w", j.ID, err)
	}
	b, err := json.Marshal(jobObjects{Version: 1, Omitted: j.ObjectsOmitted, Objects: j.Objects})
	if err != nil {
		return fmt.Errorf("state: encode objects of job %s: %w", j.ID, err)
	}
	if err := WriteFileAtomic(h.objectsPath(j.ID), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("state: save objects of job %s: %w", j.ID, err)
	}
	return nil
}

// Objects returns the objects a job recorded and how many it left out
// (beyond MaxJobObjects). A list that cannot be decoded is moved aside as
// <id>.json.damaged and reported as ErrDamagedObjects: it only explains,
// and losing it loses no synchronization state.
func (h *Jobs) Objects(id string) ([]JobObject, int, error) {
	if !validJobID(id) {
		return nil, 0, fmt.Errorf("state: objects of job %q: %w", id, ErrNoJob)
	}
	path := h.objectsPath(id)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, fmt.Errorf("state: objects of job %s: %w", id, ErrNoObjects)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("state: read objects of job %s: %w", id, err)
	}
	var o jobObjects
	if err := json.Unmarshal(b, &o); err != nil || o.Version < 1 {
		if rerr := os.Rename(path, path+".damaged"); rerr != nil {
			return nil, 0, fmt.Errorf("state: objects of job %s are damaged (%v) and could not be set aside: %w", id, rerr, ErrDamagedObjects)
		}
		return nil, 0, fmt.Errorf("state: objects of job %s are damaged and were set aside: %w", id, ErrDamagedObjects)
	}
	if o.Version > 1 {
		// Written by a newer idsync: not damage, and not to be moved away.
		return nil, 0, fmt.Errorf("state: objects of job %s are of a newer format (%d): %w", id, o.Version, ErrNoObjects)
	}
	return o.Objects, o.Omitted, nil
}

// Touch is the last recorded change of one object: the job and what the
// job did to it.
type Touch struct {
	Job    *Job      `json:"job"`
	Object JobObject `json:"object"`
}

// LastTouch returns the newest job whose object list names externalID
// (and what it did), or nil when none of the kept lists does.
func (h *Jobs) LastTouch(externalID string) (*Touch, error) {
	ids, err := h.objectIDs()
	if err != nil {
		return nil, err
	}
	for _, id := range slices.Backward(ids) {
		objs, _, err := h.Objects(id)
		if errors.Is(err, ErrNoObjects) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			if !strings.EqualFold(o.ExternalID, externalID) {
				continue
			}
			j, err := h.Get(id)
			if errors.Is(err, ErrNoJob) {
				j = &Job{ID: id}
			} else if err != nil {
				return nil, err
			}
			return &Touch{Job: j, Object: o}, nil
		}
	}
	return nil, nil
}

// objectIDs returns the ids of the jobs with an object list, oldest first.
func (h *Jobs) objectIDs() ([]string, error) {
	ids, err := listJobIDs(h.objectsDir(), ".json")
	if err != nil {
		return nil, fmt.Errorf("state: list job objects: %w", err)
	}
	return ids, nil
}

// pruneObjects keeps the object lists of the newest KeepObjectLists jobs;
// of those, a list whose job record is gone is dropped only when the job is
// older than the oldest record kept (kept is sorted): a newer one may
// belong to a job another loop is saving right now (its list is written
// before its record). Lists set aside as damaged go with their job.
func (h *Jobs) pruneObjects(kept []string) error {
	ids, err := h.objectIDs()
	if err != nil {
		return err
	}
	keep := h.KeepObjects
	if keep <= 0 {
		keep = KeepObjectLists
	}
	var drop []string
	if len(ids) > keep {
		drop, ids = ids[:len(ids)-keep], ids[len(ids)-keep:]
	}
	for _, id := range ids {
		if _, ok := slices.BinarySearch(kept, id); !ok && (len(kept) == 0 || id < kept[0]) {
			drop = append(drop, id)
		}
	}
	damaged, err := listJobIDs(h.objectsDir(), ".json.damaged")
	if err != nil {
		return fmt.Errorf("state: list job objects: %w", err)
	}
	for _, id := range damaged {
		if len(kept) == 0 || id < kept[0] {
			drop = append(drop, id+".damaged")
		}
	}
	for _, id := range drop {
		path := h.objectsPath(strings.TrimSuffix(id, ".damaged"))
		if strings.HasSuffix(id, ".damaged") {
			path += ".damaged"
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("state: prune objects of job %s: %w", id, err)
		}
	}
	return nil
}

// listJobIDs returns the job ids of the files in dir named <id><suffix>,
// oldest first; a missing dir has none.
func listJobIDs(dir, suffix string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range ents {
		if id, ok := strings.CutSuffix(e.Name(), suffix); ok && validJobID(id) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}
