package directory

import "errors"

// ErrFullSyncRequired is returned (wrapped with the reason) by a directory
// source when its watermark cannot give a correct delta: another DC, a
// restored DC, another mode, a watermark older than the tombstone lifetime,
// or an unreadable replication cursor. Only a full read can be trusted.
var ErrFullSyncRequired = errors.New("full synchronization required")
