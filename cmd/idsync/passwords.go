package main

import (
	"context"
	"fmt"
	"strings"

	"go.uber.org/zap"

	"github.com/idsync/idsync/agent"
	"github.com/idsync/idsync/drsrsource"
	"github.com/idsync/idsync/internal/config"
	"github.com/idsync/idsync/internal/idhub"
)

// hashSourceFactory returns the function that connects to the domain
// controller over MS-DRSR for password hashes, or nil when password hash
// sync is off. The scope is the effective one: the config's sync_settings,
// or the pool's.
func (e *engine) hashSourceFactory() func(ctx context.Context) (agent.HashSource, error) {
	if !e.cfg.PasswordHashSync.Enabled {
		return nil
	}
	return func(ctx context.Context) (agent.HashSource, error) {
		s := localSettings(e.cfg)
		if s == nil {
			cs, err := e.client.GetSyncSettings(ctx)
			if err != nil {
				return nil, fmt.Errorf("read the pool's synchronization settings: %w", err)
			}
			fc := agent.FromCloud(idhub.PoolSettings(cs))
			s = &fc
		}
		baseDN := e.cfg.LDAP.BaseDN
		if baseDN == "" {
			baseDN = domainDN(s.Domain)
		}
		c, err := drsrsource.Dial(ctx, drsrOptions(e.cfg, *s, baseDN, e.log))
		if err != nil {
			return nil, err
		}
		return c, nil
	}
}

// newPasswordSync builds the AD_PASSWORD_HASH session runner on an engine.
func (e *engine) newPasswordSync() (*agent.PasswordSync, error) {
	return agent.NewPasswordSync(agent.PasswordOptions{
		AgentID: e.cfg.AgentID, UserpoolID: e.cfg.UserpoolID, Cloud: idhub.NewCloud(e.client), NewSource: e.hashSourceFactory(),
		Store: e.store, Jobs: e.jobs, Interval: e.cfg.PasswordHashSync.Interval, Concurrency: e.cfg.Apply.Concurrency,
		ReportInterval: e.cfg.ReportInterval, HeartbeatInterval: e.cfg.HeartbeatInterval, Logger: e.log,
	})
}

// domainDN turns "corp.example.com" into "DC=corp,DC=example,DC=com".
func domainDN(domain string) string {
	var parts []string
	for _, p := range strings.Split(domain, ".") {
		if p != "" {
			parts = append(parts, "DC="+p)
		}
	}
	return strings.Join(parts, ",")
}

// drsrOptions builds the replication client's options: the drsr account's
// password, or with drsr.use_kerberos the kerberos keytab.
func drsrOptions(cfg *config.Config, s agent.SyncSettings, baseDN string, log *zap.Logger) drsrsource.Options {
	o := drsrsource.Options{
		Host: cfg.DRSR.Host, Username: cfg.DRSR.Username, Password: cfg.DRSR.Password.Value(),
		Domain: s.Domain, BaseDN: baseDN, Scope: s.OrganizationalUnits, Logger: log,
	}
	if cfg.DRSR.UseKerberos {
		k := cfg.Kerberos
		o.Username, o.Password = k.Principal, ""
		o.Kerberos = &drsrsource.Kerberos{KeytabPath: k.KeytabPath, Principal: k.Principal,
			ConfigPath: k.Krb5ConfigPath, DisablePAFXFast: k.DisablePAFXFast}
	}
	return o
}
