package emulator

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"testing"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// BenchmarkCreateUser measures UserService.Create over real loopback TCP,
// from parallel clients, with auth, validation and statistics on.
func BenchmarkCreateUser(b *testing.B) {
	emu, err := New(Options{
		UserpoolID: testPool, OrganizationID: testOrg, Domain: testDomain,
		StaticToken: testToken, Logger: zap.NewNop(),
	})
	if err != nil {
		b.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- emu.Serve(ctx, lis) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	users := idp.NewUserServiceClient(conn)
	callCtx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+testToken)
	var n atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			_, err := users.Create(callCtx, &idp.CreateUserRequest{
				UserpoolId: testPool, Username: fmt.Sprintf("bench%d@%s", i, testDomain), FullName: "Bench User",
				ExternalId:  fmt.Sprintf("guid-%d", i),
				Credentials: &idp.CreateUserRequest_PasswordSpec{PasswordSpec: &idp.PasswordSpec{Password: "Secret-123456"}},
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}
