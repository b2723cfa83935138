package agent

import (
	"encoding/json"
	"fmt"
	"slices"
)

// metaWriteback is the local state key of password writeback.
const metaWriteback = "PASSWORD_WRITEBACK/state"

// keepCommitted bounds how many committed operation ids are remembered.
const keepCommitted = 1000

// writebackState is what password writeback keeps durably: never a
// password, only offsets and operation ids.
type writebackState struct {
	// Offset is the offset of the last change committed (in order).
	Offset int64 `json:"offset"`
	// Committed are the last committed operation ids, oldest first: a
	// change re-read after a crash between the commit and the offset is
	// not written again.
	Committed []string `json:"committed,omitempty"`
	// Written are operations whose password the directory accepted but
	// whose commit is not confirmed yet: after a crash they are committed
	// without writing the password again.
	Written []string `json:"written,omitempty"`
}

func loadWritebackState(store MetaStore) (*writebackState, error) {
	raw, err := store.Meta(metaWriteback)
	if err != nil {
		return nil, fmt.Errorf("read password writeback state: %w", err)
	}
	st := &writebackState{}
	if raw == "" {
		return st, nil
	}
	if err := json.Unmarshal([]byte(raw), st); err != nil {
		return nil, fmt.Errorf("decode password writeback state: %w", err)
	}
	return st, nil
}

func (st *writebackState) save(store MetaStore) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode password writeback state: %w", err)
	}
	if err := store.SetMeta(metaWriteback, string(b)); err != nil {
		return fmt.Errorf("save password writeback state: %w", err)
	}
	return nil
}

func (st *writebackState) committed(op string) bool { return slices.Contains(st.Committed, op) }
func (st *writebackState) written(op string) bool   { return slices.Contains(st.Written, op) }

// markWritten records that the directory accepted op's password.
func (st *writebackState) markWritten(op string) {
	if !st.written(op) {
		st.Written = append(st.Written, op)
	}
}

// markCommitted records op as committed at offset.
func (st *writebackState) markCommitted(op string, offset int64) {
	st.Written = slices.DeleteFunc(st.Written, func(s string) bool { return s == op })
	if !st.committed(op) {
		st.Committed = append(st.Committed, op)
	}
	if n := len(st.Committed); n > keepCommitted {
		st.Committed = slices.Clone(st.Committed[n-keepCommitted:])
	}
	st.Offset = max(st.Offset, offset)
}
