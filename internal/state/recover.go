package state

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
	"go.uber.org/zap"
)

// errDamaged marks a database that cannot be used as it is: bbolt refused
// it, panicked or faulted reading it, or its consistency check failed.
var errDamaged = errors.New("the state database is damaged")

// staleKey marks, in a database created to replace a damaged or missing
// one, a snapshot file that predates it. The objects whose changes failed
// and the ids the snapshot's delta relies on were in the old database, so
// such a snapshot is reported damaged and the next cycle reads in full.
func staleKey(kind string) []byte { return []byte("stale/" + kind) }

// openChecked opens the database at path and checks it. A panic or a
// memory fault inside bbolt (a damaged file can cause either) is turned
// into an error wrapping errDamaged, as are bbolt's own verdicts on the
// file and failures of tx.Check. Other errors (permissions, the lock held
// by another process) are returned as they are. bbolt takes the file's
// lock before it reads anything, so a file that another process is still
// creating is never judged. opened describes the file that was opened.
func openChecked(path string, lockWait time.Duration) (db *bolt.DB, opened os.FileInfo, err error) {
	var file *os.File
	opts := &bolt.Options{Timeout: lockWait, OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
		f, err := os.OpenFile(name, flag, perm)
		if err == nil {
			file = f
			opened, _ = f.Stat()
		}
		return f, err
	}}
	// Reads of a damaged file can fault on the memory map; only this
	// goroutine reads it until the check is done.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		if db != nil {
			closeQuietly(db)
		} else if file != nil {
			// bbolt panicked inside Open: release the file and its lock.
			_ = file.Close()
		}
		db, err = nil, fmt.Errorf("%w: %v", errDamaged, r)
	}()
	db, err = bolt.Open(path, 0o600, opts)
	switch {
	case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrVersionMismatch),
		errors.Is(err, bolterrors.ErrChecksum):
		return nil, opened, fmt.Errorf("%w: %w", errDamaged, err)
	case err != nil:
		return nil, opened, err
	}
	if err := db.View(check); err != nil {
		db.Close()
		return nil, opened, fmt.Errorf("%w: %w", errDamaged, err)
	}
	return db, opened, nil
}

// check reads every key and value in this goroutine, where a fault is
// recoverable, and then runs bbolt's structural check (freelist and page
// accounting), which reads again only pages the walk has already read.
func check(tx *bolt.Tx) error {
	if err := tx.ForEach(func(_ []byte, b *bolt.Bucket) error { return walk(b) }); err != nil {
		return err
	}
	var errs []error
	for err := range tx.Check() {
		if len(errs) < 3 {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func walk(b *bolt.Bucket) error {
	var sum uint32
	return b.ForEach(func(k, v []byte) error {
		sum = crc32.Update(sum, crc32.IEEETable, k)
		if v != nil {
			sum = crc32.Update(sum, crc32.IEEETable, v)
			return nil
		}
		nb := b.Bucket(k)
		if nb == nil {
			return fmt.Errorf("bucket entry %q cannot be read", k)
		}
		return walk(nb)
	})
}

func closeQuietly(db *bolt.DB) {
	defer func() { _ = recover() }()
	_ = db.Close()
}

// moveAside renames the damaged database to idsync.db.damaged-<UTC time>
// so it can be examined, and returns the new path. It returns "" and no
// error when path is no longer the file found damaged: another process
// moved that one aside first and created a new database.
func moveAside(path string, damaged os.FileInfo, now time.Time) (string, error) {
	if cur, err := os.Stat(path); err != nil || damaged == nil || !os.SameFile(cur, damaged) {
		return "", nil
	}
	base := path + ".damaged-" + now.UTC().Format("20060102T150405Z")
	aside := base
	for i := 2; ; i++ {
		if _, err := os.Lstat(aside); errors.Is(err, fs.ErrNotExist) {
			break
		}
		aside = fmt.Sprintf("%s.%d", base, i)
	}
	if err := os.Rename(path, aside); err != nil {
		return "", fmt.Errorf("move the damaged state database aside (move or remove %s by hand): %w", path, err)
	}
	return aside, nil
}

// snapshotKinds lists the kinds of the snapshot files in dir.
func snapshotKinds(dir string) []string {
	ents, _ := os.ReadDir(dir)
	var kinds []string
	for _, e := range ents {
		name := e.Name()
		if kind, ok := strings.CutPrefix(name, "snapshot."); ok && e.Type().IsRegular() {
			if kind, ok = strings.CutSuffix(kind, ".gz"); ok && kindPattern.MatchString(kind) {
				kinds = append(kinds, kind)
			}
		}
	}
	return kinds
}

// markStale records that the snapshots in dir predate this database and
// returns their kinds.
func markStale(tx *bolt.Tx, dir string, reason string) ([]string, error) {
	kinds := snapshotKinds(dir)
	for _, kind := range kinds {
		if err := tx.Bucket(bucketMeta).Put(staleKey(kind), []byte(reason)); err != nil {
			return nil, err
		}
	}
	return kinds, nil
}

// logDamage reports a database moved aside.
func logDamage(log *zap.Logger, path, aside string, cause error) {
	if log == nil {
		return
	}
	log.Warn("the state database was damaged; it was moved aside and a new one created, the next directory cycle reads in full",
		zap.String("path", path), zap.String("moved_to", filepath.Base(aside)), zap.Error(cause))
}
