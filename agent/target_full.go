package agent

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sync/errgroup"

	"github.com/idsync/idsync/internal/directory"
)

// listManaged lists what a full cycle compares and needs nothing of the
// directory for: every pool user and every external group with its
// members.
func listManaged(ctx context.Context, pool Pool, concurrency int) (Target, *ids, error) {
	var t Target
	x := newIDs()
	err := pool.ListAllUsers(ctx, func(u PoolUser) error {
		t.Users = append(t.Users, u)
		x.addUser(u.ExternalID, u.ID)
		return nil
	})
	if err != nil {
		return t, nil, fmt.Errorf("list pool users: %w", err)
	}
	for g, err := range pool.ExternalGroups(ctx, "") {
		if err != nil {
			return t, nil, fmt.Errorf("list external groups: %w", err)
		}
		t.Groups = append(t.Groups, g)
		x.groups[g.ExternalID] = g.ID
	}
	if err := readMembers(ctx, pool, concurrency, t.Groups, x, nil); err != nil {
		return t, nil, err
	}
	return t, x, nil
}

// readOtherGroups adds the organization's groups that are not external to
// t: all of them when in's settings allow capture, else those holding the
// names in's new groups map to, so that the plan rejects a taken name up
// front.
func readOtherGroups(ctx context.Context, pool Pool, in *Input, t *Target) error {
	if !in.Settings.CaptureGroups {
		return lookUpGroupNames(ctx, pool, in, t)
	}
	for g, err := range pool.Groups(ctx, "") {
		if err != nil {
			return fmt.Errorf("list organization groups: %w", err)
		}
		if g.ExternalID == "" {
			t.Groups = append(t.Groups, g)
		}
	}
	return nil
}

// readFull reads the directory and lists the pool's managed objects at the
// same time: neither depends on the other, and a full cycle would otherwise
// wait for the pool's listing (a ListMembers call per group) after the
// directory's read. A failure of either stops the other; when both fail
// the directory's error wins, as in a read of one after the other.
func readFull(ctx context.Context, src Source, pool Pool, concurrency int) (*directory.Snapshot, Target, *ids, error) {
	var (
		snap           *directory.Snapshot
		t              Target
		x              *ids
		srcErr, tgtErr error
	)
	eg, ectx := errgroup.WithContext(ctx)
	eg.Go(func() error {
		snap, srcErr = src.Snapshot(ectx)
		return srcErr
	})
	eg.Go(func() error {
		t, x, tgtErr = listManaged(ectx, pool, concurrency)
		return tgtErr
	})
	_ = eg.Wait()
	// The read that failed first cancelled the other, whose error is then
	// only that cancellation: the directory's counts unless it is one while
	// the pool failed and ctx itself goes on.
	srcFirst := srcErr != nil && (tgtErr == nil || ctx.Err() != nil || !errors.Is(srcErr, context.Canceled))
	switch {
	case srcFirst:
		return nil, t, nil, fmt.Errorf("%w: %w", errSourceRead, srcErr)
	case tgtErr != nil:
		return nil, t, nil, fmt.Errorf("%w: %w", errTargetRead, tgtErr)
	}
	return snap, t, x, nil
}
