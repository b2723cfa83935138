package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/idsync/idsync/internal/testing/testdc"
)

// Exit codes of idsync that a benchmark run may see.
const (
	exitOK      = 0
	exitPartial = 3
)

// instance is one idsync configuration: a config file and a state dir.
type instance struct {
	bin    string
	dc     testdc.DC
	dir    string
	config string
	logf   string
}

// newInstance writes a config for the scope against the emulator at addr.
// rateLimit 0 means unlimited.
func newInstance(bin, dir string, dc testdc.DC, scope, addr string, concurrency int, rateLimit float64) (*instance, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("instance: %w", err)
	}
	cfg := fmt.Sprintf(`userpool_id: %s
agent_id: idsync-bench
iam_token: {env: IDSYNC_BENCH_TOKEN}
endpoints:
  organization_manager: %[2]s
  iam: %[2]s
  operation: %[2]s
  plaintext: true
state_path: %[3]s
ldap:
  host: %[4]s
  username: %[5]s
  password: {env: IDSYNC_BENCH_LDAP_PASSWORD}
  certificate_path: %[6]s
logger:
  level: info
safety:
  max_deletions: -1
  max_deletion_percent: 100
apply:
  concurrency: %[10]d
  rate_limit: %[11]g
sync_settings:
  replacement_domain: %[7]s
  filter:
    domain: %[8]s
    organization_units: [%[9]q]
`, emuPool, addr, filepath.Join(dir, "state"), dc.LDAPSURL, dc.BindUPN, dc.CAFile, emuDomain, dc.Domain, scope,
		concurrency, rateLimit)
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return nil, fmt.Errorf("instance: %w", err)
	}
	return &instance{bin: bin, dc: dc, dir: dir, config: path, logf: filepath.Join(dir, "idsync.log")}, nil
}

// proc is what one run of the binary cost.
type proc struct {
	Wall    time.Duration
	CPU     time.Duration // user + system of idsync
	PeakRSS int64         // bytes, -1 when unknown
	// RunnerRSS is the measuring runner's peak (see measure.go): a floor
	// under PeakRSS, which cannot read lower.
	RunnerRSS int64
	Exit      int
	Summary   string // the job summary idsync printed
}

// sync runs `idsync sync [args] --config FILE` and measures it. Its log
// (stderr) is appended to the instance's log file.
func (in *instance) sync(ctx context.Context, args ...string) (proc, error) {
	var p proc
	logf, err := os.OpenFile(in.logf, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return p, fmt.Errorf("idsync sync: %w", err)
	}
	defer logf.Close()
	fmt.Fprintf(logf, "=== idsync sync %s\n", strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, in.bin, append(append([]string{"sync"}, args...), "--config", in.config)...)
	cmd.Env = append(os.Environ(), "IDSYNC_BENCH_TOKEN="+emuToken, "IDSYNC_BENCH_LDAP_PASSWORD="+in.dc.Password)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, logf
	u, err := runMeasured(ctx, cmd)
	if err != nil {
		return p, fmt.Errorf("idsync sync: %w", err)
	}
	p.Wall, p.CPU, p.PeakRSS, p.RunnerRSS, p.Exit = u.Wall, u.CPU, u.PeakRSS, u.RunnerRSS, u.Exit
	p.Summary = strings.TrimSpace(out.String())
	fmt.Fprintf(logf, "%s\n=== exit %d in %s\n", p.Summary, p.Exit, p.Wall)
	if p.Exit != exitOK && p.Exit != exitPartial {
		return p, fmt.Errorf("idsync sync %s: exit %d (log %s):\n%s", strings.Join(args, " "), p.Exit, in.logf, p.Summary)
	}
	return p, nil
}

// Build compiles ./cmd/idsync of the module in moduleDir into dir and
// returns the binary's path.
func Build(ctx context.Context, moduleDir, dir string) (string, error) {
	bin := filepath.Join(dir, "idsync")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "./cmd/idsync")
	cmd.Dir = moduleDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build idsync: %w\n%s", err, out)
	}
	return bin, nil
}
