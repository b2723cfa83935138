package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/testing/adseed"
)

const writebackConfig = "enable_password_writeback: true\nschedule: \"@every 1h\"\n"

// wbE2E is an e2e world with password writeback on and the scope synced.
type wbE2E struct {
	*e2e
	users idp.UserServiceClient
	ops   operation.OperationServiceClient
	ctx   context.Context // carries the static token
	// logged is the daemon's log so far.
	logged *syncBuilder
}

func newWBE2E(t *testing.T, name string, eo emulator.Options) *wbE2E {
	t.Helper()
	e := newE2E(t, name, eo, writebackConfig)
	e.mustRun(exitOK, "sync", "--full")
	w := &wbE2E{e2e: e}
	w.connect()
	return w
}

func (w *wbE2E) connect() {
	cc, err := grpc.NewClient(w.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { cc.Close() })
	w.users, w.ops = idp.NewUserServiceClient(cc), operation.NewOperationServiceClient(cc)
	w.ctx = metadata.AppendToOutgoingContext(w.t.Context(), "authorization", "Bearer "+e2eToken)
}

// activeUsers are the enabled in-scope users of the seeded set.
func (w *wbE2E) activeUsers() []adseed.User {
	var out []adseed.User
	for _, u := range w.set.Before.ScopedUsers() {
		if u.Enabled {
			out = append(out, u)
		}
	}
	if len(out) < 7 {
		w.t.Fatalf("the seeded set has %d enabled users, want at least 7", len(out))
	}
	return out
}

// poolUser returns the pool user id of a seeded user.
func (w *wbE2E) poolUser(u adseed.User) string {
	w.t.Helper()
	for _, p := range w.emu.Dump().Users {
		if p.Username == usernameOf(u.UPN) {
			return p.ID
		}
	}
	w.t.Fatalf("user %s is not in the pool", u.UPN)
	return ""
}

// daemon starts 'idsync run' with env added; it is killed when the test ends.
func (w *wbE2E) daemon(env ...string) *exec.Cmd {
	w.t.Helper()
	cmd := exec.Command(binPath, "run", "--config", w.config)
	cmd.Env = append(append(os.Environ(), "IDSYNC_E2E_TOKEN="+e2eToken, "IDSYNC_E2E_LDAP_PASSWORD="+w.dc.Password), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		w.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	logged := &syncBuilder{}
	w.logged = logged
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logged.WriteString(sc.Text() + "\n")
		}
	}()
	w.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		<-done
		if w.t.Failed() {
			w.t.Logf("daemon log:\n%s", logged.String())
		}
	})
	return cmd
}

// wait polls an operation until it is done.
func (w *wbE2E) wait(id string, within time.Duration) *operation.Operation {
	w.t.Helper()
	deadline := time.Now().Add(within)
	for {
		op, err := w.ops.Get(w.ctx, &operation.GetOperationRequest{OperationId: id})
		if err != nil {
			w.t.Fatalf("get operation %s: %v", id, err)
		}
		if op.GetDone() {
			return op
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("operation %s not done within %s", id, within)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// reset is an administrator's reset in the cloud; it returns the operation id.
func (w *wbE2E) reset(userID, password string) string {
	w.t.Helper()
	op, err := w.users.SetOthersPassword(w.ctx, &idp.SetOthersPasswordRequest{UserId: userID, PasswordSpec: &idp.PasswordSpec{Password: password}})
	if err != nil {
		w.t.Fatalf("SetOthersPassword: %v", err)
	}
	return op.GetId()
}

// bind binds to AD as dn with password: nil, or the LDAP error.
func (w *wbE2E) bind(dn, password string) error {
	w.t.Helper()
	pem, err := os.ReadFile(w.dc.CAFile)
	if err != nil {
		w.t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	c, err := ldap.DialURL(w.dc.LDAPSURL, ldap.DialWithTLSConfig(&tls.Config{RootCAs: pool, ServerName: w.dc.Host, MinVersion: tls.VersionTLS12}))
	if err != nil {
		w.t.Fatal(err)
	}
	defer c.Close()
	return c.Bind(dn, password)
}

// passwordIs checks that password is dn's AD password: the bind succeeds,
// or fails only because the user must change it first (data 773; a wrong
// password is data 52e).
func (w *wbE2E) passwordIs(dn, password string) bool {
	err := w.bind(dn, password)
	return err == nil || strings.Contains(err.Error(), "data 773")
}

func (w *wbE2E) attr(dn, name string) string {
	w.t.Helper()
	c := w.adminConn()
	res, err := c.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", []string{name}, nil))
	if err != nil {
		w.t.Fatal(err)
	}
	return res.Entries[0].GetAttributeValue(name)
}

func (w *wbE2E) adminConn() *ldap.Conn {
	w.t.Helper()
	c, err := w.dc.Target().Dial(w.t.Context())
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { c.Close() })
	return c
}

func TestE2EWritebackAdminResetAndLatency(t *testing.T) {
	w := newWBE2E(t, "e2e-wb-reset", emulator.Options{})
	users := w.activeUsers()
	if out := w.mustRun(exitOK, "check"); !strings.Contains(out, "[ok  ] writeback") {
		t.Errorf("check with the rights:\n%s", out)
	}
	w.daemon()
	u := users[0]
	id := w.poolUser(u)
	start := time.Now()
	op := w.wait(w.reset(id, "Wb-Reset-0001"), 30*time.Second)
	t.Logf("first reset done in %s", time.Since(start))
	if op.GetError() != nil {
		t.Fatalf("reset failed: %v", op.GetError())
	}
	if !w.passwordIs(u.DN, "Wb-Reset-0001") {
		t.Errorf("the user cannot bind to AD with the new password: %v", w.bind(u.DN, "Wb-Reset-0001"))
	}
	if got := w.attr(u.DN, "pwdLastSet"); got != "0" {
		t.Errorf("pwdLastSet = %q after an admin reset (need_change), want 0", got)
	}
	if !w.emu.PasswordDigestMatches(id, "Wb-Reset-0001") {
		t.Error("the cloud password was not set after AD accepted it")
	}

	// Latency from a cloud reset to AD and back, over 50 resets.
	var took []time.Duration
	for i := range 50 {
		target := users[(i%5)+1]
		pid := w.poolUser(target)
		start := time.Now()
		op := w.wait(w.reset(pid, "Wb-Lat-"+itoa(int64(1000+i))), 30*time.Second)
		took = append(took, time.Since(start))
		if op.GetError() != nil {
			t.Fatalf("reset %d failed: %v", i, op.GetError())
		}
	}
	slices.Sort(took)
	t.Logf("writeback latency over %d resets: p50 %s, p95 %s, max %s", len(took), took[len(took)/2], took[len(took)*95/100], took[len(took)-1])
	last := users[(49%5)+1]
	if !w.passwordIs(last.DN, "Wb-Lat-1049") {
		t.Error("the last reset did not reach AD")
	}
	assertNoPlaintextWritten(t, w.e2e, "Wb-Reset-0001", "Wb-Lat-1049")
	if strings.Contains(w.logged.String(), "Wb-Reset-0001") || strings.Contains(w.logged.String(), "Wb-Lat-1049") {
		t.Error("the daemon logged a plaintext password")
	}
	if !strings.Contains(w.logged.String(), "password written back") {
		t.Error("the daemon log does not show the writeback (the check above would be vacuous)")
	}
}

// assertNoPlaintextWritten fails if a password appears in a file idsync
// wrote (state, jobs, logs under the test directory).
func assertNoPlaintextWritten(t *testing.T, e *e2e, passwords ...string) {
	t.Helper()
	for _, path := range listFiles(t, e.dir) {
		b, _ := os.ReadFile(path)
		for _, pw := range passwords {
			if strings.Contains(string(b), pw) {
				t.Errorf("%s holds a plaintext password", path)
			}
		}
	}
}

func TestE2EWritebackOwnChangePolicyViolation(t *testing.T) {
	w := newWBE2E(t, "e2e-wb-own", emulator.Options{})
	u := w.activeUsers()[0]
	id := w.poolUser(u)
	w.daemon()
	if op := w.wait(w.reset(id, "Wb-Known-0001"), 30*time.Second); op.GetError() != nil {
		t.Fatalf("reset: %v", op.GetError())
	}
	tok, err := w.emu.UserToken(id)
	if err != nil {
		t.Fatal(err)
	}
	asUser := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+tok)
	own := func(old, pw string) *operation.Operation {
		op, err := w.users.SetOwnPassword(asUser, &idp.SetOwnPasswordRequest{OldPassword: old, PasswordSpec: &idp.PasswordSpec{Password: pw}})
		if err != nil {
			t.Fatalf("SetOwnPassword: %v", err)
		}
		return w.wait(op.GetId(), 30*time.Second)
	}
	// Too short for AD's policy: refused, nothing changes.
	op := own("Wb-Known-0001", "a1")
	var det idp.PasswordWritebackErrorDetails
	if op.GetError() == nil || len(op.GetError().GetDetails()) != 1 || op.GetError().GetDetails()[0].UnmarshalTo(&det) != nil {
		t.Fatalf("own change to a too short password: %v, want a failed operation with writeback details", op)
	}
	if det.GetErrorCode() != idp.PasswordWritebackErrorDetails_PASSWORD_POLICY_VIOLATION || !strings.Contains(det.GetErrorMessage(), "0000052D") {
		t.Errorf("details = %v, want PASSWORD_POLICY_VIOLATION with AD's message", &det)
	}
	t.Logf("refusal seen by the user: %s", det.GetErrorMessage())
	if !w.emu.PasswordDigestMatches(id, "Wb-Known-0001") {
		t.Error("the cloud password changed although AD refused")
	}
	if !w.passwordIs(u.DN, "Wb-Known-0001") {
		t.Error("the AD password changed although AD refused")
	}
	// A valid own change goes through, checked by AD against the old one.
	if op := own("Wb-Known-0001", "Wb-Own-0002"); op.GetError() != nil {
		t.Fatalf("valid own change: %v", op.GetError())
	}
	if err := w.bind(u.DN, "Wb-Own-0002"); err != nil {
		t.Errorf("bind with the user's own new password: %v", err)
	}
	if got := w.attr(u.DN, "pwdLastSet"); got == "0" {
		t.Error("pwdLastSet is 0 after the user's own change")
	}
}

func TestE2EWritebackMissingRight(t *testing.T) {
	w := newWBE2E(t, "e2e-wb-right", emulator.Options{})
	users := w.activeUsers()
	// The daemon binds as an in-scope user without the Reset Password right.
	weak := users[1]
	setPassword(t, w.adminConn(), weak.DN, "Wb-Weak-0001")
	raw, err := os.ReadFile(w.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(raw), "username: "+w.dc.BindUPN, "username: "+weak.DN, 1)
	if err := os.WriteFile(w.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	// idsync check names the missing rights.
	cmd := exec.Command(binPath, "check", "--config", w.config)
	cmd.Env = append(os.Environ(), "IDSYNC_E2E_TOKEN="+e2eToken, "IDSYNC_E2E_LDAP_PASSWORD=Wb-Weak-0001")
	out, _ := cmd.Output()
	if code := cmd.ProcessState.ExitCode(); code != exitFailed || !strings.Contains(string(out), "lacks Reset Password on") ||
		!strings.Contains(string(out), "Write pwdLastSet on") || strings.Contains(string(out), "Change Password on") {
		t.Errorf("check without the rights: exit %d\n%s", code, out)
	}
	w.daemon("IDSYNC_E2E_LDAP_PASSWORD=Wb-Weak-0001")
	id := w.poolUser(users[0])
	op := w.wait(w.reset(id, "Wb-Denied-0001"), 30*time.Second)
	var det idp.PasswordWritebackErrorDetails
	if op.GetError() == nil || len(op.GetError().GetDetails()) != 1 || op.GetError().GetDetails()[0].UnmarshalTo(&det) != nil ||
		det.GetErrorCode() != idp.PasswordWritebackErrorDetails_PERMISSION_DENIED {
		t.Fatalf("reset without the right: %v, want PERMISSION_DENIED", op)
	}
	t.Logf("refusal: %s", det.GetErrorMessage())
	if w.passwordIs(users[0].DN, "Wb-Denied-0001") {
		t.Error("the password reached AD without the right")
	}
}

func TestE2EWritebackEmulatorRestart(t *testing.T) {
	e := newE2E(t, "e2e-wb-restart", emulator.Options{}, writebackConfig)
	// An emulator with a state file, restartable on the same address.
	state := e.dir + "/emulator.json"
	eo := emulator.Options{UserpoolID: e2ePool, OrganizationID: "org-e2e", Domain: e2eDomain, StaticToken: e2eToken, NoMinInterval: true, StatePath: state}
	srv := startRestartable(t, eo)
	e.emu, e.addr = srv.emu, srv.addr
	e.writeConfig(writebackConfig)
	e.mustRun(exitOK, "sync", "--full")
	w := &wbE2E{e2e: e}
	w.connect()
	users := w.activeUsers()
	w.daemon()
	if op := w.wait(w.reset(w.poolUser(users[0]), "Wb-Before-0001"), 30*time.Second); op.GetError() != nil {
		t.Fatalf("reset before the restart: %v", op.GetError())
	}
	srv.restart(t)
	e.emu = srv.emu
	// Queued at once after the restart, before the agent is back.
	id := w.poolUser(users[1])
	op := w.wait(w.reset(id, "Wb-After-0002"), 60*time.Second)
	if op.GetError() != nil {
		t.Fatalf("reset after the restart: %v", op.GetError())
	}
	if !w.passwordIs(users[1].DN, "Wb-After-0002") || !srv.emu.PasswordDigestMatches(id, "Wb-After-0002") {
		t.Error("the change queued across the restart did not reach AD and the pool")
	}
}

// restartable is an emulator served on a fixed address that can be
// stopped and started again with its state.
type restartable struct {
	eo     emulator.Options
	emu    *emulator.Emulator
	addr   string
	cancel context.CancelFunc
	done   chan error
}

func startRestartable(t *testing.T, eo emulator.Options) *restartable {
	t.Helper()
	r := &restartable{eo: eo}
	r.start(t, "127.0.0.1:0")
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *restartable) start(t *testing.T, addr string) {
	t.Helper()
	emu, err := emulator.New(r.eo)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := listenRetry(addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	r.emu, r.addr, r.cancel, r.done = emu, lis.Addr().String(), cancel, make(chan error, 1)
	go func() { r.done <- emu.Serve(ctx, lis) }()
}

func (r *restartable) stop(t *testing.T) {
	if r.cancel == nil {
		return
	}
	r.cancel()
	if err := <-r.done; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("emulator: %v", err)
	}
	r.cancel = nil
}

func (r *restartable) restart(t *testing.T) {
	t.Helper()
	r.stop(t)
	r.start(t, r.addr)
}
