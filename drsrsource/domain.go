package drsrsource

import (
	"context"
	"errors"
	"fmt"

	"github.com/idsync/idsync/internal/directory"
)

// MissingRight returns the replication right the account lacks, so callers
// can recognise the error without this package's types.
func (e *RightError) MissingRight() string { return e.Right }

// PasswordChanges is Changes in the directory model's terms: the cursor is
// its MarshalBinary form (empty for a full pass). A cursor that does not
// parse fails with an error wrapping directory.ErrFullSyncRequired.
func (c *Client) PasswordChanges(ctx context.Context, from []byte, fn func(directory.HashChange) error) ([]byte, bool, error) {
	cur, err := ParseCursor(from)
	if err != nil {
		return nil, false, fmt.Errorf("%w: unreadable password cursor: %w", directory.ErrFullSyncRequired, err)
	}
	next, full, err := c.Changes(ctx, cur, func(a Account) error {
		return fn(directory.HashChange{ExternalID: a.ExternalID, MustChange: a.MustChange})
	})
	if err != nil {
		return nil, false, err
	}
	raw, err := next.MarshalBinary()
	if err != nil {
		return nil, false, err
	}
	return raw, full, nil
}

// PasswordHashes is Hashes for accounts named by external id (canonical
// objectGUID text); an id that is not one fails before anything is read.
func (c *Client) PasswordHashes(ctx context.Context, externalIDs []string, fn func(directory.PasswordHash) error) error {
	accounts, err := accountsFor(externalIDs)
	if err != nil {
		return err
	}
	return c.Hashes(ctx, accounts, func(s *Secret) error {
		return fn(directory.PasswordHash{ExternalID: s.ExternalID, MustChange: s.MustChange, Hash: &s.Hash})
	})
}

func accountsFor(externalIDs []string) ([]Account, error) {
	accounts := make([]Account, 0, len(externalIDs))
	var errs []error
	for _, id := range externalIDs {
		a, err := AccountFor(id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		accounts = append(accounts, a)
	}
	return accounts, errors.Join(errs...)
}
