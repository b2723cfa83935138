package state

import (
	"bytes"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/idsync/idsync/internal/directory"
)

// kindByte is the key prefix that separates users from groups in the id
// cache, the pending set and the quarantine: 'u' or 'g'.
func kindByte(k directory.Kind) byte {
	if k == directory.KindGroup {
		return 'g'
	}
	return 'u'
}

// kindOf is the kind of a key prefix.
func kindOf(b byte) directory.Kind {
	if b == 'g' {
		return directory.KindGroup
	}
	return directory.KindUser
}

func key(k directory.Kind, externalID string) []byte {
	return append([]byte{kindByte(k), '/'}, externalID...)
}

// IDs returns the cached cloud ids of the given external ids; unknown ones
// are absent from the result.
func (s *Store) IDs(k directory.Kind, externalIDs []string) (map[string]string, error) {
	out := make(map[string]string, len(externalIDs))
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketIDs)
		for _, ext := range externalIDs {
			if v := b.Get(key(k, ext)); v != nil {
				out[ext] = string(v)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("state: read ids: %w", err)
	}
	return out, nil
}

// AllIDs returns every cached external id to cloud id pair of kind k.
func (s *Store) AllIDs(k directory.Kind) (map[string]string, error) {
	out := make(map[string]string)
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketIDs).Cursor()
		prefix := []byte{kindByte(k), '/'}
		for kk, v := c.Seek(prefix); bytes.HasPrefix(kk, prefix); kk, v = c.Next() {
			out[string(kk[2:])] = string(v)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("state: read ids: %w", err)
	}
	return out, nil
}

// UpdateIDs records new external id to cloud id pairs and forgets the
// external ids in remove, in one transaction. Pairs the cache already holds
// are not written again.
func (s *Store) UpdateIDs(k directory.Kind, set map[string]string, remove []string) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketIDs)
		if err := putSorted(b, k, set); err != nil {
			return err
		}
		for _, ext := range remove {
			if err := b.Delete(key(k, ext)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("state: update ids: %w", err)
	}
	return nil
}

// putSorted writes pairs in key order and leaves unchanged pairs alone: a
// bbolt node inserts a key by moving every key after it, so 100,000 new
// keys in map order cost seconds of copying, in order none; and a page
// that is only read is not rewritten on commit.
func putSorted(b *bolt.Bucket, k directory.Kind, pairs map[string]string) error {
	exts := make([]string, 0, len(pairs))
	for ext := range pairs {
		exts = append(exts, ext)
	}
	slices.Sort(exts)
	for _, ext := range exts {
		kk, id := key(k, ext), []byte(pairs[ext])
		if v := b.Get(kk); v != nil && bytes.Equal(v, id) {
			continue
		}
		if err := b.Put(kk, id); err != nil {
			return err
		}
	}
	return nil
}

// ReplaceIDs makes the cache of kind k exactly the given pairs, as after a
// full listing of the pool.
func (s *Store) ReplaceIDs(k directory.Kind, pairs map[string]string) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketIDs)
		c := b.Cursor()
		prefix := []byte{kindByte(k), '/'}
		var stale [][]byte
		for kk, _ := c.Seek(prefix); bytes.HasPrefix(kk, prefix); kk, _ = c.Next() {
			if _, ok := pairs[string(kk[2:])]; !ok {
				stale = append(stale, slices.Clone(kk))
			}
		}
		for _, kk := range stale {
			if err := b.Delete(kk); err != nil {
				return err
			}
		}
		return putSorted(b, k, pairs)
	})
	if err != nil {
		return fmt.Errorf("state: replace ids: %w", err)
	}
	return nil
}

// Pending returns the external ids of kind k whose last change failed and
// that the next cycle must look at again, sorted.
func (s *Store) Pending(k directory.Kind) ([]string, error) {
	var out []string
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPending).ForEach(func(kk, _ []byte) error {
			if len(kk) >= 2 && kk[0] == kindByte(k) {
				out = append(out, string(kk[2:]))
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("state: read pending: %w", err)
	}
	return out, nil
}

// SetPending replaces the pending set of kind k.
func (s *Store) SetPending(k directory.Kind, externalIDs []string) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPending)
		var old [][]byte
		if err := b.ForEach(func(kk, _ []byte) error {
			if len(kk) >= 2 && kk[0] == kindByte(k) {
				old = append(old, slices.Clone(kk))
			}
			return nil
		}); err != nil {
			return err
		}
		for _, kk := range old {
			if err := b.Delete(kk); err != nil {
				return err
			}
		}
		for _, ext := range externalIDs {
			if err := b.Put(key(k, ext), []byte{}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("state: save pending: %w", err)
	}
	return nil
}
