package emulator

import (
	"context"
	"time"

	endpointpb "github.com/yandex-cloud/go-genproto/yandex/cloud/endpoint"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// EndpointIDs are the API endpoint ids ApiEndpointService lists: the APIs
// the emulator serves, all at its own address.
var EndpointIDs = []string{"iam", "operation", "organization-manager"}

// keepalivePolicy accepts the client keepalive of Yandex's go-sdk (a ping
// every 30s, also without active calls), which the gRPC default policy
// (5 minutes, only with active calls) would answer with GOAWAY.
var keepalivePolicy = keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}

// endpointServer is the endpoint discovery service
// (yandex.cloud.endpoint.ApiEndpointService), which Yandex's go-sdk asks for
// the address of every API. Like the real service it needs no token. The
// emulator serves every API at one address, so each endpoint's address is
// the one the client called (the :authority of the request).
type endpointServer struct {
	endpointpb.UnimplementedApiEndpointServiceServer
}

func authority(ctx context.Context) (string, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	if a := md.Get(":authority"); len(a) > 0 && a[0] != "" {
		return a[0], nil
	}
	return "", status.Error(codes.FailedPrecondition, "request has no :authority to derive endpoint addresses from")
}

// List returns every endpoint the emulator serves.
func (endpointServer) List(ctx context.Context, _ *endpointpb.ListApiEndpointsRequest) (*endpointpb.ListApiEndpointsResponse, error) {
	addr, err := authority(ctx)
	if err != nil {
		return nil, err
	}
	resp := &endpointpb.ListApiEndpointsResponse{}
	for _, id := range EndpointIDs {
		resp.Endpoints = append(resp.Endpoints, &endpointpb.ApiEndpoint{Id: id, Address: addr})
	}
	return resp, nil
}

// Get returns one endpoint by id.
func (endpointServer) Get(ctx context.Context, req *endpointpb.GetApiEndpointRequest) (*endpointpb.ApiEndpoint, error) {
	addr, err := authority(ctx)
	if err != nil {
		return nil, err
	}
	for _, id := range EndpointIDs {
		if id == req.GetApiEndpointId() {
			return &endpointpb.ApiEndpoint{Id: id, Address: addr}, nil
		}
	}
	return nil, status.Errorf(codes.NotFound, "api endpoint %q not found", req.GetApiEndpointId())
}
