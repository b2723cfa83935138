package agent

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/pool"
	"github.com/idsync/idsync/internal/state"
)

// fakeHashes is a directory of password hashes: each account has a USN,
// Changes yields the accounts changed after the cursor's USN.
type fakeHashes struct {
	mu       sync.Mutex
	usn      int64
	accounts map[string]*fakeAccount
	rights   error
	froms    [][]byte
}

type fakeAccount struct {
	hash [16]byte
	must bool
	usn  int64
}

func (f *fakeHashes) set(ext string, seed byte, must bool) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.usn++
	a := &fakeAccount{must: must, usn: f.usn}
	for i := range a.hash {
		a.hash[i] = seed + byte(i)
	}
	f.accounts[ext] = a
	return hex.EncodeToString(a.hash[:])
}

func (f *fakeHashes) CheckRights(context.Context) error { return f.rights }
func (f *fakeHashes) Close() error                      { return nil }

// The fake's cursor is the USN in decimal.
func (f *fakeHashes) PasswordChanges(_ context.Context, from []byte, fn func(directory.HashChange) error) ([]byte, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.froms = append(f.froms, from)
	var usn int64
	if len(from) > 0 {
		var err error
		if usn, err = strconv.ParseInt(string(from), 10, 64); err != nil {
			return nil, false, fmt.Errorf("%w: %w", directory.ErrFullSyncRequired, err)
		}
	}
	for ext, a := range f.accounts {
		if a.usn > usn {
			if err := fn(directory.HashChange{ExternalID: ext, MustChange: a.must}); err != nil {
				return nil, false, err
			}
		}
	}
	return []byte(strconv.FormatInt(f.usn, 10)), len(from) == 0, nil
}

// fakeNTHash is a hash the fake hands out; Hex gives its value.
type fakeNTHash struct{ b [16]byte }

func (h *fakeNTHash) Hex() string { return hex.EncodeToString(h.b[:]) }

func (f *fakeHashes) PasswordHashes(_ context.Context, ids []string, fn func(directory.PasswordHash) error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range ids {
		if _, err := uuid.Parse(id); err != nil {
			return fmt.Errorf("external id %q: %w", id, err)
		}
	}
	for _, id := range ids {
		a := f.accounts[id]
		if a == nil {
			continue
		}
		h := &fakeNTHash{b: a.hash}
		err := fn(directory.PasswordHash{ExternalID: id, MustChange: a.must, Hash: h})
		clear(h.b[:])
		if err != nil {
			return err
		}
	}
	return nil
}

// rightError is a HashSource's refusal for lack of a replication right.
type rightError struct{ right string }

func (e *rightError) Error() string {
	return "the account svc lacks the " + e.right + " right: access denied"
}
func (e *rightError) MissingRight() string { return e.right }

// fingerprint is the emulator dump's form of a stored hash.
func fingerprint(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:4])
}

type pwRig struct {
	*rig
	src  *fakeHashes
	pw   *PasswordSync
	logs *observer.ObservedLogs
	need map[string]bool // user id -> need_change of the last SetPasswordHash
}

// needChangeCloud records the need_change flag of each SetPasswordHash
// (the emulator's dump does not show it).
type needChangeCloud struct {
	PasswordCloud
	mu   sync.Mutex
	need map[string]bool
}

func (c *needChangeCloud) SetPasswordHash(ctx context.Context, userID, h string, need bool) error {
	c.mu.Lock()
	c.need[userID] = need
	c.mu.Unlock()
	return c.PasswordCloud.SetPasswordHash(ctx, userID, h, need)
}

func newPwRig(t *testing.T) *pwRig {
	t.Helper()
	r := &pwRig{rig: newRig(t, emulator.Options{NoMinInterval: true}, nil), src: &fakeHashes{accounts: map[string]*fakeAccount{}}}
	core, logs := observer.New(zap.DebugLevel)
	r.logs = logs
	cloud := &needChangeCloud{PasswordCloud: r.cloud, need: map[string]bool{}}
	r.need = cloud.need
	var err error
	r.pw, err = NewPasswordSync(PasswordOptions{
		AgentID: "agent-a", Cloud: cloud, Store: r.store, Jobs: r.jobs, Logger: zap.New(core),
		NewSource: func(context.Context) (HashSource, error) { return r.src, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// poolUser creates a managed pool user and returns its id.
func (r *pwRig) poolUser(t *testing.T, i int) (ext, id string) {
	t.Helper()
	u := dirUser(i)
	created, err := r.client.CreateUser(t.Context(), &idp.CreateUserRequest{Username: fmt.Sprintf("user%d@%s", i, testDomain),
		FullName: u.FullName, ExternalId: u.ExternalID})
	if err != nil {
		t.Fatal(err)
	}
	return u.ExternalID, created.GetId()
}

// fingerprints returns the stored hash fingerprint of each pool user.
func (r *pwRig) fingerprints() map[string]string {
	out := map[string]string{}
	for _, u := range r.emu.Dump().Users {
		out[u.ID] = u.PasswordFingerprint
	}
	return out
}

// lastProgress returns the progress of the last AD_PASSWORD_HASH session.
func (r *pwRig) lastSession(t *testing.T) emulator.DumpSession {
	t.Helper()
	var last emulator.DumpSession
	for _, s := range r.emu.Dump().Sessions {
		if s.Type == idp.SessionType_AD_PASSWORD_HASH.String() {
			last = s
		}
	}
	if last.ID == "" {
		t.Fatal("no AD_PASSWORD_HASH session")
	}
	return last
}

func TestPasswordSessionSetsHashes(t *testing.T) {
	r := newPwRig(t)
	ext1, id1 := r.poolUser(t, 1)
	ext2, id2 := r.poolUser(t, 2)
	h1 := r.src.set(ext1, 0x10, false)
	h2 := r.src.set(ext2, 0x20, true)
	hOut := r.src.set(dirUser(3).ExternalID, 0x30, false) // not in the pool

	job, err := r.pw.RunOnce(t.Context(), TriggerManual)
	if err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	fp := r.fingerprints()
	if fp[id1] != fingerprint(h1) || fp[id2] != fingerprint(h2) {
		t.Errorf("fingerprints %v; want %s and %s", fp, fingerprint(h1), fingerprint(h2))
	}
	if !r.need[id2] || r.need[id1] {
		t.Errorf("need_change %v; want only %s", r.need, id2)
	}
	s := r.lastSession(t)
	want := []emulator.DumpProgress{{Object: "USER", Change: "PASSWORD_HASH_UPDATE", Successful: 2}}
	if diff := cmp.Diff(want, s.Progress); diff != "" || s.Status != "COMPLETED" {
		t.Errorf("session %s progress (-want +got):\n%s", s.Status, diff)
	}
	if job.Status != state.StatusSuccess || job.Mode != string(ModeFull) || job.UsersRead != 3 {
		t.Errorf("job %+v", job)
	}
	tok := r.emu.Dump().ReplicationTokens[idp.SessionType_AD_PASSWORD_HASH.String()]
	if tok == "" {
		t.Error("no AD_PASSWORD_HASH replication token")
	}

	// Nothing written or logged holds a hash.
	var written strings.Builder
	for _, e := range r.logs.All() {
		b, _ := json.Marshal(e.ContextMap())
		written.WriteString(e.Message + string(b))
	}
	b, _ := json.Marshal(job)
	written.Write(b)
	_ = filepath.WalkDir(r.store.Dir(), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasSuffix(p, ".lock") {
			data, _ := os.ReadFile(p)
			written.Write(data)
		}
		return nil
	})
	for _, h := range []string{h1, h2, hOut} {
		if strings.Contains(strings.ToLower(written.String()), h) {
			t.Errorf("a hash appears in the logs, job record or state")
		}
	}
}

func TestPasswordSessionDelta(t *testing.T) {
	r := newPwRig(t)
	ext1, id1 := r.poolUser(t, 1)
	ext2, id2 := r.poolUser(t, 2)
	r.src.set(ext1, 0x10, false)
	r.src.set(ext2, 0x20, false)
	if _, err := r.pw.RunOnce(t.Context(), TriggerAuto); err != nil {
		t.Fatal(err)
	}
	before := r.fingerprints()
	h2 := r.src.set(ext2, 0x40, false)
	job, err := r.pw.RunOnce(t.Context(), TriggerAuto)
	if err != nil {
		t.Fatal(err)
	}
	after := r.fingerprints()
	if after[id1] != before[id1] || after[id2] != fingerprint(h2) {
		t.Errorf("after one change: %v; want only %s updated", after, id2)
	}
	if job.Mode != string(ModeDelta) || job.UsersRead != 1 {
		t.Errorf("job mode %s read %d; want a delta of 1", job.Mode, job.UsersRead)
	}
	want := []emulator.DumpProgress{{Object: "USER", Change: "PASSWORD_HASH_UPDATE", Successful: 1}}
	if diff := cmp.Diff(want, r.lastSession(t).Progress); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
	if last := r.src.froms[len(r.src.froms)-1]; len(last) == 0 {
		t.Error("the second session did not resume from the cursor")
	}

	// A token that no longer matches the local cursor means a full pass.
	if err := r.client.SetReplicationToken(t.Context(), idp.SessionType_AD_PASSWORD_HASH, "other"); err != nil {
		t.Fatal(err)
	}
	job, err = r.pw.RunOnce(t.Context(), TriggerAuto)
	if err != nil {
		t.Fatal(err)
	}
	if job.Mode != string(ModeFull) || job.UsersRead != 2 || len(r.src.froms[len(r.src.froms)-1]) != 0 {
		t.Errorf("after a foreign token: mode %s read %d; want a full pass over 2", job.Mode, job.UsersRead)
	}
}

func TestPasswordSessionWithoutRights(t *testing.T) {
	r := newPwRig(t)
	ext1, id1 := r.poolUser(t, 1)
	r.src.set(ext1, 0x10, false)
	r.src.rights = &rightError{right: "Replicating Directory Changes All"}
	job, err := r.pw.RunOnce(t.Context(), TriggerAuto)
	var re RightError
	if !errors.As(err, &re) {
		t.Fatalf("RunOnce = %v; want a RightError", err)
	}
	if job.Status != state.StatusFailed || job.ErrorCode != "ReplicationRightMissing" {
		t.Errorf("job %s %s", job.Status, job.ErrorCode)
	}
	s := r.lastSession(t)
	if s.Status != "FAILED" || !strings.Contains(s.FailReason, "Replicating Directory Changes All") {
		t.Errorf("session %s, reason %q; want FAILED naming the right", s.Status, s.FailReason)
	}
	if r.fingerprints()[id1] == fingerprint(hex.EncodeToString(r.src.accounts[ext1].hash[:])) {
		t.Error("a hash was set without the rights")
	}

	// The AD_SYNC cycle is independent and keeps working.
	r.dir.set(func(d *fakeDir) { d.users = []directory.User{dirUser(1), dirUser(5)} })
	cj, err := r.agent.RunCycle(t.Context(), CycleOptions{})
	if err != nil || cj.Status != state.StatusSuccess || cj.Result.UserStatistics.Created.Success != 1 {
		t.Fatalf("AD_SYNC cycle after a failed password session: %v, %+v", err, cj)
	}
}

func TestCreateCredentials(t *testing.T) {
	src := &fakeHashes{accounts: map[string]*fakeAccount{}}
	ext := dirUser(1).ExternalID
	h := src.set(ext, 0x50, true)
	creds, must, err := CreateCredentials(t.Context(), src, ext)
	if err != nil {
		t.Fatal(err)
	}
	if got := creds; got.Hex != h || got.Type != pool.HashADMD4 || !must {
		t.Errorf("credentials %v must %v; want the account's AD_MD4 hash and must change", got.Type, must)
	}
	creds, _, err = CreateCredentials(t.Context(), src, dirUser(2).ExternalID)
	if err != nil || creds != nil {
		t.Errorf("an account without a hash: %v, %v; want nil credentials", creds, err)
	}
	if _, _, err := CreateCredentials(t.Context(), src, "not-a-guid"); err == nil {
		t.Error("a malformed external id was accepted")
	}
}

func TestPasswordRunLoops(t *testing.T) {
	r := newPwRig(t)
	ext, id := r.poolUser(t, 1)
	r.pw.opts.Interval = time.Millisecond
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.pw.Run(ctx) }()
	waitFor := func(fp string) {
		for r.fingerprints()[id] != fp {
			select {
			case err := <-done:
				t.Fatalf("Run returned early: %v", err)
			case <-time.After(time.Millisecond):
			}
		}
	}
	// Each change is picked up by a later session of the loop.
	waitFor(fingerprint(r.src.set(ext, 0x60, false)))
	waitFor(fingerprint(r.src.set(ext, 0x70, false)))
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v; want context.Canceled", err)
	}
}

func TestPasswordSessionUnreadableCursor(t *testing.T) {
	r := newPwRig(t)
	ext1, _ := r.poolUser(t, 1)
	r.src.set(ext1, 0x10, false)
	// A cursor the pool vouches for but the source cannot read.
	raw := []byte("not a cursor")
	if err := r.store.SetMeta(metaPasswordCursor, base64.StdEncoding.EncodeToString(raw)); err != nil {
		t.Fatal(err)
	}
	if err := r.client.SetReplicationToken(t.Context(), idp.SessionType_AD_PASSWORD_HASH, cursorToken(raw)); err != nil {
		t.Fatal(err)
	}
	job, err := r.pw.RunOnce(t.Context(), TriggerAuto)
	if err != nil {
		t.Fatal(err)
	}
	if job.Mode != string(ModeFull) || job.UsersRead != 1 {
		t.Errorf("mode %s read %d; want a full pass over 1", job.Mode, job.UsersRead)
	}
	if n := len(r.src.froms); n != 2 || string(r.src.froms[0]) != string(raw) || len(r.src.froms[1]) != 0 {
		t.Errorf("cursors asked for: %q; want the unreadable one, then a full pass", r.src.froms)
	}
	if r.logs.FilterMessage("full password pass").FilterField(zap.String("reason", "unreadable local password cursor")).Len() != 1 {
		t.Error("the full pass does not say the local cursor was unreadable")
	}
}
