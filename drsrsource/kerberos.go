package drsrsource

import (
	"fmt"
	"os"
	"strings"

	"github.com/oiweiwei/go-msrpc/ssp"
	"github.com/oiweiwei/go-msrpc/ssp/credential"
	"github.com/oiweiwei/go-msrpc/ssp/gssapi"
	"github.com/oiweiwei/go-msrpc/ssp/krb5"
)

// Kerberos configures keytab authentication in place of a password.
type Kerberos struct {
	// KeytabPath is the keytab holding Principal's keys. Required.
	KeytabPath string
	// Principal is the client principal, name@REALM. Required.
	Principal string
	// ConfigPath is the krb5.conf naming the realm's KDCs. Required.
	ConfigPath string
	// DisablePAFXFast leaves PA-FX-FAST out of requests to the KDC.
	DisablePAFXFast bool
}

// authOptions returns the security context options and the target name
// for the bind: NTLM over SPNEGO with the password, or Kerberos with the
// keytab (the service ticket is for host/<TargetName>, a name every DC
// registers, so TargetName must be the DC's FQDN).
func authOptions(opts Options, user string) ([]gssapi.ContextOption, string, error) {
	if opts.Kerberos == nil {
		return []gssapi.ContextOption{
			gssapi.WithCredential(credential.NewFromPassword(user, opts.Password)),
			gssapi.WithMechanismFactory(ssp.SPNEGO),
			gssapi.WithMechanismFactory(ssp.NTLM),
		}, opts.TargetName, nil
	}
	k := opts.Kerberos
	// The library defers reading the keytab to the bind and then reports
	// only that the credential is defective: read it here for a clear error.
	if _, err := os.Stat(k.KeytabPath); err != nil {
		return nil, "", fmt.Errorf("drsr: kerberos: cannot read the keytab: %w", err)
	}
	conf, err := krb5.LoadKRB5Conf(k.ConfigPath)
	if err != nil {
		return nil, "", fmt.Errorf("drsr: kerberos: cannot read krb5.conf %s: %w", k.ConfigPath, err)
	}
	kcfg := krb5.NewConfig()
	kcfg.KRB5Config = conf
	kcfg.KRB5ConfigPath = k.ConfigPath
	kcfg.DisablePAFXFAST = k.DisablePAFXFast
	// DCE-style Kerberos with mutual authentication, as Windows binds
	// DRSUAPI; without mutual authentication Samba refuses the sealed call.
	kcfg.DCEStyle = true
	kcfg.Flags = append(kcfg.Flags, int(gssapi.MutualAuthn))
	target := opts.TargetName
	if !strings.Contains(target, "/") {
		target = "host/" + target
	}
	return []gssapi.ContextOption{
		gssapi.WithCredential(credential.NewFromKeytabFile(k.Principal, k.KeytabPath)),
		gssapi.WithMechanismFactory(ssp.SPNEGO),
		gssapi.WithMechanismFactory(ssp.KRB5, kcfg),
	}, target, nil
}
