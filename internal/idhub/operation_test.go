package idhub

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"
)

func TestWaitOperation(t *testing.T) {
	f := &fakeAPI{ops: newFakeOps()}
	c := newFakeClient(t, f, nil)
	ctx := context.Background()
	want := &idp.User{Id: "u1", Username: "a@b.c"}

	tests := []struct {
		name     string
		resp     *idp.User
		err      error
		pending  int
		wantCode codes.Code
		wantGets int
	}{
		{name: "done at once", resp: want, wantGets: 0},
		{name: "delayed", resp: want, pending: 3, wantGets: 4},
		{name: "error in operation", err: status.Error(codes.AlreadyExists, "username taken"), wantCode: codes.AlreadyExists},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.ops.gets()
			op := f.ops.add(t, tt.resp, tt.err, tt.pending)
			got := &idp.User{}
			err := c.WaitOperation(ctx, op, got)
			if tt.wantCode != codes.OK {
				if status.Code(err) != tt.wantCode {
					t.Fatalf("err = %v, want code %v", err, tt.wantCode)
				}
				if !IsConflict(err) {
					t.Errorf("class %v, want conflict", Classify(err))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
			if gets := f.ops.gets() - before; gets != tt.wantGets {
				t.Errorf("polls = %d, want %d", gets, tt.wantGets)
			}
		})
	}
}

func TestWaitOperationWrongResponseType(t *testing.T) {
	f := &fakeAPI{ops: newFakeOps()}
	c := newFakeClient(t, f, nil)
	op := f.ops.add(t, &idp.Userpool{Id: "p"}, nil, 0)
	if err := c.WaitOperation(context.Background(), op, &idp.User{}); err == nil {
		t.Fatal("want an error unmarshalling a Userpool into a User")
	}
}

func TestWaitOperationRespectsContext(t *testing.T) {
	f := &fakeAPI{ops: newFakeOps()}
	c := newFakeClient(t, f, nil)
	op := f.ops.add(t, nil, nil, 1_000_000)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := c.WaitOperation(ctx, op, nil)
	if Classify(err) != ClassCanceled {
		t.Fatalf("err = %v (class %v), want canceled", err, Classify(err))
	}
}
