package main

import (
	"context"
	"strings"

	"go.uber.org/zap"

	"github.com/idsync/idsync/agent"
	"github.com/idsync/idsync/internal/config"
	"github.com/idsync/idsync/ldapsource"
)

// checkWriteback verifies that the LDAP account may write passwords on the
// scope: Reset Password, Change Password and Write pwdLastSet, checked on a
// sample user under each scope root.
func checkWriteback(ctx context.Context, ck *checklist, cfg *config.Config, s agent.SyncSettings, log *zap.Logger) {
	src, err := ldapsource.New(ldapsourceOptions(cfg, s, log))
	if err != nil {
		ck.fail("writeback", "%v", err)
		return
	}
	defer src.Close()
	r, err := src.CheckPasswordRights(ctx)
	if err != nil {
		ck.fail("writeback", "%v", err)
		return
	}
	if len(r.Sampled) == 0 {
		ck.warn("writeback", "no user in scope to check the password rights on")
		return
	}
	if len(r.Missing) > 0 {
		ck.fail("writeback", "%s lacks %s: grant them on the scope's organizational units (Active Directory Users and Computers, Properties, Security, Advanced, Add, applies to Descendant User objects)",
			cfg.LDAP.Username, strings.Join(r.Missing, ", "))
		return
	}
	ck.ok("writeback", "%s may reset and change passwords and write pwdLastSet on the scope's users", cfg.LDAP.Username)
}
