package state

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/idsync/idsync/internal/directory"
)

var bucketFailures = []byte("failures")

// Failure is an object whose change failed in consecutive cycles. Once
// Count reaches the quarantine threshold the object is quarantined: its
// change is no longer tried every cycle.
type Failure struct {
	Kind       directory.Kind `json:"-"`
	ExternalID string         `json:"external_id"`
	// Name is the username or group name, DN the directory object, for
	// people and for `idsync jobs quarantine release`.
	Name string `json:"name,omitempty"`
	DN   string `json:"dn,omitempty"`
	// Count is the number of consecutive cycles whose change failed.
	Count     int       `json:"count"`
	LastError string    `json:"last_error"`
	First     time.Time `json:"first_failure"`
	Last      time.Time `json:"last_failure"`
	// Version identifies the directory object as it was when its change
	// last failed; a different version means the object changed.
	Version string `json:"version,omitempty"`
	// Quarantined is set once Count reached the threshold the recording
	// cycle used (apply.quarantine_after); Since is when.
	Quarantined bool      `json:"quarantined,omitempty"`
	Since       time.Time `json:"quarantined_since,omitzero"`
	// Released asks for one more try at the next cycle.
	Released bool `json:"released,omitempty"`
}

// Object names the kind of the failure, "user" or "group".
func (f Failure) Object() string {
	if f.Kind == directory.KindGroup {
		return "group"
	}
	return "user"
}

// Failures returns every recorded failure, users first, each kind sorted by
// external id.
func (s *Store) Failures() ([]Failure, error) {
	var out []Failure
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketFailures)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			if len(k) < 2 {
				return nil
			}
			var f Failure
			if err := json.Unmarshal(v, &f); err != nil {
				return fmt.Errorf("record %s: %w", k, err)
			}
			f.Kind = kindOf(k[0])
			out = append(out, f)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("state: read failures: %w", err)
	}
	slices.SortStableFunc(out, func(a, b Failure) int {
		if a.Kind != b.Kind {
			return int(kindByte(b.Kind)) - int(kindByte(a.Kind)) // 'u' before 'g'
		}
		return strings.Compare(a.ExternalID, b.ExternalID)
	})
	return out, nil
}

// RecordFailures counts one more failed cycle for each of failed (Count,
// First and Since are kept from the record, the rest replaced; an object
// is quarantined from its after-th failure on, after > 0) and forgets the
// objects in succeeded, in one transaction.
func (s *Store) RecordFailures(failed []Failure, succeeded []Failure, after int) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketFailures)
		if err != nil {
			return err
		}
		for _, f := range succeeded {
			if err := b.Delete(key(f.Kind, f.ExternalID)); err != nil {
				return err
			}
		}
		for _, f := range failed {
			k := key(f.Kind, f.ExternalID)
			var old Failure
			if v := b.Get(k); v != nil && json.Unmarshal(v, &old) == nil {
				f.Count, f.First, f.Since = old.Count, old.First, old.Since
			} else {
				f.Count, f.First = 0, f.Last
			}
			f.Count++
			f.Released = false
			f.Quarantined = after > 0 && f.Count >= after
			if !f.Quarantined {
				f.Since = time.Time{}
			} else if f.Since.IsZero() {
				f.Since = f.Last
			}
			v, err := json.Marshal(f)
			if err != nil {
				return err
			}
			if err := b.Put(k, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("state: record failures: %w", err)
	}
	return nil
}

// ReleaseFailure marks for one more try at the next cycle every recorded
// object whose external id, name or DN equals object (case-insensitively)
// and returns them; none found is not an error.
func (s *Store) ReleaseFailure(object string) ([]Failure, error) {
	var out []Failure
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketFailures)
		if err != nil {
			return err
		}
		type hit struct {
			k []byte
			f Failure
		}
		var hits []hit
		if err := b.ForEach(func(k, v []byte) error {
			var f Failure
			if json.Unmarshal(v, &f) != nil || len(k) < 2 {
				return nil
			}
			if strings.EqualFold(f.ExternalID, object) || strings.EqualFold(f.Name, object) || strings.EqualFold(f.DN, object) {
				f.Kind = kindOf(k[0])
				hits = append(hits, hit{slices.Clone(k), f})
			}
			return nil
		}); err != nil {
			return err
		}
		for _, h := range hits {
			h.f.Released = true
			v, err := json.Marshal(h.f)
			if err != nil {
				return err
			}
			if err := b.Put(h.k, v); err != nil {
				return err
			}
			out = append(out, h.f)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("state: release %s: %w", object, err)
	}
	return out, nil
}
