package directory

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// DeltaMode names how changes are read after a snapshot.
type DeltaMode string

// Delta modes stored in a Watermark.
const (
	// ModeDirSync reads changes with the DirSync control and a cookie.
	ModeDirSync DeltaMode = "dirsync"
	// ModeUSN polls uSNChanged and searches tombstones.
	ModeUSN DeltaMode = "usn"
)

// Watermark is the point in a directory's history a snapshot or delta was
// read at. It names the domain controller it is valid against: a delta must
// be read from the same DC (host and invocationId) or a full read is needed.
type Watermark struct {
	Mode DeltaMode `json:"m"`
	// DCHost is the dnsHostName of the domain controller.
	DCHost string `json:"h"`
	// InvocationID is the DC's database identity (NTDS Settings invocationId);
	// it changes when the DC is restored from backup.
	InvocationID string `json:"i"`
	// USN is the highestCommittedUSN read before the snapshot or delta.
	USN int64 `json:"u,omitempty"`
	// Cookie is the DirSync cookie (ModeDirSync only).
	Cookie []byte `json:"c,omitempty"`
	// TakenAt is when the read started.
	TakenAt time.Time `json:"t"`
	// Config fingerprints the source settings the state depends on (base,
	// scope, mapping); a delta under other settings needs a full read.
	Config string `json:"f,omitempty"`
}

// IsZero reports whether w is the zero watermark (no previous read).
func (w Watermark) IsZero() bool {
	return w.Mode == "" && w.DCHost == "" && w.InvocationID == "" && w.USN == 0 && len(w.Cookie) == 0 &&
		w.TakenAt.IsZero() && w.Config == ""
}

// MarshalBinary encodes the watermark compactly; the result is what a
// replication token carries (base64 of it).
func (w Watermark) MarshalBinary() ([]byte, error) {
	b, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("marshal watermark: %w", err)
	}
	return b, nil
}

// UnmarshalBinary decodes a watermark produced by MarshalBinary.
func (w *Watermark) UnmarshalBinary(b []byte) error {
	var v Watermark
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("unmarshal watermark: %w", err)
	}
	switch v.Mode {
	case ModeDirSync, ModeUSN:
	default:
		return fmt.Errorf("unmarshal watermark: %w", errors.New("unknown mode "+string(v.Mode)))
	}
	*w = v
	return nil
}
