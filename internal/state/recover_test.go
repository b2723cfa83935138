package state

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/idsync/idsync/internal/directory"
)

// populated returns a state directory whose database holds enough ids to
// span many pages, with a pending object and an AD_SYNC snapshot.
func populated(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "state")
	s, err := Open(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for i := range 3000 {
		m[fmt.Sprintf("ext-%05d", i)] = fmt.Sprintf("cloud-%05d-%s", i, bytes.Repeat([]byte{'x'}, 20))
	}
	if err := s.UpdateIDs(directory.KindUser, m, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPending(directory.KindUser, []string{"ext-00001"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveSnapshot("AD_SYNC", &directory.Snapshot{Users: []directory.User{{ExternalID: "ext-00001", Username: "a@corp.test"}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func garble(t *testing.T, path string, off, n int64, seed int64) {
	t.Helper()
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	writeAt(t, path, off, b)
}

func writeAt(t *testing.T, path string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// pageOf returns the offset of the first page (after the meta pages) whose
// header carries flag: 0x01 branch, 0x02 leaf.
func pageOf(t *testing.T, path string, flag uint16) int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ps := os.Getpagesize()
	for off := 2 * ps; off+ps <= len(b); off += ps {
		id := binary.LittleEndian.Uint64(b[off:])
		if id == uint64(off/ps) && binary.LittleEndian.Uint16(b[off+8:]) == flag {
			return int64(off)
		}
	}
	t.Fatalf("no page with flags %#x in %s", flag, path)
	return 0
}

func TestOpenReplacesDamagedDatabase(t *testing.T) {
	ps := int64(os.Getpagesize())
	type damage func(t *testing.T, path string, seed int64)
	shapes := map[string]damage{
		"truncated to half a page": func(t *testing.T, p string, _ int64) { os.Truncate(p, ps/2) },
		"truncated to half the file": func(t *testing.T, p string, _ int64) {
			fi, _ := os.Stat(p)
			os.Truncate(p, fi.Size()/2)
		},
		"random bytes in the meta pages": func(t *testing.T, p string, seed int64) { garble(t, p, 0, 2*ps, seed) },
		"random bytes after the meta pages": func(t *testing.T, p string, seed int64) {
			fi, _ := os.Stat(p)
			garble(t, p, 2*ps, fi.Size()-2*ps, seed)
		},
		// The page headers stay intact: bbolt trusts the element offsets
		// after them, which then point anywhere in (or out of) the map.
		"random bytes in a leaf page": func(t *testing.T, p string, seed int64) { garble(t, p, pageOf(t, p, 0x02)+16, ps-16, seed) },
		// A key 1 GiB past its page: reading it faults on the memory map.
		"key offset out of the map": func(t *testing.T, p string, _ int64) {
			pos := make([]byte, 4)
			binary.LittleEndian.PutUint32(pos, 1<<30)
			writeAt(t, p, pageOf(t, p, 0x02)+16+4, pos)
		},
		"random bytes in a branch page": func(t *testing.T, p string, seed int64) { garble(t, p, pageOf(t, p, 0x01)+16, ps-16, seed) },
	}
	for name, hurt := range shapes {
		for seed := range int64(3) {
			t.Run(fmt.Sprintf("%s/%d", name, seed), func(t *testing.T) {
				dir := populated(t)
				path := filepath.Join(dir, dbFile)
				hurt(t, path, seed)
				damaged, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				core, logs := observer.New(zapcore.WarnLevel)
				now := time.Date(2026, 12, 1, 23, 0, 0, 0, time.UTC)
				s, err := OpenWith(dir, Options{Logger: zap.New(core), Now: func() time.Time { return now }})
				if err != nil {
					t.Fatalf("open a damaged database: %v", err)
				}
				defer s.Close()

				aside := path + ".damaged-20261201T230000Z"
				if got, err := os.ReadFile(aside); err != nil || !bytes.Equal(got, damaged) {
					t.Errorf("damaged database not moved aside intact to %s (err %v)", aside, err)
				}
				if n := logs.FilterMessageSnippet("state database was damaged").Len(); n != 1 {
					t.Errorf("%d warnings about the damaged database, want 1", n)
				}
				if _, err := s.Snapshot("AD_SYNC"); !errors.Is(err, ErrDamagedSnapshot) {
					t.Errorf("snapshot after the database was replaced: err %v, want ErrDamagedSnapshot (the next cycle reads in full)", err)
				}
				if ids, err := s.AllIDs(directory.KindUser); err != nil || len(ids) != 0 {
					t.Errorf("new database: %d ids, err %v; want empty", len(ids), err)
				}
				// A full cycle saves a snapshot: the next one may be a delta.
				want := &directory.Snapshot{Users: []directory.User{{ExternalID: "u2", Username: "b@corp.test"}}}
				saveAndLoad(t, s, want)
				s.Close()
				s2, err := OpenWith(dir, Options{Logger: zap.New(core)})
				if err != nil {
					t.Fatalf("reopen: %v", err)
				}
				defer s2.Close()
				if logs.Len() != 1 {
					t.Errorf("reopening the new database logged %d warnings in all, want the first only", logs.Len())
				}
				if got, err := s2.Snapshot("AD_SYNC"); err != nil || got == nil {
					t.Errorf("snapshot after reopening: %v, err %v", got, err)
				}
			})
		}
	}
}

func TestOpenKeepsHealthyDatabase(t *testing.T) {
	dir := populated(t)
	core, logs := observer.New(zapcore.WarnLevel)
	s, err := OpenWith(dir, Options{Logger: zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if logs.Len() != 0 {
		t.Errorf("healthy database: %d warnings", logs.Len())
	}
	if got, err := s.Snapshot("AD_SYNC"); err != nil || got == nil {
		t.Errorf("snapshot: %v, err %v", got, err)
	}
	if ids, _ := s.AllIDs(directory.KindUser); len(ids) != 3000 {
		t.Errorf("%d ids, want 3000", len(ids))
	}
	if m, _ := filepath.Glob(filepath.Join(dir, dbFile+".damaged-*")); len(m) != 0 {
		t.Errorf("healthy database moved aside: %v", m)
	}
}

// TestOpenWithoutDatabaseDistrustsSnapshots: a database removed, or cut
// to nothing before bbolt wrote its first page, is created anew (bbolt
// does that itself, under the lock, so a file another process is still
// creating is never moved aside); the snapshots beside it read as damaged.
func TestOpenWithoutDatabaseDistrustsSnapshots(t *testing.T) {
	for name, lose := range map[string]func(string) error{
		"removed":           os.Remove,
		"truncated to zero": func(p string) error { return os.Truncate(p, 0) },
	} {
		t.Run(name, func(t *testing.T) {
			dir := populated(t)
			if err := lose(filepath.Join(dir, dbFile)); err != nil {
				t.Fatal(err)
			}
			core, logs := observer.New(zapcore.WarnLevel)
			s, err := OpenWith(dir, Options{Logger: zap.New(core)})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, err := s.Snapshot("AD_SYNC"); !errors.Is(err, ErrDamagedSnapshot) {
				t.Errorf("snapshot without the database it relied on: err %v, want ErrDamagedSnapshot", err)
			}
			if n := logs.FilterMessageSnippet("snapshots of the directory exist").Len(); n != 1 {
				t.Errorf("%d warnings about the lost database, want 1", n)
			}
		})
	}
}

func TestFirstOpenWarnsNothing(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	s, err := OpenWith(filepath.Join(t.TempDir(), "state"), Options{Logger: zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if logs.Len() != 0 {
		t.Errorf("first open of an empty state: %d warnings", logs.Len())
	}
}

func TestLockedDatabaseIsNotMovedAside(t *testing.T) {
	s, dir := openTemp(t)
	_ = s
	if _, err := Open(dir, 50*time.Millisecond); !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, dbFile+".damaged-*")); len(m) != 0 {
		t.Errorf("locked database moved aside: %v", m)
	}
}

// TestMoveAsideLeavesAReplacedFile: when another process moved the damaged
// file aside first and created a new database, that one stays in place.
func TestMoveAsideLeavesAReplacedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), dbFile)
	if err := os.WriteFile(path, []byte("damaged"), 0o600); err != nil {
		t.Fatal(err)
	}
	damaged, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path, path+".elsewhere"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	aside, err := moveAside(path, damaged, time.Now())
	if err != nil || aside != "" {
		t.Errorf("moveAside of a replaced file: %q, %v; want nothing moved", aside, err)
	}
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Errorf("the new database was moved: %s holds %q", path, b)
	}
}
