package idhub

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"

	iampb "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	om "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
)

// Client talks to the Identity Hub API for one user pool. It is safe for
// concurrent use. Close releases its connections.
type Client struct {
	opts    Options
	log     *zap.Logger
	stats   *stats
	creds   credentials.PerRPCCredentials
	retrier *retrier

	conns []*grpc.ClientConn

	sessions idp.SynchronizationSessionServiceClient
	sync     idp.SynchronizationServiceClient
	users    idp.UserServiceClient
	pools    idp.UserpoolServiceClient
	groups   om.GroupServiceClient
	ops      operation.OperationServiceClient

	orgMu sync.Mutex
	orgID string
}

// New validates opts, applies defaults and creates the connections. No
// network traffic happens until the first call (an authorized key file is
// read here).
func New(opts Options) (*Client, error) {
	opts.setDefaults()
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("idhub: new client: %w", err)
	}
	c := &Client{opts: opts, log: opts.Logger.Named("idhub"), stats: newStats(), orgID: opts.OrganizationID}
	c.retrier = &retrier{opts: opts.Retry, log: c.log}

	transport, err := transportCredentials(opts)
	if err != nil {
		return nil, err
	}
	base := []grpc.DialOption{
		grpc.WithTransportCredentials(transport),
		grpc.WithUserAgent("idsync/" + opts.Version),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: backoff.DefaultConfig, MinConnectTimeout: opts.DialTimeout}),
		grpc.WithChainUnaryInterceptor(c.stats.interceptor, rateInterceptor(opts.CallsPerSecond), timeoutInterceptor(opts.CallTimeout)),
	}
	base = append(base, opts.DialOptions...)

	// The IAM connection carries no per-RPC credentials: it is where
	// tokens come from.
	var iamConn *grpc.ClientConn
	if opts.AuthorizedKeyFile != "" {
		key, err := ReadAuthorizedKey(opts.AuthorizedKeyFile)
		if err != nil {
			return nil, err
		}
		iamConn, err = grpc.NewClient(opts.IAMEndpoint, base...)
		if err != nil {
			return nil, fmt.Errorf("idhub: connect to iam %s: %w", opts.IAMEndpoint, err)
		}
		c.conns = append(c.conns, iamConn)
		c.creds = NewKeyTokenSource(key, iampb.NewIamTokenServiceClient(iamConn),
			KeyTokenOptions{AllowPlaintext: opts.Plaintext, Now: opts.Now, Logger: c.log})
	}
	switch {
	case opts.UseMetadataService:
		c.creds = NewMetadataTokenSource(MetadataTokenOptions{URL: opts.MetadataURL, HTTPClient: opts.HTTPClient,
			AllowPlaintext: opts.Plaintext, Now: opts.Now, Logger: c.log})
	case opts.StaticToken != "":
		c.creds = NewStaticTokenSource(opts.StaticToken, opts.Plaintext)
	case opts.TokenSource != nil:
		c.creds = PerRPCCredentials(opts.TokenSource, opts.Plaintext)
	}

	authed := append(append([]grpc.DialOption{}, base...), grpc.WithPerRPCCredentials(c.creds))
	dial := func(target string) (*grpc.ClientConn, error) {
		cc, err := grpc.NewClient(target, authed...)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("idhub: connect to %s: %w", target, err)
		}
		c.conns = append(c.conns, cc)
		return cc, nil
	}
	omConn, err := dial(opts.OrganizationManagerEndpoint)
	if err != nil {
		return nil, err
	}
	opConn := omConn
	if opts.OperationEndpoint != opts.OrganizationManagerEndpoint {
		if opConn, err = dial(opts.OperationEndpoint); err != nil {
			return nil, err
		}
	}
	c.sessions = idp.NewSynchronizationSessionServiceClient(omConn)
	c.sync = idp.NewSynchronizationServiceClient(omConn)
	c.users = idp.NewUserServiceClient(omConn)
	c.pools = idp.NewUserpoolServiceClient(omConn)
	c.groups = om.NewGroupServiceClient(omConn)
	c.ops = operation.NewOperationServiceClient(opConn)
	return c, nil
}

func transportCredentials(opts Options) (credentials.TransportCredentials, error) {
	if opts.Plaintext {
		return insecure.NewCredentials(), nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if opts.CAFile != "" {
		pem, err := os.ReadFile(opts.CAFile)
		if err != nil {
			return nil, fmt.Errorf("idhub: read ca file: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("idhub: ca file %s: no certificates found", opts.CAFile)
		}
	}
	return credentials.NewTLS(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}), nil
}

// Close closes all connections.
func (c *Client) Close() error {
	var errs []error
	for _, cc := range c.conns {
		if err := cc.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	c.conns = nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("idhub: close: %w", err)
	}
	return nil
}

// UserpoolID returns the user pool the client works on.
func (c *Client) UserpoolID() string { return c.opts.UserpoolID }

// Stats returns a snapshot of the call counters.
func (c *Client) Stats() CallStats { return c.stats.snapshot() }

// Credentials returns the per-RPC credentials the client uses.
func (c *Client) Credentials() credentials.PerRPCCredentials { return c.creds }

// opCall starts an operation with start and waits for it, unmarshalling
// its response into out when not nil. name labels errors ("idhub: <name>:
// ..."), rpc ("Service/Method") labels operation failures in CallStats.
func (c *Client) opCall(ctx context.Context, name, rpc string, idempotent bool,
	start func(ctx context.Context) (*operation.Operation, error), out proto.Message) error {
	return c.do(ctx, name, idempotent, func(ctx context.Context) error {
		op, err := start(ctx)
		if err != nil {
			return err
		}
		if err := c.wait(ctx, rpc, op, out); err != nil {
			return &startedError{err: err}
		}
		return nil
	})
}

// startedError is an error met after the server accepted a call that starts
// an operation: the call took effect or may have, so it is never retried as
// "rejected" (see rejected).
type startedError struct{ err error }

func (e *startedError) Error() string { return e.err.Error() }
func (e *startedError) Unwrap() error { return e.err }
