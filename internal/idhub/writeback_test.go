package idhub_test

import (
	"context"
	"errors"
	"testing"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/grpc/codes"

	"github.com/idsync/idsync/internal/idhub"
)

func TestConformancePasswordWriteback(t *testing.T) {
	v := startConf(t, nil, nil)
	ctx := t.Context()
	if _, err := v.c.CreateSyncSettings(ctx, &idp.CreateSynchronizationSettingsRequest{
		Filter: &idp.SynchronizationFilter{Domain: "corp.example"}, EnablePasswordWriteback: true}); err != nil {
		t.Fatal(err)
	}
	cc, rctx := v.raw(t)
	users := idp.NewUserServiceClient(cc)
	op, err := users.Create(rctx, &idp.CreateUserRequest{UserpoolId: confPool, Username: "wb@" + confDomain, FullName: "wb", ExternalId: "guid-wb",
		Credentials: &idp.CreateUserRequest_PasswordSpec{PasswordSpec: &idp.PasswordSpec{Password: "Start-123456"}}})
	if err != nil || op.GetError() != nil {
		t.Fatalf("create: %v %v", err, op.GetError())
	}
	var u idp.User
	if err := op.GetResponse().UnmarshalTo(&u); err != nil {
		t.Fatal(err)
	}
	reset := func(pw string) string {
		op, err := users.SetOthersPassword(rctx, &idp.SetOthersPasswordRequest{UserId: u.Id, PasswordSpec: &idp.PasswordSpec{Password: pw}})
		if err != nil {
			t.Fatal(err)
		}
		return op.GetId()
	}
	op1, op2 := reset("Reset-1111"), reset("Reset-2222")

	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := v.c.PasswordChanges(sctx, "agent-1", 0)
	if err != nil {
		t.Fatal(err)
	}
	c1, err := st.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if c1.ExternalUserID != "guid-wb" || string(c1.Password) != "Reset-1111" || !c1.NeedChange || c1.OperationID != op1 ||
		c1.Offset != 1 || c1.OperationExpiresAt.IsZero() || c1.OldPassword != nil {
		t.Fatalf("change 1 = %v (need_change %v)", c1, c1.NeedChange)
	}
	if err := v.c.CommitPassword(ctx, c1, nil); err != nil {
		t.Fatalf("commit: %v", err)
	}
	if !v.emu.PasswordDigestMatches(u.Id, "Reset-1111") {
		t.Error("the commit did not set the password")
	}
	c2, err := st.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Ack(c1.Offset); err != nil {
		t.Fatal(err)
	}
	f := &idhub.WritebackError{Code: idp.PasswordWritebackErrorDetails_PASSWORD_POLICY_VIOLATION, Message: "0000052D: too short"}
	if err := v.c.CommitPassword(ctx, c2, f); err != nil {
		t.Fatalf("commit failure: %v", err)
	}
	got, err := operation.NewOperationServiceClient(cc).Get(rctx, &operation.GetOperationRequest{OperationId: op2})
	if err != nil || got.GetError().GetCode() != int32(codes.FailedPrecondition) {
		t.Fatalf("refused operation: %v %v", got, err)
	}
	// The first change committed otherwise now: the service no longer waits.
	if err := v.c.CommitPassword(ctx, c1, f); !errors.Is(err, idhub.ErrChangeGone) {
		t.Fatalf("conflicting commit: %v, want ErrChangeGone", err)
	}
}
