package agent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/state"
)

// fakeWBCloud serves a fixed list of changes on every stream, from the
// requested offset, then blocks; failStreams streams fail at once first.
type fakeWBCloud struct {
	mu          sync.Mutex
	changes     []directory.PasswordChange
	commits     map[string][]*directory.WritebackFailure
	opened      []int64
	failStreams int
	commitErr   error
}

type fakeStream struct {
	ctx  context.Context
	list []directory.PasswordChange
}

func (s *fakeStream) Recv() (*directory.PasswordChange, error) {
	if len(s.list) == 0 {
		<-s.ctx.Done()
		return nil, s.ctx.Err()
	}
	c := s.list[0]
	s.list = s.list[1:]
	c.Password = append([]byte(nil), c.Password...)
	c.OldPassword = append([]byte(nil), c.OldPassword...)
	return &c, nil
}

func (s *fakeStream) Ack(int64) error { return nil }

func (f *fakeWBCloud) PasswordChanges(ctx context.Context, _ string, offset int64) (directory.PasswordChangeStream, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opened = append(f.opened, offset)
	if f.failStreams > 0 {
		f.failStreams--
		return nil, errors.New("unavailable")
	}
	var list []directory.PasswordChange
	for _, c := range f.changes {
		if c.Offset > offset {
			list = append(list, c)
		}
	}
	return &fakeStream{ctx: ctx, list: list}, nil
}

func (f *fakeWBCloud) CommitPassword(ctx context.Context, c *directory.PasswordChange, failure *directory.WritebackFailure) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.commitErr != nil {
		return f.commitErr
	}
	if f.commits == nil {
		f.commits = map[string][]*directory.WritebackFailure{}
	}
	f.commits[c.OperationID] = append(f.commits[c.OperationID], failure)
	return nil
}

func (f *fakeWBCloud) committed(op string) []*directory.WritebackFailure {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.commits[op]
}

type fakePWDir struct {
	mu     sync.Mutex
	writes map[string]int
	refuse map[string]*directory.WritebackFailure
}

func (d *fakePWDir) WritePassword(_ context.Context, c *directory.PasswordChange) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if f := d.refuse[c.ExternalUserID]; f != nil {
		return f
	}
	if d.writes == nil {
		d.writes = map[string]int{}
	}
	d.writes[c.OperationID+"="+string(c.Password)]++
	return nil
}

func (d *fakePWDir) count(key string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.writes[key]
}

type wbRig struct {
	cloud *fakeWBCloud
	dir   *fakePWDir
	store *state.Store
	path  string
}

func newWBRig(t *testing.T, changes ...directory.PasswordChange) *wbRig {
	t.Helper()
	path := t.TempDir()
	store, err := state.Open(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return &wbRig{cloud: &fakeWBCloud{changes: changes}, dir: &fakePWDir{}, store: store, path: path}
}

func (r *wbRig) writeback(t *testing.T, mod func(*WritebackOptions)) *Writeback {
	t.Helper()
	o := WritebackOptions{AgentID: "agent-a", UserpoolID: "pool-1", Cloud: r.cloud, Directory: r.dir, Store: r.store,
		Jobs:    state.OpenJobs(r.path),
		Managed: func(id string) (bool, error) { return !strings.HasPrefix(id, "stranger"), nil },
		Logger:  zaptest.NewLogger(t), MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, JobIdle: 10 * time.Millisecond}
	if mod != nil {
		mod(&o)
	}
	w, err := NewWriteback(o)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// runUntil runs w until cond holds (or 10 s pass), then stops it.
func runUntil(t *testing.T, w *Writeback, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatal("condition not reached")
		}
		time.Sleep(2 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
}

func change(offset int64, user, op, pw string) directory.PasswordChange {
	return directory.PasswordChange{ExternalUserID: user, OperationID: op, Password: []byte(pw), Offset: offset,
		OperationExpiresAt: time.Now().Add(time.Hour)}
}

func TestWritebackWritesThenCommitsInOrder(t *testing.T) {
	policy := &directory.WritebackFailure{Code: directory.WritebackPolicyViolation, Message: "0000052D: too short"}
	r := newWBRig(t, change(1, "u1", "op1", "Pass-One-1"), change(2, "stranger-1", "op2", "Pass-Two-2"),
		change(3, "u3", "op3", "x"), change(4, "u4", "op4", "Pass-Four-4"))
	r.dir.refuse = map[string]*directory.WritebackFailure{"u3": policy}
	var results []string
	var mu sync.Mutex
	w := r.writeback(t, func(o *WritebackOptions) {
		o.Observe = func(res string, _ time.Duration) { mu.Lock(); results = append(results, res); mu.Unlock() }
	})
	runUntil(t, w, func() bool { return len(r.cloud.committed("op4")) == 1 })
	if r.dir.count("op1=Pass-One-1") != 1 || r.dir.count("op4=Pass-Four-4") != 1 {
		t.Errorf("writes = %v", r.dir.writes)
	}
	if f := r.cloud.committed("op1"); len(f) != 1 || f[0] != nil {
		t.Errorf("op1 commits = %v", f)
	}
	if f := r.cloud.committed("op2"); len(f) != 1 || f[0] == nil || f[0].Code != directory.WritebackPermissionDenied || !strings.Contains(f[0].Message, "not managed") {
		t.Errorf("op2 (not managed) commits = %v", f)
	}
	if r.dir.count("op2=Pass-Two-2") != 0 {
		t.Error("a user idsync does not manage was written")
	}
	if f := r.cloud.committed("op3"); len(f) != 1 || f[0] != policy {
		t.Errorf("op3 commits = %v", f)
	}
	mu.Lock()
	if strings.Join(results, ",") != "success,PERMISSION_DENIED,PASSWORD_POLICY_VIOLATION,success" {
		t.Errorf("results = %v", results)
	}
	mu.Unlock()
	st, err := loadWritebackState(r.store)
	if err != nil || st.Offset != 4 || len(st.Written) != 0 {
		t.Errorf("state = %+v, %v", st, err)
	}
	jobs, err := state.OpenJobs(r.path).List(0)
	if err != nil || len(jobs) == 0 {
		t.Fatalf("jobs: %v %v", jobs, err)
	}
	var ok, failed int64
	for _, j := range jobs {
		if j.SessionType != JobTypePasswordWriteback {
			t.Errorf("job type %q", j.SessionType)
		}
		ok += j.Result.UserStatistics.PasswordWritten.Success
		failed += j.Result.UserStatistics.PasswordWritten.Failed
	}
	if ok != 2 || failed != 2 {
		t.Errorf("jobs count %d written, %d refused; want 2 and 2", ok, failed)
	}
	assertNoPlaintext(t, r.path, "Pass-One-1", "Pass-Two-2", "Pass-Four-4")
}

// assertNoPlaintext fails if any file under dir contains one of the
// passwords.
func assertNoPlaintext(t *testing.T, dir string, passwords ...string) {
	t.Helper()
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, pw := range passwords {
			if strings.Contains(string(b), pw) {
				t.Errorf("%s contains a plaintext password", p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestWritebackCrashAfterWriteCommitsOnceWithoutRewriting(t *testing.T) {
	r := newWBRig(t, change(1, "u1", "op1", "Pass-One-1"))
	ctx, cancel := context.WithCancel(t.Context())
	w := r.writeback(t, func(o *WritebackOptions) { o.AfterWrite = func(*directory.PasswordChange) { cancel() } })
	if err := w.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
	if len(r.cloud.committed("op1")) != 0 {
		t.Fatal("committed before the simulated crash")
	}
	// Restart: the change is read again, committed, not written again.
	runUntil(t, r.writeback(t, nil), func() bool { return len(r.cloud.committed("op1")) == 1 })
	if n := r.dir.count("op1=Pass-One-1"); n != 1 {
		t.Errorf("written %d times, want once", n)
	}
	// Another restart after a commit whose offset was lost: nothing again.
	st, _ := loadWritebackState(r.store)
	st.Offset = 0
	if err := st.save(r.store); err != nil {
		t.Fatal(err)
	}
	runUntil(t, r.writeback(t, nil), func() bool { s, _ := loadWritebackState(r.store); return s.Offset == 1 })
	if n := len(r.cloud.committed("op1")); n != 1 {
		t.Errorf("committed %d times, want once", n)
	}
}

func TestWritebackReconnectsAndExpires(t *testing.T) {
	expired := change(2, "u2", "op2", "Pass-Two-2")
	expired.OperationExpiresAt = time.Now().Add(-time.Second)
	r := newWBRig(t, change(1, "u1", "op1", "Pass-One-1"), expired)
	r.cloud.failStreams = 3
	runUntil(t, r.writeback(t, nil), func() bool { return len(r.cloud.committed("op2")) == 1 })
	if f := r.cloud.committed("op2"); f[0] == nil || f[0].Code != directory.WritebackDeadlineExceeded {
		t.Errorf("expired change commit = %v", f)
	}
	if r.dir.count("op2=Pass-Two-2") != 0 {
		t.Error("an expired change was written")
	}
	if len(r.cloud.opened) < 4 {
		t.Errorf("streams opened %v, want reconnects after 3 failures", r.cloud.opened)
	}
}

func TestWritebackChangeGoneIsDropped(t *testing.T) {
	r := newWBRig(t, change(1, "u1", "op1", "Pass-One-1"))
	r.cloud.commitErr = directory.ErrChangeGone
	runUntil(t, r.writeback(t, nil), func() bool { s, _ := loadWritebackState(r.store); return s.Offset == 1 })
}
