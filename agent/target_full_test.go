package agent

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/emulator"
)

// listingDir is a directory whose full read finishes only once the pool's
// users have been listed: a full cycle that read the directory and the pool
// one after the other would never get there.
type listingDir struct {
	*fakeDir
	emu *emulator.Emulator
}

func (d listingDir) Snapshot(ctx context.Context) (*directory.Snapshot, error) {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for m, n := range d.emu.Stats().Calls {
			if strings.HasSuffix(m, "UserService/List") && n > 0 {
				return d.read()
			}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil, errors.New("the pool was not listed while the directory was read")
}

func TestFullCycleReadsPoolWhileReadingDirectory(t *testing.T) {
	var r *rig
	r = newRig(t, emulator.Options{}, func(o *Options) {
		o.NewSource = func(SyncSettings) (Source, error) { return listingDir{fakeDir: r.dir, emu: r.emu}, nil }
	})
	r.dir.set(func(d *fakeDir) { d.users = []directory.User{dirUser(1), dirUser(2)} })
	job, err := r.agent.RunCycle(t.Context(), CycleOptions{Full: true})
	if err != nil {
		t.Fatalf("full cycle: %v", err)
	}
	if job.Result.UserStatistics.Created.Success != 2 {
		t.Fatalf("created %d users, want 2", job.Result.UserStatistics.Created.Success)
	}
}

// failingSource fails its full read with err once release is closed (at
// once when release is nil), whether or not ctx ended meanwhile.
type failingSource struct {
	Source
	err     error
	release chan struct{}
}

func (s failingSource) Snapshot(ctx context.Context) (*directory.Snapshot, error) {
	if s.release != nil {
		<-s.release
	}
	return nil, s.err
}

// failingPool fails its user listing with err, after closing listed; with
// no err it waits for ctx to end.
type failingPool struct {
	Pool
	err    error
	listed chan struct{}
}

func (p failingPool) ListAllUsers(ctx context.Context, fn func(PoolUser) error) error {
	if p.listed != nil {
		close(p.listed)
	}
	if p.err == nil {
		<-ctx.Done()
		return ctx.Err()
	}
	return p.err
}

func TestReadFullReportsTheFailingSide(t *testing.T) {
	dirErr, poolErr := errors.New("ldap down"), errors.New("cloud down")
	ok := &fakeDir{}
	cases := []struct {
		name    string
		src     Source
		pool    Pool
		want    error
		wantMsg error
	}{
		{"directory fails, pool cancelled", failingSource{err: dirErr}, failingPool{}, errSourceRead, dirErr},
		{"pool fails", ok, failingPool{err: poolErr}, errTargetRead, poolErr},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := readFull(t.Context(), tc.src, tc.pool, 2)
			if !errors.Is(err, tc.want) || !errors.Is(err, tc.wantMsg) {
				t.Fatalf("err = %v, want %v wrapping %v", err, tc.want, tc.wantMsg)
			}
		})
	}
	t.Run("both fail, directory last", func(t *testing.T) {
		// The pool fails first and cancels the directory read, which then
		// fails with its own error all the same: the directory's wins.
		listed := make(chan struct{})
		_, _, _, err := readFull(t.Context(), failingSource{err: dirErr, release: listed}, failingPool{err: poolErr, listed: listed}, 2)
		if !errors.Is(err, errSourceRead) || !errors.Is(err, dirErr) {
			t.Fatalf("err = %v, want the directory's", err)
		}
	})
}
