package ldapsource

import (
	"errors"

	"github.com/idsync/idsync/internal/directory"
)

// ErrFullSyncRequired is returned (wrapped with the reason) by Delta when the
// watermark cannot give a correct delta: another DC, a restored DC, another
// mode, or a watermark older than the tombstone lifetime. It is
// directory.ErrFullSyncRequired, which the engine tests for.
var ErrFullSyncRequired = directory.ErrFullSyncRequired

// ErrInsecureBind is returned when a simple bind would send the password
// over plain LDAP and Options.AllowInsecureBind is not set.
var ErrInsecureBind = errors.New("simple bind over plain LDAP refused: use ldaps://, StartTLS, or set AllowInsecureBind")

// ErrScopeGroupNotFound is returned when a filter group matches no group.
var ErrScopeGroupNotFound = errors.New("scope group not found")
