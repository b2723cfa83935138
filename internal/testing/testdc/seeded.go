package testdc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/idsync/idsync/internal/testing/adseed"
)

// markerFile records, one per line, the profiles fully seeded into the DC.
// scripts/samba-dc.sh removes it when it provisions a new domain.
const markerFile = "seeded-profiles"

// lockFile serializes seeding between test processes sharing one DC.
const lockFile = "seed.lock"

// staleLock is the age after which a seed lock is considered abandoned.
const staleLock = 15 * time.Minute

// SeededProfiles returns the profiles recorded as seeded in the DC's state
// dir, mapped to the fingerprint of the dataset that was seeded.
func SeededProfiles(dir string) (map[string]string, error) {
	f, err := os.Open(filepath.Join(dir, markerFile))
	if errors.Is(err, os.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read seeded profiles: %w", err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if name, fp, _ := strings.Cut(strings.TrimSpace(sc.Text()), " "); name != "" {
			out[name] = fp
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read seeded profiles: %w", err)
	}
	return out, nil
}

// EnsureSeeded seeds profile into the DC unless the state dir records the
// same dataset (by fingerprint) as seeded already, and returns the expected
// dataset. Concurrent callers (other test processes) wait on a lock file in
// the state dir. A partial or outdated earlier seeding is replaced
// (opts.Replace is forced on). The returned stats are zero when the profile
// was already seeded.
func EnsureSeeded(ctx context.Context, dc DC, profile string, opts adseed.SeedOptions) (*adseed.Dataset, adseed.Stats, error) {
	var st adseed.Stats
	ds, err := adseed.Profile(profile, dc.BaseDN)
	if err != nil {
		return nil, st, fmt.Errorf("ensure seeded: %w", err)
	}
	unlock, err := lock(ctx, dc.Dir)
	if err != nil {
		return nil, st, fmt.Errorf("ensure seeded %s: %w", profile, err)
	}
	defer unlock()
	seeded, err := SeededProfiles(dc.Dir)
	if err != nil {
		return nil, st, fmt.Errorf("ensure seeded %s: %w", profile, err)
	}
	if seeded[profile] == ds.Fingerprint() {
		return ds, st, nil
	}
	opts.Replace = true
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if st, err = adseed.Seed(ctx, dc.Target(), ds, opts); err != nil {
		return nil, st, fmt.Errorf("ensure seeded %s: %w", profile, err)
	}
	if err := MarkSeeded(dc.Dir, ds); err != nil {
		return nil, st, fmt.Errorf("ensure seeded %s: %w", profile, err)
	}
	return ds, st, nil
}

// MarkSeeded records ds (profile and fingerprint) as seeded in the DC's
// state dir, replacing an earlier record of the same profile. The file is
// rewritten atomically.
func MarkSeeded(dir string, ds *adseed.Dataset) error {
	seeded, err := SeededProfiles(dir)
	if err != nil {
		return fmt.Errorf("mark seeded: %w", err)
	}
	seeded[ds.Profile] = ds.Fingerprint()
	names := make([]string, 0, len(seeded))
	for name := range seeded {
		names = append(names, name)
	}
	slices.Sort(names)
	var b strings.Builder
	for _, name := range names {
		fmt.Fprintf(&b, "%s %s\n", name, seeded[name])
	}
	tmp, err := os.CreateTemp(dir, markerFile+".*")
	if err != nil {
		return fmt.Errorf("mark seeded: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(b.String()); err != nil {
		tmp.Close()
		return fmt.Errorf("mark seeded: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("mark seeded: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("mark seeded: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, markerFile)); err != nil {
		return fmt.Errorf("mark seeded: %w", err)
	}
	return nil
}

// lock takes an exclusive lock file in dir, polling until it is free, ctx
// ends, or the existing lock is older than staleLock (then it is taken over).
func lock(ctx context.Context, dir string) (func(), error) {
	path := filepath.Join(dir, lockFile)
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			fmt.Fprintf(f, "%d\n", os.Getpid())
			f.Close()
			return func() { os.Remove(path) }, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("take seed lock: %w", err)
		}
		if fi, err := os.Stat(path); err == nil && time.Since(fi.ModTime()) > staleLock {
			os.Remove(path)
			continue
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("take seed lock %s: %w", path, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
