package idhub

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestRetryPolicy(t *testing.T) {
	tests := []struct {
		name      string
		failures  int // failures before success
		code      codes.Code
		create    bool // a non-idempotent call
		wantCalls int32
		wantErr   Class
	}{
		{name: "read retried until success", failures: 2, code: codes.Unavailable, wantCalls: 3},
		{name: "read gives up after max attempts", failures: 10, code: codes.Unavailable, wantCalls: 4, wantErr: ClassRetryable},
		{name: "read not retried on invalid", failures: 10, code: codes.InvalidArgument, wantCalls: 1, wantErr: ClassInvalid},
		{name: "create not retried", failures: 1, code: codes.Unavailable, create: true, wantCalls: 1, wantErr: ClassRetryable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeAPI{ops: newFakeOps()}
			var calls atomic.Int32
			fail := func() error {
				if int(calls.Add(1)) <= tt.failures {
					return status.Error(tt.code, "injected")
				}
				return nil
			}
			f.getUser = func(*idp.GetUserRequest) (*idp.User, error) {
				if err := fail(); err != nil {
					return nil, err
				}
				return &idp.User{Id: "u1"}, nil
			}
			f.createUser = func(*idp.CreateUserRequest) (*operation.Operation, error) {
				if err := fail(); err != nil {
					return nil, err
				}
				return f.ops.add(t, &idp.User{Id: "u1"}, nil, 0), nil
			}
			c := newFakeClient(t, f, nil)
			var err error
			if tt.create {
				_, err = c.CreateUser(context.Background(), &idp.CreateUserRequest{Credentials: &idp.CreateUserRequest_PasswordHash{}})
			} else {
				_, err = c.GetUser(context.Background(), "u1")
			}
			if got := Classify(err); got != tt.wantErr {
				t.Errorf("class = %v (err %v), want %v", got, err, tt.wantErr)
			}
			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("calls = %d, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestNoRetryAfterCancel(t *testing.T) {
	f := &fakeAPI{ops: newFakeOps()}
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int32
	f.getUser = func(*idp.GetUserRequest) (*idp.User, error) {
		calls.Add(1)
		cancel()
		return nil, status.Error(codes.Unavailable, "down")
	}
	c := newFakeClient(t, f, nil)
	if _, err := c.GetUser(ctx, "u1"); err == nil {
		t.Fatal("want error")
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("calls = %d, want 1", n)
	}
}

func TestCallStats(t *testing.T) {
	f := &fakeAPI{ops: newFakeOps()}
	var calls atomic.Int32
	f.getUser = func(*idp.GetUserRequest) (*idp.User, error) {
		if calls.Add(1) == 1 {
			return nil, status.Error(codes.Unavailable, "down")
		}
		return &idp.User{}, nil
	}
	f.createUser = func(*idp.CreateUserRequest) (*operation.Operation, error) {
		return f.ops.add(t, nil, status.Error(codes.AlreadyExists, "exists"), 1), nil
	}
	c := newFakeClient(t, f, nil)
	ctx := context.Background()
	if _, err := c.GetUser(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateUser(ctx, &idp.CreateUserRequest{Credentials: &idp.CreateUserRequest_PasswordHash{}}); !IsConflict(err) {
		t.Fatalf("err = %v", err)
	}
	want := CallStats{
		Calls: map[string]int64{"UserService/Get": 2, "UserService/Create": 1, "OperationService/Get": 2},
		Errors: map[MethodCode]int64{
			{Method: "UserService/Get", Code: codes.Unavailable}:      1,
			{Method: "UserService/Create", Code: codes.AlreadyExists}: 1,
		},
	}
	if diff := cmp.Diff(want, c.Stats()); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

func TestBearerTokenSentAndTLSRequired(t *testing.T) {
	f := &fakeAPI{ops: newFakeOps()}
	f.getUser = func(*idp.GetUserRequest) (*idp.User, error) { return &idp.User{Id: "u1"}, nil }
	c := newFakeClient(t, f, func(o *Options) { o.Version = "1.2.3" })
	if _, err := c.GetUser(context.Background(), "u1"); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	got, agents := f.authHeaders, f.userAgents
	f.mu.Unlock()
	if diff := cmp.Diff([]string{"Bearer static-secret"}, got); diff != "" {
		t.Errorf("authorization headers (-want +got):\n%s", diff)
	}
	if len(agents) != 1 || !strings.HasPrefix(agents[0], "idsync/1.2.3 ") {
		t.Errorf("user agents %q, want idsync/1.2.3 first", agents)
	}

	// The client's credentials allow plaintext only when configured.
	if c.Credentials().RequireTransportSecurity() {
		t.Error("plaintext client requires transport security")
	}
	tlsClient, err := New(Options{UserpoolID: "p", StaticToken: "x", OrganizationManagerEndpoint: "passthrough:///x", OperationEndpoint: "passthrough:///x"})
	if err != nil {
		t.Fatal(err)
	}
	defer tlsClient.Close()
	if !tlsClient.Credentials().RequireTransportSecurity() {
		t.Error("tls client allows plaintext credentials")
	}
	// gRPC refuses credentials requiring TLS on a plaintext connection
	// (the connection is made at the first call).
	pc, err := New(Options{UserpoolID: "p", StaticToken: "x", Plaintext: true,
		OrganizationManagerEndpoint: "passthrough:///x", OperationEndpoint: "passthrough:///x",
		DialOptions: []grpc.DialOption{grpc.WithPerRPCCredentials(NewStaticTokenSource("x", false))}})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if _, err := pc.GetUser(context.Background(), "u1"); err == nil || IsRetryable(err) {
		t.Errorf("credentials requiring TLS over plaintext: err %v, want a permanent error", err)
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"no pool", Options{StaticToken: "x"}},
		{"no credentials", Options{UserpoolID: "p"}},
		{"two credentials", Options{UserpoolID: "p", StaticToken: "x", UseMetadataService: true}},
		{"ca with plaintext", Options{UserpoolID: "p", StaticToken: "x", Plaintext: true, CAFile: "ca.pem"}},
		{"missing key file", Options{UserpoolID: "p", AuthorizedKeyFile: "/nonexistent/key.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c, err := New(tt.opts); err == nil {
				_ = c.Close()
				t.Fatal("want error")
			}
		})
	}
}
