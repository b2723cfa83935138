// Package state is idsync's local durable state under state_path:
//
//   - idsync.db (bbolt): the external-id to cloud-id cache and the objects
//     whose last change failed and must be retried. A cycle holds it open,
//     which also keeps two idsync processes from synchronizing the same
//     state at once. Open checks it; a damaged one is moved aside and
//     rebuilt (see OpenWith).
//   - snapshot.<session type>.gz: the last directory snapshot (what the next
//     delta builds on), streamed in chunks and replaced atomically; the
//     database records each file's ID, size and checksum, and the newer
//     watermark of a delta that changed nothing (see Watermark).
//   - jobs/<id>.json: one record per synchronization job, written atomically,
//     so `idsync jobs` can read the history while a cycle runs, and
//     jobs/objects/<id>.json beside it: the objects the job changed,
//     failed on or rejected (bounded, see MaxJobObjects), which
//     `idsync explain` searches for an object's last job.
//
// Every file is private (0600, directories 0700).
package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
	"go.uber.org/zap"
)

const (
	dbFile        = "idsync.db"
	schemaVersion = "1"
)

var (
	bucketMeta     = []byte("meta")
	bucketSnapshot = []byte("snapshot") // snapshots of idsync 0.1, read once; now files
	bucketIDs      = []byte("ids")
	bucketPending  = []byte("pending")
)

// ErrLocked means another idsync process holds the state database.
var ErrLocked = errors.New("the state database is in use by another idsync process")

// Store is the state database. It is safe for concurrent use.
type Store struct {
	db  *bolt.DB
	dir string
}

// Options tune Open. The zero value is ready to use.
type Options struct {
	// LockWait is how long to wait for another process to release the
	// database; zero means 1 s.
	LockWait time.Duration
	// Logger receives the warnings when a damaged or lost database is
	// replaced; nil logs nothing.
	Logger *zap.Logger
	// Now is the clock naming a damaged database moved aside; nil means
	// time.Now.
	Now func() time.Time
}

// Open opens (creating if needed) the state under dir. It waits up to
// lockWait for another process to release the database; zero means 1 s.
func Open(dir string, lockWait time.Duration) (*Store, error) {
	return OpenWith(dir, Options{LockWait: lockWait})
}

// OpenWith opens (creating if needed) the state under dir and checks the
// database. A damaged database (truncated, garbled, inconsistent) is moved
// aside as idsync.db.damaged-<time> and replaced by a new one: what it
// held can be rebuilt, and the snapshots that relied on it read as
// damaged, so the next directory cycle is a full one.
func OpenWith(dir string, o Options) (*Store, error) {
	if o.LockWait <= 0 {
		o.LockWait = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state: create %s: %w", dir, err)
	}
	path := filepath.Join(dir, dbFile)
	reason, replaced := "the state database was missing or empty", false
	db, opened, err := openChecked(path, o.LockWait)
	if errors.Is(err, errDamaged) {
		aside, merr := moveAside(path, opened, o.Now())
		if merr != nil {
			return nil, fmt.Errorf("state: open %s: %w; %w", path, err, merr)
		}
		if aside != "" {
			logDamage(o.Logger, path, aside, err)
			replaced = true
			reason = fmt.Sprintf("the state database was damaged and moved to %s", filepath.Base(aside))
		}
		db, _, err = openChecked(path, o.LockWait)
	}
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("state: open %s: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("state: open %s: %w", path, err)
	}
	// bbolt creates the file with the mode given only when it is new.
	if err := os.Chmod(path, 0o600); err != nil {
		db.Close()
		return nil, fmt.Errorf("state: protect %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketMeta, bucketSnapshot, bucketIDs, bucketPending} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		v := meta.Get([]byte("schema"))
		if v != nil && string(v) != schemaVersion {
			return fmt.Errorf("schema version %s is not supported (this idsync knows %s)", v, schemaVersion)
		}
		if v == nil {
			// A new database: snapshots beside it relied on a lost one.
			kinds, err := markStale(tx, dir, reason)
			if err != nil {
				return err
			}
			if len(kinds) > 0 && !replaced && o.Logger != nil {
				o.Logger.Warn("the state database is new but snapshots of the directory exist; the next cycles read in full",
					zap.String("reason", reason), zap.Strings("snapshots", kinds))
			}
		}
		return meta.Put([]byte("schema"), []byte(schemaVersion))
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("state: initialize %s: %w", path, err)
	}
	removeStaleTemps(dir)
	return &Store{db: db, dir: dir}, nil
}

// removeStaleTemps removes the temporary snapshot files an interrupted
// write left in dir. Only the process holding the database writes
// snapshots, so any such file is stale once the database is open.
func removeStaleTemps(dir string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if name := e.Name(); e.Type().IsRegular() && strings.HasPrefix(name, ".snapshot.") && strings.Contains(name, ".tmp") {
			_ = os.Remove(filepath.Join(dir, name))
		}
	}
}

// Close releases the database.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("state: close: %w", err)
	}
	return nil
}

// Dir returns the state directory.
func (s *Store) Dir() string { return s.dir }

// Meta returns a small named value ("" when unset).
func (s *Store) Meta(name string) (string, error) {
	var v string
	err := s.db.View(func(tx *bolt.Tx) error {
		v = string(tx.Bucket(bucketMeta).Get([]byte("x/" + name)))
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("state: read %s: %w", name, err)
	}
	return v, nil
}

// SetMeta stores a small named value.
func (s *Store) SetMeta(name, value string) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put([]byte("x/"+name), []byte(value))
	})
	if err != nil {
		return fmt.Errorf("state: save %s: %w", name, err)
	}
	return nil
}
