package state

import (
	"bufio"
	"compress/gzip"
	"crypto/rand"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"io/fs"
	"os"

	bolt "go.etcd.io/bbolt"

	"github.com/idsync/idsync/internal/directory"
)

// A delta that changes nothing moves the watermark only. Rewriting the
// whole snapshot file for that costs as much as the directory is large, so
// SaveSnapshot records in the database, per kind, the file it wrote: the
// random ID in the file's header, its size and CRC-32; SetWatermark adds
// the newer watermark to that record. Watermark reads the file's header,
// checks the file's size and checksum against the record (a raw read, no
// decompression: truncation and corruption are found without decoding)
// and returns the recorded watermark. A file the record does not name (a
// crash between the rename and the database update, a file of an older
// idsync) is decoded whole instead, and SetWatermark saves it again: a
// recorded watermark is never applied to a file it was not recorded for.

// snapshotRecord is the database value under recordKey.
type snapshotRecord struct {
	Snapshot string `json:"snapshot"`
	Size     int64  `json:"size"`
	CRC      uint32 `json:"crc"`
	// Watermark, when set, replaces the one in the file's header.
	Watermark *directory.Watermark `json:"watermark,omitempty"`
}

func recordKey(kind string) []byte { return []byte("snapshot/" + kind) }

func newSnapshotID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(b[:])
}

// Watermark returns the watermark of the last snapshot saved for kind,
// reading only the snapshot file's header and checksum: the one recorded
// by SetWatermark, else the one in the header. It returns the zero
// watermark when there is no snapshot, and an error wrapping
// ErrDamagedSnapshot when Snapshot would.
func (s *Store) Watermark(kind string) (directory.Watermark, error) {
	h, found, err := s.snapshotHeader(kind)
	if err != nil || !found {
		return directory.Watermark{}, err
	}
	rec, err := s.record(kind)
	if err != nil {
		return directory.Watermark{}, err
	}
	if h.ID == "" || rec == nil || rec.Snapshot != h.ID {
		snap, err := s.Snapshot(kind)
		if err != nil || snap == nil {
			return directory.Watermark{}, err
		}
		return snap.Watermark, nil
	}
	if err := s.verifyFile(kind, rec); err != nil {
		return directory.Watermark{}, err
	}
	if rec.Watermark != nil {
		return *rec.Watermark, nil
	}
	return h.Watermark, nil
}

// SetWatermark records wm as the watermark of the last snapshot saved for
// kind, which otherwise stands: what a delta that changed nothing commits.
// Snapshot and Watermark return it from now on, until the next
// SaveSnapshot. A snapshot the database has no record of (an older idsync
// wrote it, or it is still in the database) is saved again, with wm.
func (s *Store) SetWatermark(kind string, wm directory.Watermark) error {
	h, found, err := s.snapshotHeader(kind)
	if err != nil {
		return fmt.Errorf("state: set %s watermark: %w", kind, err)
	}
	rec, err := s.record(kind)
	if err != nil {
		return fmt.Errorf("state: set %s watermark: %w", kind, err)
	}
	if !found || h.ID == "" || rec == nil || rec.Snapshot != h.ID {
		snap, err := s.Snapshot(kind)
		if err != nil {
			return fmt.Errorf("state: set %s watermark: %w", kind, err)
		}
		if snap == nil {
			return fmt.Errorf("state: set %s watermark: no snapshot to set it on", kind)
		}
		snap.Watermark = wm
		return s.SaveSnapshot(kind, snap)
	}
	rec.Watermark = &wm
	if err := s.putRecord(kind, rec); err != nil {
		return fmt.Errorf("state: set %s watermark: %w", kind, err)
	}
	return nil
}

// newerWatermark returns the watermark SetWatermark recorded for the
// snapshot file with the given ID, if any.
func (s *Store) newerWatermark(kind, id string) (directory.Watermark, bool, error) {
	rec, err := s.record(kind)
	if err != nil || rec == nil || id == "" || rec.Snapshot != id || rec.Watermark == nil {
		return directory.Watermark{}, false, err
	}
	return *rec.Watermark, true, nil
}

func (s *Store) record(kind string) (*snapshotRecord, error) {
	var v []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		v = append(v, tx.Bucket(bucketMeta).Get(recordKey(kind))...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("state: read %s snapshot record: %w", kind, err)
	}
	if v == nil {
		return nil, nil
	}
	var rec snapshotRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		return nil, fmt.Errorf("state: read %s snapshot record: %w: %w", kind, ErrDamagedSnapshot, err)
	}
	return &rec, nil
}

func (s *Store) putRecord(kind string, rec *snapshotRecord) error {
	v, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(recordKey(kind), v) })
}

// verifyFile checks the snapshot file's size and CRC-32 against rec.
func (s *Store) verifyFile(kind string, rec *snapshotRecord) error {
	path, err := s.snapshotPath(kind)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("state: read %s snapshot: %w", kind, err)
	}
	defer f.Close()
	h := crc32.NewIEEE()
	n, err := io.Copy(h, f)
	if err != nil {
		return fmt.Errorf("state: read %s snapshot %s: %w", kind, path, err)
	}
	if n != rec.Size || h.Sum32() != rec.CRC {
		return fmt.Errorf("state: read %s snapshot %s: %w: %d bytes with checksum %08x, %d with %08x written",
			kind, path, ErrDamagedSnapshot, n, h.Sum32(), rec.Size, rec.CRC)
	}
	return nil
}

// summingWriter counts and checksums what goes through it.
type summingWriter struct {
	w   io.Writer
	n   int64
	crc hash.Hash32
}

func (w *summingWriter) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	w.n += int64(n)
	w.crc.Write(p[:n])
	return n, err
}

// snapshotHeader reads the header of the snapshot file for kind; a
// snapshot kept in the database by idsync 0.1 is decoded whole. found is
// false when there is no snapshot.
func (s *Store) snapshotHeader(kind string) (h snapshotHeader, found bool, err error) {
	path, err := s.snapshotPath(kind)
	if err != nil {
		return h, false, err
	}
	var stale string
	err = s.db.View(func(tx *bolt.Tx) error {
		stale = string(tx.Bucket(bucketMeta).Get(staleKey(kind)))
		return nil
	})
	if err != nil {
		return h, false, fmt.Errorf("state: read %s snapshot: %w", kind, err)
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		snap, err := s.legacySnapshot(kind)
		if err != nil || snap == nil {
			return h, false, err
		}
		return snapshotHeader{Watermark: snap.Watermark}, true, nil
	}
	if err != nil {
		return h, false, fmt.Errorf("state: read %s snapshot: %w", kind, err)
	}
	defer f.Close()
	if stale != "" {
		return h, false, fmt.Errorf("state: read %s snapshot %s: %w: it predates the state database (%s)", kind, path, ErrDamagedSnapshot, stale)
	}
	zr, err := gzip.NewReader(bufio.NewReaderSize(f, 4<<10))
	if err == nil {
		h, err = readHeader(gob.NewDecoder(zr))
	}
	if err != nil {
		return h, false, fmt.Errorf("state: read %s snapshot %s: %w: %w", kind, path, ErrDamagedSnapshot, err)
	}
	return h, true, nil
}
