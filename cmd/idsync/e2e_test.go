package main

// End-to-end tests: the real idsync binary against the project's Samba AD
// domain controller (scripts/samba-dc.sh) and the Identity Hub emulator.
// Each test seeds its own scripted directory set in its own OU.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/testing/adseed"
	"github.com/idsync/idsync/internal/testing/emulatortest"
	"github.com/idsync/idsync/internal/testing/poolcheck"
	"github.com/idsync/idsync/internal/testing/testdc"
)

const (
	e2ePool   = "pool-e2e"
	e2eDomain = "pool.e2e.test"
	e2eToken  = "e2e-static-token"
)

var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "idsync-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "idsync")
	if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build idsync: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// e2e is one test's world: a seeded directory set, an emulator, a config.
type e2e struct {
	t      *testing.T
	dc     testdc.DC
	set    *adseed.MutationSet
	emu    *emulator.Emulator
	addr   string
	dir    string
	config string
}

func newE2E(t *testing.T, name string, eo emulator.Options, extraConfig string) *e2e {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: needs the Samba test DC")
	}
	dc := testdc.Env(t)
	e := &e2e{t: t, dc: dc, dir: t.TempDir()}
	// A fresh set per run, so reruns never see leftovers of an earlier one.
	e.set = adseed.Mutations(dc.BaseDN, fmt.Sprintf("%s-%d", name, time.Now().UnixNano()%1e9))
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	if _, err := e.set.Seed(ctx, dc.Target(), adseed.SeedOptions{}); err != nil {
		t.Fatalf("seed %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), 2*time.Minute)
		defer cancel()
		if err := e.set.Remove(ctx, dc.Target()); err != nil {
			t.Logf("remove test set: %v", err)
		}
	})
	e.startEmulator(eo)
	e.writeConfig(extraConfig)
	return e
}

func (e *e2e) startEmulator(eo emulator.Options) {
	e.t.Helper()
	eo.UserpoolID, eo.OrganizationID, eo.Domain, eo.StaticToken = e2ePool, "org-e2e", e2eDomain, e2eToken
	if eo.MinInterval == 0 && !eo.NoMinInterval {
		eo.NoMinInterval = true
	}
	e.emu, e.addr = emulatortest.Start(e.t, eo)
}

func (e *e2e) writeConfig(extra string) {
	e.t.Helper()
	cfg := fmt.Sprintf(`userpool_id: %s
agent_id: e2e-agent
iam_token: {env: IDSYNC_E2E_TOKEN}
endpoints:
  organization_manager: %[2]s
  iam: %[2]s
  operation: %[2]s
  plaintext: true
state_path: %[3]s
ldap:
  host: %[4]s
  username: %[5]s
  password: {env: IDSYNC_E2E_LDAP_PASSWORD}
  certificate_path: %[6]s
report_interval: 100ms
safety:
  max_deletion_percent: 50
sync_settings:
  replacement_domain: %[7]s
  filter:
    domain: %[8]s
    organization_units: [%[9]q]
%[10]s
`, e2ePool, e.addr, filepath.Join(e.dir, "state"), e.dc.LDAPSURL, e.dc.BindUPN, e.dc.CAFile, e2eDomain, e.dc.Domain, e.set.Before.Scope, extra)
	e.config = filepath.Join(e.dir, "config.yaml")
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		e.t.Fatal(err)
	}
}

// run runs the binary and returns its output and exit code.
func (e *e2e) run(args ...string) (stdout, stderr string, code int) {
	e.t.Helper()
	cmd := exec.CommandContext(e.t.Context(), binPath, append(args, "--config", e.config)...)
	cmd.Env = append(os.Environ(), "IDSYNC_E2E_TOKEN="+e2eToken, "IDSYNC_E2E_LDAP_PASSWORD="+e.dc.Password)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		e.t.Fatalf("run %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

func (e *e2e) mustRun(want int, args ...string) string {
	e.t.Helper()
	out, errOut, code := e.run(args...)
	if code != want {
		e.t.Fatalf("idsync %v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, code, want, out, errOut)
	}
	return out
}

// poolView is what the pool holds (see poolcheck).
type poolView = poolcheck.View

// pool is what the pool holds now; duplicate external ids or group names
// are errors.
func (e *e2e) pool() poolView {
	v, dups := poolcheck.Of(e.emu.Dump())
	for _, d := range dups {
		e.t.Errorf("duplicate in the pool: %s", d)
	}
	return v
}

// expected is what the pool must hold for a dataset.
func expected(ds *adseed.Dataset) poolView { return poolcheck.Expected(ds, e2eDomain) }

func (e *e2e) mutating() int64 { return poolcheck.Mutating(e.emu) }

// TestE2EFullNoChangeAndDelta runs a full sync, a delta without change and
// a delta with changes, against a pool that takes adding a present member
// as a no-op and against one that refuses it (StrictMembers).
func TestE2EFullNoChangeAndDelta(t *testing.T) {
	for _, strict := range []bool{false, true} {
		t.Run(fmt.Sprintf("strict=%v", strict), func(t *testing.T) {
			testE2EFullNoChangeAndDelta(t, emulator.Options{StrictMembers: strict})
		})
	}
}

func testE2EFullNoChangeAndDelta(t *testing.T, eo emulator.Options) {
	e := newE2E(t, "e2e-sync", eo, "")
	out := e.mustRun(exitOK, "sync", "--full")
	if !strings.Contains(out, "success (full)") {
		t.Errorf("first sync summary:\n%s", out)
	}
	if diff := cmp.Diff(expected(e.set.Before), e.pool()); diff != "" {
		t.Fatalf("pool after the full sync (-want +got):\n%s", diff)
	}
	sess := e.emu.Dump().Sessions
	var created int64
	for _, p := range sess[0].Progress {
		if p.Object == "USER" && p.Change == "CREATE" {
			created = p.Successful
		}
	}
	if want := int64(len(e.set.Before.ScopedUsers())); created != want {
		t.Errorf("reported USER CREATE = %d, want %d", created, want)
	}

	before := e.mutating()
	out = e.mustRun(exitOK, "sync")
	if !strings.Contains(out, "success (delta)") || e.mutating() != before {
		t.Errorf("no-change run made %d mutating calls:\n%s", e.mutating()-before, out)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if err := e.set.Apply(ctx, e.dc.Target()); err != nil {
		t.Fatalf("apply directory changes: %v", err)
	}
	out = e.mustRun(exitOK, "sync")
	if !strings.Contains(out, "success (delta)") {
		t.Errorf("delta run summary:\n%s", out)
	}
	if diff := cmp.Diff(expected(e.set.After), e.pool()); diff != "" {
		t.Fatalf("pool after the delta (-want +got):\n%s", diff)
	}
	jobs := e.mustRun(exitOK, "jobs", "list")
	if strings.Count(jobs, "success") != 3 {
		t.Errorf("jobs list:\n%s", jobs)
	}
}

func ldapDel(dn string) *ldap.DelRequest { return ldap.NewDelRequest(dn, nil) }

// listFiles returns every regular file under dir.
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			out = append(out, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
