package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/internal/directory"
)

func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "state")
	s, err := Open(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

func TestSnapshotRoundTrip(t *testing.T) {
	s, _ := openTemp(t)
	if got, err := s.Snapshot("AD_SYNC"); err != nil || got != nil {
		t.Fatalf("empty store: snapshot %v, err %v; want nil, nil", got, err)
	}
	want := &directory.Snapshot{
		Users:  []directory.User{{ExternalID: "u1", Username: "ann@corp.test", Enabled: true, ExpiresAt: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}},
		Groups: []directory.Group{{ExternalID: "g1", Name: "Eng", Members: []string{"u1"}}},
		Watermark: directory.Watermark{Mode: directory.ModeUSN, DCHost: "dc1.corp.test", InvocationID: "abc", USN: 42,
			TakenAt: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)},
	}
	saveAndLoad(t, s, want)
	if err := s.SaveSnapshot("AD_SYNC", nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Snapshot("AD_SYNC"); got != nil {
		t.Errorf("snapshot after removal = %v, want nil", got)
	}
}

func TestIDsAndPending(t *testing.T) {
	s, _ := openTemp(t)
	if err := s.UpdateIDs(directory.KindUser, map[string]string{"e1": "c1", "e2": "c2"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateIDs(directory.KindGroup, map[string]string{"e1": "g1"}, nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.IDs(directory.KindUser, []string{"e1", "e3"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"e1": "c1"}, got); diff != "" {
		t.Errorf("IDs (-want +got):\n%s", diff)
	}
	if err := s.ReplaceIDs(directory.KindUser, map[string]string{"e2": "c2b", "e4": "c4"}); err != nil {
		t.Fatal(err)
	}
	all, _ := s.AllIDs(directory.KindUser)
	if diff := cmp.Diff(map[string]string{"e2": "c2b", "e4": "c4"}, all); diff != "" {
		t.Errorf("after ReplaceIDs (-want +got):\n%s", diff)
	}
	groups, _ := s.AllIDs(directory.KindGroup)
	if diff := cmp.Diff(map[string]string{"e1": "g1"}, groups); diff != "" {
		t.Errorf("ReplaceIDs of users touched groups (-want +got):\n%s", diff)
	}
	if err := s.SetPending(directory.KindUser, []string{"b", "a"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPending(directory.KindGroup, []string{"g"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPending(directory.KindUser, []string{"c"}); err != nil {
		t.Fatal(err)
	}
	p, _ := s.Pending(directory.KindUser)
	pg, _ := s.Pending(directory.KindGroup)
	if diff := cmp.Diff([]string{"c"}, p); diff != "" {
		t.Errorf("pending users (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"g"}, pg); diff != "" {
		t.Errorf("pending groups (-want +got):\n%s", diff)
	}
}

func TestSecondOpenIsLocked(t *testing.T) {
	_, dir := openTemp(t)
	_, err := Open(dir, 50*time.Millisecond)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: err %v, want ErrLocked", err)
	}
}

func TestFilesArePrivate(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX permissions")
	}
	s, dir := openTemp(t)
	jobs := OpenJobs(dir)
	if err := jobs.Save(&Job{ID: NewJobID(time.Now()), Status: StatusSuccess}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveSnapshot("AD_SYNC", &directory.Snapshot{Users: []directory.User{{ExternalID: "u1"}}}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, filepath.Join(dir, dbFile), filepath.Join(dir, "jobs"), filepath.Join(dir, "snapshot.AD_SYNC.gz")} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v; want no group or other access", p, fi.Mode().Perm())
		}
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "jobs"))
	for _, e := range ents {
		fi, _ := e.Info()
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("job file %s has mode %v, want 0600", e.Name(), fi.Mode().Perm())
		}
	}
}

func TestJobsHistory(t *testing.T) {
	dir := t.TempDir()
	h := OpenJobs(dir)
	h.Keep = 3
	start := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	var ids []string
	for i := range 5 {
		j := &Job{ID: NewJobID(start.Add(time.Duration(i) * time.Minute)), TargetType: "user_pool", TargetID: "pool1",
			Direction: "ingress", StartTime: UnixMilli{start.Add(time.Duration(i) * time.Minute)}, TriggerType: "auto", Status: StatusSuccess}
		j.Result.UserStatistics.Created = Counter{Total: int64(i), Success: int64(i)}
		if err := h.Save(j); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	list, err := h.List(0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, j := range list {
		got = append(got, j.ID)
	}
	if diff := cmp.Diff([]string{ids[4], ids[3], ids[2]}, got); diff != "" {
		t.Errorf("List keeps the newest 3, newest first (-want +got):\n%s", diff)
	}
	j, err := h.Get(ids[4])
	if err != nil {
		t.Fatal(err)
	}
	if j.Result.UserStatistics.Created.Success != 4 || !j.StartTime.Equal(start.Add(4*time.Minute)) {
		t.Errorf("Get returned %+v", j)
	}
	if _, err := h.Get(ids[0]); !errors.Is(err, ErrNoJob) {
		t.Errorf("pruned job: err %v, want ErrNoJob", err)
	}
	if _, err := h.Get("../../etc/passwd"); !errors.Is(err, ErrNoJob) {
		t.Errorf("path-like id: err %v, want ErrNoJob", err)
	}
}

// BenchmarkReplaceIDs writes the ids of a W100k-sized pool into an empty
// store, then the same ids again (a no-change full cycle).
func BenchmarkReplaceIDs(b *testing.B) {
	pairs := make(map[string]string, 100000)
	for i := range 100000 {
		pairs[fmt.Sprintf("%08x-0000-0000-0000-%012d", i*7919, i)] = fmt.Sprintf("id%018d", i)
	}
	for b.Loop() {
		b.StopTimer()
		s, err := Open(b.TempDir(), 0)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for range 2 {
			if err := s.ReplaceIDs(directory.KindUser, pairs); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
}

// BenchmarkUpdateIDs records 1,000 new pairs into a W100k-sized cache
// along with every pair it holds (what a delta wrote back before it passed
// only the new ones): those are not written again.
func BenchmarkUpdateIDs(b *testing.B) {
	pairs := make(map[string]string, 101000)
	for i := range 100000 {
		pairs[fmt.Sprintf("%08x-0000-0000-0000-%012d", i*7919, i)] = fmt.Sprintf("id%018d", i)
	}
	s, err := Open(b.TempDir(), 0)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.ReplaceIDs(directory.KindUser, pairs); err != nil {
		b.Fatal(err)
	}
	n := 100000
	for b.Loop() {
		for range 1000 {
			pairs[fmt.Sprintf("%08x-0000-0000-0000-%012d", n*7919, n)] = fmt.Sprintf("id%018d", n)
			n++
		}
		if err := s.UpdateIDs(directory.KindUser, pairs, nil); err != nil {
			b.Fatal(err)
		}
	}
}
