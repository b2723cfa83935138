package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"go.uber.org/zap"

	"github.com/idsync/idsync/agent"
	"github.com/idsync/idsync/internal/config"
	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/idhub"
	"github.com/idsync/idsync/internal/pool"
	"github.com/idsync/idsync/internal/state"
	"github.com/idsync/idsync/ldapsource"
)

// loadConfig loads the config file; its problems are usage errors (exit 2).
func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return nil, usagef("--config is required")
	}
	cfg, err := config.Load(path)
	if err != nil {
		return nil, usageError{err}
	}
	return cfg, nil
}

// openConfig loads the config file and builds the logger from it; call the
// returned function to flush the log when the command ends.
func openConfig(path string, stderr io.Writer) (*config.Config, *zap.Logger, func(), error) {
	return openConfigWith(path, stderr, nil)
}

// openConfigWith is openConfig with adjust, when not nil, applied to the
// loaded config before the logger is built.
func openConfigWith(path string, stderr io.Writer, adjust func(*config.Config)) (*config.Config, *zap.Logger, func(), error) {
	cfg, err := loadConfig(path)
	if err != nil {
		return nil, nil, nil, err
	}
	if adjust != nil {
		adjust(cfg)
	}
	log, closeLog, err := setupLogger(cfg, stderr)
	if err != nil {
		return nil, nil, nil, err
	}
	log, closeAll, err := withCloudLog(cfg, log, closeLog)
	if err != nil {
		closeLog()
		return nil, nil, nil, err
	}
	return cfg, log, closeAll, nil
}

// setupLogger builds the logger and reports the config's warnings on it.
func setupLogger(cfg *config.Config, stderr io.Writer) (*zap.Logger, func(), error) {
	log, closeLog, err := newLogger(cfg.Logger, stderr)
	if err != nil {
		return nil, nil, usageError{err}
	}
	for _, w := range cfg.Warnings() {
		log.Warn("config: " + w.String())
	}
	return log, closeLog, nil
}

// newClient builds the Identity Hub client from the config.
func newClient(cfg *config.Config, log *zap.Logger) (*idhub.Client, error) {
	c, err := idhub.New(clientOptions(cfg, log))
	if err != nil {
		return nil, fmt.Errorf("identity hub client: %w", err)
	}
	return c, nil
}

// clientOptions maps the config to the client's options. apply.max_retries
// counts retries after the first attempt; the client's retry layer is the
// only one, so a call is made at most max_retries + 1 times.
func clientOptions(cfg *config.Config, log *zap.Logger) idhub.Options {
	opts := idhub.Options{
		UserpoolID:                  cfg.UserpoolID,
		OrganizationManagerEndpoint: cfg.Endpoints.OrganizationManager,
		OperationEndpoint:           cfg.Endpoints.Operation,
		IAMEndpoint:                 cfg.Endpoints.IAM,
		Plaintext:                   cfg.Endpoints.Plaintext,
		CallsPerSecond:              cfg.Apply.RateLimit,
		Retry:                       idhub.RetryOptions{MaxAttempts: cfg.Apply.MaxRetries + 1},
		Version:                     version,
		Logger:                      log,
	}
	switch cfg.Credentials() {
	case config.CredentialsIAMToken:
		opts.StaticToken = cfg.IAMToken.Value()
	case config.CredentialsMetadata:
		opts.UseMetadataService = true
	case config.CredentialsKeyFile:
		opts.AuthorizedKeyFile = cfg.CloudCredentialsFilePath
	}
	return opts
}

// localSettings converts the config's sync_settings, or returns nil when
// the file has none (the pool's settings are used then).
func localSettings(cfg *config.Config) *agent.SyncSettings {
	s := cfg.SyncSettings
	if !s.Present {
		return nil
	}
	rb := agent.RemoveDelete
	if s.RemoveUserBehavior == config.RemoveUserBlock {
		rb = agent.RemoveBlock
	}
	users := map[directory.UserField]directory.AttributeMapping{}
	for _, m := range s.EffectiveUserMapping() {
		users[directory.UserField(m.Target)] = mapping(m)
	}
	groups := map[directory.GroupField]directory.AttributeMapping{}
	for _, m := range s.EffectiveGroupMapping() {
		groups[directory.GroupField(m.Target)] = mapping(m)
	}
	return &agent.SyncSettings{
		Plan: agent.Settings{
			ReplacementDomain: s.ReplacementDomain, RemoveBehavior: rb,
			CaptureUsers: s.AllowToCaptureUsers, CaptureGroups: s.AllowToCaptureGroups,
			GroupNameOverrides: s.GroupNameOverrides,
		},
		Domain:              s.Filter.Domain,
		OrganizationalUnits: s.Filter.OrganizationUnits,
		Groups:              s.Filter.Groups,
		Mapping:             directory.Mapping{User: users, Group: groups},
	}
}

func mapping(m config.AttributeMapping) directory.AttributeMapping {
	if strings.EqualFold(m.Type, config.MappingEmpty) {
		return directory.AttributeMapping{Type: directory.Empty}
	}
	return directory.AttributeMapping{Source: m.Source, Type: directory.Direct}
}

// sourceFactory returns the function that builds the LDAP reader for the
// effective settings of a cycle.
func sourceFactory(cfg *config.Config, log *zap.Logger, progress progressSink) func(agent.SyncSettings) (agent.Source, error) {
	return func(s agent.SyncSettings) (agent.Source, error) {
		opts := ldapsourceOptions(cfg, s, log)
		if progress != nil {
			opts.OnPage = progress.read
		}
		src, err := ldapsource.New(opts)
		if err != nil {
			return nil, err
		}
		return src, nil
	}
}

func ldapsourceOptions(cfg *config.Config, s agent.SyncSettings, log *zap.Logger) ldapsource.Options {
	l := cfg.LDAP
	mode := ldapsource.DeltaMode(l.DeltaMode)
	if l.DeltaMode == "auto" {
		mode = ldapsource.DeltaAuto
	}
	return ldapsource.Options{
		URLs: l.URLs(), Username: l.Username, Password: l.Password.Value(), CAFile: l.CertificatePath,
		InsecureSkipVerify: l.InsecureSkipVerify, StartTLS: l.StartTLS, AllowInsecureBind: l.AllowInsecureBind,
		BaseDN: l.BaseDN, Timeout: l.Timeout, PageSize: uint32(max(l.PageSize, 0)),
		Scope:     ldapsource.Scope{Domain: s.Domain, OrganizationalUnits: s.OrganizationalUnits, Groups: s.Groups},
		Mapping:   s.Mapping,
		DeltaMode: mode,
		Logger:    log,
		Auth:      ldapAuth(cfg),
		Kerberos: ldapsource.Kerberos{KeytabPath: cfg.Kerberos.KeytabPath, Principal: cfg.Kerberos.Principal,
			ConfigPath: cfg.Kerberos.Krb5ConfigPath, DisablePAFXFast: cfg.Kerberos.DisablePAFXFast},
	}
}

// ldapAuth maps the ldap.use_* keys to the bind mechanism.
func ldapAuth(cfg *config.Config) ldapsource.Auth {
	switch {
	case cfg.LDAP.UseKerberos:
		return ldapsource.AuthKerberos
	case cfg.LDAP.UseWindowsIdentity:
		return ldapsource.AuthWindows
	}
	return ldapsource.AuthSimple
}

// engine is everything a cycle needs, built from the config.
type engine struct {
	cfg     *config.Config
	log     *zap.Logger
	client  *idhub.Client
	store   *state.Store
	release func()
	jobs    *state.Jobs
	agent   *agent.Agent
	// acceptScopeChange lets pushSettings change the scope or mapping of
	// the pool's settings ('idsync sync --full --accept-scope-change').
	acceptScopeChange bool
}

// stateOpener hands out the state database. bbolt locks a database per
// open, so everything that runs at once in one process (in the daemon, an
// AD_SYNC cycle and a password session) must share one open database; it is
// closed when nothing runs, so 'idsync plan' works between cycles.
type stateOpener struct {
	path string
	mu   sync.Mutex
	n    int
	st   *state.Store
}

// acquire returns the open database and the function that gives it back.
// log receives the warning when a damaged database is replaced.
func (o *stateOpener) acquire(log *zap.Logger) (*state.Store, func(), error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.n == 0 {
		st, err := state.OpenWith(o.path, state.Options{Logger: log.Named("state")})
		if errors.Is(err, state.ErrLocked) {
			return nil, nil, fmt.Errorf("%w (is the idsync service running? stop it, or wait for its cycle to end)", err)
		}
		if err != nil {
			return nil, nil, err
		}
		o.st = st
	}
	o.n++
	var once sync.Once
	return o.st, func() {
		once.Do(func() {
			o.mu.Lock()
			defer o.mu.Unlock()
			if o.n--; o.n == 0 {
				o.st.Close()
				o.st = nil
			}
		})
	}, nil
}

// openEngine loads the config at path and wires an engine on its own
// state database, for the one-shot commands that need nothing else; done
// closes the engine and the log.
func openEngine(path string, stderr io.Writer) (e *engine, done func(), err error) {
	cfg, log, closeLog, err := openConfig(path, stderr)
	if err != nil {
		return nil, nil, err
	}
	e, err = newEngine(cfg, log, &stateOpener{path: cfg.StatePath}, nil)
	if err != nil {
		closeLog()
		return nil, nil, err
	}
	return e, func() { e.close(); closeLog() }, nil
}

// newEngine wires the agent. progress may be nil.
// newEngine wires a cycle's parts. progress, when not nil, hears of the
// directory pages read and the changes applied.
func newEngine(cfg *config.Config, log *zap.Logger, states *stateOpener, progress progressSink) (*engine, error) {
	client, err := newClient(cfg, log)
	if err != nil {
		return nil, err
	}
	store, release, err := states.acquire(log)
	if err != nil {
		client.Close()
		return nil, err
	}
	e := &engine{cfg: cfg, log: log, client: client, store: store, release: release, jobs: state.OpenJobs(cfg.StatePath)}
	maxDel := cfg.Safety.MaxDeletions
	e.agent, err = agent.New(agent.Options{
		AgentID: cfg.AgentID, UserpoolID: cfg.UserpoolID, Cloud: idhub.NewCloud(client),
		NewSource: sourceFactory(cfg, log, progress), Store: store, Jobs: e.jobs,
		Settings: localSettings(cfg),
		Limits: agent.Limits{MaxDeletions: maxDel, MaxDeletionPercent: cfg.Safety.MaxDeletionPercent,
			MinSourceUsers: cfg.Safety.MinSourceUsers, Guards: guards(cfg.Safety)},
		Concurrency:    cfg.Apply.Concurrency,
		ReportInterval: cfg.ReportInterval, HeartbeatInterval: cfg.HeartbeatInterval,
		FullSyncInterval: cfg.FullSyncInterval, Progress: applyProgress(progress), Logger: log,
		SuspendLockedOut: cfg.UserControl.Enabled && cfg.UserControl.SuspendLockedOut,
		NewHashSource:    e.hashSourceFactory(),
		Quarantine:       store, QuarantineAfter: cfg.Apply.QuarantineAfter,
	})
	if err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

// applyProgress is progress's apply, or nil without progress.
func applyProgress(progress progressSink) func(done, total int64) {
	if progress == nil {
		return nil
	}
	return progress.apply
}

// pushSettings makes the pool's synchronization settings match the config
// file's sync_settings section, when it has one. Only a directory cycle
// that may change the pool does it: never plan, dry runs or password
// sessions. Settings of another scope or mapping in the pool stop it with
// a safety stop unless e.acceptScopeChange is set.
func (e *engine) pushSettings(ctx context.Context) ([]agent.SettingChange, error) {
	want := e.wantSettings()
	if want == nil {
		return nil, nil
	}
	return agent.PushCloudSettings(ctx, idhub.NewCloud(e.client), want, e.acceptScopeChange, e.log)
}

// wantSettings returns the pool settings the config file asks for, nil
// without a sync_settings section.
func (e *engine) wantSettings() *pool.Settings {
	return wantCloudSettings(e.cfg)
}

func wantCloudSettings(cfg *config.Config) *pool.Settings {
	local := localSettings(cfg)
	if local == nil {
		return nil
	}
	want := agent.ToCloud(*local, cfg.SyncSettings.Interval)
	want.EnablePasswordWriteback = cfg.EnablePasswordWriteback
	return want
}

func (e *engine) close() {
	e.release()
	e.client.Close()
}
