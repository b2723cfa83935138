package idhub_test

// This file shows how to talk to a running `idsync emulator` (or to Yandex
// Cloud) with nothing but the go-genproto clients and grpc: open a
// synchronization session, create a user, read it back and close the
// session. genprotoExample uses no idsync code; only the test harness
// below starts the emulator in-process.

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/idsync/idsync/internal/emulator"
)

// waitOp polls an operation until it is done and unpacks its response.
func waitOp(ctx context.Context, ops operation.OperationServiceClient, op *operation.Operation, out proto.Message) error {
	for delay := 50 * time.Millisecond; !op.GetDone(); delay = min(2*delay, 2*time.Second) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		var err error
		if op, err = ops.Get(ctx, &operation.GetOperationRequest{OperationId: op.GetId()}); err != nil {
			return fmt.Errorf("get operation: %w", err)
		}
	}
	if e := op.GetError(); e != nil {
		return status.ErrorProto(e)
	}
	if out == nil {
		return nil
	}
	return op.GetResponse().UnmarshalTo(out)
}

// genprotoExample opens an AD_SYNC session in userpoolID at addr (plaintext,
// as the local emulator serves it; use TLS credentials against Yandex
// Cloud), creates a user with a generated password, reads it back and
// closes the session. It returns the user as read back.
func genprotoExample(ctx context.Context, addr, iamToken, userpoolID, domain string) (*idp.User, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+iamToken)
	sessions := idp.NewSynchronizationSessionServiceClient(conn)
	users := idp.NewUserServiceClient(conn)
	ops := operation.NewOperationServiceClient(conn)

	op, err := sessions.OpenSession(ctx, &idp.OpenSessionRequest{
		SubjectContainerId: userpoolID, AgentId: "genproto-example", SessionType: idp.SessionType_AD_SYNC,
	})
	if err != nil {
		return nil, fmt.Errorf("open session: %w", err)
	}
	opened := &idp.OpenSessionResponse{}
	if err := waitOp(ctx, ops, op, opened); err != nil {
		return nil, fmt.Errorf("open session: %w", err)
	}
	if opened.GetResult() != idp.OpenSessionResult_SUCCESS {
		return nil, fmt.Errorf("open session: %v", opened.GetResult())
	}
	sessionID := opened.GetOpenedSession().GetSessionId()

	pw, err := users.GeneratePassword(ctx, &idp.GeneratePasswordRequest{})
	if err != nil {
		return nil, fmt.Errorf("generate password: %w", err)
	}
	op, err = users.Create(ctx, &idp.CreateUserRequest{
		UserpoolId:  userpoolID,
		Username:    "jdoe@" + domain,
		FullName:    "John Doe",
		ExternalId:  "7dd134df-dafe-4f9b-8a3c-0e1f2a3b4c5d",
		Credentials: &idp.CreateUserRequest_PasswordSpec{PasswordSpec: pw.GetPasswordSpec()},
	})
	if err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	created := &idp.User{}
	if err := waitOp(ctx, ops, op, created); err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	got, err := users.Get(ctx, &idp.GetUserRequest{UserId: created.GetId()})
	if err != nil {
		return nil, fmt.Errorf("get user: %w", err)
	}

	op, err = sessions.ReportSessionProgress(ctx, &idp.ReportSessionProgressRequest{
		SessionId: sessionID,
		ProgressEntries: []*idp.ProgressEntry{{
			ObjectType: idp.RelatedObjectType_USER,
			ChangeInfo: []*idp.ChangeInfo{{ChangeType: idp.ChangeType_CREATE, Successful: 1}},
		}},
	})
	if err == nil {
		err = waitOp(ctx, ops, op, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("report progress: %w", err)
	}
	op, err = sessions.CloseSession(ctx, &idp.CloseSessionRequest{SessionId: sessionID})
	if err == nil {
		err = waitOp(ctx, ops, op, &idp.SynchronizationSession{})
	}
	if err != nil {
		return nil, fmt.Errorf("close session: %w", err)
	}
	return got, nil
}

func TestExampleGenprotoOnly(t *testing.T) {
	emu, err := emulator.New(emulator.Options{
		UserpoolID: "pool-example", OrganizationID: "org-example", Domain: "example.idp.yandexcloud.net",
		StaticToken: "t1.example-token", OpDelay: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- emu.Serve(ctx, lis) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("emulator: %v", err)
		}
	}()

	u, err := genprotoExample(ctx, lis.Addr().String(), "t1.example-token", "pool-example", "example.idp.yandexcloud.net")
	if err != nil {
		t.Fatal(err)
	}
	if u.GetUsername() != "jdoe@example.idp.yandexcloud.net" || u.GetFullName() != "John Doe" || u.GetStatus() != idp.User_ACTIVE {
		t.Errorf("read back %v", u)
	}
	sessions := emu.Stats().Calls
	if sessions["/yandex.cloud.organizationmanager.v1.idp.SynchronizationSessionService/CloseSession"] != 1 {
		t.Errorf("emulator saw calls %v", sessions)
	}
}
