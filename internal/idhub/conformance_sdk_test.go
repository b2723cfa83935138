package idhub_test

import (
	"context"
	"path/filepath"
	"testing"

	endpointpb "github.com/yandex-cloud/go-genproto/yandex/cloud/endpoint"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	ycsdk "github.com/yandex-cloud/go-sdk/v2"
	ycreds "github.com/yandex-cloud/go-sdk/v2/credentials"
	"github.com/yandex-cloud/go-sdk/v2/pkg/endpoints"
	"github.com/yandex-cloud/go-sdk/v2/pkg/options"
	"github.com/yandex-cloud/go-sdk/v2/pkg/transport"
	endpointsdk "github.com/yandex-cloud/go-sdk/v2/services/endpoint"
	endpointssdk "github.com/yandex-cloud/go-sdk/v2/services/endpoints"
	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/testing/emulatortest"
)

// sdkResolver discovers the emulator's endpoints with the SDK's endpoint
// client and maps API packages to them with the SDK's table, as ycsdk.Build
// does for the public cloud. (Build's own discovery always dials with TLS
// and the system roots, so it cannot reach a plaintext emulator.)
func sdkResolver(t *testing.T, ctx context.Context, addr string) endpoints.EndpointsResolver {
	t.Helper()
	conn := transport.NewSingleConnector(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	resp, err := endpointsdk.NewApiEndpointClient(conn).List(ctx, &endpointpb.ListApiEndpointsRequest{})
	if err != nil {
		t.Fatalf("ApiEndpointService.List without a token: %v", err)
	}
	byID := map[string]string{}
	for _, ep := range resp.GetEndpoints() {
		byID[ep.GetId()] = ep.GetAddress()
	}
	p2e := endpoints.PrefixToEndpoint{"yandex.cloud.endpoint": endpoints.NewEndpointParams(addr, endpoints.Plaintext())}
	for prefix, id := range endpointssdk.DynamicEndpoints {
		if a, ok := byID[id]; ok {
			p2e[prefix] = endpoints.NewEndpointParams(a, endpoints.Plaintext())
		}
	}
	for _, p := range []protoreflect.FullName{"yandex.cloud.iam.v1", "yandex.cloud.operation", "yandex.cloud.organizationmanager.v1"} {
		if ep := p2e.Get(p); ep == nil || ep.Addr != addr {
			t.Fatalf("discovered endpoint of %s = %v, want %s", p, ep, addr)
		}
	}
	return endpoints.NewPrefixEndpointsResolver(p2e)
}

// sdkConnFor returns the SDK's connection for a go-genproto method
// ("/pkg.Service/Method").
func sdkConnFor(t *testing.T, ctx context.Context, sdk *ycsdk.SDK, service, method string) grpc.ClientConnInterface {
	t.Helper()
	cc, err := sdk.GetConnection(ctx, protoreflect.FullName(service+"."+method))
	if err != nil {
		t.Fatalf("sdk connection for %s.%s: %v", service, method, err)
	}
	return cc
}

// TestConformanceSDK drives the emulator only through Yandex's go-sdk:
// endpoint discovery, an authorized key exchanged for an IAM token by the
// SDK's authenticator and middleware, and go-genproto clients over the
// SDK's connections.
func TestConformanceSDK(t *testing.T) {
	ctx := context.Background()
	emu, addr := emulatortest.Start(t, emulator.Options{
		UserpoolID: confPool, OrganizationID: confOrg, Domain: confDomain,
		Logger: zaptest.NewLogger(t).Named("emulator"),
	})
	key, err := emu.NewServiceAccountKey()
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(t.TempDir(), "key.json")
	if err := key.WriteFile(keyPath); err != nil {
		t.Fatal(err)
	}
	resolver := sdkResolver(t, ctx, addr)

	t.Run("no credentials", func(t *testing.T) {
		sdk, err := ycsdk.Build(ctx, options.WithCredentials(ycreds.NoAuthentication()),
			options.WithEndpointsResolver(resolver), options.WithPlaintext())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sdk.Shutdown(ctx) })
		svc := string(idp.File_yandex_cloud_organizationmanager_v1_idp_userpool_service_proto.Services().Get(0).FullName())
		_, err = idp.NewUserpoolServiceClient(sdkConnFor(t, ctx, sdk, svc, "Get")).
			Get(ctx, &idp.GetUserpoolRequest{UserpoolId: confPool})
		if status.Code(err) != codes.Unauthenticated {
			t.Errorf("err %v, want Unauthenticated", err)
		}
	})

	creds, err := ycreds.ServiceAccountKeyFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	sdk, err := ycsdk.Build(ctx, options.WithCredentials(creds), options.WithEndpointsResolver(resolver),
		options.WithPlaintext(), options.WithLogger(zaptest.NewLogger(t).Named("sdk")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sdk.Shutdown(ctx) })
	tok, err := sdk.CreateIAMToken(ctx)
	if err != nil || tok.GetIamToken() == "" {
		t.Fatalf("CreateIAMToken: %v", err)
	}

	pools := idp.NewUserpoolServiceClient(sdkConnFor(t, ctx, sdk, "yandex.cloud.organizationmanager.v1.idp.UserpoolService", "Get"))
	for range 3 {
		pool, err := pools.Get(ctx, &idp.GetUserpoolRequest{UserpoolId: confPool})
		if err != nil {
			t.Fatalf("UserpoolService.Get with the sdk's token: %v", err)
		}
		if pool.GetId() != confPool || pool.GetOrganizationId() != confOrg {
			t.Errorf("pool %s of %s, want %s of %s", pool.GetId(), pool.GetOrganizationId(), confPool, confOrg)
		}
	}

	users := idp.NewUserServiceClient(sdkConnFor(t, ctx, sdk, "yandex.cloud.organizationmanager.v1.idp.UserService", "Create"))
	req := userReq("sdk.user", "3f2504e0-4f89-11d3-9a0c-0305e82c3301")
	req.UserpoolId, req.Credentials = confPool, ntHash()
	op, err := users.Create(ctx, req)
	if err != nil {
		t.Fatalf("UserService.Create: %v", err)
	}
	ops := operation.NewOperationServiceClient(sdkConnFor(t, ctx, sdk, "yandex.cloud.operation.OperationService", "Get"))
	for !op.GetDone() {
		if op, err = ops.Get(ctx, &operation.GetOperationRequest{OperationId: op.GetId()}); err != nil {
			t.Fatalf("OperationService.Get: %v", err)
		}
	}
	var user idp.User
	if op.GetError() != nil {
		t.Fatalf("create user failed: %v", op.GetError())
	}
	if err := op.GetResponse().UnmarshalTo(&user); err != nil || user.GetUsername() != "sdk.user@"+confDomain {
		t.Fatalf("created user %v (%v)", &user, err)
	}

	// One exchange served every call: the SDK caches the token.
	if n := emu.Stats().Calls[iamCreate]; n != 2 {
		t.Errorf("IamTokenService.Create calls = %d, want 2 (CreateIAMToken, then one for the middleware's cache)", n)
	}
	if n := emu.Stats().Calls[endpointpb.ApiEndpointService_List_FullMethodName]; n != 1 {
		t.Errorf("ApiEndpointService.List calls = %d, want 1", n)
	}
}

const iamCreate = "/yandex.cloud.iam.v1.IamTokenService/Create"
