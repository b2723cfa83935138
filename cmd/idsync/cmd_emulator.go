package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc/codes"

	"github.com/idsync/idsync/internal/emulator"
)

// Defaults of `idsync emulator`, so that the bare command runs a demo.
const (
	emulatorDefaultListen = "127.0.0.1:50051"
	emulatorDefaultPool   = "idpemulatorpool00001"
	emulatorDefaultOrg    = "orgemulator000000001"
	emulatorDefaultDomain = "example.idp.yandexcloud.net"
)

func newEmulatorCmd() *cobra.Command {
	var f emulatorFlags
	c := &cobra.Command{
		Use:   "emulator [--listen ADDRESS] [--static-token-file FILE] [--state FILE] [--http ADDRESS] [flags]",
		Short: "run the built-in Identity Hub API emulator",
		Long: "Run an in-memory emulator of the Identity Hub API (user pools, users, groups, synchronization\n" +
			"sessions) for demos and tests, until interrupted. It has no TLS: keep it on loopback.\n" +
			"'idsync emulator dump' prints what an emulator holds.",
		Example: "  idsync emulator --static-token-file token.txt --write-key key.json\n" +
			"  idsync emulator --listen 127.0.0.1:0 --state emu.json --http 127.0.0.1:8081\n" +
			"  idsync emulator --error-rate 0.05 --latency 50ms -v",
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runEmulator(c.Context(), &f, c.OutOrStdout(), c.ErrOrStderr())
		},
	}
	fs := c.Flags()
	f.opts = emulator.Options{Quotas: emulator.DefaultQuotas()}
	opts := &f.opts
	fs.StringVar(&f.listen, "listen", emulatorDefaultListen, "gRPC listen `address` (port 0 picks a free port)")
	fs.StringVar(&opts.UserpoolID, "userpool-id", emulatorDefaultPool, "user pool `id`")
	fs.StringVar(&opts.OrganizationID, "organization-id", emulatorDefaultOrg, "organization `id`")
	fs.StringVar(&opts.Domain, "domain", emulatorDefaultDomain, "user pool `domain`")
	fs.StringVar(&opts.StaticToken, "static-token", "", "bearer `token` accepted as-is (never printed; visible in the process list: prefer --static-token-file or $"+emulatorTokenEnv+")")
	fs.StringVar(&f.tokenFile, "static-token-file", "", "read the static bearer token from `file` (first line)")
	fs.IntVar(&opts.MaxSessions, "max-sessions", emulator.DefaultMaxSessions, "synchronization sessions kept; the oldest closed ones are forgotten first")
	fs.StringVar(&f.writeKey, "write-key", "", "write a service account authorized key JSON the emulator accepts to `path` (mode 0600)")
	fs.DurationVar(&opts.SessionTTL, "session-ttl", emulator.DefaultSessionTTL, "session lifetime without a heartbeat")
	fs.DurationVar(&opts.SessionMaxAge, "session-max-age", 0, "expire every session this long after it opened, whatever its heartbeats (0: never)")
	fs.Var((*grpcCode)(&opts.HeartbeatError), "heartbeat-error", "answer every heartbeat of an open session with this gRPC status `code`, such as PERMISSION_DENIED (default: none)")
	fs.DurationVar(&opts.WritebackTTL, "writeback-ttl", emulator.DefaultWritebackTTL, "how long a password change waits for the agent's commit (password writeback)")
	fs.DurationVar(&f.minInterval, "min-interval", emulator.DefaultMinInterval, "minimum synchronization interval (0: no minimum)")
	fs.StringVar(&opts.StatePath, "state", "", "JSON state `file` loaded at start and written after changes")
	fs.DurationVar(&opts.Latency, "latency", 0, "latency added to every call")
	fs.DurationVar(&opts.Jitter, "jitter", 0, "uniform variation of the latency, +/- this much")
	fs.Float64Var(&opts.ErrorRate, "error-rate", 0, "probability (0..1) that a call fails with UNAVAILABLE, INTERNAL or DEADLINE_EXCEEDED")
	fs.Float64Var(&opts.RPS, "rps", 0, "requests per second allowed (0: unlimited); more fail with RESOURCE_EXHAUSTED")
	fs.DurationVar(&opts.OpDelay, "op-delay", 0, "time before operations report done")
	fs.Float64Var(&opts.OpErrorRate, "op-error-rate", 0, "probability (0..1) that a call starting an operation gets a done operation whose error is UNAVAILABLE or INTERNAL, with nothing changed")
	fs.BoolVar(&opts.StrictMembers, "strict-members", false, "UpdateMembers refuses adding a member already there (ALREADY_EXISTS) and removing a non-member (NOT_FOUND), applying none of the call's deltas")
	fs.DurationVar(&opts.UserTransition, "user-transition", 0, "show created users as CREATING and deleted users as DELETING for this long (0: never)")
	fs.IntVar(&opts.Quotas.SubjectsPerOrganization, "quota-subjects", opts.Quotas.SubjectsPerOrganization, "subjects per organization (0: unlimited)")
	fs.IntVar(&opts.Quotas.GroupsPerOrganization, "quota-groups", opts.Quotas.GroupsPerOrganization, "groups per organization (0: unlimited)")
	fs.IntVar(&opts.Quotas.MembersPerGroup, "quota-members-per-group", opts.Quotas.MembersPerGroup, "members per group (0: unlimited)")
	fs.IntVar(&opts.Quotas.GroupsPerUser, "quota-groups-per-user", opts.Quotas.GroupsPerUser, "groups per user (0: unlimited)")
	fs.StringVar(&f.httpAddr, "http", "", "serve the JSON dump at /dump and call statistics at /stats on `address`")
	fs.BoolVarP(&f.verbose, "verbose", "v", false, "log every call to stderr")
	c.AddCommand(newEmulatorDumpCmd())
	return c
}

// emulatorFlags are the flags of `idsync emulator`.
type emulatorFlags struct {
	opts                                  emulator.Options
	listen, tokenFile, writeKey, httpAddr string
	minInterval                           time.Duration
	verbose                               bool
}

// runEmulator runs the Identity Hub API emulator until ctx ends.
func runEmulator(ctx context.Context, f *emulatorFlags, stdout, stderr io.Writer) error {
	opts := f.opts
	if f.minInterval < 0 {
		return usagef("--min-interval must not be negative")
	}
	opts.MinInterval = f.minInterval
	opts.NoMinInterval = f.minInterval == 0
	if err := resolveStaticToken(&opts, f.tokenFile, stderr); err != nil {
		return err
	}
	if f.verbose {
		cfg := zap.NewDevelopmentConfig()
		cfg.OutputPaths = []string{"stderr"}
		log, err := cfg.Build()
		if err != nil {
			return fmt.Errorf("emulator: logger: %w", err)
		}
		defer log.Sync() //nolint:errcheck // stderr sync errors are not actionable
		opts.Logger = log.Named("emulator")
	}
	emu, err := emulator.New(opts)
	if err != nil {
		return usageError{err}
	}
	if f.writeKey != "" {
		key, err := emu.NewServiceAccountKey()
		if err != nil {
			return err
		}
		if err := key.WriteFile(f.writeKey); err != nil {
			return fmt.Errorf("emulator: %w", err)
		}
		fmt.Fprintf(stdout, "idsync emulator wrote authorized key %s (service account %s) to %s\n", key.ID, key.ServiceAccountID, f.writeKey)
	}
	lis, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("emulator: listen: %w", err)
	}
	warnOffLoopback(stderr, "gRPC", lis.Addr())
	g, ctx := errgroup.WithContext(ctx)
	if f.httpAddr != "" {
		hl, err := net.Listen("tcp", f.httpAddr)
		if err != nil {
			lis.Close()
			return fmt.Errorf("emulator: listen http: %w", err)
		}
		warnOffLoopback(stderr, "HTTP dump", hl.Addr())
		srv := &http.Server{Handler: emu.HTTPHandler(), ReadHeaderTimeout: 10 * time.Second}
		g.Go(func() error {
			if err := srv.Serve(hl); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("emulator: http: %w", err)
			}
			return nil
		})
		g.Go(func() error {
			<-ctx.Done()
			return srv.Close()
		})
		fmt.Fprintf(stdout, "idsync emulator dump on http://%s/dump\n", hl.Addr())
	}
	g.Go(func() error { return emu.Serve(ctx, lis) })
	fmt.Fprintf(stdout, "idsync emulator listening on %s (user pool %s, organization %s, domain %s)\n",
		lis.Addr(), opts.UserpoolID, opts.OrganizationID, opts.Domain)
	return g.Wait()
}

// emulatorTokenEnv is the environment variable the emulator reads its
// static token from when no flag gives one.
const emulatorTokenEnv = "IDSYNC_EMULATOR_STATIC_TOKEN"

// resolveStaticToken sets opts.StaticToken from at most one of
// --static-token, --static-token-file or $IDSYNC_EMULATOR_STATIC_TOKEN (in
// that order of precedence, the flags being exclusive), warning when the
// token came from the command line.
func resolveStaticToken(opts *emulator.Options, file string, stderr io.Writer) error {
	switch {
	case opts.StaticToken != "" && file != "":
		return usagef("give at most one of --static-token and --static-token-file")
	case opts.StaticToken != "":
		fmt.Fprintf(stderr, "warning: --static-token is visible in the process list; prefer --static-token-file or $%s\n", emulatorTokenEnv)
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return usagef("--static-token-file: %w", err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		if opts.StaticToken = strings.TrimSpace(line); opts.StaticToken == "" {
			return usagef("--static-token-file %s: the file has no token", file)
		}
	default:
		opts.StaticToken = strings.TrimSpace(os.Getenv(emulatorTokenEnv))
	}
	return nil
}

// warnOffLoopback warns when a listener accepts connections from other
// hosts: the emulator is a test tool without TLS.
func warnOffLoopback(stderr io.Writer, what string, addr net.Addr) {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || tcp.IP.IsLoopback() {
		return
	}
	fmt.Fprintf(stderr, "warning: the emulator's %s listener on %s is reachable from other hosts and has no TLS; listen on 127.0.0.1 unless that is intended\n", what, addr)
}

func newEmulatorDumpCmd() *cobra.Command {
	var path, from string
	var summary bool
	c := &cobra.Command{
		Use:   "dump --state FILE | --from URL [--summary]",
		Short: "print what an emulator holds, as JSON or a summary",
		Long: "Print what an emulator holds: from its state file (--state) or, live, from its --http\n" +
			"address (--from), as JSON or as a short summary for people.",
		Example: "  idsync emulator dump --state emu.json --summary\n" +
			"  idsync emulator dump --from http://127.0.0.1:8081/dump",
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return emulatorDump(path, from, summary, c.OutOrStdout())
		},
	}
	c.Flags().StringVar(&path, "state", "", "emulator state `file`")
	c.Flags().StringVar(&from, "from", "", "`URL` of a running emulator's dump (its --http address, e.g. http://127.0.0.1:8081/dump)")
	c.Flags().BoolVar(&summary, "summary", false, "print counts and a few sample users, groups and sessions instead of JSON")
	return c
}

// emulatorDump prints the dump of the state file path or of the running
// emulator at from.
func emulatorDump(path, from string, summary bool, stdout io.Writer) error {
	var (
		d   emulator.Dump
		err error
	)
	switch {
	case (path == "") == (from == ""):
		return usagef("give exactly one of --state or --from")
	case path != "":
		d, err = emulator.LoadDump(path)
	default:
		d, err = fetchDump(from)
	}
	if err != nil {
		return err
	}
	if summary {
		printDumpSummary(stdout, d)
		return nil
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return fmt.Errorf("emulator dump: %w", err)
	}
	return nil
}

func fetchDump(url string) (emulator.Dump, error) {
	var d emulator.Dump
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return d, fmt.Errorf("emulator dump: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return d, fmt.Errorf("emulator dump: %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		return d, fmt.Errorf("emulator dump: decode %s: %w", url, err)
	}
	return d, nil
}

// printDumpSummary prints what landed in the pool, for people.
func printDumpSummary(w io.Writer, d emulator.Dump) {
	active, suspended, external, hashes := 0, 0, 0, 0
	for _, u := range d.Users {
		switch u.Status {
		case "ACTIVE":
			active++
		case "SUSPENDED":
			suspended++
		}
		if u.ExternalID != "" {
			external++
		}
		if u.PasswordFingerprint != "" && u.PasswordHashType != "" {
			hashes++
		}
	}
	members := 0
	for _, g := range d.Groups {
		members += len(g.Members)
	}
	fmt.Fprintf(w, "user pool %s (domain %s)\n", d.UserpoolID, d.Domain)
	fmt.Fprintf(w, "  users     %d (%d active, %d suspended; %d synchronized from the directory, %d with a password hash)\n",
		len(d.Users), active, suspended, external, hashes)
	fmt.Fprintf(w, "  groups    %d with %d memberships\n", len(d.Groups), members)
	fmt.Fprintf(w, "  sessions  %d\n", len(d.Sessions))
	users := slices.Clone(d.Users)
	slices.SortFunc(users, func(a, b emulator.DumpUser) int { return strings.Compare(a.Username, b.Username) })
	fmt.Fprintln(w, "sample users:")
	for _, u := range users[:min(5, len(users))] {
		fmt.Fprintf(w, "  %-40s %-30s %s\n", u.Username, u.FullName, u.Status)
	}
	groups := slices.Clone(d.Groups)
	slices.SortStableFunc(groups, func(a, b emulator.DumpGroup) int { return len(b.Members) - len(a.Members) })
	fmt.Fprintln(w, "largest groups:")
	for _, g := range groups[:min(5, len(groups))] {
		fmt.Fprintf(w, "  %-40s %4d members  %s\n", g.Name, len(g.Members), g.Description)
	}
	if n := len(d.Sessions); n > 0 {
		s := d.Sessions[n-1]
		fmt.Fprintf(w, "last session: %s %s %s", s.Type, s.Mode, s.Status)
		for _, p := range s.Progress {
			fmt.Fprintf(w, "; %s %s %d ok %d failed", p.Object, p.Change, p.Successful, p.Failed)
		}
		fmt.Fprintln(w)
	}
}

// grpcCode is a flag holding a gRPC status code, given by its name
// (PERMISSION_DENIED or PermissionDenied, case-insensitive) or number.
type grpcCode codes.Code

func (c *grpcCode) String() string {
	if c == nil || codes.Code(*c) == codes.OK {
		return ""
	}
	return codes.Code(*c).String()
}

func (c *grpcCode) Type() string { return "code" }

func (c *grpcCode) Set(v string) error {
	name := strings.ReplaceAll(strings.TrimSpace(v), "_", "")
	for code := codes.OK; code <= codes.Unauthenticated; code++ {
		if strings.EqualFold(name, code.String()) || name == strconv.Itoa(int(code)) {
			*c = grpcCode(code)
			return nil
		}
	}
	return fmt.Errorf("%q is not a gRPC status code (a name such as PERMISSION_DENIED, or 0-16)", v)
}
