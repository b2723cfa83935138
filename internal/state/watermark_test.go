package state

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	bolt "go.etcd.io/bbolt"

	"github.com/idsync/idsync/internal/directory"
)

func TestWatermarkWithoutReadingTheSnapshot(t *testing.T) {
	s, _ := openTemp(t)
	if wm, err := s.Watermark("AD_SYNC"); err != nil || !wm.IsZero() {
		t.Fatalf("no snapshot: watermark %+v, %v; want zero, nil", wm, err)
	}
	snap := bigSnapshot(2000, 100)
	if err := s.SaveSnapshot("AD_SYNC", snap); err != nil {
		t.Fatal(err)
	}
	wm, err := s.Watermark("AD_SYNC")
	if err != nil || !cmp.Equal(wm, snap.Watermark) {
		t.Fatalf("watermark %+v, %v; want the snapshot's %+v", wm, err, snap.Watermark)
	}
	next := snap.Watermark
	next.USN, next.Cookie = 99, []byte{9}
	if err := s.SetWatermark("AD_SYNC", next); err != nil {
		t.Fatal(err)
	}
	if wm, err := s.Watermark("AD_SYNC"); err != nil || !cmp.Equal(wm, next) {
		t.Fatalf("after SetWatermark: %+v, %v; want %+v", wm, err, next)
	}
	got, err := s.Snapshot("AD_SYNC")
	if err != nil {
		t.Fatal(err)
	}
	want := *snap
	want.Watermark = next
	if diff := cmp.Diff(&want, got); diff != "" {
		t.Fatalf("snapshot after SetWatermark (-want +got):\n%s", diff)
	}
	// A new snapshot brings its own watermark.
	third := bigSnapshot(10, 2)
	third.Watermark.USN = 5
	saveAndLoad(t, s, third)
	if wm, _ := s.Watermark("AD_SYNC"); !cmp.Equal(wm, third.Watermark) {
		t.Fatalf("after SaveSnapshot: %+v; want %+v", wm, third.Watermark)
	}
}

// A watermark recorded for one snapshot file is never applied to another:
// a crash after a new file was renamed into place but before the database
// forgot the old file's watermark, or a file written by an older idsync.
func TestWatermarkNamesItsSnapshotFile(t *testing.T) {
	s, dir := openTemp(t)
	path := filepath.Join(dir, "snapshot.AD_SYNC.gz")
	first := bigSnapshot(20, 4)
	if err := s.SaveSnapshot("AD_SYNC", first); err != nil {
		t.Fatal(err)
	}
	moved := first.Watermark
	moved.USN = 1000
	if err := s.SetWatermark("AD_SYNC", moved); err != nil {
		t.Fatal(err)
	}
	// Another file takes its place behind the database's back.
	second := bigSnapshot(30, 5)
	second.Watermark.USN = 500
	var buf bytes.Buffer
	if err := writeSnapshot(&buf, second, newSnapshotID()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if wm, err := s.Watermark("AD_SYNC"); err != nil || wm.USN != 500 {
		t.Fatalf("watermark of the replaced file: USN %d, %v; want 500 (its own)", wm.USN, err)
	}
	if got, err := s.Snapshot("AD_SYNC"); err != nil || got.Watermark.USN != 500 {
		t.Fatalf("snapshot of the replaced file: %v", err)
	}
	// A file without an ID (an older idsync) is saved again with one.
	buf.Reset()
	if err := writeSnapshot(&buf, second, ""); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	later := second.Watermark
	later.USN = 600
	if err := s.SetWatermark("AD_SYNC", later); err != nil {
		t.Fatal(err)
	}
	if h, _, err := s.snapshotHeader("AD_SYNC"); err != nil || h.ID == "" || h.Watermark.USN != 600 {
		t.Fatalf("file without ID after SetWatermark: id %q, USN %d, %v", h.ID, h.Watermark.USN, err)
	}
}

func TestWatermarkOfDamagedOrStaleSnapshot(t *testing.T) {
	s, dir := openTemp(t)
	path := filepath.Join(dir, "snapshot.AD_SYNC.gz")
	if err := s.SaveSnapshot("AD_SYNC", bigSnapshot(2000, 100)); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The body is damaged where a header-only read does not look: the
	// recorded size and checksum find it.
	for name, bad := range map[string][]byte{
		"empty": {}, "not compressed": []byte("hello"), "header cut": good[:20],
		"truncated": good[:len(good)/2], "flipped byte": flip(good, len(good)/3), "flipped crc": flip(good, len(good)-6),
	} {
		if err := os.WriteFile(path, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Watermark("AD_SYNC"); !errors.Is(err, ErrDamagedSnapshot) {
			t.Errorf("%s file: %v; want ErrDamagedSnapshot", name, err)
		}
	}
	for name, bad := range map[string][]byte{"empty": {}, "header cut": good[:20]} {
		if err := os.WriteFile(path, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := s.SetWatermark("AD_SYNC", directory.Watermark{USN: 1}); !errors.Is(err, ErrDamagedSnapshot) {
			t.Errorf("%s file: SetWatermark %v; want ErrDamagedSnapshot", name, err)
		}
	}
	if err := os.WriteFile(path, good, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(staleKey("AD_SYNC"), []byte("lost")) }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Watermark("AD_SYNC"); !errors.Is(err, ErrDamagedSnapshot) {
		t.Errorf("stale snapshot: %v; want ErrDamagedSnapshot", err)
	}
}

func TestWatermarkOfSnapshotInDatabase(t *testing.T) {
	s, _ := openTemp(t)
	old := snapshotInDatabase(t, s)
	if wm, err := s.Watermark("AD_SYNC"); err != nil || !cmp.Equal(wm, old.Watermark) {
		t.Fatalf("watermark %+v, %v", wm, err)
	}
	next := old.Watermark
	next.USN = 123
	if err := s.SetWatermark("AD_SYNC", next); err != nil {
		t.Fatal(err)
	}
	got, err := s.Snapshot("AD_SYNC")
	if err != nil || got.Watermark.USN != 123 || len(got.Users) != len(old.Users) {
		t.Fatalf("snapshot after SetWatermark: %v", err)
	}
}
