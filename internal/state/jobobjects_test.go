package state

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestJobObjects(t *testing.T) {
	dir := t.TempDir()
	h := OpenJobs(dir)
	h.Keep, h.KeepObjects = 4, 2
	start := time.Date(2026, 12, 2, 3, 10, 0, 0, time.UTC)
	var ids []string
	for i := range 5 {
		j := &Job{ID: NewJobID(start.Add(time.Duration(i) * time.Minute)), Mode: "delta", StartTime: UnixMilli{start}}
		j.Objects = []JobObject{{Kind: "user", ExternalID: "u1", Name: "ann@corp.test", Action: "update", Fields: []string{"job_title"}}}
		if i == 3 {
			j.Objects = append(j.Objects, JobObject{Kind: "group", ExternalID: "g1", Name: "eng", ADName: "Engineering", Action: "members", Added: 2})
		}
		if i == 4 {
			j.Objects = nil // a job that changed nothing
		}
		if err := h.Save(j); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}

	// The record holds the count, not the list.
	b, err := os.ReadFile(filepath.Join(dir, "jobs", ids[3]+".json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "ann@corp.test") || !strings.Contains(string(b), `"ObjectsRecorded": 2`) {
		t.Errorf("job record carries its object list or lacks the count:\n%s", b)
	}
	got, omitted, err := h.Objects(ids[3])
	if err != nil || omitted != 0 || len(got) != 2 || got[1].ADName != "Engineering" {
		t.Errorf("Objects(%s) = %+v, %d, %v", ids[3], got, omitted, err)
	}
	// Only the newest two lists are kept.
	if _, _, err := h.Objects(ids[1]); !errors.Is(err, ErrNoObjects) {
		t.Errorf("Objects of a pruned list: %v, want ErrNoObjects", err)
	}

	touch, err := h.LastTouch("U1")
	if err != nil || touch == nil {
		t.Fatalf("LastTouch(u1) = %v, %v", touch, err)
	}
	want := JobObject{Kind: "user", ExternalID: "u1", Name: "ann@corp.test", Action: "update", Fields: []string{"job_title"}}
	if touch.Job.ID != ids[3] || touch.Job.Mode != "delta" || !cmp.Equal(want, touch.Object) {
		t.Errorf("LastTouch(u1) = job %s %+v, want job %s %+v", touch.Job.ID, touch.Object, ids[3], want)
	}
	if touch, err := h.LastTouch("nobody"); touch != nil || err != nil {
		t.Errorf("LastTouch(nobody) = %v, %v", touch, err)
	}

	// A damaged list is set aside, not fatal.
	if err := os.WriteFile(filepath.Join(dir, "jobs", "objects", ids[3]+".json"), []byte("{garbled"), 0o600); err != nil {
		t.Fatal(err)
	}
	if touch, err := h.LastTouch("u1"); err != nil || touch == nil || touch.Job.ID != ids[2] {
		t.Errorf("LastTouch past a damaged list = %+v, %v; want job %s", touch, err, ids[2])
	}
	if _, err := os.Stat(filepath.Join(dir, "jobs", "objects", ids[3]+".json.damaged")); err != nil {
		t.Errorf("damaged list not set aside: %v", err)
	}

	// A record written before object lists existed still reads.
	old := Job{ID: NewJobID(start.Add(-time.Hour)), Status: StatusSuccess}
	b, _ = json.Marshal(old)
	if err := os.WriteFile(filepath.Join(dir, "jobs", old.ID+".json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if j, err := h.Get(old.ID); err != nil || j.ObjectsRecorded != 0 {
		t.Errorf("old record: %+v, %v", j, err)
	}
	if _, _, err := h.Objects(old.ID); !errors.Is(err, ErrNoObjects) {
		t.Errorf("Objects of an old record: %v", err)
	}
}

// Another loop writes a job's list before its record; a prune that runs in
// between must not take the list.
func TestPruneKeepsAListBeingSaved(t *testing.T) {
	dir := t.TempDir()
	h := OpenJobs(dir)
	h.Keep = 2
	start := time.Date(2026, 12, 2, 3, 10, 0, 0, time.UTC)
	job := func(i int) *Job {
		return &Job{ID: NewJobID(start.Add(time.Duration(i) * time.Minute)),
			Objects: []JobObject{{Kind: "user", ExternalID: "u1", Action: "update"}}}
	}
	for i := range 3 {
		if err := h.Save(job(i)); err != nil {
			t.Fatal(err)
		}
	}
	inFlight := job(10)
	if err := h.saveObjects(inFlight); err != nil {
		t.Fatal(err)
	}
	orphan := job(-5) // older than every record kept: its record was pruned
	if err := h.saveObjects(orphan); err != nil {
		t.Fatal(err)
	}
	if err := h.Save(job(3)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.Objects(inFlight.ID); err != nil {
		t.Errorf("the list of a job being saved was pruned: %v", err)
	}
	if _, _, err := h.Objects(orphan.ID); !errors.Is(err, ErrNoObjects) {
		t.Errorf("the list of a pruned record was kept: %v", err)
	}
}

// A list of a newer format is not damage: it stays where it is. Damaged
// lists are pruned with their job.
func TestObjectListsOfOtherVersions(t *testing.T) {
	dir := t.TempDir()
	h := OpenJobs(dir)
	h.Keep = 1
	start := time.Date(2026, 12, 2, 3, 10, 0, 0, time.UTC)
	first := &Job{ID: NewJobID(start), Objects: []JobObject{{Kind: "user", ExternalID: "u1", Action: "update"}}}
	if err := h.Save(first); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "jobs", "objects", first.ID+".json")
	if err := os.WriteFile(path, []byte(`{"Version":2,"Objects":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.Objects(first.ID); !errors.Is(err, ErrNoObjects) || errors.Is(err, ErrDamagedObjects) {
		t.Errorf("Objects of a newer list: %v, want ErrNoObjects and not damaged", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("a newer list was moved: %v", err)
	}
	if err := os.WriteFile(path, []byte(`{"Version":0}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.Objects(first.ID); !errors.Is(err, ErrDamagedObjects) {
		t.Errorf("Objects of a damaged list: %v, want ErrDamagedObjects", err)
	}
	if _, err := os.Stat(path + ".damaged"); err != nil {
		t.Fatalf("damaged list not set aside: %v", err)
	}
	if err := h.Save(&Job{ID: NewJobID(start.Add(time.Minute))}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + ".damaged"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the damaged list of a pruned job stays: %v", err)
	}
}
