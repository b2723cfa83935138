package drsrsource_test

// End-to-end: the AD_PASSWORD_HASH session (agent.PasswordSync) reading the
// project's Samba DC over MS-DRSR and writing to the Identity Hub emulator.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/idsync/idsync/agent"
	"github.com/idsync/idsync/drsrsource"
	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/idhub"
	"github.com/idsync/idsync/internal/pool"
	"github.com/idsync/idsync/internal/state"
	"github.com/idsync/idsync/internal/testing/emulatortest"
	"github.com/idsync/idsync/internal/testing/pwfixture"
)

const (
	e2ePool   = "pool-pw"
	e2eDomain = "pool.pw.test"
	e2eToken  = "pw-static-token"
)

// recordingCloud remembers the need_change flag of each SetPasswordHash by
// user id (the emulator's dump does not show it).
type recordingCloud struct {
	agent.PasswordCloud
	mu   sync.Mutex
	need map[string]bool
}

func (c *recordingCloud) SetPasswordHash(ctx context.Context, userID, h string, need bool) error {
	c.mu.Lock()
	c.need[userID] = need
	c.mu.Unlock()
	return c.PasswordCloud.SetPasswordHash(ctx, userID, h, need)
}

type pwE2E struct {
	f      *pwfixture.Fixture
	emu    *emulator.Emulator
	client *idhub.Client
	cloud  *recordingCloud
	dir    string
	logs   *strings.Builder
	logMu  sync.Mutex
	ids    map[string]string // external id -> pool user id
}

func newPwE2E(t *testing.T, name string) *pwE2E {
	t.Helper()
	e := &pwE2E{f: pwfixture.New(t, name), dir: t.TempDir(), logs: &strings.Builder{}, ids: map[string]string{}}
	emu, addr := emulatortest.Start(t, emulator.Options{UserpoolID: e2ePool, OrganizationID: "org-pw", Domain: e2eDomain,
		StaticToken: e2eToken, NoMinInterval: true})
	e.client = emulatortest.Client(t, addr, e2ePool, e2eToken, nil)
	e.emu, e.cloud = emu, &recordingCloud{PasswordCloud: idhub.NewCloud(e.client), need: map[string]bool{}}
	return e
}

// inPool creates the pool user of u, as the AD_SYNC cycle would have.
func (e *pwE2E) inPool(t *testing.T, u pwfixture.User) {
	t.Helper()
	created, err := e.client.CreateUser(t.Context(), &idp.CreateUserRequest{Username: u.SAM + "@" + e2eDomain,
		FullName: u.SAM, ExternalId: u.GUID})
	if err != nil {
		t.Fatal(err)
	}
	e.ids[u.GUID] = created.GetId()
}

// sync returns a PasswordSync with its own state in e.dir, logging to e.logs.
func (e *pwE2E) sync(t *testing.T, opts drsrsource.Options) *agent.PasswordSync {
	t.Helper()
	store, err := state.Open(e.dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	log := zap.New(zapcore.NewCore(enc, zapcore.AddSync(writerFunc(func(p []byte) (int, error) {
		e.logMu.Lock()
		defer e.logMu.Unlock()
		return e.logs.Write(p)
	})), zap.DebugLevel))
	opts.Logger = log
	ps, err := agent.NewPasswordSync(agent.PasswordOptions{
		AgentID: "agent-pw", UserpoolID: e2ePool, Cloud: e.cloud, Store: store, Jobs: state.OpenJobs(e.dir), Logger: log,
		ReportInterval: 50 * time.Millisecond,
		NewSource: func(ctx context.Context) (agent.HashSource, error) {
			c, err := drsrsource.Dial(ctx, opts)
			if err != nil {
				return nil, err
			}
			return c, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

type writerFunc func([]byte) (int, error)

func (w writerFunc) Write(p []byte) (int, error) { return w(p) }

func fingerprintOf(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:4])
}

func (e *pwE2E) fingerprints() map[string]string {
	out := map[string]string{}
	for _, u := range e.emu.Dump().Users {
		out[u.ID] = u.PasswordFingerprint
	}
	return out
}

func (e *pwE2E) lastProgress() []emulator.DumpProgress {
	var p []emulator.DumpProgress
	for _, s := range e.emu.Dump().Sessions {
		if s.Type == idp.SessionType_AD_PASSWORD_HASH.String() {
			p = s.Progress
		}
	}
	return p
}

// assertNothingLeaks greps the state directory, job records and logs for
// the hashes and passwords of users.
func (e *pwE2E) assertNothingLeaks(t *testing.T, users ...pwfixture.User) {
	t.Helper()
	var all strings.Builder
	e.logMu.Lock()
	all.WriteString(e.logs.String())
	e.logMu.Unlock()
	err := filepath.WalkDir(e.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		all.Write(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ToLower(all.String())
	for _, u := range users {
		if strings.Contains(text, pwfixture.NTHash(u.Password)) || strings.Contains(text, strings.ToLower(u.Password)) {
			t.Errorf("the hash or password of %s appears in what the run wrote", u.DN)
		}
	}
}

func TestPasswordSessionAgainstDC(t *testing.T) {
	e := newPwE2E(t, "e2e")
	f := e.f
	alice := f.AddUser(f.In, "pw-alice")
	bob := f.RequireChange(f.AddUser(f.In, "pw-bob"))
	carol := f.AddUser(f.Out, "pw-carol") // out of scope, but in the pool
	for _, u := range []pwfixture.User{alice, bob, carol} {
		e.inPool(t, u)
	}
	ps := e.sync(t, f.Admin())

	job, err := ps.RunOnce(t.Context(), agent.TriggerManual)
	if err != nil {
		t.Fatalf("first session: %v", err)
	}
	fp := e.fingerprints()
	for _, u := range []pwfixture.User{alice, bob} {
		if fp[e.ids[u.GUID]] != fingerprintOf(pwfixture.NTHash(u.Password)) {
			t.Errorf("%s: the pool's hash is not MD4(UTF-16LE(password))", u.DN)
		}
	}
	if fp[e.ids[carol.GUID]] == fingerprintOf(pwfixture.NTHash(carol.Password)) {
		t.Errorf("out-of-scope %s got its hash", carol.DN)
	}
	if !e.cloud.need[e.ids[bob.GUID]] || e.cloud.need[e.ids[alice.GUID]] {
		t.Errorf("need_change by user %v; want only bob's (pwdLastSet 0)", e.cloud.need)
	}
	want := []emulator.DumpProgress{{Object: "USER", Change: "PASSWORD_HASH_UPDATE", Successful: 2}}
	if diff := cmp.Diff(want, e.lastProgress()); diff != "" {
		t.Errorf("first session progress (-want +got):\n%s", diff)
	}
	if job.Mode != "full" {
		t.Errorf("first session mode %q, want full", job.Mode)
	}

	// One password changes: exactly that user is updated next time.
	alice = f.SetPassword(alice)
	before := e.fingerprints()
	job, err = ps.RunOnce(t.Context(), agent.TriggerAuto)
	if err != nil {
		t.Fatalf("second session: %v", err)
	}
	after := e.fingerprints()
	if after[e.ids[alice.GUID]] != fingerprintOf(pwfixture.NTHash(alice.Password)) {
		t.Errorf("the changed password did not reach the pool")
	}
	if after[e.ids[bob.GUID]] != before[e.ids[bob.GUID]] || after[e.ids[carol.GUID]] != before[e.ids[carol.GUID]] {
		t.Errorf("users whose password did not change were touched")
	}
	want = []emulator.DumpProgress{{Object: "USER", Change: "PASSWORD_HASH_UPDATE", Successful: 1}}
	if diff := cmp.Diff(want, e.lastProgress()); diff != "" {
		t.Errorf("second session progress (-want +got):\n%s", diff)
	}
	if job.Mode != "delta" || job.UsersRead != 1 {
		t.Errorf("second session: mode %q, %d read; want a delta of 1", job.Mode, job.UsersRead)
	}
	// A user created while hash sync is on gets its hash at creation.
	dave := f.AddUser(f.In, "pw-dave")
	src, err := drsrsource.Dial(t.Context(), f.Admin())
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	creds, must, err := agent.CreateCredentials(t.Context(), src, dave.GUID)
	if err != nil || creds == nil {
		t.Fatalf("CreateCredentials: %v, %v", creds, err)
	}
	created, err := idhub.NewCloud(e.client).CreateUser(t.Context(), pool.NewUser{Fields: pool.UserFields{Username: dave.SAM + "@" + e2eDomain,
		FullName: dave.SAM}, ExternalID: dave.GUID, PasswordHash: creds, MustChangePassword: must})
	if err != nil {
		t.Fatal(err)
	}
	if e.fingerprints()[created.ID] != fingerprintOf(pwfixture.NTHash(dave.Password)) {
		t.Error("a user created with CreateCredentials does not have its AD hash")
	}
	e.assertNothingLeaks(t, alice, bob, carol, dave)
}

func TestPasswordSessionWithoutReplicationRight(t *testing.T) {
	e := newPwE2E(t, "norights")
	u := e.f.AddUser(e.f.In, "pw-henry")
	e.inPool(t, u)
	ps := e.sync(t, e.f.Unprivileged())
	job, err := ps.RunOnce(t.Context(), agent.TriggerManual)
	var re *drsrsource.RightError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), drsrsource.RightGetChanges) {
		t.Fatalf("RunOnce = %v; want an error naming %q", err, drsrsource.RightGetChanges)
	}
	if job == nil || job.Status != state.StatusFailed || !strings.Contains(job.ErrorMessage, "Replicating Directory Changes") {
		t.Errorf("job %+v; want failed with the right in its message", job)
	}
	var s emulator.DumpSession
	for _, x := range e.emu.Dump().Sessions {
		s = x
	}
	if s.Status != "FAILED" || !strings.Contains(s.FailReason, "Replicating Directory Changes") {
		t.Errorf("session %s %q; want FAILED naming the right", s.Status, s.FailReason)
	}
	if e.fingerprints()[e.ids[u.GUID]] == fingerprintOf(pwfixture.NTHash(u.Password)) {
		t.Error("the hash reached the pool without the right")
	}
	e.assertNothingLeaks(t, u)
}
