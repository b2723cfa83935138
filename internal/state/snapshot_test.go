package state

import (
	"bytes"
	"compress/gzip"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	bolt "go.etcd.io/bbolt"

	"github.com/idsync/idsync/internal/directory"
)

// bigSnapshot has several chunks in every section and members that repeat
// user and group ids.
func bigSnapshot(users, groups int) *directory.Snapshot {
	s := &directory.Snapshot{Watermark: directory.Watermark{Mode: directory.ModeDirSync, DCHost: "dc1.corp.test",
		InvocationID: "inv", USN: 77, Cookie: []byte{1, 2, 3}, TakenAt: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), Config: "cfg"}}
	for i := range users {
		s.Users = append(s.Users, directory.User{ExternalID: fmt.Sprintf("u%05d", i), DN: fmt.Sprintf("CN=User %d,OU=Staff,DC=corp,DC=test", i),
			Username: fmt.Sprintf("user%d@corp.test", i), FullName: fmt.Sprintf("User %d", i), Enabled: i%7 != 0, PrimaryGroupID: 513})
		if i%3 == 0 {
			s.Graph.Excluded = append(s.Graph.Excluded, directory.User{ExternalID: fmt.Sprintf("x%05d", i), Username: fmt.Sprintf("x%d@corp.test", i)})
		}
	}
	for g := range groups {
		id := fmt.Sprintf("g%04d", g)
		var members, direct []string
		for i := g; i < users; i += max(1, groups/3) {
			members = append(members, fmt.Sprintf("u%05d", i)) // a fresh string, as LDAP decoding gives
			direct = append(direct, fmt.Sprintf("u%05d", i))
		}
		if g > 0 {
			direct = append(direct, fmt.Sprintf("g%04d", g-1))
		}
		s.Groups = append(s.Groups, directory.Group{ExternalID: id, Name: "Group " + id, RID: uint32(1000 + g), Members: members})
		s.Graph.Links = append(s.Graph.Links, directory.Links{GroupID: id, RID: uint32(1000 + g), InScope: true, Direct: direct})
	}
	return s
}

// saveAndLoad saves want as the AD_SYNC snapshot, reads it back, and
// fails unless the two are equal.
func saveAndLoad(t *testing.T, s *Store, want *directory.Snapshot) *directory.Snapshot {
	t.Helper()
	if err := s.SaveSnapshot("AD_SYNC", want); err != nil {
		t.Fatal(err)
	}
	got, err := s.Snapshot("AD_SYNC")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("snapshot round trip (-want +got):\n%s", diff)
	}
	return got
}

func TestSnapshotFileRoundTrip(t *testing.T) {
	s, dir := openTemp(t)
	got := saveAndLoad(t, s, bigSnapshot(3000, 1200))
	// Member ids share the users' and groups' strings.
	byID := map[string]*byte{}
	for _, u := range got.Users {
		byID[u.ExternalID] = unsafe.StringData(u.ExternalID)
	}
	for _, l := range got.Graph.Links {
		byID[l.GroupID] = unsafe.StringData(l.GroupID)
	}
	shared := 0
	for _, g := range got.Groups {
		for _, m := range g.Members {
			if unsafe.StringData(m) != byID[m] {
				t.Fatalf("group %s: member %s has its own copy", g.ExternalID, m)
			}
			shared++
		}
		if unsafe.StringData(g.ExternalID) != byID[g.ExternalID] {
			t.Fatalf("group %s: id not shared with its links", g.ExternalID)
		}
	}
	for _, l := range got.Graph.Links {
		for _, m := range l.Direct {
			if unsafe.StringData(m) != byID[m] {
				t.Fatalf("links of %s: direct member %s has its own copy", l.GroupID, m)
			}
		}
	}
	if shared == 0 {
		t.Fatal("no memberships checked")
	}
	// Nothing left behind but the snapshot itself.
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.Name() != dbFile && e.Name() != "snapshot.AD_SYNC.gz" {
			t.Errorf("unexpected file %s in the state directory", e.Name())
		}
	}
	// A smaller snapshot replaces it entirely.
	saveAndLoad(t, s, bigSnapshot(10, 3))
}

func TestSnapshotDamagedFileIsAnError(t *testing.T) {
	s, dir := openTemp(t)
	if err := s.SaveSnapshot("AD_SYNC", bigSnapshot(2000, 100)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "snapshot.AD_SYNC.gz")
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string][]byte{
		"truncated":      good[:len(good)/2],
		"no trailer":     good[:len(good)-4],
		"flipped byte":   flip(good, len(good)/3),
		"flipped crc":    flip(good, len(good)-6),
		"empty":          {},
		"not compressed": []byte("hello"),
	} {
		if err := os.WriteFile(path, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		if snap, err := s.Snapshot("AD_SYNC"); !errors.Is(err, ErrDamagedSnapshot) {
			t.Errorf("%s file: snapshot %v, err %v; want ErrDamagedSnapshot", name, snap != nil, err)
		}
	}
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x55
	return c
}

func TestSnapshotCountsMustMatch(t *testing.T) {
	var buf bytes.Buffer
	snap := bigSnapshot(600, 10)
	if err := writeSnapshot(&buf, snap, "id"); err != nil {
		t.Fatal(err)
	}
	// A header that promises more users than follow.
	var lie bytes.Buffer
	snap.Users = snap.Users[:100]
	if err := writeSnapshotWithHeader(&lie, snap, 600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := readSnapshot(&lie); err == nil {
		t.Error("header promising 600 users for 100: no error")
	}
	if _, _, err := readSnapshot(&buf); err != nil {
		t.Errorf("honest snapshot: %v", err)
	}
	// Counts that do not match their check are refused before anything is
	// allocated for them.
	var huge bytes.Buffer
	if err := writeSnapshotRaw(&huge, snapshotHeader{Format: snapshotFormat, Users: 1 << 25}, &directory.Snapshot{}); err != nil {
		t.Fatal(err)
	}
	b := huge.Bytes()
	zr, _ := gzip.NewReader(bytes.NewReader(b))
	var h snapshotHeader
	if err := gob.NewDecoder(zr).Decode(&h); err != nil || h.Check != h.check() {
		t.Fatalf("header written: %+v, %v", h, err)
	}
	var forged bytes.Buffer
	zw := gzip.NewWriter(&forged)
	h.Users = 1 << 26
	if err := gob.NewEncoder(zw).Encode(h); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	if _, _, err := readSnapshot(&forged); err == nil || !strings.Contains(err.Error(), "damaged counts") {
		t.Errorf("forged counts: err %v, want damaged counts", err)
	}
}

// writeSnapshotWithHeader writes snap with a header claiming users users.
func writeSnapshotWithHeader(w io.Writer, snap *directory.Snapshot, users int) error {
	return writeSnapshotRaw(w, snapshotHeader{Format: snapshotFormat, Watermark: snap.Watermark, Users: users,
		Excluded: len(snap.Graph.Excluded), Links: len(snap.Graph.Links), Groups: len(snap.Groups)}, snap)
}

func TestSnapshotRemovedAndKindChecked(t *testing.T) {
	s, dir := openTemp(t)
	if err := s.SaveSnapshot("AD_SYNC", bigSnapshot(5, 2)); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveSnapshot("AD_SYNC", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "snapshot.AD_SYNC.gz")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("snapshot file after removal: %v", err)
	}
	if got, err := s.Snapshot("AD_SYNC"); got != nil || err != nil {
		t.Errorf("after removal: %v, %v; want nil, nil", got, err)
	}
	for _, kind := range []string{"../etc", "ad_sync", "", "A/B"} {
		if err := s.SaveSnapshot(kind, &directory.Snapshot{}); err == nil {
			t.Errorf("kind %q accepted", kind)
		}
	}
}

func TestSnapshotFromDatabaseIsReadThenMoved(t *testing.T) {
	s, dir := openTemp(t)
	old := snapshotInDatabase(t, s)
	got, err := s.Snapshot("AD_SYNC")
	if err != nil || !cmp.Equal(old, got) {
		t.Fatalf("snapshot kept in the database: err %v, equal %v", err, cmp.Equal(old, got))
	}
	next := bigSnapshot(30, 5)
	if err := s.SaveSnapshot("AD_SYNC", next); err != nil {
		t.Fatal(err)
	}
	_ = s.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketSnapshot).Get([]byte("AD_SYNC")) != nil {
			t.Error("the database still holds the old snapshot")
		}
		return nil
	})
	if err := os.Remove(filepath.Join(dir, "snapshot.AD_SYNC.gz")); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Snapshot("AD_SYNC"); got != nil || err != nil {
		t.Errorf("old snapshot came back: %v, %v", got != nil, err)
	}
}

func TestWriteAtomicFailureKeepsOldContent(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if err := WriteFileAtomic(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := writeAtomic(path, 0o600, func(w io.Writer) error {
		_, _ = w.Write(bytes.Repeat([]byte("x"), 1<<20))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err %v, want boom", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("content after a failed write %q, want old", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("%d files in the directory, want 1 (temporary file left)", len(ents))
	}
}

// BenchmarkSnapshotFile saves and loads a 100,000-user snapshot; the
// reported file size is what a cycle writes. "sparse" is bigSnapshot (few
// memberships, short ids); "members" is memberSnapshot, shaped like W100k
// (objectGUID ids, about 10 direct memberships per user, ~1M member values
// in the links and as many in the groups).
func BenchmarkSnapshotFile(b *testing.B) {
	for _, c := range []struct {
		name string
		snap func() *directory.Snapshot
	}{
		{"sparse", func() *directory.Snapshot { return bigSnapshot(100_000, 5_000) }},
		{"members", func() *directory.Snapshot { return memberSnapshot(100_000, 5_000, 10) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			s, err := Open(filepath.Join(b.TempDir(), "state"), 0)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			snap := c.snap()
			b.Run("save", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if err := s.SaveSnapshot("AD_SYNC", snap); err != nil {
						b.Fatal(err)
					}
				}
				if fi, err := os.Stat(filepath.Join(s.Dir(), "snapshot.AD_SYNC.gz")); err == nil {
					b.ReportMetric(float64(fi.Size())/(1<<20), "MiB/file")
				}
			})
			b.Run("load", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := s.Snapshot("AD_SYNC"); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// memberSnapshot has objectGUID-shaped ids and perUser direct memberships
// per user, spread over groups groups (users*perUser/groups members each),
// as a real domain has; every group also holds one member from outside the
// scope and, but the first, the group before it. Member ids share the
// users' and groups' strings, as ldapsource's reader interns them and a
// loaded snapshot has them.
func memberSnapshot(users, groups, perUser int) *directory.Snapshot {
	s := bigSnapshot(0, 0)
	guid := func(kind byte, i int) string { return fmt.Sprintf("%08x-%04x-4000-8000-%012x", i, kind, i*7919) }
	for i := range users {
		s.Users = append(s.Users, directory.User{ExternalID: guid(1, i), DN: fmt.Sprintf("CN=User %d,OU=Staff,DC=corp,DC=test", i),
			Username: fmt.Sprintf("user%d@corp.test", i), FullName: fmt.Sprintf("User %d", i), Enabled: i%7 != 0, PrimaryGroupID: 513})
		if i%100 == 0 {
			s.Graph.Excluded = append(s.Graph.Excluded, directory.User{ExternalID: guid(2, i), Username: fmt.Sprintf("x%d@corp.test", i)})
		}
	}
	stride := max(1, groups/perUser) // user i is in the groups g with g%stride == i%stride
	for g := range groups {
		id := guid(3, g)
		var members, direct []string
		for i := g % stride; i < users; i += stride {
			members = append(members, s.Users[i].ExternalID)
			direct = append(direct, s.Users[i].ExternalID)
		}
		direct = append(direct, guid(4, g))
		if g > 0 {
			direct = append(direct, s.Groups[g-1].ExternalID)
		}
		slices.Sort(direct)
		s.Groups = append(s.Groups, directory.Group{ExternalID: id, DN: fmt.Sprintf("CN=Group %d,OU=Groups,DC=corp,DC=test", g),
			SID: fmt.Sprintf("S-1-5-21-1-2-3-%d", 1000+g), SAMAccountName: fmt.Sprintf("group%d", g), Name: fmt.Sprintf("Group %d", g),
			RID: uint32(1000 + g), Members: members})
		s.Graph.Links = append(s.Graph.Links, directory.Links{GroupID: id, RID: uint32(1000 + g), InScope: true, Direct: direct})
	}
	return s
}

func TestOpenRemovesStaleSnapshotTemps(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	s, err := Open(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	stale := filepath.Join(dir, ".snapshot.AD_SYNC.gz.tmp123")
	other := filepath.Join(dir, "notes.txt")
	for _, p := range []string{stale, other} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s, err = Open(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temporary snapshot still there: %v", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("an unrelated file was removed: %v", err)
	}
}

// Earlier versions compressed the snapshot; such a file reads the same.
func TestSnapshotCompressedFileReads(t *testing.T) {
	want := bigSnapshot(1500, 40)
	var buf bytes.Buffer
	if err := writeFormat1(&buf, want, "", gzip.BestSpeed); err != nil {
		t.Fatal(err)
	}
	got, _, err := readSnapshot(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("compressed snapshot (-want +got):\n%s", diff)
	}
}

// snapshotInDatabase stores a snapshot the way releases before the
// snapshot file did, in the database, and returns it.
func snapshotInDatabase(t *testing.T, s *Store) *directory.Snapshot {
	t.Helper()
	old := bigSnapshot(20, 4)
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(old); err != nil {
		t.Fatal(err)
	}
	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketSnapshot).Put([]byte("AD_SYNC"), buf.Bytes()) }); err != nil {
		t.Fatal(err)
	}
	return old
}
