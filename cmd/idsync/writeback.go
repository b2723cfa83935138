package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/idsync/idsync/agent"
	"github.com/idsync/idsync/internal/config"
	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/idhub"
	"github.com/idsync/idsync/internal/metrics"
	"github.com/idsync/idsync/internal/state"
	"github.com/idsync/idsync/ldapsource"
)

// runWritebackLoop runs password writeback until ctx is done; when it
// cannot start (the pool's settings unreadable, bad LDAP options) it tries
// again with backoff.
func (d *daemon) runWritebackLoop(ctx context.Context) {
	d.log.Info("password writeback on")
	wait := time.Second
	for {
		wb, closeFn, err := newWritebackRunner(ctx, writebackDeps{cfg: d.cfg, log: d.log, states: d.states, metrics: d.metrics})
		if err == nil {
			err = wb.Run(ctx)
			closeFn()
			wait = time.Second
		}
		if ctx.Err() != nil {
			return
		}
		d.log.Error("password writeback stopped; restarting", zap.Error(err), zap.Duration("in", wait))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Minute)
	}
}

// writebackDeps is what a password writeback runner is built from.
type writebackDeps struct {
	cfg     *config.Config
	log     *zap.Logger
	states  *stateOpener
	metrics *metrics.Metrics // nil: no metrics
	// afterWrite is agent.WritebackOptions.AfterWrite (tests).
	afterWrite func(*directory.PasswordChange)
}

// newWritebackRunner wires password writeback: its own Identity Hub client
// and LDAP connection, kept while it runs, and the state database, held
// only for each read or write so that 'idsync plan' works meanwhile.
func newWritebackRunner(ctx context.Context, deps writebackDeps) (*agent.Writeback, func(), error) {
	cfg, log := deps.cfg, deps.log
	client, err := newClient(cfg, log)
	if err != nil {
		return nil, nil, err
	}
	settings := localSettings(cfg)
	if settings == nil {
		cloud, err := client.GetSyncSettings(ctx)
		if err != nil {
			client.Close()
			return nil, nil, fmt.Errorf("password writeback: read the pool's synchronization settings for the scope: %w", err)
		}
		s := agent.FromCloud(idhub.PoolSettings(cloud))
		settings = &s
	}
	src, err := ldapsource.New(ldapsourceOptions(cfg, *settings, log))
	if err != nil {
		client.Close()
		return nil, nil, fmt.Errorf("password writeback: %w", err)
	}
	store := &heldStore{states: deps.states, log: log}
	opts := agent.WritebackOptions{
		AgentID: cfg.AgentID, UserpoolID: cfg.UserpoolID, Cloud: writebackCloud{client}, Directory: ldapPasswords{src: src},
		Managed: store.managed, Store: store, Jobs: state.OpenJobs(cfg.StatePath),
		AfterWrite: deps.afterWrite, Logger: log,
	}
	if deps.metrics != nil {
		opts.Observe = deps.metrics.Writeback().Observe
	}
	wb, err := agent.NewWriteback(opts)
	if err != nil {
		src.Close()
		client.Close()
		return nil, nil, err
	}
	return wb, func() { src.Close(); client.Close() }, nil
}

// ldapPasswords writes passwords through ldapsource and turns its refusals
// into writeback failures.
type ldapPasswords struct{ src *ldapsource.Source }

var refusalCodes = map[ldapsource.PasswordRefusal]directory.WritebackCode{
	ldapsource.RefusedPolicy:     directory.WritebackPolicyViolation,
	ldapsource.RefusedPermission: directory.WritebackPermissionDenied,
	ldapsource.RefusedUnknown:    directory.WritebackUnknown,
}

func (p ldapPasswords) WritePassword(ctx context.Context, c *directory.PasswordChange) error {
	err := p.src.WritePassword(ctx, ldapsource.PasswordWrite{GUID: c.ExternalUserID, Password: c.Password,
		OldPassword: c.OldPassword, NeedChange: c.NeedChange})
	var pe *ldapsource.PasswordError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &pe):
		code, ok := refusalCodes[pe.Refusal]
		if !ok {
			code = directory.WritebackUnknown
		}
		return &directory.WritebackFailure{Code: code, Message: "Active Directory: " + pe.Message}
	case errors.Is(err, ldapsource.ErrUserNotInScope):
		return &directory.WritebackFailure{Code: directory.WritebackPermissionDenied,
			Message: "the user is not in idsync's synchronization scope in Active Directory"}
	case errors.Is(err, ldapsource.ErrPlainConnection):
		return &directory.WritebackFailure{Code: directory.WritebackUnknown,
			Message: "idsync writes passwords only over LDAPS or StartTLS, and its connection to Active Directory is plain LDAP"}
	}
	return err
}

// heldStore opens the state database for each call and gives it back.
type heldStore struct {
	states *stateOpener
	log    *zap.Logger
}

func (h *heldStore) Meta(name string) (string, error) {
	st, release, err := h.states.acquire(h.log)
	if err != nil {
		return "", err
	}
	defer release()
	return st.Meta(name)
}

func (h *heldStore) SetMeta(name, value string) error {
	st, release, err := h.states.acquire(h.log)
	if err != nil {
		return err
	}
	defer release()
	return st.SetMeta(name, value)
}

// managed reports whether idsync synchronized the user into the pool.
func (h *heldStore) managed(externalID string) (bool, error) {
	st, release, err := h.states.acquire(h.log)
	if err != nil {
		return false, err
	}
	defer release()
	ids, err := st.IDs(directory.KindUser, []string{externalID})
	if err != nil {
		return false, err
	}
	return ids[externalID] != "", nil
}
