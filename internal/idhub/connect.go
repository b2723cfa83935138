package idhub

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"

	ycsdk "github.com/yandex-cloud/go-sdk/v2"
	ycreds "github.com/yandex-cloud/go-sdk/v2/credentials"
	"github.com/yandex-cloud/go-sdk/v2/pkg/endpoints"
	"github.com/yandex-cloud/go-sdk/v2/pkg/options"
	"github.com/yandex-cloud/go-sdk/v2/pkg/transport"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// The connection is built by Yandex's go-sdk (ycsdk.Build): its connection
// pool keeps one gRPC connection per endpoint, and its connector picks the
// endpoint of every call by the longest API package prefix of the method,
// as the SDK does for Yandex's own tools.
//
// Three parts stay idsync's, for reasons the SDK's code shows:
//   - The endpoint resolver. Endpoints come from the config (a drop-in for
//     the Yandex agent's keys), and the SDK's PrefixEndpointsResolver gives
//     every endpoint its own TLS settings built from the system roots
//     (endpoints.EndpointParams.Build), which override the SDK's TLSConfig
//     and so ignore a CA file; Build's own discovery dials with the system
//     roots only. sdkResolver uses the SDK's prefix table but returns
//     endpoints without transport options, so the pool's TLS (ours) holds.
//   - Tokens. The SDK's IamTokenMiddleware refreshes a token only after it
//     expired, and turns every failure to get one into UNAUTHENTICATED (an
//     unreachable IAM service would look like a bad key and never be
//     retried). Tokens are sent by idsync's per-RPC credentials instead
//     (token.go: refresh at half-life, old token kept while a refresh
//     fails, TLS required), so the SDK is built without credentials; the
//     authorized key and the token exchange are the SDK's (token_key.go).
//   - Retries and rate limiting (retry.go, the one retry layer): the
//     SDK's retry is a gRPC service config retrying UNAVAILABLE on every
//     method, calls that start operations included, without telling
//     quota from rate limiting, and it has no rate limiter.

// API package prefixes of the endpoints a Client uses.
const (
	prefixOrganizationManager = protoreflect.FullName("yandex.cloud.organizationmanager.v1")
	prefixOperation           = protoreflect.FullName("yandex.cloud.operation")
	prefixIAM                 = protoreflect.FullName("yandex.cloud.iam.v1")
)

// sdkResolver resolves methods to endpoints by the SDK's prefix table. It
// returns the same *endpoints.Endpoint for an address every time: the SDK's
// pool keys connections by it.
type sdkResolver struct {
	table endpoints.PrefixToEndpoint
	byAdr map[string]*endpoints.Endpoint
}

func newSDKResolver(opts Options) *sdkResolver {
	r := &sdkResolver{table: endpoints.PrefixToEndpoint{
		prefixOrganizationManager: endpoints.NewEndpointParams(opts.OrganizationManagerEndpoint),
		prefixOperation:           endpoints.NewEndpointParams(opts.OperationEndpoint),
		prefixIAM:                 endpoints.NewEndpointParams(opts.IAMEndpoint),
	}, byAdr: map[string]*endpoints.Endpoint{}}
	for _, p := range r.table {
		if r.byAdr[p.Addr] == nil {
			r.byAdr[p.Addr] = &endpoints.Endpoint{Addr: p.Addr}
		}
	}
	return r
}

// Endpoint implements endpoints.EndpointsResolver.
func (r *sdkResolver) Endpoint(_ context.Context, method protoreflect.FullName, _ ...grpc.CallOption) (*endpoints.Endpoint, error) {
	p := r.table.Get(method)
	if p == nil {
		return nil, fmt.Errorf("idhub: no endpoint configured for %s", method)
	}
	return r.byAdr[p.Addr], nil
}

// buildSDK builds the SDK's connection: TLS (or plaintext), the config's
// endpoints, and dial, the Client's own dial options (user agent,
// interceptors, per-RPC credentials, test dialers).
func buildSDK(opts Options, log *zap.Logger, dial []grpc.DialOption) (*ycsdk.SDK, error) {
	o := []options.Option{
		// Tokens are added by the per-RPC credentials in dial.
		options.WithCredentials(ycreds.NoAuthentication()),
		options.WithEndpointsResolver(newSDKResolver(opts)),
		options.WithCustomDialOptions(dial...),
		options.WithLogger(log.Named("sdk")),
	}
	if opts.Plaintext {
		o = append(o, options.WithPlaintext())
	} else {
		tc, err := tlsConfig(opts)
		if err != nil {
			return nil, err
		}
		o = append(o, options.WithTLSConfig(tc))
	}
	// Build uses its context only to resolve endpoints, which the
	// resolver above does without I/O.
	sdk, err := ycsdk.Build(context.Background(), o...)
	if err != nil {
		return nil, fmt.Errorf("idhub: build sdk connection: %w", err)
	}
	return sdk, nil
}

// tlsConfig verifies servers against the system roots plus opts.CAFile.
func tlsConfig(opts Options) (*tls.Config, error) {
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
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// sdkConn is a grpc.ClientConnInterface for go-genproto clients that sends
// each call over the connection the SDK's connector picks for its method.
type sdkConn struct{ c transport.Connector }

// methodName turns "/pkg.Service/Method" into "pkg.Service.Method".
func methodName(method string) protoreflect.FullName {
	return protoreflect.FullName(strings.Replace(strings.TrimPrefix(method, "/"), "/", ".", 1))
}

func (s sdkConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	cc, err := s.c.GetConnection(ctx, methodName(method), opts...)
	if err != nil {
		return fmt.Errorf("connect for %s: %w", method, err)
	}
	return cc.Invoke(ctx, method, args, reply, opts...)
}

func (s sdkConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	cc, err := s.c.GetConnection(ctx, methodName(method), opts...)
	if err != nil {
		return nil, fmt.Errorf("connect for %s: %w", method, err)
	}
	return cc.NewStream(ctx, desc, method, opts...)
}
