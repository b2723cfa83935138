package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"

	"go.uber.org/zap"

	"github.com/spf13/cobra"

	"github.com/idsync/idsync/agent"
	"github.com/idsync/idsync/drsrsource"
	"github.com/idsync/idsync/internal/config"
	"github.com/idsync/idsync/internal/idhub"
	"github.com/idsync/idsync/ldapsource"
)

// errCheckFailed is returned when a preflight check failed (exit 1).
var errCheckFailed = errors.New("some checks failed")

func newCheckCmd() *cobra.Command {
	var cfgPath string
	var offline bool
	c := &cobra.Command{
		Use:   "check [--offline] --config FILE",
		Short: "check the configuration, the domain controller and Identity Hub",
		Long: "Check the configuration, the domain controller (reachability, TLS, bind, DirSync\n" +
			"right, scope roots, password writeback rights when enabled) and Identity Hub\n" +
			"(credentials, pool access, attribute mappings), as a checklist.\n" +
			"With --offline, check the configuration only, without the network.",
		Example: "  idsync check --config /etc/idsync/config.yaml\n" +
			"  idsync check --offline --config /etc/idsync/config.yaml",
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runCheck(c.Context(), cfgPath, offline, c.OutOrStdout(), c.ErrOrStderr())
		},
	}
	configFlag(c, &cfgPath)
	c.Flags().BoolVar(&offline, "offline", false, "check the config file only: no domain controller, no Identity Hub")
	return c
}

func runCheck(ctx context.Context, cfgPath string, offline bool, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		return err
	}
	ck := &checklist{w: stdout}
	ck.ok("config", "%s is valid", cfg.File())
	for _, w := range cfg.Warnings() {
		ck.warn("config", "%s", w.String())
	}
	if offline {
		fmt.Fprintln(stdout, "the config file is valid (offline: the domain controller and Identity Hub were not checked)")
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	log, closeLog, err := newLogger(config.Logger{Level: "error", Format: "plain"}, stderr)
	if err != nil {
		return err
	}
	defer closeLog()

	// Identity Hub.
	var (
		settings *agent.SyncSettings
		cloud    *idhub.Client // set once the pool answered
	)
	client, err := newClient(cfg, log)
	if err != nil {
		ck.fail("identity hub", "%v", err)
	} else {
		defer client.Close()
		if pool, err := client.GetUserpool(ctx); err != nil {
			ck.fail("identity hub", "user pool %s: %v%s", cfg.UserpoolID, err, hint(err))
		} else {
			ck.ok("identity hub", "user pool %s (%s) in organization %s, domains %v", pool.GetId(), pool.GetName(), pool.GetOrganizationId(), pool.GetDomains())
			cloud = client
			if s, err := client.GetSyncSettings(ctx); err == nil {
				ck.ok("identity hub", "the pool has synchronization settings (domain %s)", s.GetFilter().GetDomain())
				cs := agent.FromCloud(idhub.PoolSettings(s))
				settings = &cs
			} else if idhub.IsNotFound(err) {
				ck.info("identity hub", "the pool has no synchronization settings yet; the config's sync_settings will be used")
			} else {
				ck.fail("identity hub", "synchronization settings: %v%s", err, hint(err))
			}
			if _, err := client.GetReplicationToken(ctx, idp.SessionType_AD_SYNC); err != nil && !idhub.IsNotFound(err) {
				ck.fail("identity hub", "replication token: %v%s", err, hint(err))
			}
		}
	}
	if local := localSettings(cfg); local != nil {
		settings = local
		if cloud != nil && checkMappings(ctx, ck, idhub.NewCloud(cloud), cfg, *local) {
			checkSettingsDiff(ctx, ck, idhub.NewCloud(cloud), cfg)
		}
	}

	// Active Directory.
	if settings == nil {
		ck.fail("directory", "no synchronization settings: add a sync_settings section to the config file")
	} else {
		src, err := ldapsource.New(ldapsourceOptions(cfg, *settings, log))
		if err != nil {
			ck.fail("directory", "%v", err)
		} else {
			r := src.Check(ctx)
			src.Close()
			if r.Bound {
				switch r.Mechanism {
				case "kerberos":
					ck.ok("directory", "%s answered (%s), bound with kerberos as %s", r.URL, orPlain(r.TLSVersion), r.Ticket.Principal)
					ck.info("directory", "kerberos ticket valid from %s until %s (lifetime %s)", r.Ticket.AuthTime.Format(time.RFC3339),
						r.Ticket.EndTime.Format(time.RFC3339), r.Ticket.EndTime.Sub(r.Ticket.AuthTime).Round(time.Second))
				case "windows":
					ck.ok("directory", "%s answered (%s), bound with the windows service identity", r.URL, orPlain(r.TLSVersion))
				default:
					ck.ok("directory", "%s answered (%s), bound as %s (simple bind)", r.URL, orPlain(r.TLSVersion), cfg.LDAP.Username)
				}
				ck.ok("directory", "domain controller %s, invocation id %s, base %s", r.DCHost, r.InvocationID, r.BaseDN)
				if r.DirSync {
					ck.ok("directory", "the account has Replicating Directory Changes: deltas use DirSync")
				} else {
					ck.info("directory", "no Replicating Directory Changes right: deltas use uSNChanged polling")
				}
				checkUserControl(ck, cfg, r.DirSync)
			}
			for _, p := range r.Problems {
				ck.fail("directory", "%s", p)
			}
		}
	}

	// Password hashes (MS-DRSR).
	if cfg.PasswordHashSync.Enabled && settings != nil {
		checkDRSR(ctx, ck, cfg, *settings, log)
	}

	// Password writeback rights.
	if cfg.EnablePasswordWriteback && settings != nil {
		checkWriteback(ctx, ck, cfg, *settings, log)
	}

	// Local state.
	if err := os.MkdirAll(cfg.StatePath, 0o700); err != nil {
		ck.fail("state", "%v", err)
	} else if f, err := os.CreateTemp(cfg.StatePath, ".check-*"); err != nil {
		ck.fail("state", "%s is not writable: %v", cfg.StatePath, err)
	} else {
		f.Close()
		os.Remove(f.Name())
		ck.ok("state", "%s is writable", filepath.Clean(cfg.StatePath))
	}
	if ck.failed > 0 {
		fmt.Fprintf(stdout, "%d checks failed\n", ck.failed)
		return errCheckFailed
	}
	fmt.Fprintln(stdout, "all checks passed")
	return nil
}

func orPlain(v string) string {
	if v == "" {
		return "plain LDAP"
	}
	return v
}

// hint adds advice for the common cloud failures.
func hint(err error) string {
	switch idhub.Classify(err) {
	case idhub.ClassPermission:
		return " (check the credentials and that the service account has organization-manager.userpools.syncAgent and the groups roles)"
	case idhub.ClassNotFound:
		return " (check userpool_id)"
	case idhub.ClassRetryable:
		return " (check the endpoints and the network)"
	}
	return ""
}

type checklist struct {
	w      io.Writer
	failed int
}

func (c *checklist) line(mark, area, format string, args ...any) {
	fmt.Fprintf(c.w, "[%-4s] %-12s %s\n", mark, area, fmt.Sprintf(format, args...))
}
func (c *checklist) ok(area, f string, a ...any)   { c.line("ok", area, f, a...) }
func (c *checklist) info(area, f string, a ...any) { c.line("info", area, f, a...) }
func (c *checklist) warn(area, f string, a ...any) { c.line("warn", area, f, a...) }
func (c *checklist) fail(area, f string, a ...any) { c.failed++; c.line("FAIL", area, f, a...) }

// checkMappings checks the config's attribute mappings against what
// Identity Hub supports, as a sync does before it pushes the settings.
func checkMappings(ctx context.Context, ck *checklist, api agent.AttributesAPI, cfg *config.Config, s agent.SyncSettings) bool {
	if err := agent.CheckMappings(ctx, api, agent.ToCloud(s, cfg.SyncSettings.Interval)); err != nil {
		ck.fail("identity hub", "%v%s", err, hint(err))
		return false
	}
	ck.ok("identity hub", "Identity Hub supports the attribute mappings of sync_settings")
	return true
}

// checkSettingsDiff shows what the next sync changes in the pool's
// synchronization settings to match sync_settings, one field a line with
// the pool's value and the config's, before anything is overwritten.
func checkSettingsDiff(ctx context.Context, ck *checklist, api agent.SettingsAPI, cfg *config.Config) {
	changes, err := agent.CloudSettingsDiff(ctx, api, wantCloudSettings(cfg))
	if err != nil {
		ck.fail("identity hub", "%v%s", err, hint(err))
		return
	}
	if len(changes) == 0 {
		ck.ok("identity hub", "the pool's synchronization settings match sync_settings")
		return
	}
	ck.info("identity hub", "the next sync changes %d of the pool's synchronization settings to match sync_settings (pool -> config):", len(changes))
	for _, c := range changes {
		ck.info("identity hub", "  %s", c)
	}
}

// checkDRSR checks that the drsr account can replicate password hashes:
// the DC answers over MS-DRSR, the bind works and both replication rights
// are granted.
func checkDRSR(ctx context.Context, ck *checklist, cfg *config.Config, s agent.SyncSettings, log *zap.Logger) {
	baseDN := cfg.LDAP.BaseDN
	if baseDN == "" {
		baseDN = domainDN(s.Domain)
	}
	o := drsrOptions(cfg, s, baseDN, log)
	c, err := drsrsource.Dial(ctx, o)
	if err != nil {
		ck.fail("passwords", "MS-DRSR to %s as %s: %v", cfg.DRSR.Host, o.Username, err)
		return
	}
	defer c.Close()
	if err := c.CheckRights(ctx); err != nil {
		ck.fail("passwords", "%v", err)
		return
	}
	mech := "NTLM"
	if o.Kerberos != nil {
		mech = "kerberos"
	}
	ck.ok("passwords", "%s (%s) may replicate password hashes from %s (Replicating Directory Changes and ... All)", o.Username, mech, cfg.DRSR.Host)
}
