// Package drsrsource reads password hashes from Active Directory over
// directory replication (MS-DRSR, IDL_DRSGetNCChanges). Active Directory
// never returns password hashes over LDAP; replication returns unicodePwd
// encrypted with the RPC session key and the object's RID, and this package
// decrypts it to the NT hash (MD4 of the UTF-16LE password).
//
// A pass has two steps. Changes replicates the domain naming context since a
// Cursor, asking only for non-secret attributes (objectSid, pwdLastSet), and
// yields the in-scope accounts whose password changed. Hashes then fetches
// the secret of just the accounts the caller names, one object at a time, so
// the hashes of out-of-scope accounts never leave the domain controller.
//
// The account needs "Replicating Directory Changes" for the first step and
// "Replicating Directory Changes All" for the second. The RPC channel is
// always sealed (packet privacy), after NTLM over SPNEGO with a password or
// Kerberos with a keytab (Options.Kerberos). Like ldapsource, this
// package knows nothing about the cloud.
package drsrsource

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/oiweiwei/go-msrpc/dcerpc"
	"github.com/oiweiwei/go-msrpc/msrpc/drsr/drsuapi/v4"
	"github.com/oiweiwei/go-msrpc/msrpc/epm/epm/v3"
	"github.com/oiweiwei/go-msrpc/ndr"
	"github.com/oiweiwei/go-msrpc/ssp/gssapi"
	"go.uber.org/zap"
)

// Options configure a Client. Host, Username, Password and BaseDN are
// required.
type Options struct {
	// Host is the domain controller to dial: a name or an address. The
	// endpoint mapper (TCP 135) gives the DRSUAPI port.
	Host string
	// TargetName is the DC's name for authentication; empty means Host.
	TargetName string
	// Username is the replication account: sAMAccountName, DOMAIN\name or
	// name@domain. A bare sAMAccountName takes Domain as its domain.
	Username string
	// Domain is the NetBIOS or DNS domain of a bare Username.
	Domain string
	// Password is the account's password. It is never logged. Not used
	// with Kerberos.
	Password string
	// Kerberos, when set, authenticates with a keytab instead of Username
	// and Password (the channel is sealed either way).
	Kerberos *Kerberos
	// BaseDN is the domain naming context, e.g. DC=corp,DC=example.
	BaseDN string
	// Scope lists the DNs (OUs or containers) whose accounts are in scope;
	// empty means the whole domain.
	Scope []string
	// PageObjects is the most objects per replication reply; zero means 1000.
	PageObjects uint32
	// Timeout bounds dialing and binding; zero means 30 s.
	Timeout time.Duration
	Logger  *zap.Logger
}

// Client is a bound DRSUAPI connection. It is not safe for concurrent use.
type Client struct {
	opts   Options
	log    *zap.Logger
	ctx    context.Context // carries the security context of the binding
	cancel context.CancelFunc
	conn   dcerpc.Conn
	cli    drsuapi.DrsuapiClient
	handle *drsuapi.Handle
	scope  []string // lower-cased scope DNs
}

// ErrConnect wraps failures to reach or bind the domain controller.
var ErrConnect = errors.New("drsr: cannot bind to the domain controller")

// Dial connects to the DC through the endpoint mapper, authenticates with
// NTLM over SPNEGO, seals the channel and binds DRSUAPI.
func Dial(ctx context.Context, opts Options) (*Client, error) {
	var missing []string
	if opts.Kerberos != nil {
		opts.Username, opts.Password = opts.Kerberos.Principal, ""
	}
	for name, ok := range map[string]bool{"Host": opts.Host != "", "Username": opts.Username != "",
		"Password": opts.Password != "" || opts.Kerberos != nil, "BaseDN": opts.BaseDN != ""} {
		if !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("drsr: missing options: %v", missing)
	}
	if opts.PageObjects == 0 {
		opts.PageObjects = 1000
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.TargetName == "" {
		opts.TargetName = opts.Host
	}
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	log = log.Named("drsrsource").With(zap.String("dc", opts.Host))
	user := opts.Username
	if !strings.ContainsAny(user, `\@`) && opts.Domain != "" {
		user = opts.Domain + `\` + user
	}

	// The credentials live in this connection's own security context, never
	// in the library's process-wide store. The connection's sender and
	// receiver run for as long as the context the transport was bound
	// with, so it lives until Close, not until the caller's ctx ends.
	auth, target, err := authOptions(opts, user)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrConnect, opts.Host, err)
	}
	lctx, lcancel := context.WithCancel(context.WithoutCancel(ctx))
	sctx := gssapi.NewSecurityContext(lctx, auth...)
	fail := func(err error) (*Client, error) {
		lcancel()
		return nil, err
	}
	stop := context.AfterFunc(ctx, lcancel) // the caller gave up while dialing
	defer stop()
	conn, err := dcerpc.Dial(sctx, "ncacn_ip_tcp:"+opts.Host,
		epm.EndpointMapper(sctx, net.JoinHostPort(opts.Host, "135"), dcerpc.WithInsecure(), dcerpc.WithTimeout(opts.Timeout)),
		dcerpc.WithTimeout(opts.Timeout))
	if err != nil {
		return fail(fmt.Errorf("%w %s: dial: %w", ErrConnect, opts.Host, err))
	}
	cli, err := drsuapi.NewDrsuapiClient(sctx, conn, dcerpc.WithSeal(), dcerpc.WithTargetName(target))
	if err != nil {
		conn.Close(sctx)
		return fail(fmt.Errorf("%w %s: authenticate as %s: %w", ErrConnect, opts.Host, user, err))
	}
	dctx, cancel := context.WithTimeout(sctx, opts.Timeout)
	defer cancel()
	caps, err := ndr.Marshal(&drsuapi.ExtensionsInt{
		Flags: drsuapi.ExtBase | drsuapi.ExtGetNCChangesRequestV8 | drsuapi.ExtStrongEncryption | drsuapi.ExtGetNCChangesReplyV6,
	}, ndr.Opaque)
	if err != nil {
		conn.Close(sctx)
		return fail(fmt.Errorf("drsr: encode client capabilities: %w", err))
	}
	resp, err := cli.Bind(dctx, &drsuapi.BindRequest{Client: &drsuapi.Extensions{Data: caps}})
	if err != nil {
		conn.Close(sctx)
		return fail(fmt.Errorf("%w %s: DRSBind: %w", ErrConnect, opts.Host, err))
	}
	if !stop() {
		conn.Close(sctx)
		return fail(fmt.Errorf("drsr: dial %s: %w", opts.Host, ctx.Err()))
	}
	c := &Client{opts: opts, log: log, ctx: sctx, cancel: lcancel, conn: conn, cli: cli, handle: resp.DRS}
	for _, s := range opts.Scope {
		c.scope = append(c.scope, normDN(s))
	}
	log.Debug("bound", zap.String("user", user))
	return c, nil
}

// Close unbinds and closes the connection.
func (c *Client) Close() error {
	ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	_, uerr := c.cli.Unbind(ctx, &drsuapi.UnbindRequest{DRS: c.handle})
	cerr := c.conn.Close(ctx)
	c.cancel()
	if err := errors.Join(uerr, cerr); err != nil {
		return fmt.Errorf("drsr: close: %w", err)
	}
	return nil
}

// callCtx returns a context for one call: the caller's deadline and
// cancellation with the binding's security context.
func (c *Client) callCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	cctx, cancel := context.WithCancel(c.ctx)
	stop := context.AfterFunc(ctx, cancel)
	if dl, ok := ctx.Deadline(); ok {
		var cancelDL context.CancelFunc
		cctx, cancelDL = context.WithDeadline(cctx, dl)
		return cctx, func() { cancelDL(); stop(); cancel() }
	}
	return cctx, func() { stop(); cancel() }
}

// inScope reports whether dn is under one of the scope DNs.
func (c *Client) inScope(dn string) bool {
	if len(c.scope) == 0 {
		return true
	}
	d := normDN(dn)
	for _, s := range c.scope {
		if d == s || strings.HasSuffix(d, ","+s) {
			return true
		}
	}
	return false
}

func normDN(dn string) string {
	parts := strings.Split(dn, ",")
	for i, p := range parts {
		parts[i] = strings.ToLower(strings.TrimSpace(p))
	}
	return strings.Join(parts, ",")
}
