package idhub

import (
	"context"
	"errors"
	"fmt"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// WaitOperation polls op with OperationService.Get until it is done, with
// a delay growing from PollInitial to PollMax. A failed operation returns
// its error as a gRPC status error; otherwise, when out is not nil, the
// operation's response is unmarshalled into it. Transient polling errors
// are retried; the wait ends when ctx is done.
func (c *Client) WaitOperation(ctx context.Context, op *operation.Operation, out proto.Message) error {
	if err := c.wait(ctx, "Operation", op, out); err != nil {
		return fmt.Errorf("idhub: WaitOperation: %w", err)
	}
	return nil
}

func (c *Client) wait(ctx context.Context, method string, op *operation.Operation, out proto.Message) error {
	if op == nil {
		return errors.New("no operation returned")
	}
	delay := c.opts.PollInitial
	for !op.GetDone() {
		if err := sleep(ctx, delay); err != nil {
			return fmt.Errorf("wait for operation %s: %w", op.GetId(), err)
		}
		delay = min(delay*2, c.opts.PollMax)
		id := op.GetId()
		err := c.retrier.run(ctx, "OperationService/Get", true, func(ctx context.Context) error {
			next, err := c.ops.Get(ctx, &operation.GetOperationRequest{OperationId: id})
			if err == nil {
				op = next
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("wait for operation %s: %w", id, err)
		}
	}
	if e := op.GetError(); e != nil {
		// A failed operation is an error even if its status lacks a
		// code (status.ErrorProto would make that nil: success).
		if e.GetCode() == int32(codes.OK) {
			e = status.Newf(codes.Unknown, "operation %s failed without an error code: %s", op.GetId(), e.GetMessage()).Proto()
		}
		c.stats.fail(method, codes.Code(e.GetCode()))
		return status.ErrorProto(e)
	}
	if out == nil {
		return nil
	}
	resp := op.GetResponse()
	if resp == nil {
		return fmt.Errorf("operation %s has no response", op.GetId())
	}
	if err := resp.UnmarshalTo(out); err != nil {
		return fmt.Errorf("operation %s response: %w", op.GetId(), err)
	}
	return nil
}
