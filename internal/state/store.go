// Package state is idsync's local durable state under state_path:
//
//   - idsync.db (bbolt): the external-id to cloud-id cache and the objects
//     whose last change failed and must be retried. A cycle holds it open,
//     which also keeps two idsync processes from synchronizing the same
//     state at once.
//   - snapshot.<session type>.gz: the last directory snapshot (what the next
//     delta builds on), streamed in chunks and replaced atomically.
//   - jobs/<id>.json: one record per synchronization job, written atomically,
//     so `idsync jobs` can read the history while a cycle runs.
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

// Open opens (creating if needed) the state under dir. It waits up to
// lockWait for another process to release the database; zero means 1 s.
func Open(dir string, lockWait time.Duration) (*Store, error) {
	if lockWait <= 0 {
		lockWait = time.Second
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state: create %s: %w", dir, err)
	}
	path := filepath.Join(dir, dbFile)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockWait})
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
		if v := meta.Get([]byte("schema")); v != nil && string(v) != schemaVersion {
			return fmt.Errorf("schema version %s is not supported (this idsync knows %s)", v, schemaVersion)
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
