package emulator

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	iamv1 "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	orgv1 "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"
)

const (
	testPool   = "pooltest000000000001"
	testOrg    = "orgtest0000000000001"
	testDomain = "corp.example"
	testToken  = "test-static-token"
)

// fakeClock is a settable clock for Options.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is an emulator served over bufconn with generated clients.
type env struct {
	emu      *Emulator
	clock    *fakeClock
	ctx      context.Context // carries the static bearer token
	conn     *grpc.ClientConn
	sessions idp.SynchronizationSessionServiceClient
	sync     idp.SynchronizationServiceClient
	users    idp.UserServiceClient
	pools    idp.UserpoolServiceClient
	groups   orgv1.GroupServiceClient
	ops      operation.OperationServiceClient
	iam      iamv1.IamTokenServiceClient
}

// newEnv starts an emulator with opts (defaults filled in for the test pool,
// the static token and a fake clock) and connects to it.
func newEnv(t testing.TB, opts Options) *env {
	t.Helper()
	clock := newFakeClock()
	if opts.UserpoolID == "" {
		opts.UserpoolID, opts.OrganizationID, opts.Domain = testPool, testOrg, testDomain
	}
	if opts.StaticToken == "" {
		opts.StaticToken = testToken
	}
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	if opts.Logger == nil {
		opts.Logger = zaptest.NewLogger(t)
	}
	emu, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	lis := bufconn.Listen(1 << 20)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- emu.Serve(ctx, lis) }()
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() {
		conn.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &env{
		emu: emu, clock: clock, conn: conn,
		ctx:      metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+testToken),
		sessions: idp.NewSynchronizationSessionServiceClient(conn),
		sync:     idp.NewSynchronizationServiceClient(conn),
		users:    idp.NewUserServiceClient(conn),
		pools:    idp.NewUserpoolServiceClient(conn),
		groups:   orgv1.NewGroupServiceClient(conn),
		ops:      operation.NewOperationServiceClient(conn),
		iam:      iamv1.NewIamTokenServiceClient(conn),
	}
}

// result unpacks the response of a done operation into out.
func result[T proto.Message](t testing.TB, op *operation.Operation, err error, out T) T {
	t.Helper()
	if err != nil {
		t.Fatalf("call failed: %v", err)
	}
	if !op.GetDone() {
		t.Fatalf("operation %s is not done", op.GetId())
	}
	if op.GetError() != nil {
		t.Fatalf("operation %s failed: %v", op.GetId(), op.GetError())
	}
	if err := op.GetResponse().UnmarshalTo(out); err != nil {
		t.Fatalf("operation %s response: %v", op.GetId(), err)
	}
	return out
}

// wantCode fails unless err has code c.
func wantCode(t testing.TB, err error, c codes.Code) {
	t.Helper()
	if got := status.Code(err); got != c {
		t.Fatalf("got code %v (%v), want %v", got, err, c)
	}
}

// createUser creates a user with a password and returns it.
func (v *env) createUser(t testing.TB, login, externalID string) *idp.User {
	t.Helper()
	op, err := v.users.Create(v.ctx, &idp.CreateUserRequest{
		UserpoolId: testPool, Username: login + "@" + testDomain, FullName: login, ExternalId: externalID,
		Credentials: &idp.CreateUserRequest_PasswordSpec{PasswordSpec: &idp.PasswordSpec{Password: "Secret-123456"}},
	})
	return result(t, op, err, &idp.User{})
}

// getUser reads a user.
func (v *env) getUser(t testing.TB, id string) *idp.User {
	t.Helper()
	u, err := v.users.Get(v.ctx, &idp.GetUserRequest{UserId: id})
	if err != nil {
		t.Fatalf("get user %s: %v", id, err)
	}
	return u
}
