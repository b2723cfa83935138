package state

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"

	bolt "go.etcd.io/bbolt"

	"github.com/idsync/idsync/internal/directory"
)

// A snapshot lives in its own file, snapshot.<kind>.gz, rather than in the
// database: it is the largest thing idsync keeps (about 1 KiB per user before
// compression), and a bbolt value must be built whole in memory and copied
// again on commit, which at 10,000 users cost more memory than the rest of
// the cycle. The file is a gzip stream of gob messages written and read in
// chunks: a header with the counts and the watermark, then each section in
// chunks of snapshotChunk elements. The file is replaced atomically; gzip's
// checksum and the header's counts reject a damaged or truncated file.
// The gzip stream is not compressed (stored blocks): compressing took four
// times as long as encoding, and inflating twice as long as decoding, for a
// file 2.5 times smaller (W10k: 7.3 instead of 2.9 MB; encode and decode
// 44 instead of 178 ms), and a delta with changes reads and writes it
// whole. Files written compressed by earlier versions read the same.
//
// Format 2 writes every id once. Member lists (a group's direct members in
// Graph.Links, its effective members in Groups) repeat the users' ids: at
// W100k about a million values each, every one a 36-character objectGUID
// written, read and interned through a map, most of what loading and saving
// the file cost. After the users and excluded users comes an id table with
// the ids that are no user's (groups, members outside the scope); links and
// groups follow as linksRecord and groupRecord, whose ids and member lists
// are indices: 0..Users-1 are the users' ExternalIDs (the first of
// duplicates), then the excluded users', then the table
// (snapshot_index.go). Decoding maps an index straight to the one shared
// string, with no map and no string per member; an index out of range is a
// damaged file. At 100,000 users and ~1M member values the file is 18.6
// instead of 83 MiB and loads four to six times faster
// (BenchmarkSnapshotFile/members, bench/README.md). Format 1 files (the
// members as strings) still read.
const (
	snapshotFormat  = 2
	snapshotFormat1 = 1
	snapshotChunk   = 512
)

// snapshotHeader opens a snapshot file.
type snapshotHeader struct {
	Format int
	// ID names this file (random, new on every save), so that a watermark
	// recorded later in the database for it (SetWatermark) is never taken
	// for another file's. Files of idsync 0.2 and earlier have none.
	ID        string
	Watermark directory.Watermark
	Users     int
	Excluded  int
	Links     int
	Groups    int
	// IDs is the length of the id table (format 2; 0 in format 1).
	IDs int
	// Check guards the counts, which size allocations before gzip's
	// checksum at the end of the stream can be verified.
	Check uint32
}

func (h snapshotHeader) check() uint32 {
	b := fmt.Appendf(nil, "%d/%d/%d/%d/%d", h.Format, h.Users, h.Excluded, h.Links, h.Groups)
	if h.Format != snapshotFormat1 {
		b = fmt.Appendf(b, "/%d", h.IDs)
	}
	return crc32.ChecksumIEEE(b)
}

// ErrDamagedSnapshot means the snapshot file exists but cannot be decoded:
// truncated, corrupted or of an unknown format. A full read replaces it.
var ErrDamagedSnapshot = errors.New("damaged snapshot")

var kindPattern = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,63}$`)

func (s *Store) snapshotPath(kind string) (string, error) {
	if !kindPattern.MatchString(kind) {
		return "", fmt.Errorf("state: invalid snapshot kind %q", kind)
	}
	return filepath.Join(s.dir, "snapshot."+kind+".gz"), nil
}

// Snapshot returns the last directory snapshot saved for kind (a session
// type such as "AD_SYNC"), or nil when there is none.
func (s *Store) Snapshot(kind string) (*directory.Snapshot, error) {
	path, err := s.snapshotPath(kind)
	if err != nil {
		return nil, err
	}
	var stale string
	err = s.db.View(func(tx *bolt.Tx) error {
		stale = string(tx.Bucket(bucketMeta).Get(staleKey(kind)))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("state: read %s snapshot: %w", kind, err)
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s.legacySnapshot(kind)
	}
	if err != nil {
		return nil, fmt.Errorf("state: read %s snapshot: %w", kind, err)
	}
	defer f.Close()
	if stale != "" {
		return nil, fmt.Errorf("state: read %s snapshot %s: %w: it predates the state database (%s)", kind, path, ErrDamagedSnapshot, stale)
	}
	snap, id, err := readSnapshot(bufio.NewReaderSize(f, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("state: read %s snapshot %s: %w: %w", kind, path, ErrDamagedSnapshot, err)
	}
	if wm, ok, err := s.newerWatermark(kind, id); err != nil {
		return nil, err
	} else if ok {
		snap.Watermark = wm
	}
	return snap, nil
}

// SaveSnapshot replaces the snapshot for kind, or removes it when snap is nil.
func (s *Store) SaveSnapshot(kind string, snap *directory.Snapshot) error {
	path, err := s.snapshotPath(kind)
	if err != nil {
		return err
	}
	var rec []byte
	if snap == nil {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("state: remove %s snapshot: %w", kind, err)
		}
	} else {
		id := newSnapshotID()
		sw := &summingWriter{crc: crc32.NewIEEE()}
		err := writeAtomic(path, 0o600, func(w io.Writer) error {
			sw.w = w
			return writeSnapshot(sw, snap, id)
		})
		if err != nil {
			return fmt.Errorf("state: save %s snapshot: %w", kind, err)
		}
		if rec, err = json.Marshal(snapshotRecord{Snapshot: id, Size: sw.n, CRC: sw.crc.Sum32()}); err != nil {
			return fmt.Errorf("state: save %s snapshot: %w", kind, err)
		}
	}
	// Drop a snapshot an earlier version kept in the database, so it can
	// never be read back in place of a newer one, and the mark saying the
	// file replaced here predated the database; record the new file (see
	// Watermark).
	err = s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketMeta).Delete(staleKey(kind)); err != nil {
			return err
		}
		if rec == nil {
			if err := tx.Bucket(bucketMeta).Delete(recordKey(kind)); err != nil {
				return err
			}
		} else if err := tx.Bucket(bucketMeta).Put(recordKey(kind), rec); err != nil {
			return err
		}
		b := tx.Bucket(bucketSnapshot)
		if b.Get([]byte(kind)) == nil {
			return nil
		}
		return b.Delete([]byte(kind))
	})
	if err != nil {
		return fmt.Errorf("state: save %s snapshot: %w", kind, err)
	}
	return nil
}

// legacySnapshot reads a snapshot stored in the database by idsync 0.1.
func (s *Store) legacySnapshot(kind string) (*directory.Snapshot, error) {
	var snap *directory.Snapshot
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketSnapshot).Get([]byte(kind))
		if v == nil {
			return nil
		}
		snap = new(directory.Snapshot)
		return gob.NewDecoder(bytes.NewReader(v)).Decode(snap)
	})
	if err != nil {
		return nil, fmt.Errorf("state: read %s snapshot: %w", kind, err)
	}
	return snap, nil
}

func writeSnapshot(w io.Writer, snap *directory.Snapshot, id string) error {
	return writeSnapshotRaw(w, snapshotHeader{
		Format:    snapshotFormat,
		ID:        id,
		Watermark: snap.Watermark,
		Users:     len(snap.Users),
		Excluded:  len(snap.Graph.Excluded),
		Links:     len(snap.Graph.Links),
		Groups:    len(snap.Groups),
	}, snap)
}

// writeSnapshotRaw writes snap under header h, with the counts of the id
// table filled in.
func writeSnapshotRaw(w io.Writer, h snapshotHeader, snap *directory.Snapshot) error {
	ix := indexSnapshot(snap)
	h.IDs = len(ix.table)
	return encodeSnapshot(w, h, snap, ix)
}

func encodeSnapshot(w io.Writer, h snapshotHeader, snap *directory.Snapshot, ix *snapshotIndex) error {
	h.Check = h.check()
	zw, err := gzip.NewWriterLevel(w, gzip.NoCompression)
	if err != nil {
		return err
	}
	enc := gob.NewEncoder(zw)
	if err := enc.Encode(h); err != nil {
		return err
	}
	if err := writeChunks(enc, snap.Users); err != nil {
		return err
	}
	if err := writeChunks(enc, snap.Graph.Excluded); err != nil {
		return err
	}
	if err := writeChunks(enc, ix.table); err != nil {
		return err
	}
	if err := writeLinks(enc, snap.Graph.Links, ix); err != nil {
		return err
	}
	if err := writeGroups(enc, snap.Groups, ix); err != nil {
		return err
	}
	return zw.Close()
}

func writeChunks[T any](enc *gob.Encoder, items []T) error {
	for len(items) > 0 {
		n := min(len(items), snapshotChunk)
		if err := enc.Encode(items[:n]); err != nil {
			return err
		}
		items = items[n:]
	}
	return nil
}

// readHeader reads and checks the header of a snapshot stream.
func readHeader(dec *gob.Decoder) (snapshotHeader, error) {
	var h snapshotHeader
	if err := dec.Decode(&h); err != nil {
		return h, fmt.Errorf("header: %w", err)
	}
	if h.Format != snapshotFormat && h.Format != snapshotFormat1 {
		return h, fmt.Errorf("format %d is not supported (this idsync knows %d and %d)", h.Format, snapshotFormat1, snapshotFormat)
	}
	const limit = 1 << 26 // far beyond any directory
	if h.Check != h.check() || h.Users < 0 || h.Excluded < 0 || h.Links < 0 || h.Groups < 0 || h.IDs < 0 ||
		h.Users > limit || h.Excluded > limit || h.Links > limit || h.Groups > limit || h.IDs > limit ||
		h.Format == snapshotFormat1 && h.IDs != 0 {
		return h, errors.New("header: damaged counts")
	}
	return h, nil
}

// readSnapshot decodes a snapshot stream and returns it with the file's ID.
func readSnapshot(r io.Reader) (*directory.Snapshot, string, error) {
	snap, h, err := decodeSnapshot(r)
	return snap, h.ID, err
}

func decodeSnapshot(r io.Reader) (*directory.Snapshot, snapshotHeader, error) {
	var h snapshotHeader
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, h, err
	}
	dec := gob.NewDecoder(zr)
	if h, err = readHeader(dec); err != nil {
		return nil, h, err
	}
	snap := &directory.Snapshot{Watermark: h.Watermark}
	if snap.Users, err = readChunks[directory.User](dec, h.Users, nil); err != nil {
		return nil, h, fmt.Errorf("users: %w", err)
	}
	if snap.Graph.Excluded, err = readChunks[directory.User](dec, h.Excluded, nil); err != nil {
		return nil, h, fmt.Errorf("excluded users: %w", err)
	}
	if h.Format == snapshotFormat1 {
		err = readGraph1(dec, h, snap)
	} else {
		err = readGraph2(dec, h, snap)
	}
	if err != nil {
		return nil, h, err
	}
	// The end of the stream checks gzip's length and checksum.
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return nil, h, err
	}
	if err := zr.Close(); err != nil {
		return nil, h, err
	}
	return snap, h, nil
}

// readGraph1 reads the links and groups of a format 1 stream into snap,
// whose users are read.
func readGraph1(dec *gob.Decoder, h snapshotHeader, snap *directory.Snapshot) error {
	// Member lists repeat the users' and groups' ids: share one string per
	// id instead of keeping a decoded copy per membership.
	ids := make(map[string]string, len(snap.Users)+len(snap.Graph.Excluded)+h.Links)
	for _, us := range [][]directory.User{snap.Users, snap.Graph.Excluded} {
		for i := range us {
			ids[us[i].ExternalID] = us[i].ExternalID
		}
	}
	intern := func(ss []string) {
		for i, v := range ss {
			if c, ok := ids[v]; ok {
				ss[i] = c
			}
		}
	}
	var err error
	snap.Graph.Links, err = readChunks(dec, h.Links, func(ls []directory.Links) {
		for i := range ls {
			if c, ok := ids[ls[i].GroupID]; ok {
				ls[i].GroupID = c
			} else {
				ids[ls[i].GroupID] = ls[i].GroupID
			}
		}
	})
	if err != nil {
		return fmt.Errorf("group links: %w", err)
	}
	for i := range snap.Graph.Links {
		intern(snap.Graph.Links[i].Direct)
	}
	snap.Groups, err = readChunks(dec, h.Groups, func(gs []directory.Group) {
		for i := range gs {
			if c, ok := ids[gs[i].ExternalID]; ok {
				gs[i].ExternalID = c
			}
			intern(gs[i].Members)
		}
	})
	if err != nil {
		return fmt.Errorf("groups: %w", err)
	}
	return nil
}

// readChunks decodes n elements written by writeChunks, straight into one
// slice of capacity n; each decoded chunk is passed to each when non-nil.
func readChunks[T any](dec *gob.Decoder, n int, each func([]T)) ([]T, error) {
	if n == 0 {
		return nil, nil // as gob decodes an empty slice
	}
	out := make([]T, 0, n)
	for len(out) < n {
		// gob decodes into the view when it is large enough, so elements
		// land in place; a different chunking is copied.
		view := out[len(out):n:n]
		if err := dec.Decode(&view); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if len(view) == 0 || len(out)+len(view) > n {
			return nil, fmt.Errorf("chunk of %d elements after %d of %d", len(view), len(out), n)
		}
		out = append(out, view...)
		if each != nil {
			each(out[len(out)-len(view):])
		}
	}
	return out, nil
}
