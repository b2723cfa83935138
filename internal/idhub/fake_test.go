package idhub

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	iampb "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	om "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/emptypb"
)

// fakeAPI is a small in-test API server: each service embeds the
// Unimplemented server and overrides what a test needs through function
// fields; operations are stored and polled through fakeOps.
type fakeAPI struct {
	idp.UnimplementedUserServiceServer
	idp.UnimplementedSynchronizationSessionServiceServer
	ops *fakeOps

	mu          sync.Mutex
	authHeaders []string
	userAgents  []string

	listUsers     func(*idp.ListUsersRequest) (*idp.ListUsersResponse, error)
	resolveIDs    func(*idp.ResolveExternalIdsRequest) (*idp.ResolveExternalIdsResponse, error)
	getUser       func(*idp.GetUserRequest) (*idp.User, error)
	createUser    func(*idp.CreateUserRequest) (*operation.Operation, error)
	genPassword   func() (*idp.GeneratePasswordResponse, error)
	updateMembers func(*om.UpdateGroupMembersRequest) (*operation.Operation, error)
	closeSession  func(*idp.CloseSessionRequest) (*operation.Operation, error)
}

func (f *fakeAPI) List(_ context.Context, r *idp.ListUsersRequest) (*idp.ListUsersResponse, error) {
	return f.listUsers(r)
}

func (f *fakeAPI) ResolveExternalIds(_ context.Context, r *idp.ResolveExternalIdsRequest) (*idp.ResolveExternalIdsResponse, error) {
	return f.resolveIDs(r)
}

func (f *fakeAPI) Get(ctx context.Context, r *idp.GetUserRequest) (*idp.User, error) {
	f.recordAuth(ctx)
	return f.getUser(r)
}

func (f *fakeAPI) Create(_ context.Context, r *idp.CreateUserRequest) (*operation.Operation, error) {
	return f.createUser(r)
}

func (f *fakeAPI) GeneratePassword(context.Context, *idp.GeneratePasswordRequest) (*idp.GeneratePasswordResponse, error) {
	return f.genPassword()
}

func (f *fakeAPI) CloseSession(_ context.Context, r *idp.CloseSessionRequest) (*operation.Operation, error) {
	return f.closeSession(r)
}

func (f *fakeAPI) recordAuth(ctx context.Context) {
	md, _ := metadata.FromIncomingContext(ctx)
	f.mu.Lock()
	f.authHeaders = append(f.authHeaders, md.Get("authorization")...)
	f.userAgents = append(f.userAgents, md.Get("user-agent")...)
	f.mu.Unlock()
}

// groupSvc serves only UpdateMembers.
type groupSvc struct {
	om.UnimplementedGroupServiceServer
	f *fakeAPI
}

func (g groupSvc) UpdateMembers(_ context.Context, r *om.UpdateGroupMembersRequest) (*operation.Operation, error) {
	return g.f.updateMembers(r)
}

// fakeOps stores operations; an operation with pending > 0 reports not
// done that many more times.
type fakeOps struct {
	operation.UnimplementedOperationServiceServer
	mu      sync.Mutex
	next    int
	ops     map[string]*operation.Operation
	pending map[string]int
	getN    int
}

func newFakeOps() *fakeOps {
	return &fakeOps{ops: map[string]*operation.Operation{}, pending: map[string]int{}}
}

// add stores a finished operation with result resp (a message) or err
// (a status error), reported done after pending polls.
func (o *fakeOps) add(t testing.TB, resp proto.Message, err error, pending int) *operation.Operation {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	o.next++
	op := &operation.Operation{Id: "op" + string(rune('a'+o.next%26)) + string(rune('0'+o.next/26)), Done: true}
	if err != nil {
		op.Result = &operation.Operation_Error{Error: status.Convert(err).Proto()}
	} else {
		if resp == nil {
			resp = &emptypb.Empty{}
		}
		a, aerr := anypb.New(resp)
		if aerr != nil {
			t.Fatal(aerr)
		}
		op.Result = &operation.Operation_Response{Response: a}
	}
	o.ops[op.Id] = op
	o.pending[op.Id] = pending
	if pending > 0 {
		return &operation.Operation{Id: op.Id}
	}
	return op
}

// gets returns how many times Get was called.
func (o *fakeOps) gets() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.getN
}

func (o *fakeOps) Get(_ context.Context, r *operation.GetOperationRequest) (*operation.Operation, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.getN++
	op, ok := o.ops[r.GetOperationId()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "operation %s not found", r.GetOperationId())
	}
	if o.pending[op.Id] > 0 {
		o.pending[op.Id]--
		return &operation.Operation{Id: op.Id}, nil
	}
	return op, nil
}

// fakeIAM exchanges JWTs for tokens through check.
type fakeIAM struct {
	iampb.UnimplementedIamTokenServiceServer
	create func(jwt string) (*iampb.CreateIamTokenResponse, error)
}

func (f *fakeIAM) Create(_ context.Context, r *iampb.CreateIamTokenRequest) (*iampb.CreateIamTokenResponse, error) {
	return f.create(r.GetJwt())
}

// startFake serves f (and iam, when not nil) over bufconn and returns a
// dial option reaching it.
func startFake(t *testing.T, f *fakeAPI, iam *fakeIAM) grpc.DialOption {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	idp.RegisterUserServiceServer(srv, f)
	om.RegisterGroupServiceServer(srv, groupSvc{f: f})
	idp.RegisterSynchronizationSessionServiceServer(srv, f)
	operation.RegisterOperationServiceServer(srv, f.ops)
	if iam != nil {
		iampb.RegisterIamTokenServiceServer(srv, iam)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) })
}

// newFakeClient returns a client of f over bufconn with a static token.
func newFakeClient(t *testing.T, f *fakeAPI, mod func(*Options)) *Client {
	t.Helper()
	dial := startFake(t, f, nil)
	opts := Options{
		UserpoolID:                  "pool1",
		OrganizationID:              "org1",
		OrganizationManagerEndpoint: "passthrough:///bufnet",
		OperationEndpoint:           "passthrough:///bufnet",
		IAMEndpoint:                 "passthrough:///bufnet",
		Plaintext:                   true,
		StaticToken:                 "static-secret",
		PollInitial:                 time.Millisecond,
		PollMax:                     5 * time.Millisecond,
		Retry:                       RetryOptions{InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond},
		Logger:                      zaptest.NewLogger(t),
		DialOptions:                 []grpc.DialOption{dial},
	}
	if mod != nil {
		mod(&opts)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}
