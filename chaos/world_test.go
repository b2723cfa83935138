//go:build chaos

package chaos

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/testing/adseed"
	"github.com/idsync/idsync/internal/testing/poolcheck"
	"github.com/idsync/idsync/internal/testing/testdc"
)

const (
	poolID     = "pool-chaos"
	poolDomain = "pool.chaos.test"
	iamToken   = "chaos-static-token-5f0c1d"
)

// world is one scenario's setting: a seeded directory set in its own OU, an
// emulator, and the environment the binary runs with.
type world struct {
	t    testing.TB
	dc   testdc.DC
	set  *adseed.MutationSet
	name string
	dir  string

	emu     *emulator.Emulator
	addr    string
	clock   *clock
	stopEmu func()
}

// newWorld seeds a fresh mutation set named after name.
func newWorld(t testing.TB, name string) *world {
	t.Helper()
	dc := testdc.Env(t)
	w := &world{t: t, dc: dc, dir: t.TempDir()}
	// Some set names give a moved user the CN of a user already in the
	// target OU (adseed's name generator); take the next name then.
	for i := 0; ; i++ {
		w.name = fmt.Sprintf("%s-%d", name, (time.Now().UnixNano()+int64(i))%1e9)
		w.set = adseed.Mutations(dc.BaseDN, w.name)
		if !movesCollide(w.set) {
			break
		}
	}
	w.reseed()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), 2*time.Minute)
		defer cancel()
		if err := w.set.Remove(ctx, dc.Target()); err != nil {
			t.Logf("remove test set: %v", err)
		}
	})
	return w
}

// movesCollide reports whether a scripted move or rename lands on the DN
// of an existing user.
func movesCollide(s *adseed.MutationSet) bool {
	dns := map[string]bool{}
	for _, u := range s.Before.Users {
		dns[strings.ToLower(u.DN)] = true
	}
	for _, m := range s.Mutations {
		if m.NewDN != "" && dns[strings.ToLower(m.NewDN)] {
			return true
		}
	}
	return false
}

// reseed replaces the set's directory content with its Before state.
func (w *world) reseed() {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(w.t.Context(), 5*time.Minute)
	defer cancel()
	if _, err := w.set.Seed(ctx, w.dc.Target(), adseed.SeedOptions{}); err != nil {
		w.t.Fatalf("seed %s: %v", w.name, err)
	}
}

// applyMutations performs the set's scripted directory changes.
func (w *world) applyMutations() {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(w.t.Context(), 2*time.Minute)
	defer cancel()
	if err := w.set.Apply(ctx, w.dc.Target()); err != nil {
		w.t.Fatalf("apply directory changes: %v", err)
	}
}

// clock is the emulator's clock: real time plus an offset the test moves.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time       { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) jump(d time.Duration) { c.offset.Add(int64(d)) }

// startEmulator replaces the world's emulator (and so its pool) by a new
// empty one with eo.
func (w *world) startEmulator(eo emulator.Options) {
	w.t.Helper()
	if w.stopEmu != nil {
		w.stopEmu()
	}
	w.clock = &clock{}
	eo.UserpoolID, eo.OrganizationID, eo.Domain, eo.StaticToken = poolID, "org-chaos", poolDomain, iamToken
	if eo.MinInterval == 0 && !eo.NoMinInterval {
		eo.NoMinInterval = true
	}
	if eo.Now == nil {
		eo.Now = w.clock.now
	}
	emu, err := emulator.New(eo)
	if err != nil {
		w.t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		w.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(w.t.Context()))
	done := make(chan error, 1)
	go func() { done <- emu.Serve(ctx, lis) }()
	stopped := false
	w.stopEmu = func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	w.t.Cleanup(w.stopEmu)
	w.emu, w.addr = emu, lis.Addr().String()
}

// cfg are the parts of a config file that vary between runs.
type cfg struct {
	AgentID string // default "chaos-agent"
	State   string // state directory; default <dir>/state
	LDAPURL string // default the DC's LDAPS URL
	Scope   string // OU to read; default the set's scope
	Extra   string // more top-level YAML
}

// config writes a config file and returns its path.
func (w *world) config(c cfg) string {
	w.t.Helper()
	if c.AgentID == "" {
		c.AgentID = "chaos-agent"
	}
	if c.State == "" {
		c.State = filepath.Join(w.dir, "state")
	}
	if c.LDAPURL == "" {
		c.LDAPURL = w.dc.LDAPSURL
	}
	if c.Scope == "" {
		c.Scope = w.set.Before.Scope
	}
	text := fmt.Sprintf(`userpool_id: %s
agent_id: %s
iam_token: {env: IDSYNC_CHAOS_TOKEN}
endpoints:
  organization_manager: %[3]s
  iam: %[3]s
  operation: %[3]s
  plaintext: true
state_path: %[4]s
ldap:
  host: %[5]s
  username: %[6]s
  password: {env: IDSYNC_CHAOS_LDAP_PASSWORD}
  certificate_path: %[7]s
  timeout: 10s
report_interval: 100ms
safety:
  max_deletion_percent: 50
sync_settings:
  replacement_domain: %[8]s
  filter:
    domain: %[9]s
    organization_units: [%[10]q]
%[11]s
`, poolID, c.AgentID, w.addr, c.State, c.LDAPURL, w.dc.BindUPN, w.dc.CAFile, poolDomain, w.dc.Domain, c.Scope, c.Extra)
	path := filepath.Join(w.dir, c.AgentID+"-"+fmt.Sprint(time.Now().UnixNano())+".yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		w.t.Fatal(err)
	}
	return path
}

// env is the environment holding the secrets the configs refer to.
func (w *world) env() []string {
	return []string{"IDSYNC_CHAOS_TOKEN=" + iamToken, "IDSYNC_CHAOS_LDAP_PASSWORD=" + w.dc.Password}
}

// run runs idsync with args and --config path.
func (w *world) run(path string, args ...string) result {
	w.t.Helper()
	return runBin(w.t, w.env(), append(args, "--config", path)...)
}

// start starts idsync with args and --config path; the caller waits.
func (w *world) start(path string, args ...string) *exec.Cmd {
	w.t.Helper()
	cmd := exec.Command(binPath, append(args, "--config", path)...)
	cmd.Env = append(os.Environ(), w.env()...)
	cmd.Stdout, cmd.Stderr = new(strings.Builder), new(strings.Builder)
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd
}

// poolView is what a pool holds (see poolcheck).
type poolView = poolcheck.View

func view(d emulator.Dump) (poolView, []string) { return poolcheck.Of(d) }
func expected(ds *adseed.Dataset) poolView      { return poolcheck.Expected(ds, poolDomain) }
func username(upn string) string                { return poolcheck.Username(upn, poolDomain) }
func mutating(emu *emulator.Emulator) int64     { return poolcheck.Mutating(emu) }
