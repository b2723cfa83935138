package idhub

import (
	"context"
	"fmt"
	"sync"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	om "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	ycsdk "github.com/yandex-cloud/go-sdk/v2"
	iamsdk "github.com/yandex-cloud/go-sdk/v2/services/iam/v1"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
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

	sdk *ycsdk.SDK

	sessions idp.SynchronizationSessionServiceClient
	sync     idp.SynchronizationServiceClient
	users    idp.UserServiceClient
	pools    idp.UserpoolServiceClient
	groups   om.GroupServiceClient
	ops      operation.OperationServiceClient

	orgMu sync.Mutex
	orgID string
}

// New validates opts, applies defaults and builds the connection with
// Yandex's go-sdk (connect.go). No network traffic happens until the first
// call (an authorized key file is read here).
func New(opts Options) (*Client, error) {
	opts.setDefaults()
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("idhub: new client: %w", err)
	}
	c := &Client{opts: opts, log: opts.Logger.Named("idhub"), stats: newStats(), orgID: opts.OrganizationID}
	c.retrier = &retrier{opts: opts.Retry, log: c.log}

	var key *AuthorizedKey
	if opts.AuthorizedKeyFile != "" {
		var err error
		if key, err = ReadAuthorizedKey(opts.AuthorizedKeyFile); err != nil {
			return nil, err
		}
	}
	dial := []grpc.DialOption{
		grpc.WithUserAgent("idsync/" + opts.Version),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: backoff.DefaultConfig, MinConnectTimeout: opts.DialTimeout}),
		grpc.WithChainUnaryInterceptor(c.stats.interceptor, rateInterceptor(opts.CallsPerSecond), timeoutInterceptor(opts.CallTimeout)),
		// c.creds is set below, before any call is made.
		grpc.WithPerRPCCredentials(clientCreds{c}),
	}
	dial = append(dial, opts.DialOptions...)
	sdk, err := buildSDK(opts, c.log, dial)
	if err != nil {
		return nil, err
	}
	c.sdk = sdk
	switch {
	case key != nil:
		c.creds = NewKeyTokenSource(key, iamsdk.NewIamTokenClient(sdk),
			KeyTokenOptions{AllowPlaintext: opts.Plaintext, Now: opts.Now, Logger: c.log})
	case opts.UseMetadataService:
		c.creds = NewMetadataTokenSource(MetadataTokenOptions{URL: opts.MetadataURL, HTTPClient: opts.HTTPClient,
			AllowPlaintext: opts.Plaintext, Now: opts.Now, Logger: c.log})
	case opts.StaticToken != "":
		c.creds = NewStaticTokenSource(opts.StaticToken, opts.Plaintext)
	case opts.TokenSource != nil:
		c.creds = PerRPCCredentials(opts.TokenSource, opts.Plaintext)
	}

	conn := sdkConn{sdk}
	c.sessions = idp.NewSynchronizationSessionServiceClient(conn)
	c.sync = idp.NewSynchronizationServiceClient(conn)
	c.users = idp.NewUserServiceClient(conn)
	c.pools = idp.NewUserpoolServiceClient(conn)
	c.groups = om.NewGroupServiceClient(conn)
	c.ops = operation.NewOperationServiceClient(conn)
	return c, nil
}

// clientCreds sends the Client's token (c.creds) on every call that needs
// one.
type clientCreds struct{ c *Client }

func (cc clientCreds) GetRequestMetadata(ctx context.Context, uri ...string) (map[string]string, error) {
	if ri, ok := credentials.RequestInfoFromContext(ctx); ok && !needsToken(ri.Method) {
		return nil, nil
	}
	return cc.c.creds.GetRequestMetadata(ctx, uri...)
}

func (cc clientCreds) RequireTransportSecurity() bool { return cc.c.creds.RequireTransportSecurity() }

// Close closes all connections.
func (c *Client) Close() error {
	if c.sdk == nil {
		return nil
	}
	// The pool's Shutdown does not use its context.
	err := c.sdk.Shutdown(context.Background())
	c.sdk = nil
	if err != nil {
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
